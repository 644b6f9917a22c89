"""Model panel: the active model version, its trained modalities and metrics, and a version switch."""

from __future__ import annotations

import logging

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QLabel, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

logger = logging.getLogger(__name__)

# Column title -> metric key of core_model.training.metrics (Acc-2 and F1 without neutral clips).
METRIC_KEYS = {"MAE": "mae", "Corr": "corr", "Acc-2": "acc2_non0", "F1": "f1_non0", "Acc-7": "acc7"}
METRIC_COLUMNS = tuple(METRIC_KEYS)


def metric_value(metrics: dict, title: str):
    """Return the validation metric shown under ``title``, from ``metrics["valid"]`` or ``metrics`` itself."""
    source = metrics.get("valid", metrics) if isinstance(metrics.get("valid"), dict) else metrics
    return source.get(METRIC_KEYS[title])


def trained_modalities(version) -> str:
    """Return the modalities a model version was trained with, as stored in its config or summary."""
    for source in (version.config, version.training_summary):
        value = source.get("modalities") or source.get("trained_modalities")
        if value:
            return ", ".join(value) if isinstance(value, (list, tuple)) else str(value)
    return "not recorded"


class ModelPanel(QWidget):
    """Lists model versions; ``activateRequested(version)`` when the user switches."""

    activateRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.active_label = QLabel("No project open", self)
        self.active_label.setWordWrap(True)
        self.table = QTableWidget(0, 3 + len(METRIC_COLUMNS), self)
        self.table.setHorizontalHeaderLabels(("version", "created", "modalities", *METRIC_COLUMNS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.activate_button = QPushButton("Activate selected version", self)
        self.activate_button.setToolTip("Make the selected version active and predict every clip again")
        self.activate_button.clicked.connect(self._activate_selected)
        layout = QVBoxLayout(self)
        layout.addWidget(self.active_label)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.activate_button)
        self.versions: list = []

    def set_versions(self, versions: list, active: str | None) -> None:
        self.versions = list(versions)
        self.table.setRowCount(len(self.versions))
        for row, version in enumerate(self.versions):
            cells = [version.version + (" (active)" if version.version == active else ""),
                     version.created_at[:19].replace("T", " "), trained_modalities(version)]
            for name in METRIC_COLUMNS:
                value = metric_value(version.metrics, name)
                if value is None:
                    cells.append("")
                elif isinstance(value, float):
                    cells.append(f"{value:.3f}")
                else:
                    cells.append(str(value))
            for column, text in enumerate(cells):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        if active is None:
            self.active_label.setText("No active model: analyze with the bundled model or retrain.")
        else:
            self.active_label.setText(f"Active model: {active}")
        self.activate_button.setEnabled(bool(self.versions))

    def _activate_selected(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            version = self.versions[rows[0].row()].version
            logger.info("user asked to activate model version %s", version)
            self.activateRequested.emit(version)
