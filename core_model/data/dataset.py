"""A labelled feature dataset: clips with splits, feature sizes and a content hash.

Every corpus loader (MMSA pickle, official layout, feature cache) returns a
:class:`FeatureDataset`, so the trainer and the command line see one type.
Non-finite feature values are handled here, by one policy, with a count per
modality that is logged and kept on the dataset.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import numpy as np

from core_model.data.batch import MODALITIES, ClipFeatures
from core_model.errors import DataError

log = logging.getLogger(__name__)

SPLITS: tuple[str, ...] = ("train", "valid", "test")
# Policies for NaN/Inf feature values: raise DataError, or replace them by 0.
NONFINITE_POLICIES: tuple[str, ...] = ("reject", "zero")


@dataclass
class FeatureDataset:
    """Clips of one corpus with their feature sizes.

    ``dims`` maps each modality to its feature size D. ``preset`` names the
    feature extractor: a FeatureCache preset, or "mmsa"/"official" for corpus
    files. ``nonfinite_counts`` counts the NaN/Inf values found per modality.
    """

    samples: list[ClipFeatures]
    dims: dict[str, int]
    preset: str
    source: str
    nonfinite_counts: dict[str, int] = field(default_factory=lambda: {m: 0 for m in MODALITIES})

    def split(self, name: str) -> list[ClipFeatures]:
        """Return the clips of split ``name`` (train, valid or test)."""
        return [s for s in self.samples if s.split == name]

    def split_sizes(self) -> dict[str, int]:
        sizes: dict[str, int] = {}
        for sample in self.samples:
            key = sample.split or "none"
            sizes[key] = sizes.get(key, 0) + 1
        return sizes

    def labeled(self, samples: Sequence[ClipFeatures] | None = None) -> list[ClipFeatures]:
        return [s for s in (self.samples if samples is None else samples) if s.label is not None]

    def content_hash(self, samples: Sequence[ClipFeatures] | None = None) -> str:
        return hash_samples(self.samples if samples is None else samples)


def hash_samples(samples: Iterable[ClipFeatures]) -> str:
    """Return a SHA-256 hex digest of names, labels, splits and feature bytes.

    Sample order matters; the digest identifies the exact data a model saw.
    """
    digest = hashlib.sha256()
    for sample in samples:
        digest.update(f"{sample.name}\x00{sample.label!r}\x00{sample.split}\x00".encode("utf-8"))
        for modality in MODALITIES:
            array = sample.modality(modality)
            if array is None:
                digest.update(b"-")
                continue
            array = np.ascontiguousarray(array, dtype=np.float32)
            digest.update(repr(array.shape).encode("ascii"))
            digest.update(array.tobytes())
    return digest.hexdigest()


def infer_dims(samples: Sequence[ClipFeatures], source: str) -> dict[str, int]:
    """Read each modality's feature size from the clips, checking that they agree."""
    dims: dict[str, int] = {}
    for sample in samples:
        for modality in MODALITIES:
            array = sample.modality(modality)
            if array is None:
                continue
            if array.ndim != 2:
                raise DataError(
                    f"{source}: clip {sample.name!r} has {modality} features of shape {array.shape}, "
                    "expected (frames, dim)"
                )
            dim = int(array.shape[1])
            if dims.setdefault(modality, dim) != dim:
                raise DataError(
                    f"{source}: clip {sample.name!r} has {modality} features of size {dim}, "
                    f"other clips have {dims[modality]}"
                )
    missing = [m for m in MODALITIES if m not in dims]
    if missing:
        raise DataError(f"{source}: no clip has {', '.join(missing)} features, so their size is unknown")
    return dims


