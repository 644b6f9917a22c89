"""Paths of the bundled media fixtures and writers of generated test media."""

import wave
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

MEDIA = Path(__file__).resolve().parents[1] / "data" / "media"
MOSI_LONG = MEDIA / "0h-zjBukYpk_2.mp4"  # 12.30 s
MOSI_SHORT = MEDIA / "0h-zjBukYpk_1.mp4"  # 2.43 s
SILENT = MEDIA / "face_silent_audio_8s.mp4"
AUDIOBOOK = MEDIA / "noface_audiobook_15s.mp4"
AUDIOBOOK_SRT = MEDIA / "noface_audiobook.srt"
AUDIOBOOK_VTT = MEDIA / "noface_audiobook.vtt"
MANDARIN = MEDIA / "mandarin_speech.mp4"
LABEL_CSV = MEDIA / "label.csv"


def write_video(path: Path, times_s: list[float], size=(64, 48), with_audio_s: float | None = None) -> list[int]:
    """Write an MPEG-4 video whose frame i is a flat grey of level 20 * i, shown from times_s[i].

    Returns the grey levels. Timestamps use a 1/1000 s time base, so uneven
    spacing gives a variable frame rate file.
    """
    levels = [(20 * index) % 250 for index in range(len(times_s))]
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=25)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, 1000)
        stream.codec_context.time_base = Fraction(1, 1000)
        stream.options = {"qscale": "2"}
        for level, time_s in zip(levels, times_s):
            frame = av.VideoFrame.from_ndarray(np.full((size[1], size[0], 3), level, dtype=np.uint8), format="rgb24")
            frame.pts = round(time_s * 1000)
            frame.time_base = Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return levels


def write_wav(path: Path, audio: np.ndarray, sample_rate: int = 16000) -> None:
    """Write float audio in [-1, 1] of shape (S,) as 16-bit mono PCM WAV."""
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(sample_rate)
        handle.writeframes(pcm.tobytes())
