"""Probing and decoding real clips, generated variable frame rate video and broken files."""

import os
from fractions import Fraction

import av
import numpy as np
import pytest

from core_model.errors import (
    EmptyMediaError,
    MediaError,
    MediaNotFoundError,
    NoAudioStreamError,
    NotMediaError,
    NoVideoStreamError,
    TruncatedMediaError,
)
from core_model.media.decode import decode_audio, frame_timestamps, is_silent, iter_frames, probe, rms_dbfs

from .helpers import MANDARIN, MOSI_LONG, MOSI_SHORT, SILENT, write_video

pytestmark = pytest.mark.timeout(60)

# Tolerance on audio length in seconds: well below one AAC frame (1024 samples, 23 ms at 44.1 kHz).
FEW_MS = 0.005


def test_probe_mosi_clip():
    info = probe(MOSI_LONG)
    assert info.duration_s == pytest.approx(12.30, abs=0.01)
    assert info.has_audio and info.has_video
    assert (info.width, info.height) == (480, 360)
    assert info.average_fps == pytest.approx(30.0)
    assert info.frame_count == 369
    assert info.video_codec == "h264"
    assert info.audio_codec == "aac"
    assert info.audio_sample_rate == 44100
    assert info.audio_channels == 2
    assert info.size_bytes == MOSI_LONG.stat().st_size


@pytest.mark.parametrize("path, duration_s", [(MOSI_LONG, 12.30), (MOSI_SHORT, 2.44)], ids=["12.3s", "2.44s"])
def test_decode_audio_length(path, duration_s):
    info = probe(path)
    audio = decode_audio(path)
    assert audio.dtype == np.float32
    assert audio.ndim == 1
    # The AAC track ends about 40 ms before the video; the audio covers the track, not the video.
    assert abs(len(audio) / 16000 - info.audio_duration_s) <= FEW_MS
    assert abs(len(audio) / 16000 - duration_s) <= 0.07
    assert np.abs(audio).max() <= 1.0
    assert not is_silent(audio)


def test_decode_audio_other_rate():
    audio = decode_audio(MOSI_SHORT, sample_rate=8000)
    assert abs(len(audio) / 8000 - probe(MOSI_SHORT).audio_duration_s) <= FEW_MS


@pytest.mark.parametrize("start_s, end_s", [(3.0, 5.0), (0.013, 0.5), (7.77, None)])
def test_decode_audio_window_matches_full(start_s, end_s):
    full = decode_audio(MOSI_LONG)
    window = decode_audio(MOSI_LONG, start_s=start_s, end_s=end_s)
    first = round(start_s * 16000)
    expected = full[first:] if end_s is None else full[first : round(end_s * 16000)]
    assert len(window) == len(expected)
    difference = float(np.abs(window - expected).max())
    assert difference < 1e-6, f"max difference {difference}"


def test_decode_audio_rejects_bad_window():
    with pytest.raises(ValueError, match="end_s"):
        decode_audio(MOSI_SHORT, start_s=2.0, end_s=1.0)
    with pytest.raises(ValueError, match="sample_rate"):
        decode_audio(MOSI_SHORT, sample_rate=0)


def test_silent_audio_flagged():
    audio = decode_audio(SILENT)
    assert len(audio) == pytest.approx(8.0 * 16000, abs=FEW_MS * 16000)
    assert is_silent(audio)
    assert rms_dbfs(audio) < -60


def test_rms_dbfs_values():
    assert rms_dbfs(np.zeros(0, dtype=np.float32)) == -np.inf
    assert rms_dbfs(np.full(100, 0.5, dtype=np.float32)) == pytest.approx(-6.02, abs=0.01)
    assert is_silent(np.full(100, 1e-4, dtype=np.float32))  # -80 dBFS
    assert not is_silent(np.full(100, 1e-4, dtype=np.float32), threshold_db=-90)


def test_frame_timestamps_mosi():
    times = frame_timestamps(MOSI_LONG)
    assert len(times) == 369
    assert times[0] == 0.0
    assert np.all(np.diff(times) > 0)
    assert np.allclose(np.diff(times), 1 / 30, atol=1e-4)


