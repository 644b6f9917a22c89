"""The open project in the GUI: clip rows, the current clip, and review actions.

Widgets observe this object's signals; review actions call the project store,
which commits each change at once and records it for undo, then refresh the
affected rows. No widget keeps its own copy of a clip.
"""

from __future__ import annotations

import logging
import math
import re
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.ui.clip_table import ClipTableModel
from app.ui.transcript import TranscriptSegment, words_from_store

logger = logging.getLogger(__name__)

UNREVIEWED = ("unlabeled", "predicted")
# Descriptions of the store's single-clip review actions; group 1 is the clip id.
SINGLE_CLIP_ACTION = re.compile(
    r"^(?:Accept prediction of clip|Label clip|Reject clip|Flag clip|Clear the decision on clip|Edit text of clip) "
    r"(\d+)\b")
# Intensities of the 7 class centres, used for the spread of a predicted class distribution.
CLASS_CENTRES = (-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0)


def confidence_band(probs: list[float] | None, confidence: float | None) -> float:
    """Return the band half-width in intensity units for one prediction.

    With class probabilities it is the standard deviation of the 7-class
    distribution over the class centres -3..+3; otherwise ``3 * (1 - confidence)``.
    """
    if probs and len(probs) == len(CLASS_CENTRES):
        total = float(sum(probs))
        if total > 0:
            weights = [p / total for p in probs]
            mean = sum(w * c for w, c in zip(weights, CLASS_CENTRES))
            variance = sum(w * (c - mean) ** 2 for w, c in zip(weights, CLASS_CENTRES))
            return math.sqrt(max(0.0, variance))
    if confidence is not None:
        return 3.0 * (1.0 - float(confidence))
    return math.nan


