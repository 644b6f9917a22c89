"""Exception types of the annotation project store; each names the file or value at fault."""

from __future__ import annotations

from core_model.errors import DataError, SemiIINError


class ProjectError(SemiIINError):
    """Base class of errors raised by the project store."""


class NotAProjectError(ProjectError, FileNotFoundError):
    """The folder has no project.sqlite, or the file is not a Semi-IIN project."""


class SchemaTooNewError(ProjectError):
    """The project file was written by a newer release with a higher schema version."""


class ProjectDamagedError(ProjectError):
    """The project file is corrupt or fails SQLite's integrity check."""


class ProjectClosedError(ProjectError):
    """An operation was requested on a project that has been closed."""


class ClipNotFoundError(ProjectError, KeyError):
    """A clip id does not exist in the project."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "clip not found"


class VideoNotFoundError(ProjectError, KeyError):
    """A video id does not exist in the project."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "video not found"


class NoPredictionError(ProjectError):
    """A clip has no model prediction, so there is nothing to accept."""


class HashMismatchError(ProjectError):
    """A file offered for relinking has different content from the recorded video."""


class InvalidValueError(ProjectError, DataError):
    """A label, time range, prediction row or setting value is invalid."""


class ImportFormatError(ProjectError, DataError):
    """An imported file (label.csv, EAF, SRT, WebVTT) does not have the expected format."""


class ProjectBusyError(ProjectError):
    """Another process held the project's write lock for longer than the busy timeout."""
