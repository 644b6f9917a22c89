"""Reading the RAVDESS speech corpus: file-name labels, actor splits and 16 kHz audio.

RAVDESS names each file ``03-01-EE-II-SS-RR-AA``: modality, vocal channel,
emotion (01..08, see ``RAVDESS_CLASSES``), intensity (01 normal, 02 strong),
statement, repetition and actor (01..24). Clips are split by actor so that
no speaker is both trained on and evaluated.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from tqdm import tqdm

from core_model.errors import DataError
from core_model.features.base import AUDIO_SAMPLE_RATE
from core_model.recipes.valence import RAVDESS_CLASSES, RAVDESS_INTENSITY_SCALE, RAVDESS_VALENCE

log = logging.getLogger(__name__)

# Actor split: 1-18 train, 19-20 select the epoch, 21-24 report.
ACTOR_SPLITS: dict[str, tuple[int, ...]] = {
    "train": tuple(range(1, 19)),
    "valid": (19, 20),
    "test": (21, 22, 23, 24),
}
AUDIO_SUFFIXES = (".flac", ".wav")


@dataclass(frozen=True)
class RavdessClip:
    """One RAVDESS recording and the labels its file name carries."""

    path: Path
    emotion: int  # index into RAVDESS_CLASSES
    intensity: str  # "normal" or "strong"
    actor: int

    @property
    def split(self) -> str:
        return next(name for name, actors in ACTOR_SPLITS.items() if self.actor in actors)

    @property
    def valence(self) -> float:
        """Sentiment intensity under the documented emotion-to-valence mapping."""
        return RAVDESS_VALENCE[RAVDESS_CLASSES[self.emotion]] * RAVDESS_INTENSITY_SCALE[self.intensity]


def parse_name(path: Path) -> RavdessClip:
    """Return the labels encoded in a RAVDESS file name, or raise DataError."""
    parts = path.stem.split("-")
    if len(parts) != 7 or not all(p.isdigit() for p in parts):
        raise DataError(f"{path.name} is not a RAVDESS file name (expected 03-01-EE-II-SS-RR-AA)")
    emotion, intensity, actor = int(parts[2]), int(parts[3]), int(parts[6])
    if not 1 <= emotion <= len(RAVDESS_CLASSES) or intensity not in (1, 2) or not 1 <= actor <= 24:
        raise DataError(f"{path.name}: emotion {emotion}, intensity {intensity} or actor {actor} out of range")
    return RavdessClip(path, emotion - 1, "normal" if intensity == 1 else "strong", actor)


def list_clips(folder: Path) -> list[RavdessClip]:
    """Return every RAVDESS speech clip under ``folder``, sorted by file name."""
    if not folder.is_dir():
        raise DataError(f"RAVDESS folder {folder} not found; pass the folder with Actor_NN/ sub-folders with --data")
    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
    clips = [parse_name(p) for p in paths]
    if not clips:
        raise DataError(f"no .flac or .wav files found under {folder}")
    return sorted(clips, key=lambda clip: clip.path.name)


def read_audio(path: Path) -> np.ndarray:
    """Decode ``path`` to mono float32 samples at 16 kHz with PyAV."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise DataError(f"{path} has no audio stream")
            resampler = av.AudioResampler(format="flt", layout="mono", rate=AUDIO_SAMPLE_RATE)
            chunks = []
            for frame in container.decode(container.streams.audio[0]):
                chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(frame))
            chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(None))
    except av.error.FFmpegError as exc:
        raise DataError(f"cannot decode {path}: {exc}") from exc
    if not chunks:
        raise DataError(f"{path} contains no audio samples")
    return np.concatenate(chunks).astype(np.float32)


def cached_log_mels(clips: list[RavdessClip], cache_dir: Path | None, progress: bool = True) -> dict[str, np.ndarray]:
    """Return ``{file stem: log-mel (80, Lmel)}`` for ``clips``, reusing and updating ``cache_dir/ravdess_logmel.npz``.

    The cache is keyed by file stem, so it must be deleted when the audio or
    the log-mel front end changes.
    """
    from core_model.features.lite_audio import log_mel

    cache_file = cache_dir / "ravdess_logmel.npz" if cache_dir is not None else None
    mels: dict[str, np.ndarray] = {}
    if cache_file is not None and cache_file.is_file():
        with np.load(cache_file, allow_pickle=False) as archive:
            mels = {name: archive[name] for name in archive.files}
    missing = [clip for clip in clips if clip.path.stem not in mels]
    for clip in tqdm(missing, desc="RAVDESS log-mel", disable=not progress):
        mels[clip.path.stem] = log_mel(read_audio(clip.path))
    if missing and cache_file is not None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        np.savez(cache_file, **mels)
        log.info("cached %d RAVDESS log-mels in %s", len(mels), cache_file)
    return {clip.path.stem: mels[clip.path.stem] for clip in clips}
