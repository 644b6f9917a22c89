"""Plain records that describe a media file's streams."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MediaInfo:
    """Stream facts read from a media file's headers by `probe`.

    Times are seconds from the container's start time. Fields of a stream the
    file lacks are None (audio fields when `has_audio` is False, and so on).
    `width` and `height` are the upright display size, after `rotation_deg`
    (counter-clockwise) from the file's display matrix is applied.
    """

    path: Path
    duration_s: float
    has_audio: bool
    has_video: bool
    format_name: str
    audio_codec: str | None = None
    audio_sample_rate: int | None = None
    audio_channels: int | None = None
    audio_duration_s: float | None = None
    video_codec: str | None = None
    width: int | None = None
    height: int | None = None
    average_fps: float | None = None
    frame_count: int | None = None
    video_duration_s: float | None = None
    rotation_deg: int = 0
    size_bytes: int = 0
