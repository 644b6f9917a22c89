"""Load MMSA feature pickles (the format of MMSA and M-SENA) without running code.

An MMSA pickle is a dict with "train", "valid" and "test" entries. Each entry
is a dict of numpy arrays over its N clips: "text" (N, N_t, Dt) features,
"audio" (N, L, Da), "vision" (N, M, Dv), "regression_labels" (N,),
"audio_lengths" and "vision_lengths" (N,) and "id" (N,). Some pickles carry
"text_bert" (N, 3, N_t) BERT token ids, which give text lengths but are not
features. Zero-padded frames beyond a clip's
length are cut off here, so the model sees real frames only.

Pickle can run arbitrary code while loading, so :class:`NumpyOnlyUnpickler`
resolves only the few globals that numpy arrays and scalars need.
"""

from __future__ import annotations

import logging
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from core_model.data.batch import ClipFeatures
from core_model.data.dataset import SPLITS, FeatureDataset, build_dataset
from core_model.errors import DataError

log = logging.getLogger(__name__)

PRESET = "mmsa"
# (module, name) pairs that numpy needs to rebuild arrays, dtypes and scalars.
# numpy 2 writes "numpy._core", numpy 1 wrote "numpy.core"; _codecs.encode
# carries array bytes in protocol 2 pickles.
_ALLOWED_GLOBALS = frozenset({
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),
})
_SPLIT_ALIASES = {"train": "train", "valid": "valid", "dev": "valid", "test": "test"}


class NumpyOnlyUnpickler(pickle.Unpickler):
    """An unpickler that builds only plain containers, numpy arrays and numpy scalars."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise DataError(
                f"pickle refers to {module}.{name}, which is not a numpy array type; "
                "only numpy arrays are accepted from MMSA pickles, so this file was not loaded"
            )
        if module.startswith("numpy.core") and int(np.__version__.split(".")[0]) >= 2:
            module = module.replace("numpy.core", "numpy._core", 1)
        return super().find_class(module, name)


def load_restricted_pickle(path: str | os.PathLike) -> Any:
    """Unpickle ``path`` with :class:`NumpyOnlyUnpickler`; raise DataError on any failure."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            return NumpyOnlyUnpickler(handle).load()
    except DataError as exc:
        raise DataError(f"{path}: {exc}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError) as exc:
        raise DataError(f"{path} is not a readable MMSA pickle: {exc}") from exc


def load_mmsa(path: str | os.PathLike, nonfinite: str = "zero") -> FeatureDataset:
    """Load an MMSA feature pickle into a FeatureDataset with splits train, valid, test."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"MMSA pickle {path} not found")
    data = load_restricted_pickle(path)
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a dict of splits, found {type(data).__name__}")
    samples: list[ClipFeatures] = []
    for key, part in data.items():
        split = _SPLIT_ALIASES.get(str(key))
        if split is None:
            log.warning("%s: ignoring unknown top-level entry %r (splits are %s)", path, key, ", ".join(SPLITS))
            continue
        if not isinstance(part, dict):
            raise DataError(f"{path}: split {key!r} is a {type(part).__name__}, expected a dict of arrays")
        samples.extend(_split_samples(part, split, f"{path} [{key}]"))
    return build_dataset(samples, source=str(path), preset=PRESET, nonfinite=nonfinite)


def _split_samples(part: dict, split: str, source: str) -> list[ClipFeatures]:
    if "text" not in part:
        if "text_bert" in part:
            raise DataError(
                f"{source}: has only 'text_bert' (BERT token ids), no 'text' feature vectors; "
                "use an MMSA pickle with text features, or extract features into a feature cache"
            )
        raise DataError(f"{source}: missing 'text' features")
    text = _array(part, "text", source, ndim=3)
    audio = _array(part, "audio", source, ndim=3)
    vision = _array(part, "vision", source, ndim=3)
    size = text.shape[0]
    labels = _labels(part, source).reshape(-1)
    ids = np.asarray(part["id"]).reshape(-1) if "id" in part else np.array([f"{split}_{i}" for i in range(size)])
    for name, array in (("audio", audio), ("vision", vision), ("regression_labels", labels), ("id", ids)):
        if array.shape[0] != size:
            raise DataError(f"{source}: '{name}' has {array.shape[0]} clips but 'text' has {size}")

    text_lengths = _text_lengths(part, text, source)
    audio_lengths = _lengths(part, "audio_lengths", audio, source)
    vision_lengths = _lengths(part, "vision_lengths", vision, source)
    samples = []
    for i in range(size):
        samples.append(ClipFeatures(
            name=str(ids[i]),
            text=np.asarray(text[i, : text_lengths[i]], dtype=np.float32),
            audio=np.asarray(audio[i, : audio_lengths[i]], dtype=np.float32),
            visual=np.asarray(vision[i, : vision_lengths[i]], dtype=np.float32),
            label=float(labels[i]),
            split=split,
        ))
    return samples


def _array(part: dict, key: str, source: str, ndim: int) -> np.ndarray:
    if key not in part:
        raise DataError(f"{source}: missing '{key}'")
    array = np.asarray(part[key])
    if array.ndim != ndim or not np.issubdtype(array.dtype, np.number):
        raise DataError(f"{source}: '{key}' has shape {array.shape} and dtype {array.dtype}, "
                        f"expected a {ndim}-D numeric array")
    return array


def _labels(part: dict, source: str) -> np.ndarray:
    for key in ("regression_labels", "labels"):
        if key in part:
            value = part[key]
            if isinstance(value, dict):  # MMSA also stores labels as {"M": array}
                value = value.get("M")
            return np.asarray(value, dtype=np.float64)
    raise DataError(f"{source}: missing 'regression_labels'")


def _lengths(part: dict, key: str, features: np.ndarray, source: str) -> np.ndarray:
    """Return per-clip frame counts; all frames when the pickle has no lengths."""
    if key not in part:
        log.info("%s: no '%s'; using all %d frames of every clip", source, key, features.shape[1])
        return np.full(features.shape[0], features.shape[1], dtype=np.int64)
    lengths = np.asarray(part[key]).reshape(-1).astype(np.int64)
    if lengths.shape[0] != features.shape[0]:
        raise DataError(f"{source}: '{key}' has {lengths.shape[0]} entries for {features.shape[0]} clips")
    if (lengths < 0).any() or (lengths > features.shape[1]).any():
        raise DataError(f"{source}: '{key}' has values outside 0..{features.shape[1]}")
    return lengths


def _text_lengths(part: dict, text: np.ndarray, source: str) -> np.ndarray:
    """Word counts from the BERT attention mask when present, else all positions."""
    bert = part.get("text_bert")
    if bert is not None:
        bert = np.asarray(bert)
        if bert.ndim == 3 and bert.shape[1] == 3 and bert.shape[0] == text.shape[0] and bert.shape[2] == text.shape[1]:
            return bert[:, 1, :].sum(axis=1).astype(np.int64)
        log.warning("%s: 'text_bert' has shape %s, not (N, 3, %d); using all text positions",
                    source, bert.shape, text.shape[1])
    return np.full(text.shape[0], text.shape[1], dtype=np.int64)
