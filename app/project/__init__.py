"""Annotation projects: SQLite store, history, import and export (no Qt)."""

from app.project.atomic import atomic_directory, atomic_write_bytes, atomic_write_text
from app.project.bins import intensity_to_bin, sentiment_word, validate_intensity
from app.project.errors import (
    ClipNotFoundError,
    HashMismatchError,
    ImportFormatError,
    InvalidValueError,
    NoPredictionError,
    NotAProjectError,
    ProjectBusyError,
    ProjectClosedError,
    ProjectDamagedError,
    ProjectError,
    SchemaTooNewError,
    VideoNotFoundError,
)
from app.project.project import Project
from app.project.records import (
    HUMAN_STATUSES,
    LABELED_STATUSES,
    STATUSES,
    ClipRow,
    HistoryEntry,
    LabeledItem,
    ModelVersion,
    TrainingSets,
    VideoRecord,
)
from app.project.schema import SCHEMA_VERSION

__all__ = [
    "Project", "ClipRow", "VideoRecord", "HistoryEntry", "ModelVersion", "LabeledItem", "TrainingSets",
    "STATUSES", "HUMAN_STATUSES", "LABELED_STATUSES", "SCHEMA_VERSION",
    "atomic_directory", "atomic_write_bytes", "atomic_write_text",
    "intensity_to_bin", "sentiment_word", "validate_intensity",
    "ProjectError", "NotAProjectError", "SchemaTooNewError", "ProjectDamagedError", "ProjectClosedError", "ProjectBusyError",
    "ClipNotFoundError", "VideoNotFoundError", "NoPredictionError", "HashMismatchError", "InvalidValueError",
    "ImportFormatError",
]
