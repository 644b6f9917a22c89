"""Model > Retrain: options, the clip counts they use, live loss and metric curves, old vs new metrics."""

from __future__ import annotations

import logging
from dataclasses import asdict

import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox, QDialog, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QPushButton, QSpinBox, QTableWidget,
    QTableWidgetItem, QVBoxLayout, QWidget,
)

from app.services.jobs import call_by_name
from app.services.retrain import RetrainOptions
from app.ui.job_runner import JobRunner
from app.ui.model_panel import METRIC_KEYS

logger = logging.getLogger(__name__)

RETRAIN_TARGET = "app.services.retrain:retrain_project"
PLAN_TARGET = "app.services.retrain:retrain_plan"
ACTIVATE_TARGET = "app.services.retrain:activate_version"
CURVE_COLORS = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75))


class RetrainDialog(QDialog):
    """Configure and run one retraining job in ``runner``; ``activated(version)`` after a switch."""

    activated = Signal(str)

    def __init__(self, project_folder: str, runner: JobRunner, parent: QWidget | None = None,
                 device: str = "auto"):
        super().__init__(parent)
        self.device = device
        self.setWindowTitle("Retrain model")
        self.project_folder = str(project_folder)
        self.runner = runner
        self.plan_runner = JobRunner(self)
        self.result: dict | None = None
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.points: dict[str, tuple[list, list]] = {}
        defaults = RetrainOptions()

        self.counts_label = QLabel("Counting labeled and unlabeled clips...", self)
        self.counts_label.setWordWrap(True)
        self.k_box = QSpinBox(self)
        self.k_box.setRange(1, 100000)
        self.k_box.setValue(int(defaults.k) if str(defaults.k).isdigit() else 40)
        self.k_all = QCheckBox("all", self)
        self.epochs_box = QSpinBox(self)
        self.epochs_box.setRange(1, 1000)
        self.epochs_box.setValue(defaults.epochs)
        self.mse_box = self._weight_box(defaults.mse_weight)
        self.ce_box = self._weight_box(defaults.ce_weight)
        self.pseudo_box = self._weight_box(defaults.pseudo_weight)
        self.valid_box = QDoubleSpinBox(self)
        self.valid_box.setRange(0.0, 0.9)
        self.valid_box.setSingleStep(0.05)
        self.valid_box.setValue(defaults.valid_fraction)
        self.scratch_box = QCheckBox("train from scratch instead of fine-tuning the active model", self)
        k_row = QHBoxLayout()
        k_row.addWidget(self.k_box)
        k_row.addWidget(self.k_all)
        self.k_all.toggled.connect(lambda checked: self.k_box.setEnabled(not checked))
        form = QFormLayout()
        form.addRow(self.counts_label)
        form.addRow("Pseudo-labels per class (k)", k_row)
        form.addRow("Epochs", self.epochs_box)
        form.addRow("Loss weight: intensity MSE", self.mse_box)
        form.addRow("Loss weight: 7-class cross-entropy", self.ce_box)
        form.addRow("Loss weight: pseudo-label cross-entropy", self.pseudo_box)
        form.addRow("Validation split", self.valid_box)
        form.addRow(self.scratch_box)
        self.valid_box.valueChanged.connect(self.refresh_plan)

        self.plots = pg.GraphicsLayoutWidget(self)
        self.plots.setBackground("w")
        self.loss_plot = self.plots.addPlot(row=0, col=0, title="losses")
        self.metric_plot = self.plots.addPlot(row=0, col=1, title="validation metrics")
        for plot in (self.loss_plot, self.metric_plot):
            plot.addLegend(offset=(5, 5))
            plot.setLabel("bottom", "epoch")
        self.status_label = QLabel("", self)
        self.compare_table = QTableWidget(0, 3, self)
        self.compare_table.setHorizontalHeaderLabels(("metric", "active model", "new model"))
        self.compare_table.verticalHeader().setVisible(False)
        self.compare_table.setMaximumHeight(170)

        self.start_button = QPushButton("Start training", self)
        self.cancel_button = QPushButton("Cancel training", self)
        self.activate_button = QPushButton("Activate new version", self)
        self.close_button = QPushButton("Close", self)
        self.cancel_button.setEnabled(False)
        self.activate_button.setEnabled(False)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.runner.cancel)
        self.activate_button.clicked.connect(self.activate_new_version)
        self.close_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        for button in (self.start_button, self.cancel_button, self.activate_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.plots, 1)
        layout.addWidget(self.status_label)
        layout.addWidget(self.compare_table)
        layout.addLayout(buttons)
        self.resize(900, 760)

        self.plan_runner.finished.connect(self._show_plan)
        self.plan_runner.failed.connect(lambda error: self.counts_label.setText(
            f"Cannot count the training clips: {error.message}"))
        self.refresh_plan()

    def _weight_box(self, value: float) -> QDoubleSpinBox:
        box = QDoubleSpinBox(self)
        box.setRange(0.0, 10.0)
        box.setSingleStep(0.1)
        box.setDecimals(2)
        box.setValue(value)
        return box

    def options(self) -> RetrainOptions:
        """Return the options the form describes."""
        return RetrainOptions(
            k="all" if self.k_all.isChecked() else self.k_box.value(), epochs=self.epochs_box.value(),
            mse_weight=self.mse_box.value(), ce_weight=self.ce_box.value(), pseudo_weight=self.pseudo_box.value(),
            valid_fraction=self.valid_box.value(), from_scratch=self.scratch_box.isChecked(), device=self.device,
        )

    def refresh_plan(self) -> None:
        """Count, in a worker, the clips a run with the current options would use."""
        if self.plan_runner.busy:
            return
        self.plan_runner.start(call_by_name, PLAN_TARGET, self.project_folder, asdict(self.options()),
                               name="retrain plan")

    def _show_plan(self, plan: dict) -> None:
        text = (f"Fine-tunes {plan['parent']} on {plan['train']} labeled clips (validation: {plan['valid']}"
                f"{', the training clips themselves' if plan.get('valid_is_train') else ''}) and "
                f"{plan['unlabeled']} unlabeled clips for pseudo-labels.")
        if plan.get("without_features"):
            text += f" {plan['without_features']} clips have no features yet and are left out."
        self.counts_label.setText(text)
        self.start_button.setEnabled(plan["train"] > 0)

    def start(self) -> None:
        """Start training in the worker; curves update from its named-loss events."""
        for plot in (self.loss_plot, self.metric_plot):
            plot.clear()
            if plot.legend is not None:
                plot.legend.clear()
        self.curves.clear()
        self.points.clear()
        self.result = None
        self.compare_table.setRowCount(0)
        self.runner.event.connect(self.on_event)
        self.runner.progress.connect(self._on_progress)
        self.runner.finished.connect(self._on_finished)
        self.runner.failed.connect(self._on_failed)
        self.runner.start(call_by_name, RETRAIN_TARGET, self.project_folder, asdict(self.options()), name="retrain")
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.activate_button.setEnabled(False)
        self.status_label.setText("Training...")

    def on_event(self, event: dict) -> None:
        """Add one epoch's losses and metrics to the curves (step events are too dense to plot)."""
        if event.get("kind") != "epoch":
            return
        x = float(event.get("epoch", 0))
        phase = event.get("phase", "train")
        for name, value in event.get("losses", {}).items():
            self._append(self.loss_plot, f"{phase} {name}", x, value)
        for name, value in event.get("metrics", {}).items():
            if name in METRIC_KEYS.values():
                self._append(self.metric_plot, f"{phase} {name}", x, value)

    def _append(self, plot, key: str, x: float, y: float) -> None:
        xs, ys = self.points.setdefault(key, ([], []))
        xs.append(x)
        ys.append(float(y))
        curve = self.curves.get(key)
        if curve is None:
            color = CURVE_COLORS[len(self.curves) % len(CURVE_COLORS)]
            curve = plot.plot(xs, ys, pen=pg.mkPen(color, width=2), symbol="o", symbolSize=4, name=key)
            self.curves[key] = curve
        else:
            curve.setData(xs, ys)

    def _on_progress(self, step: int, total: int, message: str) -> None:
        self.status_label.setText(f"{message} (step {step} of {total})" if total else message)

    def _disconnect(self) -> None:
        for signal, slot in ((self.runner.event, self.on_event), (self.runner.progress, self._on_progress),
                             (self.runner.finished, self._on_finished), (self.runner.failed, self._on_failed)):
            try:
                signal.disconnect(slot)
            except (RuntimeError, TypeError):
                pass

    def _on_finished(self, result: dict) -> None:
        self._disconnect()
        self.result = result
        self.cancel_button.setEnabled(False)
        self.start_button.setEnabled(True)
        self.activate_button.setEnabled(True)
        self.status_label.setText(f"Trained {result['version']} from {result['parent']}; compare and choose.")
        old, new = result.get("parent_metrics", {}), result.get("metrics", {})
        self.compare_table.setRowCount(len(METRIC_KEYS))
        for row, (title, key) in enumerate(METRIC_KEYS.items()):
            self.compare_table.setItem(row, 0, QTableWidgetItem(title))
            for column, metrics in ((1, old), (2, new)):
                value = metrics.get(key)
                self.compare_table.setItem(row, column, QTableWidgetItem("" if value is None else f"{value:.3f}"))

    def _on_failed(self, error) -> None:
        self._disconnect()
        self.cancel_button.setEnabled(False)
        self.start_button.setEnabled(True)
        self.status_label.setText("Training cancelled." if error.cancelled else f"Training failed: {error.summary()}")

    def activate_new_version(self) -> None:
        """Activate the new version and re-predict every clip in the worker."""
        if not self.result:
            return
        version = self.result["version"]
        self.activate_button.setEnabled(False)
        self.status_label.setText(f"Activating {version} and predicting every clip again...")

        def done(_summary) -> None:
            self.runner.finished.disconnect(done)
            self.status_label.setText(f"{version} is active; predictions are updated.")
            self.activated.emit(version)

        self.runner.finished.connect(done)
        self.runner.start(call_by_name, ACTIVATE_TARGET, self.project_folder, version, name="activate model")

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        if self.plan_runner.busy:
            self.plan_runner.cancel()
        super().closeEvent(event)
