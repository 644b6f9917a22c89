"""The Semi-IIN training loss, returned as named parts.

For labeled clips: ``mse_weight * MSE(intensity) + ce_weight * CE(7 bins)``.
Pseudo-labeled clips add ``pseudo_ce_weight * CE(pseudo class)`` and never
contribute to the MSE, because their intensity is not known. Each part is the
mean over the clips it covers in the batch, and is 0 when the batch has none.

The returned names (``total``, ``mse``, ``ce``, ``pseudo_ce``) are the ones that
logging, progress events, GUI curves and self-training read.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping

import torch
import torch.nn.functional as F

from core_model.data.batch import Batch
from core_model.errors import ConfigError
from core_model.training.labels import intensity_to_class_tensor

log = logging.getLogger(__name__)

LOSS_NAMES: tuple[str, ...] = ("total", "mse", "ce", "pseudo_ce")


@dataclass(frozen=True)
class LossWeights:
    """Weights of the three loss terms (defaults from the Semi-IIN paper)."""

    mse: float = 0.6
    ce: float = 0.4
    pseudo_ce: float = 0.2

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if not isinstance(value, (int, float)) or value < 0:
                raise ConfigError(f"loss weight {item.name} must be a number >= 0, got {value!r}")

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "LossWeights":
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ConfigError(f"unknown loss weight keys {sorted(unknown)}; expected mse, ce, pseudo_ce")
        return cls(**data)


def semi_iin_loss(
    intensity: torch.Tensor,
    logits: torch.Tensor,
    batch: Batch,
    weights: LossWeights = LossWeights(),
) -> dict[str, torch.Tensor]:
    """Compute the named losses for one batch.

    ``intensity`` is (B,), ``logits`` is (B, 7). A clip is labeled when its
    label is finite and it is not marked pseudo; a pseudo clip uses
    ``batch.pseudo_classes``. Clips that are neither are ignored.
    """
    intensity = intensity.float()
    logits = logits.float()
    size = intensity.shape[0]
    device = intensity.device
    if batch.labels is not None:
        labels = batch.labels.to(device)
        labeled = torch.isfinite(labels)
    else:
        labels = torch.zeros(size, device=device)
        labeled = torch.zeros(size, dtype=torch.bool, device=device)
    if batch.pseudo is not None:
        pseudo = batch.pseudo.to(device)
        labeled = labeled & ~pseudo
    else:
        pseudo = torch.zeros(size, dtype=torch.bool, device=device)

    # Zero terms stay connected to the graph, so backward() works on any batch.
    zero = intensity.sum() * 0.0
    if labeled.any():
        targets = torch.where(labeled, labels, torch.zeros_like(labels))
        mse = F.mse_loss(intensity[labeled], targets[labeled])
        ce = F.cross_entropy(logits[labeled], intensity_to_class_tensor(targets[labeled]))
    else:
        mse = ce = zero
    if pseudo.any():
        pseudo_ce = F.cross_entropy(logits[pseudo], batch.pseudo_classes.to(device)[pseudo])
    else:
        pseudo_ce = zero
    total = weights.mse * mse + weights.ce * ce + weights.pseudo_ce * pseudo_ce
    return {"total": total, "mse": mse, "ce": ce, "pseudo_ce": pseudo_ce}
