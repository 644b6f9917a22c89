"""Fusion of the intra- and inter-branch outputs at one position (val or cls).

"gate" is Semi-IIN's fusion: g = sigmoid(A(inter) + B(intra)) with A a
bias-free Linear(D, D) and B a Linear(D, D), fused = g * inter + (1 - g) *
intra. "add", "concat" and "dot" are the ablation variants: inter + intra, a
Linear(2D, D) over [intra, inter], and the element-wise product.
"""

from __future__ import annotations

import logging

import torch
from torch import nn

logger = logging.getLogger(__name__)


class Fusion(nn.Module):
    """Fuse (B, D) intra and inter vectors; ``forward`` returns (fused, gate or None)."""

    def __init__(self, mode: str, hidden: int) -> None:
        super().__init__()
        self.mode = mode
        if mode == "gate":
            self.inter_proj = nn.Linear(hidden, hidden, bias=False)
            self.intra_proj = nn.Linear(hidden, hidden, bias=True)
        elif mode == "concat":
            self.proj = nn.Linear(2 * hidden, hidden)

    def forward(self, intra: torch.Tensor, inter: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.mode == "gate":
            gate = torch.sigmoid(self.inter_proj(inter) + self.intra_proj(intra))  # (B, D), 1 = inter
            return gate * inter + (1.0 - gate) * intra, gate
        if self.mode == "add":
            return inter + intra, None
        if self.mode == "dot":
            return inter * intra, None
        return self.proj(torch.cat([intra, inter], dim=-1)), None
