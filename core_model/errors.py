"""Exception types raised by the core; each carries what a user needs to act."""


class SemiIINError(Exception):
    """Base class of every error the core raises on purpose."""


class ConfigError(SemiIINError, ValueError):
    """A configuration has an unknown key or an invalid value."""


class DataError(SemiIINError, ValueError):
    """Input data is invalid: wrong shape, NaN/Inf, unknown format, bad file."""


class MissingModalityError(DataError):
    """A sample has no usable modality at all, so the model cannot score it."""


class CheckpointMismatchError(SemiIINError, ValueError):
    """A checkpoint does not fit the data or preset it is asked to run on."""


class ModelNotFoundError(SemiIINError, FileNotFoundError):
    """Encoder or model weights are not available locally."""


class MediaError(SemiIINError):
    """A media file cannot be probed or decoded."""


class TrainingCancelled(SemiIINError):
    """Training was stopped through its cancellation token."""
