"""Probe media files and decode their audio and video with PyAV.

All times are seconds from the container's start time, taken from the
streams' presentation timestamps, so variable frame rate video keeps its
real timing. Audio comes back as float32 mono in [-1, 1].
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from core_model.errors import (
    EmptyMediaError,
    MediaError,
    MediaNotFoundError,
    NoAudioStreamError,
    NotMediaError,
    NoVideoStreamError,
    TruncatedMediaError,
)
from core_model.media.types import MediaInfo

logger = logging.getLogger(__name__)

# Leading bytes of container formats that FFmpeg reads. A file that starts
# like one of these but fails to open is damaged or truncated, not foreign.
_CONTAINER_SIGNATURES = (
    (4, b"ftyp"),  # MP4, MOV, M4A
    (4, b"moov"),
    (4, b"mdat"),
    (4, b"free"),
    (0, b"RIFF"),  # WAV, AVI
    (0, b"\x1a\x45\xdf\xa3"),  # Matroska, WebM
    (0, b"OggS"),
    (0, b"fLaC"),
    (0, b"ID3"),  # MP3 with tags
    (0, b"FLV"),
)

# A decoded stream that ends this much before its declared end is reported as
# truncated. In the test clips, AAC and H.264 streams end within one frame
# (< 0.1 s) of their declared end.
TRUNCATION_TOLERANCE_S = 0.5

# Audio decoded before a requested start time and then dropped.
AUDIO_PREROLL_S = 0.2

# Differences between an audio frame's timestamp and the end of the previous
# frame up to this size are rounding (timestamps in milliseconds, as in
# Matroska); larger ones are gaps or overlaps.
TIMESTAMP_JITTER_S = 0.002


def _looks_like_container(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(16)
    return any(head[offset : offset + len(magic)] == magic for offset, magic in _CONTAINER_SIGNATURES)


@contextmanager
def open_media(path: str | Path) -> Iterator[av.container.InputContainer]:
    """Open `path` with PyAV, turning FFmpeg's errors into specific MediaErrors."""
    path = Path(path)
    if not path.exists():
        raise MediaNotFoundError(f"Media file not found: {path}. Check the path, or relink the moved file.")
    if path.is_dir():
        raise NotMediaError(f"{path} is a folder, not a media file. Pass a video or audio file inside it.")
    if not path.is_file():
        # Reading a pipe or device could block forever, so only regular files are opened.
        raise NotMediaError(f"{path} is not a regular file (a pipe or device?). Save the media to a file first.")
    if path.stat().st_size == 0:
        raise EmptyMediaError(f"Media file {path} is empty (0 bytes). Copy or download it again.")
    try:
        container = av.open(str(path), mode="r")
    except av.error.InvalidDataError as error:
        if _looks_like_container(path):
            raise TruncatedMediaError(
                f"Media file {path} starts like a known container but cannot be read: it is truncated or "
                f"damaged (for MP4, the index at the end is often missing). Copy or download it again. "
                f"FFmpeg reported: {error}"
            ) from error
        raise NotMediaError(
            f"{path} is not an audio or video file that FFmpeg can read (is the extension wrong?). "
            f"Convert it to MP4, MKV or WAV. FFmpeg reported: {error}"
        ) from error
    except av.error.FFmpegError as error:
        raise MediaError(f"Opening {path} with FFmpeg failed: {error}") from error
    try:
        if not container.streams.audio and _video_stream(container) is None:
            raise NotMediaError(
                f"{path} contains no audio or video stream (format {container.format.name}). "
                f"Pass a video or audio file."
            )
        yield container
    finally:
        container.close()


def _video_stream(container: av.container.InputContainer) -> av.video.stream.VideoStream | None:
    """Return the first video stream that is a moving picture, not cover art, or None."""
    for stream in container.streams.video:
        # Music and audiobook files carry their cover image as a one-frame "video" stream.
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    return None


