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
        # A float mask of the same dtype keeps both multiplies single-dtype,
        # which is much faster on CPU than multiplying by a bool tensor.
        factor = torch.where(keep, scale, 0.0).to(x.dtype)
        ctx.save_for_backward(factor)
        return x * factor

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (factor,) = ctx.saved_tensors
        return grad * factor, None


def dropout(x: torch.Tensor, p: float, training: bool, valid: torch.Tensor | None = None) -> torch.Tensor:
    """Zero each element of ``x`` with probability ``p`` and scale the rest by 1 / (1 - p).

    ``valid``, a bool tensor broadcastable to ``x``, also zeroes the elements
    where it is False, in the same pass; it is for inputs without gradient.
    """
    if not training or p <= 0.0:
        return x if valid is None else torch.where(valid, x, 0.0)
    if x.device.type != "cpu":
        x = torch.nn.functional.dropout(x, p=p, training=True)
        return x if valid is None else torch.where(valid, x, 0.0)
    if not x.requires_grad or valid is not None:
        keep, scale = _keep_mask(x.shape, p, x.device)
        if valid is not None:
            keep &= valid
        return torch.where(keep, x, 0.0).mul_(scale)
    return _Dropout.apply(x, p)
