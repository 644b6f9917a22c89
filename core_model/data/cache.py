"""The feature cache: one safetensors file per clip, for one preset.

Layout of a cache folder::

    preset.json            {"format": "semi-iin-feature-cache", "version": 1,
                            "preset": NAME, "dims": {"audio": Da, "text": Dt, "visual": Dv}}
    clips/KEY.safetensors  tensors "audio", "text", "visual" (float32, frames x dim),
                           each only when that modality is present; string
                           metadata "name" and "preset"
    index.csv              key,name,label,split (optional: turns the cache into
                           a labelled dataset for training and evaluation)

KEY is normally a content hash of the clip's media span and preset, so a
changed video or preset never reuses stale features. Files are written to a
temporary name and renamed, so a crash never leaves a half-written entry.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import re
import tempfile
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
from safetensors.numpy import load_file, save_file

from core_model.data.batch import MODALITIES, ClipFeatures
from core_model.errors import DataError

log = logging.getLogger(__name__)

FORMAT = "semi-iin-feature-cache"
VERSION = 1
_KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


def is_feature_cache(path: str | os.PathLike) -> bool:
    return (Path(path) / "preset.json").is_file()


class FeatureCache:
    """Read and write per-clip features of one preset under ``root``."""

    def __init__(self, root: str | os.PathLike, preset: str | None = None, dims: Mapping[str, int] | None = None):
        self.root = Path(root)
        header = self.root / "preset.json"
        if header.is_file():
            info = json.loads(header.read_text(encoding="utf-8"))
            if info.get("format") != FORMAT:
                raise DataError(f"{header} is not a Semi-IIN feature cache (format {info.get('format')!r})")
            if info.get("version", 0) > VERSION:
                raise DataError(
                    f"{header} has cache version {info['version']}, newer than this program's {VERSION}; "
                    "update Semi-IIN Studio to read it"
                )
            self.preset = info["preset"]
            self.dims = {m: int(info["dims"][m]) for m in MODALITIES}
            if preset is not None and preset != self.preset:
                raise DataError(f"feature cache {self.root} contains preset {self.preset!r}, not the expected {preset!r}; "
                               "use another output folder")
            if dims is not None and {m: int(dims[m]) for m in MODALITIES} != self.dims:
                raise DataError(f"feature cache {self.root} has dims {self.dims}, expected {dict(dims)}")
        else:
            if preset is None or dims is None:
                raise DataError(f"{self.root} is not a feature cache (no preset.json); give preset and dims to create one")
            self.preset = preset
            self.dims = {m: int(dims[m]) for m in MODALITIES}
            (self.root / "clips").mkdir(parents=True, exist_ok=True)
            _write_atomic(
                header,
                json.dumps({"format": FORMAT, "version": VERSION, "preset": preset, "dims": self.dims}, indent=2),
            )

    def path(self, key: str) -> Path:
        if not _KEY_PATTERN.match(key):
            raise DataError(f"invalid feature cache key {key!r}: use letters, digits, '.', '_' or '-'")
        return self.root / "clips" / f"{key}.safetensors"

    def has(self, key: str) -> bool:
        return self.path(key).is_file()

    def keys(self) -> list[str]:
        return sorted(p.stem for p in (self.root / "clips").glob("*.safetensors"))

    def put(self, key: str, clip: ClipFeatures) -> Path:
        """Write ``clip`` under ``key``, rejecting wrong sizes and NaN/Inf."""
        tensors = {}
        for modality in MODALITIES:
            array = clip.modality(modality)
            if array is None or len(array) == 0:
                continue
            array = np.ascontiguousarray(array, dtype=np.float32)
            if array.ndim != 2 or array.shape[1] != self.dims[modality]:
                raise DataError(
                    f"clip {clip.name!r}: {modality} features have shape {array.shape}, "
                    f"expected (frames, {self.dims[modality]}) for preset {self.preset!r}"
                )
            bad = int((~np.isfinite(array)).sum())
            if bad:
                raise DataError(f"clip {clip.name!r}: {bad} NaN/Inf values in {modality} features; not cached")
            tensors[modality] = array
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
        os.close(fd)
        try:
            save_file(tensors, tmp, metadata={"name": clip.name, "preset": self.preset})
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return target

    def get(self, key: str, name: str | None = None) -> ClipFeatures:
        path = self.path(key)
        if not path.is_file():
            raise DataError(f"no cached features for {key!r} in {self.root}")
        try:
            arrays = load_file(str(path))
        except Exception as exc:  # safetensors raises its own SafetensorError
            raise DataError(f"damaged feature file {path}: {exc}; delete it to recompute") from exc
        unknown = set(arrays) - set(MODALITIES)
        if unknown:
            raise DataError(f"{path} has unexpected tensors {sorted(unknown)}")
        return ClipFeatures(name=name or key, **{m: arrays.get(m) for m in MODALITIES})

    def write_index(self, rows: Iterable[Mapping[str, object]]) -> Path:
        """Write index.csv from rows with key, name, label (float or None) and split."""
        lines = [["key", "name", "label", "split"]]
        for row in rows:
            label = row.get("label")
            lines.append([row["key"], row.get("name", row["key"]), "" if label is None else repr(float(label)),
                          row.get("split") or ""])
        target = self.root / "index.csv"
        text = _csv_text(lines)
        _write_atomic(target, text)
        return target

    def read_index(self) -> list[dict]:
        target = self.root / "index.csv"
        if not target.is_file():
            raise DataError(f"feature cache {self.root} has no index.csv, so it has no labels or splits")
        rows = []
        with open(target, newline="", encoding="utf-8") as handle:
            for line_no, row in enumerate(csv.DictReader(handle), start=2):
                label = row.get("label", "")
                try:
                    value = float(label) if label != "" else None
                except ValueError:
                    raise DataError(f"{target}:{line_no}: label {label!r} is not a number") from None
                if value is not None and not math.isfinite(value):
                    raise DataError(f"{target}:{line_no}: label {label!r} is not finite")
                rows.append({"key": row["key"], "name": row.get("name") or row["key"], "label": value,
                             "split": row.get("split") or None})
        return rows

    def load_dataset(self) -> list[ClipFeatures]:
        """Return every indexed clip with its label and split."""
        samples = []
        for row in self.read_index():
            clip = self.get(row["key"], name=row["name"])
            clip.label, clip.split = row["label"], row["split"]
            samples.append(clip)
        return samples


def _csv_text(rows: list[list[object]]) -> str:
    import io

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
