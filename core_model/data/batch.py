"""Per-clip feature samples and their padded batches.

Dimension letters used across the core: B batch, N text tokens (words),
L audio frames, M visual frames, D feature or hidden size, T model tokens.
A modality with length 0 in a sample is absent for that sample. The model
masks it out, so it is never replaced by zeros that the model would attend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import torch

from core_model.errors import DataError

# Order of the modality token groups in the model sequence and their
# modality-type ids (audio 0, text 1, visual 2).
MODALITIES: tuple[str, ...] = ("audio", "text", "visual")


@dataclass
class ClipFeatures:
    """Feature arrays of one clip; a modality that is None is absent."""

    name: str
    text: np.ndarray | None = None  # (N, Dt) float32, one row per word
    audio: np.ndarray | None = None  # (L, Da) float32
    visual: np.ndarray | None = None  # (M, Dv) float32
    label: float | None = None  # sentiment intensity in [-3, 3]
    split: str | None = None  # "train", "valid", "test" or None
    meta: dict = field(default_factory=dict)

    def modality(self, name: str) -> np.ndarray | None:
        return getattr(self, name)

    def present(self) -> tuple[str, ...]:
        """Return the modalities that have at least one frame."""
        return tuple(m for m in MODALITIES if _length(self.modality(m)) > 0)


def _length(array: np.ndarray | None) -> int:
    return 0 if array is None else int(array.shape[0])


@dataclass
class Batch:
    """Padded tensors for B clips; ``*_lengths`` give the real frame counts."""

    audio: torch.Tensor  # (B, L, Da)
    text: torch.Tensor  # (B, N, Dt)
    visual: torch.Tensor  # (B, M, Dv)
    audio_lengths: torch.Tensor  # (B,) int64, 0 = absent
    text_lengths: torch.Tensor  # (B,)
    visual_lengths: torch.Tensor  # (B,)
    labels: torch.Tensor | None = None  # (B,) float32 intensity, NaN = unlabeled
    pseudo: torch.Tensor | None = None  # (B,) bool, True = pseudo-labeled
    pseudo_classes: torch.Tensor | None = None  # (B,) int64, valid where pseudo
    names: list[str] = field(default_factory=list)

    def features(self, modality: str) -> torch.Tensor:
        return getattr(self, modality)

    def lengths(self, modality: str) -> torch.Tensor:
        return getattr(self, f"{modality}_lengths")

    @property
    def size(self) -> int:
        return int(self.text.shape[0])

    def to(self, device: torch.device | str) -> "Batch":
        moved = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            moved[name] = value.to(device, non_blocking=True) if isinstance(value, torch.Tensor) else value
        return Batch(**moved)


def collate(
    samples: Sequence[ClipFeatures],
    dims: Mapping[str, int],
    fixed_lengths: Mapping[str, int] | None = None,
    pseudo_classes: Sequence[int | None] | None = None,
) -> Batch:
    """Pad ``samples`` into one Batch.

    ``dims`` gives each modality's feature size, needed when no sample in the
    batch has that modality. With ``fixed_lengths`` every modality is padded
    or truncated to that many frames (the official code's fixed input sizes);
    otherwise to the longest sample of the batch (at least 1 frame, so that
    tensors are never empty).
    """
    if not samples:
        raise DataError("cannot collate an empty list of samples")
    tensors: dict[str, torch.Tensor] = {}
    for modality in MODALITIES:
        dim = int(dims[modality])
        arrays = [s.modality(modality) for s in samples]
        lengths = [_length(a) for a in arrays]
        if fixed_lengths is not None:
            width = int(fixed_lengths[modality])
        else:
            width = max(1, max(lengths))
        padded = np.zeros((len(samples), width, dim), dtype=np.float32)
        for row, (sample, array) in enumerate(zip(samples, arrays)):
            if array is None or array.shape[0] == 0:
                continue
            if array.ndim != 2 or array.shape[1] != dim:
                raise DataError(
                    f"clip {sample.name!r}: {modality} features have shape {tuple(array.shape)}, "
                    f"expected (frames, {dim})"
                )
            n = min(array.shape[0], width)
            padded[row, :n] = array[:n]
        tensors[modality] = torch.from_numpy(padded)
        tensors[f"{modality}_lengths"] = torch.tensor([min(n, width) for n in lengths], dtype=torch.int64)

    # NaN marks a sample without a label (for example a pseudo-labeled one).
    labels = None
    if any(s.label is not None for s in samples):
        labels = torch.tensor(
            [float("nan") if s.label is None else float(s.label) for s in samples], dtype=torch.float32
        )
    pseudo = classes = None
    if pseudo_classes is not None:
        pseudo = torch.tensor([c is not None for c in pseudo_classes], dtype=torch.bool)
        classes = torch.tensor([-100 if c is None else int(c) for c in pseudo_classes], dtype=torch.int64)
    return Batch(**tensors, labels=labels, pseudo=pseudo, pseudo_classes=classes, names=[s.name for s in samples])
