"""Model > Evaluate: metrics of the active model on annotated clips and a predicted-vs-annotated scatter."""

from __future__ import annotations

import logging

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QDialog, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

logger = logging.getLogger(__name__)

EVALUATE_TARGET = "app.services.evaluation:evaluate_project"
# Metric key of core_model.training.metrics -> row title.
SHOWN_METRICS = {"mae": "MAE", "corr": "Corr", "acc2_has0": "Acc-2 (has 0)", "acc2_non0": "Acc-2 (non 0)",
                 "f1_has0": "F1 (has 0)", "f1_non0": "F1 (non 0)", "acc7": "Acc-7"}


class EvaluateDialog(QDialog):
    """Shows one evaluation result: ``{"version", "metrics", "pairs", "count", "skipped"}``."""

    def __init__(self, result: dict, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Evaluation of {result['version']}")
        summary = QLabel(f"{result['count']} annotated clips evaluated"
                         + (f", {result['skipped']} without features skipped" if result.get("skipped") else ""), self)
        self.table = QTableWidget(len(SHOWN_METRICS), 2, self)
        self.table.setHorizontalHeaderLabels(("metric", "value"))
        self.table.verticalHeader().setVisible(False)
        for row, (key, title) in enumerate(SHOWN_METRICS.items()):
            value = result["metrics"].get(key)
            self.table.setItem(row, 0, QTableWidgetItem(title))
            self.table.setItem(row, 1, QTableWidgetItem("" if value is None else f"{value:.3f}"))
        self.plot = pg.PlotWidget(self, background="w")
        self.plot.setLabel("bottom", "annotated intensity")
        self.plot.setLabel("left", "predicted intensity")
        self.plot.setXRange(-3, 3)
        self.plot.setYRange(-3, 3)
        self.plot.plot([-3, 3], [-3, 3], pen=pg.mkPen((150, 150, 150), style=pg.QtCore.Qt.PenStyle.DashLine))
        pairs = np.asarray([(p, a) for _, p, a in result["pairs"]], dtype=np.float64).reshape(-1, 2)
        self.scatter = pg.ScatterPlotItem(x=pairs[:, 1], y=pairs[:, 0], size=7, brush=pg.mkBrush(30, 80, 200, 160))
        self.plot.addItem(self.scatter)
        layout = QVBoxLayout(self)
        layout.addWidget(summary)
        layout.addWidget(self.table)
        layout.addWidget(self.plot, 1)
        self.resize(520, 640)
