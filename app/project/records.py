"""Plain records returned by the project store (no database handles inside)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Annotation statuses. "unlabeled" and "predicted" are derived: a clip without a
# human decision is "predicted" when it has a prediction, else "unlabeled".
STATUSES = ("unlabeled", "predicted", "accepted", "corrected", "rejected", "flagged")
HUMAN_STATUSES = ("accepted", "corrected", "rejected", "flagged")
LABELED_STATUSES = ("accepted", "corrected")
SPLITS = ("train", "valid", "test")


@dataclass(frozen=True)
class VideoRecord:
    """A media file referenced by the project; ``path`` and ``sha256`` are None for label-only imports."""

    id: int
    name: str
    path: Path | None
    sha256: str | None
    size_bytes: int | None
    duration_s: float | None
    streams: list[dict[str, Any]]
    added_at: str

    @property
    def exists(self) -> bool:
        return self.path is not None and self.path.is_file()


@dataclass(frozen=True)
class ClipRow:
    """A clip with its latest prediction and its current annotation joined.

    Times are seconds from the media's own timestamps (None for clips imported
    without media). ``probs`` holds the 7 class probabilities of the latest
    prediction; ``status`` is one of STATUSES.
    """

    id: int
    video_id: int
    start_s: float | None
    end_s: float | None
    text: str
    words: list[dict[str, Any]]
    missing: list[str]
    split: str | None
    alignment_confidence: float | None
    is_machine_draft: bool
    feature_key: str | None
    source_id: str | None
    meta: dict[str, Any]
    # Latest prediction (None when the clip has none).
    predicted_intensity: float | None
    probs: list[float] | None
    gate_val: float | None
    gate_cls: float | None
    confidence: float | None
    model_version: str | None
    # Current annotation.
    status: str
    label_intensity: float | None
    label_bin: int | None
    annotator: str | None
    updated_at: str | None
    note: str
    label_model_version: str | None
    label_confidence: float | None

    @property
    def duration_s(self) -> float | None:
        if self.start_s is None or self.end_s is None:
            return None
        return self.end_s - self.start_s

    @property
    def is_labeled(self) -> bool:
        return self.status in LABELED_STATUSES


@dataclass(frozen=True)
class HistoryEntry:
    """One user action in the history table; ``state`` is done, undone or discarded."""

    id: int
    action: str
    description: str
    annotator: str
    created_at: str
    state: str
    state_changed_at: str | None
    change_count: int


@dataclass(frozen=True)
class ModelVersion:
    """A registered model version; ``directory`` is relative to the project folder when inside it."""

    version: str
    directory: Path
    config: dict[str, Any]
    metrics: dict[str, Any]
    parent: str | None
    training_summary: dict[str, Any]
    created_at: str


@dataclass(frozen=True)
class LabeledItem:
    """One labeled training example: a project clip, or a base-corpus entry (``clip_id`` None)."""

    clip_id: int | None
    feature_key: str | None
    intensity: float
    bin: int
    group: str
    source: str = "project"


@dataclass(frozen=True)
class TrainingSets:
    """Clip ids for self-training; train and valid never share a group (video)."""

    labeled_train: list[LabeledItem] = field(default_factory=list)
    labeled_valid: list[LabeledItem] = field(default_factory=list)
    unlabeled: list[int] = field(default_factory=list)