def test_iter_frames_every_frame_matches_timestamps():
    times = frame_timestamps(MOSI_SHORT)
    decoded = [(time_s, frame.shape, frame.dtype) for time_s, frame in iter_frames(MOSI_SHORT)]
    assert np.allclose([time_s for time_s, _, _ in decoded], times)
    assert all(shape == (360, 480, 3) for _, shape, _ in decoded)
    assert all(dtype == np.uint8 for _, _, dtype in decoded)


def test_iter_frames_sampled_grid():
    samples = list(iter_frames(MOSI_LONG, fps=5.0, start_s=2.0, end_s=4.0, max_side=240))
    times = [time_s for time_s, _ in samples]
    assert times == pytest.approx([2.0 + k / 5 for k in range(10)])
    assert samples[0][1].shape == (180, 240, 3)


def test_variable_frame_rate_timestamps(tmp_path):
    path = tmp_path / "vfr.mp4"
    written = [0.0, 0.1, 0.15, 0.4, 0.45, 0.5, 1.0, 1.2]
    levels = write_video(path, written)
    assert np.allclose(frame_timestamps(path), written, atol=1e-3)

    # At 10 samples per second, each sample shows the last frame at or before it.
    samples = list(iter_frames(path, fps=10.0))
    for time_s, frame in samples:
        shown = max(index for index, start in enumerate(written) if start <= time_s + 1e-6)
        assert abs(float(frame.mean()) - levels[shown]) < 6, f"sample at {time_s:.2f} s"
    assert samples[-1][0] < probe(path).duration_s


def test_mandarin_clip_decodes():
    info = probe(MANDARIN)
    assert (info.width, info.height) == (1920, 804)
    audio = decode_audio(MANDARIN)
    assert len(audio) == pytest.approx(1.28 * 16000, abs=FEW_MS * 16000)
    assert not is_silent(audio)
    frames = list(iter_frames(MANDARIN, fps=5.0, max_side=640))
    assert len(frames) == 7
    assert frames[0][1].shape == (268, 640, 3)


def test_missing_file(tmp_path):
    with pytest.raises(MediaNotFoundError, match="not found"):
        probe(tmp_path / "absent.mp4")


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    with pytest.raises(EmptyMediaError, match="0 bytes"):
        probe(path)
    with pytest.raises(EmptyMediaError):
        decode_audio(path)


