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


class MediaNotFoundError(MediaError, FileNotFoundError):
    """A media file does not exist at the given path."""


class EmptyMediaError(MediaError):
    """A media file has zero bytes."""


class NotMediaError(MediaError):
    """A file is not in any audio or video format that FFmpeg can read."""


class TruncatedMediaError(MediaError):
    """A media file ends before its declared duration or lacks its index."""


class NoAudioStreamError(MediaError):
    """Audio was requested from a file that has no audio stream."""


class NoVideoStreamError(MediaError):
    """Video frames were requested from a file that has no video stream."""


class TranscriptError(DataError):
    """A transcript file cannot be read or parsed."""


class AnalysisCancelled(SemiIINError):
    """Video analysis was stopped through its cancellation token."""