def _origin_s(container: av.container.InputContainer) -> float:
    """Return the container start time in seconds, the origin of every time this module returns."""
    if container.start_time is None:
        return 0.0
    return container.start_time / av.time_base


def _stream_end_s(stream: av.stream.Stream, origin_s: float) -> float | None:
    if stream.duration is None or stream.time_base is None:
        return None
    start = stream.start_time or 0
    return float((start + stream.duration) * stream.time_base) - origin_s


def _scan_end_s(container: av.container.InputContainer, origin_s: float) -> float:
    """Return the end of the last packet, for containers that declare no duration."""
    end = 0.0
    for packet in container.demux():
        if packet.pts is None or packet.time_base is None:
            continue
        packet_end = float((packet.pts + (packet.duration or 0)) * packet.time_base) - origin_s
        end = max(end, packet_end)
    return end


def probe(path: str | Path) -> MediaInfo:
    """Read the streams of a media file from its headers and first video frame.

    Only the first video frame is decoded, for its display rotation.

    Raises MediaNotFoundError, EmptyMediaError, NotMediaError or
    TruncatedMediaError with a message that names the file. A file cut off
    after intact headers (an MP4 with its index first) probes fine; the
    decoding functions raise TruncatedMediaError for it.
    """
    path = Path(path)
    with open_media(path) as container:
        origin = _origin_s(container)
        audio = container.streams.audio[0] if container.streams.audio else None
        video = _video_stream(container)
        audio_end = _stream_end_s(audio, origin) if audio is not None else None
        video_end = _stream_end_s(video, origin) if video is not None else None

        if container.duration is not None:
            duration = container.duration / av.time_base
        else:
            known_ends = [end for end in (audio_end, video_end) if end is not None]
            duration = max(known_ends) if known_ends else _scan_end_s(container, origin)

        info = MediaInfo(
            path=path,
            duration_s=float(duration),
            has_audio=audio is not None,
            has_video=video is not None,
            format_name=container.format.name,
            size_bytes=path.stat().st_size,
        )
        fields = {}
        if audio is not None:
            fields.update(
                audio_codec=audio.codec_context.name,
                audio_sample_rate=audio.codec_context.sample_rate or audio.rate,
                audio_channels=audio.codec_context.channels,
                audio_duration_s=audio_end,
            )
        if video is not None:
            rate = video.average_rate or video.guessed_rate
            rotation = _first_frame_rotation(container, video)
            width, height = video.codec_context.width, video.codec_context.height
            if rotation in (90, 270):
                width, height = height, width
            fields.update(
                video_codec=video.codec_context.name,
                width=width,
                height=height,
                rotation_deg=rotation,
                average_fps=float(rate) if rate else None,
                frame_count=video.frames or None,
                video_duration_s=video_end,
            )
    return replace(info, **fields)


def _first_frame_rotation(container: av.container.InputContainer, stream: av.stream.Stream) -> int:
    """Return the display rotation of the first video frame: 0, 90, 180 or 270 degrees counter-clockwise.

    PyAV exposes the display matrix (phone videos filmed upright) only on
    decoded frames. A file whose first frame does not decode counts as
    unrotated, and the decoding functions report the damage.
    """
    try:
        for frame in container.decode(stream):
            return _quarter_turns(frame) * 90
    except av.error.FFmpegError as error:
        logger.debug("%s: first video frame did not decode: %s", container.name, error)
    return 0


def _quarter_turns(frame: av.VideoFrame) -> int:
    """Return how many quarter turns counter-clockwise show `frame` upright (0 to 3)."""
    return round(getattr(frame, "rotation", 0) / 90) % 4


def _check_range(start_s: float | None, end_s: float | None) -> tuple[float, float]:
    start = 0.0 if start_s is None else float(start_s)
    end = math.inf if end_s is None else float(end_s)
    if start < 0 or not math.isfinite(start):
        raise ValueError(f"start_s must be a finite time >= 0 in seconds, got {start_s!r}")
    if end <= start:
        raise ValueError(f"end_s ({end_s!r}) must be later than start_s ({start!r})")
    return start, end


