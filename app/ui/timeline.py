"""Timeline of one video: predicted intensity with a confidence band, labels, gate balance, playhead.

Every layer is one batched pyqtgraph item (a step curve with NaN breaks, one
scatter, one bar item for the band and one per status), so 25,000 clips cost a
handful of items.
"""

from __future__ import annotations

import logging
import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.ui.timeline_data import TimelineData, step_xy

logger = logging.getLogger(__name__)

STATUS_COLORS = {
    "unlabeled": (150, 150, 150),
    "predicted": (100, 149, 237),
    "accepted": (46, 160, 67),
    "corrected": (255, 165, 0),
    "rejected": (200, 40, 40),
    "flagged": (170, 60, 200),
}
# Centre and height of the status strip under the intensity axis, in intensity units.
STATUS_Y = -3.4
STATUS_HEIGHT = 0.25


class Timeline(QWidget):
    """Two linked plots: intensity (-3..+3) above the gate balance (0..1), sharing the time axis.

    Click to seek (``seekRequested(seconds)``) and to pick the clip under the
    pointer (``clipClicked(clip_id)``). Wheel and drag zoom and pan the time axis only.
    """

    seekRequested = Signal(float)
    clipClicked = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.data = TimelineData.empty()
        self.setMinimumHeight(240)
        self.graphics = pg.GraphicsLayoutWidget(self)
        self.graphics.setBackground("w")
        self.intensity_plot = self.graphics.addPlot(row=0, col=0)
        self.gate_plot = self.graphics.addPlot(row=1, col=0)
        self.graphics.ci.layout.setRowStretchFactor(0, 3)
        self.graphics.ci.layout.setRowStretchFactor(1, 1)
        self.gate_plot.setXLink(self.intensity_plot)
        for plot in (self.intensity_plot, self.gate_plot):
            plot.setMouseEnabled(x=True, y=False)
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.showGrid(x=True, y=True, alpha=0.2)
        self.intensity_plot.setYRange(-3.6, 3.2, padding=0)
        self.intensity_plot.setLabel("left", "intensity")
        self.gate_plot.setYRange(0, 1, padding=0.05)
        self.gate_plot.setLabel("left", "inter share")
        self.gate_plot.setLabel("bottom", "time", units="s")
        self.intensity_plot.addLegend(offset=(5, 5))
        self.gate_plot.addLegend(offset=(-5, 5))

        # One rectangle per clip, drawn by BarGraphItem's single drawRects call (a filled path
        # over 25,000 clips took tens of seconds to paint).
        self.band = pg.BarGraphItem(x0=[], x1=[], y0=[], y1=[], brush=pg.mkBrush(100, 149, 237, 60),
                                    pen=pg.mkPen(None))
        self.intensity_curve = pg.PlotDataItem(pen=pg.mkPen((30, 80, 200), width=1), name="predicted")
        self.label_points = pg.ScatterPlotItem(symbol="d", size=9, pen=pg.mkPen("k"),
                                              brush=pg.mkBrush(255, 200, 0), name="human label")
        self.status_bars = {
            status: pg.BarGraphItem(x0=[], x1=[], y0=[], y1=[], brush=pg.mkBrush(color), pen=pg.mkPen(None))
            for status, color in STATUS_COLORS.items()
        }
        self.gate_val_curve = pg.PlotDataItem(pen=pg.mkPen((200, 80, 40), width=1.5), name="intensity gate")
        self.gate_cls_curve = pg.PlotDataItem(pen=pg.mkPen((40, 150, 90), width=1.5), name="class gate")
        for item in (self.band, self.intensity_curve, self.label_points, *self.status_bars.values()):
            self.intensity_plot.addItem(item)
        self.gate_plot.addItem(self.gate_val_curve)
        self.gate_plot.addItem(self.gate_cls_curve)
        # Clipping needs the item's view box, so it is switched on after addItem.
        for item in (self.intensity_curve, self.gate_val_curve, self.gate_cls_curve):
            item.setClipToView(True)
            item.setDownsampling(auto=True, method="peak")
        self.playhead = pg.InfiniteLine(pos=0, angle=90, pen=pg.mkPen((220, 0, 0), width=1.5))
        self.gate_playhead = pg.InfiniteLine(pos=0, angle=90, pen=pg.mkPen((220, 0, 0), width=1.5))
        self.intensity_plot.addItem(self.playhead)
        self.gate_plot.addItem(self.gate_playhead)

        self.graphics.scene().sigMouseClicked.connect(self._on_click)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphics)

    def set_data_keep_view(self, data: TimelineData) -> None:
        """Replace every layer with ``data`` but keep the visible time range (after a review action)."""
        x_range = self.intensity_plot.viewRange()[0]
        self.set_data(data)
        self.intensity_plot.setXRange(*x_range, padding=0)

    def set_data(self, data: TimelineData) -> None:
        """Replace every layer with ``data`` and show its whole time range."""
        self.data = data
        start, end = data.start, data.end
        x, y = step_xy(start, end, data.intensity)
        self.intensity_curve.setData(x, y, connect="finite")
        banded = ~np.isnan(data.intensity) & ~np.isnan(data.band)
        self.band.setOpts(x0=start[banded], x1=end[banded], y0=(data.intensity - data.band)[banded],
                          y1=(data.intensity + data.band)[banded])
        labeled = ~np.isnan(data.label)
        self.label_points.setData(x=((start + end) / 2)[labeled], y=data.label[labeled])
        status = np.asarray(data.status, dtype=object)
        for name, bars in self.status_bars.items():
            chosen = status == name if len(status) else np.zeros(0, dtype=bool)
            bars.setOpts(x0=start[chosen], x1=end[chosen], y0=np.full(int(chosen.sum()), STATUS_Y - STATUS_HEIGHT / 2),
                         y1=np.full(int(chosen.sum()), STATUS_Y + STATUS_HEIGHT / 2))
        gx, gv = step_xy(start, end, data.gate_val)
        _, gc = step_xy(start, end, data.gate_cls)
        self.gate_val_curve.setData(gx, gv, connect="finite")
        self.gate_cls_curve.setData(gx, gc, connect="finite")
        if len(start):
            self.intensity_plot.setXRange(float(start.min()), float(end.max()), padding=0.01)
            self.intensity_plot.setLimits(xMin=float(start.min()) - 1, xMax=float(end.max()) + 1)
        logger.debug("timeline shows %d clips", len(start))

    def set_position(self, seconds: float) -> None:
        """Move the playhead; the view scrolls when the playhead leaves it."""
        self.playhead.setPos(seconds)
        self.gate_playhead.setPos(seconds)
        low, high = self.intensity_plot.viewRange()[0]
        if not low <= seconds <= high:
            width = high - low
            self.intensity_plot.setXRange(seconds - 0.1 * width, seconds + 0.9 * width, padding=0)

    def show_range(self, start_s: float, end_s: float) -> None:
        self.intensity_plot.setXRange(start_s, end_s, padding=0.02)

    def clip_at(self, seconds: float) -> int | None:
        """Return the id of the clip that covers ``seconds``, or None."""
        index = int(np.searchsorted(self.data.start, seconds, side="right")) - 1
        if 0 <= index < len(self.data.start) and seconds <= self.data.end[index]:
            return int(self.data.clip_ids[index])
        return None

    def _on_click(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        for plot in (self.intensity_plot, self.gate_plot):
            if plot.sceneBoundingRect().contains(event.scenePos()):
                seconds = float(plot.vb.mapSceneToView(event.scenePos()).x())
                self.seekRequested.emit(seconds)
                clip_id = self.clip_at(seconds)
                if clip_id is not None:
                    self.clipClicked.emit(clip_id)
                return