def default_annotator() -> str:
    """Return the login name, used as the annotator when the project sets none."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "annotator"


def _value(x) -> float:
    return math.nan if x is None else float(x)


class ProjectSession(QObject):
    """Holds the open Project, its clip rows (in ``model``) and the current clip.

    Signals: ``clipsReset()`` after the rows are reloaded, ``clipChanged(clip_id)``
    after one clip's row changed, ``currentClipChanged(clip_id)``.
    """

    clipsReset = Signal()
    clipChanged = Signal(int)
    currentClipChanged = Signal(int)

    def __init__(self, project, parent: QObject | None = None):
        super().__init__(parent)
        self.project = project
        self.model = ClipTableModel(self)
        self.current_clip_id: int | None = None
        self.annotator = str(project.get_setting("annotator", None) or default_annotator())
        self._videos: dict = {}
        # Caches rebuilt on reload: clip ids in time order, each clip's position in
        # that order, per-video clip ids by start time, and per-video timeline arrays.
        self._ordered_ids: list[int] = []
        self._order_index: dict[int, int] = {}
        self._video_clip_ids: dict[int, list[int]] = {}
        self._timelines: dict = {}

    @property
    def folder(self) -> Path:
        return Path(self.project.folder)

    # Loading -----------------------------------------------------------------

    def reload(self) -> None:
        """Read every clip from the store again (after analysis, import, undo or redo)."""
        rows = self.project.list_clips()
        self._videos = {video.id: video for video in self.project.videos()}
        self.model.set_rows(rows)
        ordered = sorted(rows, key=lambda r: (r.video_id, r.start_s if r.start_s is not None else math.inf, r.id))
        self._ordered_ids = [r.id for r in ordered]
        self._order_index = {clip_id: i for i, clip_id in enumerate(self._ordered_ids)}
        self._video_clip_ids = {}
        for row in ordered:
            if row.start_s is not None:
                self._video_clip_ids.setdefault(row.video_id, []).append(row.id)
        self._timelines = {}
        logger.info("project %s: %d clips in %d videos", self.folder, len(rows), len(self._videos))
        if self.current_clip_id is not None and self.model.row_of(self.current_clip_id) is None:
            self.current_clip_id = None
        self.clipsReset.emit()
        if self.current_clip_id is None and rows:
            self.set_current(rows[0].id)

    def refresh_clip(self, clip_id: int) -> None:
        """Read one clip again after a review action and update its table row and timeline entry."""
        row = self.project.clip(clip_id)
        self.model.replace_row(row)
        cached = self._timelines.get(row.video_id)
        if cached is not None:
            data, index_of = cached
            index = index_of.get(clip_id)
            if index is not None:
                data.intensity[index] = _value(row.predicted_intensity)
                data.band[index] = confidence_band(row.probs, row.confidence)
                data.label[index] = _value(row.label_intensity)
                data.gate_val[index] = _value(row.gate_val)
                data.gate_cls[index] = _value(row.gate_cls)
                data.status[index] = row.status
        self.clipChanged.emit(clip_id)

    def rows(self) -> list:
        return self.model.rows()

    def clip(self, clip_id: int):
        return self.model.clip(self.model.row_of(clip_id))

    def current_clip(self):
        if self.current_clip_id is None:
            return None
        return self.clip(self.current_clip_id)

    def video(self, video_id: int):
        return self._videos.get(video_id)

    def set_current(self, clip_id: int) -> None:
        if self.model.row_of(clip_id) is None:
            raise KeyError(f"clip {clip_id} is not in project {self.folder}")
        if clip_id != self.current_clip_id:
            self.current_clip_id = clip_id
            self.currentClipChanged.emit(clip_id)

    def video_clips(self, video_id: int) -> list:
        """Return the timed clips of one video, sorted by start time."""
        return [self.clip(clip_id) for clip_id in self._video_clip_ids.get(video_id, [])]

    def timeline_data(self, video_id: int):
        """Return the TimelineData of one video's clips, sorted by start time.

        The arrays are built once per reload and updated in place by
        ``refresh_clip``, so a review action does not rebuild them.
        """
        cached = self._timelines.get(video_id)
        if cached is None:
            data = self._build_timeline_data(video_id)
            cached = (data, {int(clip_id): i for i, clip_id in enumerate(data.clip_ids)})
            self._timelines[video_id] = cached
        return cached[0]

    def _build_timeline_data(self, video_id: int):
        import numpy as np

        from app.ui.timeline_data import TimelineData

        clips = self.video_clips(video_id)
        return TimelineData(
            clip_ids=np.array([c.id for c in clips], dtype=np.int64),
            start=np.array([c.start_s for c in clips], dtype=np.float64),
            end=np.array([_value(c.end_s) for c in clips], dtype=np.float64),
            intensity=np.array([_value(c.predicted_intensity) for c in clips], dtype=np.float64),
            band=np.array([confidence_band(c.probs, c.confidence) for c in clips], dtype=np.float64),
            label=np.array([_value(c.label_intensity) for c in clips], dtype=np.float64),
            gate_val=np.array([_value(c.gate_val) for c in clips], dtype=np.float64),
            gate_cls=np.array([_value(c.gate_cls) for c in clips], dtype=np.float64),
            status=np.array([c.status for c in clips], dtype=object),
        )

    def transcript_segments(self, clip_id: int, neighbours: int = 1) -> list[TranscriptSegment]:
        """Return the segments of ``clip_id`` and up to ``neighbours`` clips on each side in its video."""
        current = self.clip(clip_id)
        ids = self._video_clip_ids.get(current.video_id, [])
        if clip_id in ids:
            position = ids.index(clip_id)
            chosen = [self.clip(i) for i in ids[max(0, position - neighbours): position + neighbours + 1]]
        else:
            chosen = [current]
        return [
            TranscriptSegment(c.id, c.start_s, c.end_s, c.text, words_from_store(c.words, c.text),
                              c.is_machine_draft, c.id == clip_id)
            for c in chosen
        ]

    # Navigation ----------------------------------------------------------------

    def neighbour_clip(self, step: int) -> int | None:
        """Return the id of the clip ``step`` places after (or before) the current one in time order."""
        ids = self._ordered_ids
        if not ids:
            return None
        if self.current_clip_id not in self._order_index:
            return ids[0]
        position = self._order_index[self.current_clip_id] + step
        return ids[position] if 0 <= position < len(ids) else None

    def next_unreviewed(self) -> int | None:
        """Return the next clip after the current one (wrapping) that has no human decision."""
        ids = self._ordered_ids
        start = self._order_index.get(self.current_clip_id, -1) + 1
        for offset in range(len(ids)):
            clip_id = ids[(start + offset) % len(ids)]
            if clip_id != self.current_clip_id and self.clip(clip_id).status in UNREVIEWED:
                return clip_id
        return None

    def least_confident_unreviewed(self) -> int | None:
        """Return the unreviewed clip with the lowest prediction confidence, other than the current one."""
        candidates = [r for r in self.rows()
                      if r.status == "predicted" and r.confidence is not None and r.id != self.current_clip_id]
        if not candidates:
            return None
        return min(candidates, key=lambda r: (r.confidence, r.id)).id

    # Review actions (each one is committed by the store at once) ---------------

    def set_label(self, intensity: float) -> None:
        clip_id = self._require_current()
        value = round(min(3.0, max(-3.0, float(intensity))), 2)
        self.project.set_label(clip_id, value, self.annotator)
        logger.info("clip %d labelled %+.2f", clip_id, value)
        self.refresh_clip(clip_id)

    def nudge_label(self, delta: float) -> None:
        """Change the current label by ``delta``, starting from the prediction when there is no label."""
        row = self.current_clip()
        if row is None:
            return
        base = row.label_intensity if row.label_intensity is not None else (row.predicted_intensity or 0.0)
        self.set_label(round((base + delta) * 10) / 10)

    def accept(self) -> None:
        clip_id = self._require_current()
        self.project.accept(clip_id, self.annotator)
        self.refresh_clip(clip_id)

    def reject(self) -> None:
        clip_id = self._require_current()
        self.project.reject(clip_id, self.annotator)
        self.refresh_clip(clip_id)

    def flag(self) -> None:
        clip_id = self._require_current()
        self.project.flag(clip_id, self.annotator)
        self.refresh_clip(clip_id)

    def edit_text(self, clip_id: int, text: str) -> None:
        self.project.edit_text(clip_id, text, self.annotator)
        self.refresh_clip(clip_id)

    def undo(self) -> str | None:
        """Undo the latest action and return its description (None when there is nothing to undo)."""
        description = self.project.undo()
        self._refresh_after_history(description)
        return description

    def redo(self) -> str | None:
        """Redo the earliest undone action and return its description (None when there is nothing to redo)."""
        description = self.project.redo()
        self._refresh_after_history(description)
        return description

    def _refresh_after_history(self, description: str | None) -> None:
        # NOTE: the store reports an undone action only by its description. Single-clip
        # review actions name their clip ("Label clip 12 as +1.00"), so only that row is
        # read again; any other action (bulk accept, import, moved bounds) reloads all clips.
        if description is None:
            return
        match = SINGLE_CLIP_ACTION.match(description)
        if match and int(match.group(1)) in self._order_index:
            self.refresh_clip(int(match.group(1)))
        else:
            self.reload()

    def count_bulk_accept(self, min_confidence: float) -> int:
        return int(self.project.count_bulk_accept(min_confidence))

    def bulk_accept(self, min_confidence: float) -> int:
        count = self.project.bulk_accept(min_confidence, self.annotator)
        self.reload()
        return count

    def _require_current(self) -> int:
        if self.current_clip_id is None:
            raise LookupError("no clip is selected; select a clip in the table or the timeline first")
        return self.current_clip_id