def _seek(container: av.container.InputContainer, stream: av.stream.Stream, time_s: float) -> None:
    """Seek to the last keyframe at or before `time_s` (relative to the origin)."""
    if time_s <= 0:
        return
    target = time_s + _origin_s(container)
    offset = int(Fraction(target).limit_denominator(1_000_000) / stream.time_base)
    container.seek(offset, stream=stream, backward=True, any_frame=False)


def decode_audio(
    path: str | Path,
    sample_rate: int = 16000,
    start_s: float | None = None,
    end_s: float | None = None,
) -> np.ndarray:
    """Decode the first audio stream to mono float32 in [-1, 1] at `sample_rate` Hz.

    Returns shape (S,), where sample 0 is at `start_s` (default 0). The result
    ends at the earliest of `end_s`, the audio stream's declared end and the
    container's duration, which drops the encoder's end padding. FFmpeg
    already skips the codec's start priming that MP4 edit lists declare.

    Raises NoAudioStreamError for a file without audio, TruncatedMediaError
    when decoding stops more than TRUNCATION_TOLERANCE_S before the declared
    end, and the errors of `probe` for unreadable files.

    NOTE: containers with millisecond timestamps (Matroska, WebM) place a
    window that starts after a seek up to 0.5 ms off the same span of a
    decode from 0. MP4 timestamps count samples, so MP4 windows match exactly.
    """
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive number of Hz, got {sample_rate!r}")
    start, end = _check_range(start_s, end_s)
    path = Path(path)

    with open_media(path) as container:
        if not container.streams.audio:
            raise NoAudioStreamError(
                f"{path} has no audio stream; treat its audio modality as missing or use a file with sound."
            )
        stream = container.streams.audio[0]
        origin = _origin_s(container)
        declared_end = _stream_end_s(stream, origin)
        if container.duration is not None:
            container_end = container.duration / av.time_base
            declared_end = container_end if declared_end is None else min(declared_end, container_end)
        stop = end if declared_end is None else min(end, declared_end)
        if stop <= start:
            logger.warning("%s: requested audio from %.3f s starts after its end at %.3f s", path, start, stop)
            return np.zeros(0, dtype=np.float32)

        decoded, first_time = _decode_resampled(container, stream, start, stop, sample_rate, path)

    # Place the decoded samples on the timeline: drop those before `start`,
    # and pad with zeros when the audio stream begins after `start`.
    offset = round((first_time - start) * sample_rate)
    if offset < 0:
        decoded = decoded[-offset:]
    elif offset > 0:
        logger.debug("%s: audio begins %.3f s after the requested start; padding with zeros", path, offset / sample_rate)
        decoded = np.concatenate([np.zeros(offset, dtype=np.float32), decoded])

    expected = round((stop - start) * sample_rate) if math.isfinite(stop) else len(decoded)
    if len(decoded) < expected - TRUNCATION_TOLERANCE_S * sample_rate:
        raise TruncatedMediaError(
            f"The audio of {path} ends at {start + len(decoded) / sample_rate:.2f} s but the file declares "
            f"{stop:.2f} s: the file is truncated or damaged. Copy or download it again."
        )
    audio = decoded[:expected]
    if len(audio) < expected:
        audio = np.concatenate([audio, np.zeros(expected - len(audio), dtype=np.float32)])
    return np.clip(audio, -1.0, 1.0).astype(np.float32, copy=False)


