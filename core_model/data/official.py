"""Load features in the official Semi-IIN repository's layout.

Layout of a corpus folder::

    train.csv, valid.csv, test.csv   columns name, val, emo (one row per clip;
                                     "dev.csv" is read as valid)
    audio/NAME.npy                   (L, Da) float features of clip NAME
    text/NAME.npy                    (N, Dt)
    visual/NAME.npy                  (M, Dv) ("vision/" and "video/" also accepted)

``val`` is the sentiment intensity (empty = unlabeled) and ``emo`` an optional
emotion class kept in the clip's ``meta``. Files are matched by exact name:
the official code matched by prefix, so clip ``x_1`` could load ``x_10.npy``.
A missing file leaves that modality absent for the clip, and the count is
logged. Arrays are read with ``allow_pickle=False``.
"""

from __future__ import annotations

import csv
import logging
import math
import os
from pathlib import Path

import numpy as np

from core_model.data.batch import MODALITIES, ClipFeatures
from core_model.data.dataset import FeatureDataset, build_dataset
from core_model.errors import DataError

log = logging.getLogger(__name__)

PRESET = "official"
SPLIT_FILES: dict[str, tuple[str, ...]] = {"train": ("train.csv",), "valid": ("valid.csv", "dev.csv"),
                                           "test": ("test.csv",)}
MODALITY_FOLDERS: dict[str, tuple[str, ...]] = {"audio": ("audio",), "text": ("text",),
                                                "visual": ("visual", "vision", "video")}


def is_official_layout(path: str | os.PathLike) -> bool:
    """Return True when ``path`` is a folder with a split CSV and a modality folder."""
    root = Path(path)
    if not root.is_dir():
        return False
    has_csv = any((root / f).is_file() for files in SPLIT_FILES.values() for f in files)
    has_folder = any((root / f).is_dir() for folders in MODALITY_FOLDERS.values() for f in folders)
    return has_csv and has_folder


def load_official(path: str | os.PathLike, nonfinite: str = "zero") -> FeatureDataset:
    """Load an official-layout folder into a FeatureDataset."""
    root = Path(path)
    if not root.is_dir():
        raise DataError(f"{root} is not a folder")
    folders = {m: _modality_folder(root, m) for m in MODALITIES}
    samples: list[ClipFeatures] = []
    missing = {m: 0 for m in MODALITIES}
    for split, candidates in SPLIT_FILES.items():
        csv_path = next((root / c for c in candidates if (root / c).is_file()), None)
        if csv_path is None:
            continue
        for name, label, emotion in _read_split(csv_path):
            clip = ClipFeatures(name=name, label=label, split=split, meta={} if emotion is None else {"emo": emotion})
            for modality, folder in folders.items():
                array = _load_npy(folder / f"{name}.npy")
                if array is None:
                    missing[modality] += 1
                setattr(clip, modality, array)
            samples.append(clip)
    if not samples:
        raise DataError(f"{root}: no clips found; expected train.csv, valid.csv or test.csv with columns name,val,emo")
    for modality, count in missing.items():
        if count:
            log.warning("%s: %d of %d clips have no %s file; that modality is absent for them",
                        root, count, len(samples), modality)
    return build_dataset(samples, source=str(root), preset=PRESET, nonfinite=nonfinite)


def _modality_folder(root: Path, modality: str) -> Path:
    for candidate in MODALITY_FOLDERS[modality]:
        if (root / candidate).is_dir():
            return root / candidate
    raise DataError(f"{root}: no {modality} folder; expected one of {', '.join(MODALITY_FOLDERS[modality])}")


def _read_split(csv_path: Path) -> list[tuple[str, float | None, str | None]]:
    rows = []
    with open(csv_path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or "name" not in reader.fieldnames or "val" not in reader.fieldnames:
            raise DataError(f"{csv_path}: header {reader.fieldnames} lacks the columns name and val")
        for line_no, row in enumerate(reader, start=2):
            name = (row.get("name") or "").strip()
            if not name or "/" in name or "\\" in name or name in (".", ".."):
                raise DataError(f"{csv_path}:{line_no}: invalid clip name {name!r}")
            text = (row.get("val") or "").strip()
            try:
                label = float(text) if text else None
            except ValueError:
                raise DataError(f"{csv_path}:{line_no}: val {text!r} is not a number") from None
            if label is not None and not math.isfinite(label):
                raise DataError(f"{csv_path}:{line_no}: val {text!r} is not finite")
            emotion = (row.get("emo") or "").strip() or None
            rows.append((name, label, emotion))
    return rows


def _load_npy(path: Path) -> np.ndarray | None:
    if not path.is_file():
        return None
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise DataError(f"{path}: cannot be read without pickle ({exc}); store plain float arrays") from exc
    except OSError as exc:
        raise DataError(f"{path}: not a valid .npy file ({exc})") from exc
    if not np.issubdtype(array.dtype, np.number):
        raise DataError(f"{path}: dtype {array.dtype} is not numeric")
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise DataError(f"{path}: shape {array.shape}, expected (frames, dim)")
    return np.asarray(array, dtype=np.float32)
