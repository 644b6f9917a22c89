"""Feature samples for the default lite model: MOSI text, RAVDESS audio and FER2013 faces.

Each corpus gives one modality only, so every sample has exactly one
present modality and the other two are absent (masked by the model).
Emotion corpora get a sentiment intensity from the mapping in
``core_model.recipes.valence``.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Iterable

import numpy as np
from tqdm import tqdm

from core_model.data.batch import ClipFeatures
from core_model.errors import DataError
from core_model.features.lite_audio import LiteAudioEncoder
from core_model.features.lite_visual import FER_CLASSES, LiteVisualEncoder
from core_model.recipes.ravdess import RavdessClip, cached_log_mels
from core_model.recipes.valence import FER_VALENCE

log = logging.getLogger(__name__)

MOSI_COLUMNS = ("video_id", "clip_id", "label", "text_upper", "std_fold")
FER_SPLITS = {"Training": "train", "PublicTest": "valid", "PrivateTest": "test"}


def mosi_samples(path: Path, text_encoder, limit: int | None = None, progress: bool = True) -> list[ClipFeatures]:
    """Return one text-only sample per MOSI clip of ``path`` (a CSV with ``MOSI_COLUMNS``)."""
    if not path.is_file():
        raise DataError(f"MOSI transcript file {path} not found; pass mosi_clips.csv with --mosi")
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    missing = [c for c in MOSI_COLUMNS if rows and c not in rows[0]]
    if not rows or missing:
        raise DataError(f"{path} has no rows or lacks the columns {missing}; expected {', '.join(MOSI_COLUMNS)}")
    if limit is not None:
        rows = _limit_per_split(rows, limit)
    samples = []
    for row in tqdm(rows, desc="MOSI text", disable=not progress):
        words = row["text_upper"].split()
        if not words:
            log.warning("MOSI clip %s_%s has an empty transcript; skipped", row["video_id"], row["clip_id"])
            continue
        samples.append(ClipFeatures(
            name=f"mosi:{row['video_id']}_{row['clip_id']}",
            text=text_encoder.encode_words(words),
            label=float(row["label"]),
            split=row["std_fold"],
            meta={"source": "mosi"},
        ))
    return samples


def _limit_per_split(rows: list[dict], limit: int) -> list[dict]:
    kept, counts = [], {}
    for row in rows:
        fold = row["std_fold"]
        if counts.get(fold, 0) < limit:
            kept.append(row)
            counts[fold] = counts.get(fold, 0) + 1
    return kept


def ravdess_samples(
    clips: Iterable[RavdessClip], encoder: LiteAudioEncoder, cache_dir: Path | None, progress: bool = True
) -> list[ClipFeatures]:
    """Return one audio-only sample per RAVDESS clip, labelled with its mapped valence."""
    clips = list(clips)
    mels = cached_log_mels(clips, cache_dir, progress)
    samples = []
    for clip in clips:
        samples.append(ClipFeatures(
            name=f"ravdess:{clip.path.stem}",
            audio=encoder.encode_log_mel(mels[clip.path.stem]),
            label=clip.valence,
            split=clip.split,
            meta={"source": "ravdess", "emotion": clip.emotion},
        ))
    return samples


def fer_samples(
    images: np.ndarray,
    labels: np.ndarray,
    names: list[str],
    split: str,
    encoder: LiteVisualEncoder,
    frames: int,
    max_shift: int,
    rng: np.random.Generator,
    with_labels: bool = True,
) -> list[ClipFeatures]:
    """Return visual-only samples, each a still sequence of ``frames`` shifted (and possibly mirrored) copies of one face."""
    valence = np.array([FER_VALENCE[c] for c in FER_CLASSES], dtype=np.float32)
    sequences = np.stack([_still_sequence(image, frames, max_shift, rng) for image in images])  # (B, F, 48, 48)
    embeddings = encoder.encode(sequences.reshape(-1, 48, 48)).reshape(len(images), frames, -1)  # (B, F, E)
    return [
        ClipFeatures(
            name=name,
            visual=embedding,
            label=float(valence[label]) if with_labels else None,
            split=split,
            meta={"source": "fer2013", "emotion": int(label)},
        )
        for name, embedding, label in zip(names, embeddings, labels)
    ]


def _still_sequence(image: np.ndarray, frames: int, max_shift: int, rng: np.random.Generator) -> np.ndarray:
    """Return ``(frames, 48, 48)`` copies of ``image`` with small random shifts; the first frame is unchanged."""
    sequence = [image]
    padded = np.pad(image, max_shift, mode="edge")
    for _ in range(frames - 1):
        dy, dx = rng.integers(0, 2 * max_shift + 1, size=2)
        shifted = padded[dy : dy + 48, dx : dx + 48]
        sequence.append(shifted[:, ::-1] if rng.random() < 0.5 else shifted)
    return np.stack(sequence)


def load_fer_arrays(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (images (N, 48, 48) uint8, labels (N,), usage (N,) str) from a FER2013 ``.npz``."""
    if not path.is_file():
        raise DataError(f"FER2013 file {path} not found; pass fer2013_48x48.npz with --fer")
    with np.load(path, allow_pickle=False) as archive:
        missing = {"images", "labels", "usage"} - set(archive.files)
        if missing:
            raise DataError(f"{path} lacks the arrays {sorted(missing)}; expected images, labels and usage")
        return archive["images"], archive["labels"].astype(np.int64), archive["usage"].astype(str)


def balanced_indices(labels: np.ndarray, candidates: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """Pick up to ``per_class`` random candidates of each class; rarer classes are repeated up to that count.

    Repeating the rare classes (FER2013's "disgust" has about a tenth of the
    images of "happy") replaces class weights in the loss, which the
    trainer does not support.
    """
    chosen = []
    for class_index in range(len(FER_CLASSES)):
        members = candidates[labels[candidates] == class_index]
        if len(members) == 0:
            continue
        take = rng.choice(members, size=min(per_class, len(members)), replace=False)
        if len(take) < per_class:
            take = np.concatenate([take, rng.choice(take, size=per_class - len(take), replace=True)])
        chosen.append(take)
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)