def _decode_resampled(
    container: av.container.InputContainer,
    stream: av.audio.stream.AudioStream,
    start: float,
    stop: float,
    sample_rate: int,
    path: Path,
) -> tuple[np.ndarray, float]:
    """Decode and resample audio from about `start` to `stop`; return (samples (S,), time of sample 0).

    Gaps between packets' timestamps (dropped packets, joined recordings) are
    filled with silence and overlaps are cut, so every sample stays at its
    presentation time.
    """
    origin = _origin_s(container)
    resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
    chunks: list[np.ndarray] = []
    first_time: float | None = None
    next_index: int | None = None  # input sample index where the next frame should start
    gaps = overlaps = 0

    # Seek a little early: the first AAC/MP3 frame after a seek lacks the
    # overlap of its predecessor, and the resampler's filter needs history.
    _seek(container, stream, start - AUDIO_PREROLL_S)
    try:
        for frame in container.decode(stream):
            frame_time = (frame.time - origin) if frame.time is not None else None
            if frame_time is not None and frame_time > stop:
                break
            if first_time is None:
                if frame_time is None:
                    first_time = start
                else:
                    frame, first_time = _align_to_output_grid(frame, frame_time, sample_rate)
                    if frame is None:
                        continue
                next_index = round(first_time * frame.sample_rate)
            elif frame_time is not None:
                offset = round(frame_time * frame.sample_rate) - next_index
                tolerance = round(TIMESTAMP_JITTER_S * frame.sample_rate)
                if offset > tolerance:
                    gaps += 1
                    for out in resampler.resample(_silent_like(frame, offset)):
                        chunks.append(out.to_ndarray().reshape(-1))
                    next_index += offset
                elif offset < -tolerance:
                    overlaps += 1
                    if -offset >= frame.samples:
                        continue
                    frame = _drop_head(frame, -offset)
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
            next_index += frame.samples
    except av.error.FFmpegError as error:
        raise TruncatedMediaError(
            f"Decoding the audio of {path} failed after {sum(len(c) for c in chunks) / sample_rate:.2f} s: "
            f"the file is truncated or damaged. Copy or download it again. FFmpeg reported: {error}"
        ) from error
    # Drain the samples still held in the resampler's filter.
    for out in resampler.resample(None):
        chunks.append(out.to_ndarray().reshape(-1))

    if gaps or overlaps:
        logger.info("%s: filled %d gaps with silence and cut %d overlaps in the audio timestamps", path, gaps, overlaps)
    decoded = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    return decoded, (start if first_time is None else first_time)


def _frame_samples(frame: av.AudioFrame) -> tuple[np.ndarray, int]:
    """Return the frame's samples as an array and the array columns per sample.

    Packed formats give (1, samples * channels), planar ones (channels, samples).
    """
    samples = frame.to_ndarray()
    width = samples.shape[1] // frame.samples if frame.format.is_packed else 1
    return samples, width


def _like(frame: av.AudioFrame, samples: np.ndarray) -> av.AudioFrame:
    new = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples), format=frame.format.name, layout=frame.layout.name)
    new.sample_rate = frame.sample_rate
    return new


def _drop_head(frame: av.AudioFrame, count: int) -> av.AudioFrame:
    """Return a copy of `frame` without its first `count` samples."""
    samples, width = _frame_samples(frame)
    return _like(frame, samples[:, count * width :])


def _silent_like(frame: av.AudioFrame, count: int) -> av.AudioFrame:
    """Return `count` samples of silence in the format of `frame`."""
    samples, width = _frame_samples(frame)
    return _like(frame, np.zeros((samples.shape[0], count * width), dtype=samples.dtype))


def _align_to_output_grid(
    frame: av.AudioFrame, frame_time: float, sample_rate: int
) -> tuple[av.AudioFrame | None, float | None]:
    """Drop the first samples of `frame` so that it starts on a time shared by both sample grids.

    Resampling then puts output samples at the same times whether decoding
    starts at 0 or after a seek, so a clip decoded alone matches the same
    span of the whole file. Returns (None, None) when the frame is dropped whole.
    """
    common = math.gcd(frame.sample_rate, sample_rate)
    step = frame.sample_rate // common  # input samples between shared grid times
    first_index = round(frame_time * frame.sample_rate)
    drop = (-first_index) % step
    if drop == 0:
        return frame, frame_time
    if drop >= frame.samples:
        return None, None
    return _drop_head(frame, drop), (first_index + drop) / frame.sample_rate


