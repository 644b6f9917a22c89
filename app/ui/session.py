"""The open project in the GUI: clip rows, the current clip, and review actions.

Widgets observe this object's signals; review actions call the project store,
which commits each change at once and records it for undo, then refresh the
affected rows. No widget keeps its own copy of a clip.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.ui.clip_table import ClipTableModel
from app.ui.transcript import TranscriptSegment, words_from_store

logger = logging.getLogger(__name__)

UNREVIEWED = ("unlabeled", "predicted")
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

    @property
    def folder(self) -> Path:
        return Path(self.project.folder)

    # Loading -----------------------------------------------------------------

    def reload(self) -> None:
        """Read every clip from the store again (after analysis, import, undo or redo)."""
        rows = self.project.list_clips()
        self._videos = {video.id: video for video in self.project.videos()}
        self.model.set_rows(rows)
        logger.info("project %s: %d clips in %d videos", self.folder, len(rows), len(self._videos))
        if self.current_clip_id is not None and self.model.row_of(self.current_clip_id) is None:
            self.current_clip_id = None
        self.clipsReset.emit()
        if self.current_clip_id is None and rows:
            self.set_current(rows[0].id)

    def refresh_clip(self, clip_id: int) -> None:
        self.model.replace_row(self.project.clip(clip_id))
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
        return sorted((row for row in self.rows() if row.video_id == video_id and row.start_s is not None),
                      key=lambda row: row.start_s)

    def timeline_data(self, video_id: int):
        """Return the TimelineData of one video's clips, sorted by start time."""
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
            status=tuple(c.status for c in clips),
        )

    def transcript_segments(self, clip_id: int, neighbours: int = 1) -> list[TranscriptSegment]:
        """Return the segments of ``clip_id`` and up to ``neighbours`` clips on each side in its video."""
        current = self.clip(clip_id)
        clips = self.video_clips(current.video_id) or [current]
        position = next((i for i, c in enumerate(clips) if c.id == clip_id), 0)
        chosen = clips[max(0, position - neighbours): position + neighbours + 1]
        return [
            TranscriptSegment(c.id, c.start_s, c.end_s, c.text, words_from_store(c.words, c.text),
                              c.is_machine_draft, c.id == clip_id)
            for c in chosen
        ]

    # Navigation ----------------------------------------------------------------

    def _time_ordered(self) -> list:
        return sorted(self.rows(), key=lambda r: (r.video_id, r.start_s if r.start_s is not None else math.inf, r.id))

    def neighbour_clip(self, step: int) -> int | None:
        """Return the id of the clip ``step`` places after (or before) the current one in time order."""
        ordered = self._time_ordered()
        if not ordered:
            return None
        ids = [r.id for r in ordered]
        if self.current_clip_id not in ids:
            return ids[0]
        position = ids.index(self.current_clip_id) + step
        return ids[position] if 0 <= position < len(ids) else None

    def next_unreviewed(self) -> int | None:
        """Return the next clip after the current one (wrapping) that has no human decision."""
        ordered = self._time_ordered()
        ids = [r.id for r in ordered]
        start = ids.index(self.current_clip_id) + 1 if self.current_clip_id in ids else 0
        for offset in range(len(ordered)):
            row = ordered[(start + offset) % len(ordered)]
            if row.status in UNREVIEWED and row.id != self.current_clip_id:
                return row.id
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

    def undo(self):
        result = self.project.undo()
        self.reload()
        return result

    def redo(self):
        result = self.project.redo()
        self.reload()
        return result

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
