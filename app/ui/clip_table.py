"""Clip table: a QAbstractTableModel over the store's ClipRow list, with a status filter and sorting."""

from __future__ import annotations

import logging
import math

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QComboBox, QHBoxLayout, QLabel, QTableView, QVBoxLayout, QWidget

from app.project.bins import intensity_to_bin
from app.ui.player import format_time

logger = logging.getLogger(__name__)

COLUMNS = ("time", "text", "prediction", "bin", "confidence", "label", "status", "annotator")
BIN_LABELS = ("-3", "-2", "-1", "0", "+1", "+2", "+3")
# Role that returns a sortable key; missing values sort last in ascending order.
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
CLIP_ID_ROLE = Qt.ItemDataRole.UserRole + 2


def predicted_bin(row) -> int | None:
    """Return the 7-class bin (0..6) of the predicted intensity, as the store bins labels."""
    if row.predicted_intensity is None:
        return None
    return intensity_to_bin(min(3.0, max(-3.0, row.predicted_intensity)))


def _number(value: float | None, digits: int = 2, signed: bool = True) -> str:
    if value is None:
        return ""
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


class ClipTableModel(QAbstractTableModel):
    """Rows are ClipRow records; ``replace_row`` refreshes one clip after a review action."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: list = []
        self._index_of: dict[int, int] = {}

    def set_rows(self, rows: list) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._index_of = {row.id: i for i, row in enumerate(self._rows)}
        self.endResetModel()

    def rows(self) -> list:
        return self._rows

    def row_of(self, clip_id: int) -> int | None:
        return self._index_of.get(clip_id)

    def clip(self, row: int):
        return self._rows[row]

    def replace_row(self, clip_row) -> None:
        row = self._index_of.get(clip_row.id)
        if row is None:
            return
        self._rows[row] = clip_row
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802 - Qt API
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        column = COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, column)
        if role == SORT_ROLE:
            return self._sort_key(row, column)
        if role == CLIP_ID_ROLE:
            return row.id
        if role == Qt.ItemDataRole.ToolTipRole and column == "text":
            return row.text
        return None

    def _display(self, row, column: str) -> str:
        if column == "time":
            return "" if row.start_s is None else f"{format_time(row.start_s)}-{format_time(row.end_s or 0)}"
        if column == "text":
            return row.text
        if column == "prediction":
            return _number(row.predicted_intensity)
        if column == "bin":
            bin_index = predicted_bin(row)
            return "" if bin_index is None else BIN_LABELS[bin_index]
        if column == "confidence":
            return _number(row.confidence, signed=False)
        if column == "label":
            return _number(row.label_intensity, 1)
        if column == "status":
            return row.status
        return row.annotator or ""

    def _sort_key(self, row, column: str):
        # Missing numbers sort after every real value, so "least confident first" starts with real scores.
        missing = math.inf
        if column == "time":
            return (row.video_id, row.start_s if row.start_s is not None else missing)
        if column == "prediction":
            return row.predicted_intensity if row.predicted_intensity is not None else missing
        if column == "bin":
            bin_index = predicted_bin(row)
            return bin_index if bin_index is not None else missing
        if column == "confidence":
            return row.confidence if row.confidence is not None else missing
        if column == "label":
            return row.label_intensity if row.label_intensity is not None else missing
        return self._display(row, column).lower()


class ClipFilterProxy(QSortFilterProxyModel):
    """Sorts by the model's sort keys and keeps only rows whose status is in ``statuses`` (all when empty)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.statuses: frozenset[str] = frozenset()
        self.setSortRole(SORT_ROLE)

    def set_statuses(self, statuses) -> None:
        self.statuses = frozenset(statuses)
        self.invalidateFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex) -> bool:  # noqa: N802 - Qt API
        if not self.statuses:
            return True
        return self.sourceModel().clip(source_row).status in self.statuses

    def lessThan(self, left: QModelIndex, right: QModelIndex) -> bool:  # noqa: N802 - Qt API
        a = left.data(SORT_ROLE)
        b = right.data(SORT_ROLE)
        try:
            return a < b
        except TypeError:
            return str(a) < str(b)


class ClipTable(QWidget):
    """The table view with a status filter. Double-click emits ``clipActivated(clip_id)``."""

    clipActivated = Signal(int)
    clipSelected = Signal(int)

    def __init__(self, model: ClipTableModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self._syncing = False
        self.proxy = ClipFilterProxy(self)
        self.proxy.setSourceModel(model)
        self.view = QTableView(self)
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(COLUMNS.index("time"), Qt.SortOrder.AscendingOrder)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.verticalHeader().setVisible(False)
        self.view.verticalHeader().setDefaultSectionSize(20)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.setColumnWidth(COLUMNS.index("text"), 280)
        self.view.doubleClicked.connect(self._on_double_click)
        self.view.selectionModel().currentRowChanged.connect(self._on_current_row)
        self.status_box = QComboBox(self)
        self.status_box.addItem("all statuses", ())
        self.status_box.addItem("needs review (unlabeled, predicted, flagged)", ("unlabeled", "predicted", "flagged"))
        for status in ("unlabeled", "predicted", "accepted", "corrected", "rejected", "flagged"):
            self.status_box.addItem(status, (status,))
        self.status_box.currentIndexChanged.connect(
            lambda i: self.proxy.set_statuses(self.status_box.itemData(i)))
        header = QHBoxLayout()
        header.addWidget(QLabel("Show:", self))
        header.addWidget(self.status_box, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.view, 1)

    def sort_least_confident_first(self) -> None:
        self.view.sortByColumn(COLUMNS.index("confidence"), Qt.SortOrder.AscendingOrder)

    def select_clip(self, clip_id: int) -> None:
        """Select and scroll to ``clip_id`` without emitting ``clipActivated``."""
        row = self.model.row_of(clip_id)
        if row is None:
            return
        proxy_index = self.proxy.mapFromSource(self.model.index(row, 0))
        if proxy_index.isValid() and self.view.currentIndex().row() != proxy_index.row():
            self._syncing = True
            try:
                self.view.setCurrentIndex(proxy_index)
            finally:
                self._syncing = False
            self.view.scrollTo(proxy_index)

    def visible_clip_ids(self) -> list[int]:
        """Return the clip ids in the table's current sort order and filter."""
        return [self.proxy.index(r, 0).data(CLIP_ID_ROLE) for r in range(self.proxy.rowCount())]

    def _on_double_click(self, index: QModelIndex) -> None:
        self.clipActivated.emit(index.data(CLIP_ID_ROLE))

    def _on_current_row(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid() and not self._syncing:
            self.clipSelected.emit(current.data(CLIP_ID_ROLE))
