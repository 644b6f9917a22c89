"""Open any supported corpus by path: MMSA pickle, official layout or feature cache."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from core_model.data.cache import FeatureCache, is_feature_cache
from core_model.data.dataset import FeatureDataset, build_dataset
from core_model.data.mmsa import load_mmsa
from core_model.data.official import is_official_layout, load_official
from core_model.errors import DataError

log = logging.getLogger(__name__)

FORMATS: tuple[str, ...] = ("mmsa", "official", "cache")


def detect_format(path: str | os.PathLike) -> str:
    """Return "mmsa", "official" or "cache" for ``path``; raise DataError otherwise."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"data path {path} not found")
    if path.is_file() and path.suffix.lower() in (".pkl", ".pickle"):
        return "mmsa"
    if path.is_dir() and is_feature_cache(path):
        return "cache"
    if is_official_layout(path):
        return "official"
    raise DataError(
        f"cannot tell the format of {path}: expected an MMSA .pkl file, a feature cache folder "
        "(with preset.json and index.csv) or an official-layout folder (split CSVs and audio/, text/, visual/)"
    )


def load_feature_cache(path: str | os.PathLike, nonfinite: str = "zero") -> FeatureDataset:
    """Load every indexed clip of a feature cache folder."""
    cache = FeatureCache(path)
    samples = cache.load_dataset()
    return build_dataset(samples, source=str(path), preset=cache.preset, dims=cache.dims, nonfinite=nonfinite)


def load_data(path: str | os.PathLike, nonfinite: str = "zero") -> FeatureDataset:
    """Load a corpus from ``path`` after detecting its format.

    ``nonfinite`` is "zero" (replace NaN/Inf by 0 and log the count per
    modality) or "reject" (raise DataError).
    """
    kind = detect_format(path)
    log.info("reading %s as %s data", path, kind)
    if kind == "mmsa":
        return load_mmsa(path, nonfinite=nonfinite)
    if kind == "official":
        return load_official(path, nonfinite=nonfinite)
    return load_feature_cache(path, nonfinite=nonfinite)