def rms_dbfs(audio: np.ndarray) -> float:
    """Return the RMS level of float audio in dB relative to full scale (-inf for silence)."""
    audio = np.asarray(audio, dtype=np.float64)
    if audio.size == 0:
        return -math.inf
    rms = math.sqrt(float(np.mean(audio * audio)))
    return 20.0 * math.log10(rms) if rms > 0 else -math.inf


def is_silent(audio: np.ndarray, threshold_db: float = -60.0) -> bool:
    """Return True when the RMS level of `audio` is below `threshold_db` dBFS (empty audio is silent)."""
    return rms_dbfs(audio) < threshold_db


def frame_timestamps(path: str | Path) -> np.ndarray:
    """Return the presentation time in seconds of every video frame, sorted, shape (F,).

    Reads packet timestamps without decoding, so the result is exact for
    variable frame rate video. Raises NoVideoStreamError for audio-only files.
    """
    path = Path(path)
    with open_media(path) as container:
        stream = _video_stream(container)
        if stream is None:
            raise NoVideoStreamError(f"{path} has no video stream; treat its visual modality as missing.")
        origin = _origin_s(container)
        times = []
        last_end = 0.0  # end of the latest frame: a slideshow's last frame can last seconds
        try:
            for packet in container.demux(stream):
                if packet.pts is None or packet.size == 0 or packet.is_discard:
                    continue
                times.append(float(packet.pts * stream.time_base) - origin)
                last_end = max(last_end, float((packet.pts + (packet.duration or 0)) * stream.time_base) - origin)
        except av.error.FFmpegError as error:
            raise TruncatedMediaError(
                f"Reading the video packets of {path} failed: the file is truncated or damaged. "
                f"FFmpeg reported: {error}"
            ) from error
        declared_end = _stream_end_s(stream, origin)
    times = np.sort(np.asarray(times, dtype=np.float64))
    if declared_end is not None and last_end < declared_end - TRUNCATION_TOLERANCE_S:
        raise TruncatedMediaError(
            f"The video packets of {path} end at {last_end:.2f} s but the file declares {declared_end:.2f} s: "
            f"the file is truncated or damaged. Copy or download it again."
        )
    return times


def _to_rgb(frame: av.VideoFrame, max_side: int | None) -> np.ndarray:
    """Convert a frame to upright RGB (H, W, 3), shrunk to `max_side` on its longer side."""
    if max_side is not None and max(frame.width, frame.height) > max_side:
        scale = max_side / max(frame.width, frame.height)
        width = max(2, round(frame.width * scale))
        height = max(2, round(frame.height * scale))
        rgb = frame.to_ndarray(format="rgb24", width=width, height=height)
    else:
        rgb = frame.to_ndarray(format="rgb24")
    turns = _quarter_turns(frame)
    # np.rot90 turns counter-clockwise, as the display matrix does.
    return np.ascontiguousarray(np.rot90(rgb, turns)) if turns else rgb