def test_text_file_with_video_extension(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("These are meeting notes, not a video.\n" * 20)
    with pytest.raises(NotMediaError, match="notes.mp4"):
        probe(path)
    with pytest.raises(NotMediaError):
        list(iter_frames(path))


def test_truncated_mp4_without_index(tmp_path):
    path = tmp_path / "cut.mp4"
    path.write_bytes(MOSI_SHORT.read_bytes()[:60_000])  # the index (moov) sits at the end
    with pytest.raises(TruncatedMediaError, match="truncated"):
        probe(path)


def test_truncated_mp4_with_index_first(tmp_path):
    fast = tmp_path / "fast.mp4"
    with av.open(str(MOSI_SHORT)) as source, av.open(str(fast), "w", format="mp4", options={"movflags": "faststart"}) as out:
        streams = {stream.index: out.add_stream_from_template(stream) for stream in source.streams}
        for packet in source.demux():
            if packet.dts is None:
                continue
            packet.stream = streams[packet.stream.index]
            out.mux(packet)
    data = fast.read_bytes()
    cut = tmp_path / "fast_cut.mp4"
    cut.write_bytes(data[: len(data) // 2])

    assert probe(cut).has_audio  # the headers are intact
    with pytest.raises(TruncatedMediaError, match="truncated"):
        decode_audio(cut)
    with pytest.raises(TruncatedMediaError):
        list(iter_frames(cut, fps=5.0))
    with pytest.raises(TruncatedMediaError):
        frame_timestamps(cut)


def test_audio_only_file(audio_only):
    info = probe(audio_only)
    assert info.has_audio
    assert not info.has_video
    assert info.width is None
    assert len(decode_audio(audio_only)) == 32000
    with pytest.raises(NoVideoStreamError, match="no video stream"):
        list(iter_frames(audio_only))
    with pytest.raises(NoVideoStreamError):
        frame_timestamps(audio_only)


def test_video_only_file(video_only):
    info = probe(video_only)
    assert info.has_video
    assert not info.has_audio
    assert info.audio_sample_rate is None
    with pytest.raises(NoAudioStreamError, match="no audio stream"):
        decode_audio(video_only)
    assert len(frame_timestamps(video_only)) == 20


def test_media_errors_share_base_class():
    for error in (EmptyMediaError, NotMediaError, TruncatedMediaError, NoAudioStreamError, NoVideoStreamError):
        assert issubclass(error, MediaError)
    assert issubclass(MediaNotFoundError, FileNotFoundError)


def test_rotated_video_comes_upright(tmp_path):
    path = tmp_path / "portrait.mp4"
    marked = np.zeros((48, 64, 3), dtype=np.uint8)
    marked[:16, :16] = 255  # a white square in the stored top-left corner
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.set_display_rotation(90)  # shown turned 90 degrees counter-clockwise
        for index in range(3):
            frame = av.VideoFrame.from_ndarray(marked, format="rgb24")
            frame.pts = index
            frame.time_base = Fraction(1, 10)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)

    info = probe(path)
    assert info.rotation_deg == 90
    assert (info.width, info.height) == (48, 64)
    _, upright = next(iter_frames(path))
    assert upright.shape == (64, 48, 3)
    # A counter-clockwise quarter turn moves the top-left corner to the bottom-left.
    assert upright[-8:, :8].mean() > 200
    assert upright[:8, :8].mean() < 50


def test_folder_and_pipe_rejected(tmp_path):
    with pytest.raises(NotMediaError, match="folder"):
        probe(tmp_path)
    pipe = tmp_path / "stream.mp4"
    os.mkfifo(pipe)
    with pytest.raises(NotMediaError, match="regular file"):
        decode_audio(pipe)


def test_window_start_matches_full_iteration():
    full = {round(time_s, 6): frame for time_s, frame in iter_frames(MOSI_SHORT, fps=10.0)}
    for time_s, frame in iter_frames(MOSI_SHORT, fps=10.0, start_s=1.0, end_s=2.0):
        reference = full[round(time_s, 6)]
        difference = int(np.abs(frame.astype(int) - reference.astype(int)).max())
        assert difference == 0, f"sample at {time_s:.2f} s differs by {difference}"


def test_audio_gap_filled_with_silence(tmp_path):
    """Two copies of a clip's audio joined with a 1 s pause between their timestamps."""
    joined = tmp_path / "joined.m4a"
    second_start_s = 3.4
    with av.open(str(MOSI_SHORT)) as source, av.open(str(joined), "w", format="mp4") as out:
        audio_in = source.streams.audio[0]
        audio_out = out.add_stream_from_template(audio_in)
        for copy in range(2):
            source.seek(0)
            shift = round(copy * second_start_s / audio_in.time_base)
            for packet in source.demux(audio_in):
                if packet.dts is None:
                    continue
                packet.pts += shift
                packet.dts += shift
                packet.stream = audio_out
                out.mux(packet)

    single = decode_audio(MOSI_SHORT)
    audio = decode_audio(joined)
    assert len(audio) / 16000 == pytest.approx(second_start_s + len(single) / 16000, abs=FEW_MS)
    # The pause is silent apart from the codec's decay at the first copy's end.
    assert rms_dbfs(audio[round(2.5 * 16000) : round(3.3 * 16000)]) < -60
    # The second copy sits at its timestamp; its first AAC frame lacks the preceding overlap.
    start = round((second_start_s + 0.1) * 16000)
    difference = float(np.abs(audio[start : start + 16000] - single[1600 : 1600 + 16000]).max())
    assert difference < 1e-3, f"max difference {difference}"


def test_matroska_without_stream_durations(tmp_path):
    path = tmp_path / "tone.mkv"
    seconds = 3
    with av.open(str(path), "w", format="matroska") as container:
        video = container.add_stream("mpeg4", rate=25)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = container.add_stream("aac", rate=48000)
        audio.layout = "stereo"
        for index in range(25 * seconds):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), index, dtype=np.uint8), format="rgb24")
            frame.pts = index
            frame.time_base = Fraction(1, 25)
            for packet in video.encode(frame):
                container.mux(packet)
        time = np.arange(48000 * seconds) / 48000
        tone = (0.5 * np.sin(2 * np.pi * 440 * time)).astype(np.float32)
        for first in range(0, len(tone), 1024):
            chunk = np.stack([tone[first : first + 1024]] * 2)
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
            frame.sample_rate = 48000
            frame.pts = first
            frame.time_base = Fraction(1, 48000)
            for packet in audio.encode(frame):
                container.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode(None):
                container.mux(packet)

    info = probe(path)
    assert info.audio_duration_s is None  # Matroska stores no per-stream duration
    assert info.duration_s == pytest.approx(seconds, abs=0.05)
    decoded = decode_audio(path)
    assert len(decoded) / 16000 == pytest.approx(info.duration_s, abs=FEW_MS)
    assert rms_dbfs(decoded[8000:-8000]) == pytest.approx(-6.02, abs=0.1)  # a 0.5 sine is -6 dBFS
    times = frame_timestamps(path)
    assert len(times) == 25 * seconds
    assert times[-1] == pytest.approx(seconds - 0.04)
    assert len(list(iter_frames(path, fps=5.0))) == 5 * seconds


