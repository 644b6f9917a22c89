"""The encoder interface: one protocol per modality, plus output checks.

Shapes: text ``(N, D)`` with one row per input word, audio ``(L, D)`` frames
at ``frame_rate`` Hz, visual ``(M, D)`` with one row per face crop. Every
encoder also names itself with ``identifier``, the string that checkpoints
and feature-cache keys record, so features of different encoders never mix.
"""

from __future__ import annotations

import logging
from typing import Protocol, Sequence, runtime_checkable

import numpy as np

from core_model.errors import DataError

log = logging.getLogger(__name__)

AUDIO_SAMPLE_RATE = 16000  # Hz, the rate every AudioEncoder expects


@runtime_checkable
class Encoder(Protocol):
    """Attributes shared by the encoders of every modality."""

    @property
    def identifier(self) -> str:
        """Stable name of the model and its weights, for example ``"text:all-MiniLM-L6-v2@0.1.0:last-layer:word-mean"``."""
        ...

    @property
    def dim(self) -> int:
        """Feature size D of each output row."""
        ...

    @property
    def frame_rate(self) -> float | None:
        """Output rows per second, or None where rows follow words or face frames."""
        ...

    @property
    def modality(self) -> str:
        """One of ``"audio"``, ``"text"``, ``"visual"``."""
        ...


@runtime_checkable
class TextEncoder(Encoder, Protocol):
    def encode_words(self, words: Sequence[str]) -> np.ndarray:
        """Return float32 ``(N, D)``: one row per word in ``words``, sub-words averaged."""
        ...


@runtime_checkable
class AudioEncoder(Encoder, Protocol):
    def encode(self, audio_16k: np.ndarray) -> np.ndarray:
        """Return float32 ``(L, D)`` for mono float32 samples at 16 kHz."""
        ...


@runtime_checkable
class VisualEncoder(Encoder, Protocol):
    def encode(self, crops: np.ndarray) -> np.ndarray:
        """Return float32 ``(M, D)`` for ``(M, H, W)`` uint8 greyscale face crops."""
        ...


def describe_encoder(encoder: object, modality: str) -> str:
    """Return the identifier recorded for ``encoder``.

    Encoders without an ``identifier`` attribute get their class name, so a
    cache key still changes when the encoder class changes.
    """
    identifier = getattr(encoder, "identifier", None)
    if identifier:
        return str(identifier)
    return f"{modality}:{type(encoder).__module__}.{type(encoder).__qualname__}"


def check_features(array: np.ndarray, *, dim: int, rows: int | None, source: str) -> np.ndarray:
    """Return ``array`` as C-contiguous float32 ``(rows, dim)``, or raise DataError.

    ``rows`` None accepts any number of rows. NaN or Inf values raise, because
    the feature cache must never store them.
    """
    array = np.ascontiguousarray(np.asarray(array), dtype=np.float32)
    if array.ndim != 2 or array.shape[1] != dim:
        raise DataError(f"{source}: encoder output has shape {array.shape}, expected (rows, {dim})")
    if rows is not None and array.shape[0] != rows:
        raise DataError(f"{source}: encoder returned {array.shape[0]} rows, expected {rows}")
    bad = int((~np.isfinite(array)).sum())
    if bad:
        raise DataError(f"{source}: encoder output contains {bad} NaN/Inf values")
    return array