def iter_frames(
    path: str | Path,
    fps: float | None = None,
    start_s: float | None = None,
    end_s: float | None = None,
    max_side: int | None = None,
) -> Iterator[tuple[float, np.ndarray]]:
    """Decode video frames one at a time as (time_s, RGB uint8 array of shape (H, W, 3)).

    Frames come upright: a display rotation stored in the file (phone
    videos) is applied, so H and W match `probe`'s height and width.

    With `fps=None` every frame in [start_s, end_s) is yielded with its own
    presentation time. With a rate, the times are start_s + k / fps, and each
    comes with the frame shown at that moment (the last one whose timestamp is
    at or before it), so duplicates or skips follow the real timestamps.
    `max_side` shrinks larger frames to that many pixels on the longer side.
    Only the current and previous frame are held in memory. A frame repeated
    at several sample times is yielded as the same array, so copy it before
    changing it in place.
    """
    if fps is not None and not fps > 0:
        raise ValueError(f"fps must be a positive rate in frames per second or None, got {fps!r}")
    if max_side is not None and max_side < 2:
        raise ValueError(f"max_side must be at least 2 pixels or None, got {max_side!r}")
    start, end = _check_range(start_s, end_s)
    path = Path(path)

    with open_media(path) as container:
        stream = _video_stream(container)
        if stream is None:
            raise NoVideoStreamError(f"{path} has no video stream; treat its visual modality as missing.")
        stream.thread_type = "AUTO"
        origin = _origin_s(container)
        declared_end = _stream_end_s(stream, origin)
        stream_has_end = declared_end is not None
        if declared_end is None and container.duration is not None:
            declared_end = container.duration / av.time_base
        stop = end if declared_end is None else min(end, declared_end)

        _seek(container, stream, start)
        frames = _decode_video(container, stream, path)
        if fps is None:
            last_end = None
            for frame_time, frame in frames:
                last_end = frame_time + _frame_duration_s(frame, math.inf)
                if frame_time >= stop:
                    break
                if frame_time >= start:
                    yield frame_time, _to_rgb(frame, max_side)
        else:
            last_end = yield from _sample_frames(frames, fps, start, stop, max_side, stream_has_end)

    if last_end is not None and declared_end is not None and math.isfinite(stop):
        if last_end < stop - TRUNCATION_TOLERANCE_S:
            raise TruncatedMediaError(
                f"The video of {path} ends at {last_end:.2f} s but the file declares {stop:.2f} s: "
                f"the file is truncated or damaged. Copy or download it again."
            )


def _decode_video(container, stream, path: Path) -> Iterator[tuple[float, av.VideoFrame]]:
    origin = _origin_s(container)
    try:
        for frame in container.decode(stream):
            if frame.time is None:
                continue
            yield frame.time - origin, frame
    except av.error.FFmpegError as error:
        raise TruncatedMediaError(
            f"Decoding the video of {path} failed: the file is truncated or damaged. "
            f"Copy or download it again. FFmpeg reported: {error}"
        ) from error


def _frame_duration_s(frame: av.VideoFrame, fps: float) -> float:
    """Return how long `frame` is shown: its own duration, else one step at `fps` (0 for infinite fps)."""
    duration = getattr(frame, "duration", None)
    if duration and frame.time_base is not None:
        return float(duration * frame.time_base)
    return 1.0 / fps


def _sample_frames(frames, fps: float, start: float, stop: float, max_side: int | None, stream_has_end: bool):
    """Yield (sample time, RGB) on the grid start + k / fps below `stop`; return the last frame's end time.

    Without `stream_has_end` (Matroska stores no stream duration), `stop` may
    be the container's end, which longer audio can set, so sampling also ends
    where the last frame's own duration ends.
    """
    # Half a microsecond absorbs rounding in timestamps that sit exactly on the grid.
    epsilon = 5e-7
    index = 0
    previous: tuple[float, av.VideoFrame] | None = None
    previous_rgb: np.ndarray | None = None
    last_end = None

    def sample_time(k: int) -> float:
        return start + k / fps

    for frame_time, frame in frames:
        last_end = frame_time + _frame_duration_s(frame, math.inf)
        # Every grid time before this frame's timestamp shows the previous frame
        # (or this one, when it is the first frame of the file).
        while sample_time(index) < stop and sample_time(index) < frame_time - epsilon:
            displayed = previous if previous is not None else (frame_time, frame)
            if previous_rgb is None:
                previous_rgb = _to_rgb(displayed[1], max_side)
            yield sample_time(index), previous_rgb
            index += 1
        if sample_time(index) >= stop:
            break
        previous = (frame_time, frame)
        previous_rgb = None

    if previous is not None:
        final = stop
        if not stream_has_end or not math.isfinite(stop):
            final = min(stop, previous[0] + _frame_duration_s(previous[1], fps))
        while sample_time(index) < final:
            if previous_rgb is None:
                previous_rgb = _to_rgb(previous[1], max_side)
            yield sample_time(index), previous_rgb
            index += 1
    return last_end
