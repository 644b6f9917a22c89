"""Paths of the alignment fixtures and readers for their audio and captions."""

import re
from pathlib import Path

import numpy as np

from core_model.media.decode import decode_audio

ALIGN_DATA = Path(__file__).resolve().parents[1] / "data" / "align"
MOSI_CLIPS = ("0h-zjBukYpk_2", "Sqr0AcuoNnk_12", "0h-zjBukYpk_1", "0h-zjBukYpk_24")
AUDIOBOOK = ALIGN_DATA / "audiobook_0-23s.m4a"
AUDIOBOOK_SRT = ALIGN_DATA / "audiobook_0-23s.srt"
AUDIOBOOK_VTT = ALIGN_DATA / "audiobook_0-23s.vtt"
MANDARIN = ALIGN_DATA / "mandarin_speech.m4a"


def decode_16k(path: Path) -> np.ndarray:
    """Decode the first audio stream to float32 mono 16 kHz samples, shape (S,)."""
    return decode_audio(path, sample_rate=16000)


def mosi(clip: str) -> tuple[np.ndarray, str]:
    """Return the audio and the transcript of one MOSI fixture clip."""
    audio = decode_16k(ALIGN_DATA / f"{clip}.m4a")
    text = (ALIGN_DATA / f"{clip}.txt").read_text(encoding="utf-8").strip()
    return audio, text


def _seconds(stamp: str) -> float:
    hours, minutes, seconds = stamp.replace(",", ".").split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def srt_cues(path: Path) -> list[tuple[float, float, str]]:
    """Read (start_s, end_s, text) cues from a well-formed SRT file."""
    cues = []
    for block in path.read_text(encoding="utf-8").strip().split("\n\n"):
        lines = block.strip().splitlines()
        start, end = (_seconds(part.strip()) for part in lines[1].split("-->"))
        cues.append((start, end, " ".join(lines[2:])))
    return cues


def vtt_word_starts(path: Path) -> list[tuple[str, float]]:
    """Read (word, start_s) pairs from the inline word timestamps of a YouTube WebVTT file.

    The first word of a cue line starts at the cue start; each later word
    follows the ``<hh:mm:ss.mmm>`` stamp written before it.
    """
    pairs = []
    cue_start = 0.0
    for line in path.read_text(encoding="utf-8").splitlines():
        if "-->" in line:
            cue_start = _seconds(line.split("-->")[0].strip())
            continue
        if "<c>" not in line:
            continue
        first = line.split("<", 1)[0].strip()
        pairs.append((first, cue_start))
        for stamp, word in re.findall(r"<(\d+:\d+:\d+\.\d+)><c>\s*([^<]+)</c>", line):
            pairs.append((word.strip(), _seconds(stamp)))
    return pairs