def test_audio_window_past_the_end():
    assert len(decode_audio(MOSI_SHORT, start_s=5.0, end_s=6.0)) == 0
    tail = decode_audio(MOSI_SHORT, start_s=2.0, end_s=60.0)
    assert len(tail) == round((probe(MOSI_SHORT).audio_duration_s - 2.0) * 16000)


def test_cover_art_is_not_video(tmp_path):
    path = tmp_path / "song.mp3"
    with av.open(str(path), "w", format="mp3") as container:
        audio = container.add_stream("libmp3lame", rate=16000)
        audio.layout = "mono"
        cover = container.add_stream("png")
        cover.width, cover.height, cover.pix_fmt = 32, 32, "rgb24"
        cover.disposition = av.stream.Disposition.attached_pic
        picture = av.VideoFrame.from_ndarray(np.full((32, 32, 3), 200, dtype=np.uint8), format="rgb24")
        picture.pts = 0
        for packet in [*cover.encode(picture), *cover.encode(None)]:
            container.mux(packet)
        tone = (0.3 * np.sin(2 * np.pi * 300 * np.arange(16000) / 16000)).astype(np.float32)[None]
        for first in range(0, 16000, 1152):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(tone[:, first : first + 1152]), format="flt", layout="mono")
            frame.sample_rate = 16000
            frame.pts = first
            frame.time_base = Fraction(1, 16000)
            for packet in audio.encode(frame):
                container.mux(packet)
        for packet in audio.encode(None):
            container.mux(packet)

    info = probe(path)
    assert info.has_audio
    assert not info.has_video
    assert len(decode_audio(path)) / 16000 == pytest.approx(1.0, abs=0.1)
    with pytest.raises(NoVideoStreamError):
        list(iter_frames(path))


def test_slideshow_long_last_frame(tmp_path):
    """A last frame shown for 3 s is not mistaken for a truncated file."""
    path = tmp_path / "slides.mp4"
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=1)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.time_base = Fraction(1, 1000)
        packets = []
        for index, time_s in enumerate([0.0, 1.0, 2.0]):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 60 * index, dtype=np.uint8), format="rgb24")
            frame.pts = round(time_s * 1000)
            frame.time_base = Fraction(1, 1000)
            packets.extend(stream.encode(frame))
        packets.extend(stream.encode(None))
        for packet in packets:
            packet.duration = round(1 / packet.time_base)  # one second
        packets[-1].duration = round(3 / packets[-1].time_base)
        for packet in packets:
            container.mux(packet)

    assert probe(path).video_duration_s == pytest.approx(5.0)
    assert frame_timestamps(path).tolist() == pytest.approx([0.0, 1.0, 2.0])
    samples = list(iter_frames(path, fps=1.0))
    assert [time_s for time_s, _ in samples] == pytest.approx([0.0, 1.0, 2.0, 3.0, 4.0])
    assert [time_s for time_s, _ in iter_frames(path)] == pytest.approx([0.0, 1.0, 2.0])