def handle_nonfinite(samples: Sequence[ClipFeatures], policy: str, source: str) -> dict[str, int]:
    """Apply ``policy`` to NaN/Inf feature values in place; return counts per modality.

    "reject" raises DataError naming the first affected clip and the totals;
    "zero" replaces the values by 0.0 and logs a warning with the counts.
    """
    if policy not in NONFINITE_POLICIES:
        raise DataError(f"unknown non-finite policy {policy!r}; use one of {', '.join(NONFINITE_POLICIES)}")
    counts = {m: 0 for m in MODALITIES}
    first: dict[str, str] = {}
    for sample in samples:
        for modality in MODALITIES:
            array = sample.modality(modality)
            if array is None:
                continue
            bad = ~np.isfinite(array)
            number = int(bad.sum())
            if not number:
                continue
            counts[modality] += number
            first.setdefault(modality, sample.name)
            if policy == "zero":
                fixed = np.array(array, dtype=np.float32, copy=True)
                fixed[bad] = 0.0
                setattr(sample, modality, fixed)
    affected = {m: n for m, n in counts.items() if n}
    if affected:
        summary = ", ".join(f"{m}: {n} (first in clip {first[m]!r})" for m, n in affected.items())
        if policy == "reject":
            raise DataError(
                f"{source}: NaN/Inf feature values found, {summary}; "
                "fix the features or load with the non-finite policy 'zero' to replace them by 0"
            )
        log.warning("%s: replaced NaN/Inf feature values by 0, %s", source, summary)
    return counts


def build_dataset(
    samples: list[ClipFeatures],
    source: str,
    preset: str,
    dims: Mapping[str, int] | None = None,
    nonfinite: str = "zero",
) -> FeatureDataset:
    """Check ``samples`` and wrap them: sizes agree, labels finite, NaN/Inf handled."""
    if not samples:
        raise DataError(f"{source}: contains no clips")
    names = [s.name for s in samples]
    if len(set(names)) != len(names):
        seen: set[str] = set()
        duplicate = next(n for n in names if n in seen or seen.add(n))
        raise DataError(f"{source}: clip name {duplicate!r} occurs more than once")
    for sample in samples:
        if sample.label is not None and not np.isfinite(sample.label):
            raise DataError(f"{source}: clip {sample.name!r} has a non-finite label {sample.label!r}")
        if sample.split is not None and sample.split not in SPLITS:
            raise DataError(f"{source}: clip {sample.name!r} has unknown split {sample.split!r}; use train, valid or test")
    found = infer_dims(samples, source) if dims is None else {m: int(dims[m]) for m in MODALITIES}
    if dims is not None:
        inferred = infer_dims_partial(samples)
        for modality, dim in inferred.items():
            if dim != found[modality]:
                raise DataError(f"{source}: {modality} features have size {dim}, expected {found[modality]}")
    counts = handle_nonfinite(samples, nonfinite, source)
    dataset = FeatureDataset(samples=samples, dims=found, preset=preset, source=source, nonfinite_counts=counts)
    log.info("loaded %s: %d clips %s, dims %s, preset %s", source, len(samples), dataset.split_sizes(), found, preset)
    return dataset


def infer_dims_partial(samples: Sequence[ClipFeatures]) -> dict[str, int]:
    """Return the feature size of each modality that some clip has (no agreement check)."""
    dims: dict[str, int] = {}
    for sample in samples:
        for modality in MODALITIES:
            array = sample.modality(modality)
            if array is not None and array.ndim == 2:
                dims.setdefault(modality, int(array.shape[1]))
    return dims


def training_splits(
    dataset: FeatureDataset, seed: int = 0, valid_fraction: float = 0.1
) -> tuple[list[ClipFeatures], list[ClipFeatures], list[ClipFeatures]]:
    """Return the labeled (train, valid, test) clips of ``dataset``.

    Clips without a split count as training clips. When there is no labeled
    validation clip, ``valid_fraction`` of the training clips (at least one)
    is held out at random with ``seed``, and a warning is logged.
    """
    labeled = [s for s in dataset.samples if s.label is not None]
    train = [s for s in labeled if s.split in (None, "train")]
    valid = [s for s in labeled if s.split == "valid"]
    test = [s for s in labeled if s.split == "test"]
    if not valid and len(train) >= 2:
        order = np.random.default_rng(seed).permutation(len(train))
        count = max(1, int(round(valid_fraction * len(train))))
        held_out = set(order[:count].tolist())
        valid = [s for i, s in enumerate(train) if i in held_out]
        train = [s for i, s in enumerate(train) if i not in held_out]
        log.warning("%s has no labeled validation clips; holding out %d of the training clips (seed %d) "
                    "to choose the best epoch", dataset.source, count, seed)
    if not train:
        raise DataError(f"{dataset.source} has no labeled training clips (splits: {dataset.split_sizes()})")
    return train, valid, test
