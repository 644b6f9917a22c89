"""Dropout from raw random bits, about 3x faster than F.dropout on CPU.

On CPU, ``F.dropout`` draws its mask with ``bernoulli_``. Filling int64 words
with ``random_`` and comparing 15-bit slices of them to a threshold took a
third of the time in a measurement (torch 2.13, one thread, 6.5M elements).
The drop probability is ``p`` rounded to a multiple of 1/32768 (exact for
0.5), and kept values are scaled by the exact inverse keep rate. The bits
come from torch's default generator, so ``torch.manual_seed`` makes them
reproducible. Other devices use ``F.dropout``.
"""

from __future__ import annotations

import logging

import torch

logger = logging.getLogger(__name__)

# int64 random_() fills 63 bits, so the top bit of every fourth int16 word is
# always 0; keeping the low 15 bits of each word gives unbiased values.
_LEVELS = 32768


def _keep_mask(shape: torch.Size, p: float, device: torch.device) -> tuple[torch.Tensor, float]:
    """Return a bool keep mask of ``shape`` and the scale 1 / keep rate."""
    count = 1
    for size in shape:
        count *= size
    words = torch.empty((count + 3) // 4, dtype=torch.int64, device=device).random_()
    bits = words.view(torch.int16)[:count].view(shape) & (_LEVELS - 1)  # uniform over [0, 32767]
    dropped = round(p * _LEVELS)
    keep = bits >= dropped
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
