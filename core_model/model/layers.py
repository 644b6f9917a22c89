"""The pre-LayerNorm transformer layer and one encoder pass over stacked branches.

One pass follows the official MulT-style encoder: scale the input by
sqrt(D), add sinusoidal positions, embedding dropout, one pre-LN layer
(attention, then feed-forward), then a final LayerNorm. As in that code, each
residual adds the un-normalised input, not its LayerNorm.

The intra and inter branches have their own weights but the same shapes, so
``encoder_pass`` runs K branches at once. Their weights are stacked to
(K, ...), so every matmul is one batched call, and attention is one
``scaled_dot_product_attention`` call over (K*B, H, T, Dh).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from core_model.model.dropout import dropout

logger = logging.getLogger(__name__)


def sinusoidal_positions(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """Return (T, dim) sinusoidal embeddings for integer ``positions`` (T,).

    The layout is the fairseq one that MulT uses: the first half contains
    sin(p * w_i), the second half cos(p * w_i), w_i = 10000^(-i / (dim/2 - 1)).
    MulT numbers the positions from 1, so callers pass index + 1.
    """
    half = dim // 2
    scale = math.log(10000.0) / max(half - 1, 1)
    freqs = torch.exp(torch.arange(half, dtype=torch.float32, device=positions.device) * -scale)
    angles = positions.to(torch.float32)[:, None] * freqs[None, :]  # (T, dim/2)
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


class TransformerLayer(nn.Module):
    """Weights of one pre-LN layer plus the pass's final LayerNorm."""

    def __init__(self, hidden: int, ff: int) -> None:
        super().__init__()
        self.attention_norm = nn.LayerNorm(hidden)
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.out = nn.Linear(hidden, hidden)
        self.ff_norm = nn.LayerNorm(hidden)
        self.fc1 = nn.Linear(hidden, ff)
        self.fc2 = nn.Linear(ff, hidden)
        self.final_norm = nn.LayerNorm(hidden)
        # Xavier-uniform weights and zero biases, as the MulT layers use.
        for linear in (self.qkv, self.out, self.fc1, self.fc2):
            nn.init.xavier_uniform_(linear.weight)
            nn.init.zeros_(linear.bias)


@dataclass(frozen=True)
class PassSettings:
    """Dropout rates and head count of one encoder pass."""

    heads: int
    embedding_dropout: float
    attention_dropout: float
    residual_dropout: float
    ff_dropout: float


def _stack(layers: Sequence[TransformerLayer], name: str) -> torch.Tensor:
    """Stack one weight of every branch: (K, ...)."""
    tensors = [layer.get_parameter(name) for layer in layers]
    return tensors[0].unsqueeze(0) if len(tensors) == 1 else torch.stack(tensors)


def _linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """Apply K linear maps: x (K, R, In), weight (K, Out, In), bias (K, Out) -> (K, R, Out)."""
    return torch.baddbmm(bias.unsqueeze(1), x, weight.transpose(1, 2))


def _layer_norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """LayerNorm over the last dim with per-branch affine: x (K, R, D), weight/bias (K, D)."""
    normed = F.layer_norm(x, x.shape[-1:])
    return torch.addcmul(bias.unsqueeze(1), normed, weight.unsqueeze(1))


def attention_plain(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: torch.Tensor, dropout_p: float, training: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Reference attention with explicit weights: returns (output, weights (..., H, T, T))."""
    # Scaling q rather than the (..., T, T) scores saves one pass over them.
    scores = torch.matmul(q * (1.0 / math.sqrt(q.shape[-1])), k.transpose(-1, -2)) + bias
    weights = torch.softmax(scores, dim=-1)
    dropped = dropout(weights, p=dropout_p, training=training)
    return torch.matmul(dropped, v), weights


def attention_blocks(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    bias: torch.Tensor,
    blocks: Sequence[tuple[int, int]],
    kind: str,
    dropout_p: float,
    training: bool,
) -> torch.Tensor:
    """Compute IntraMASK or InterMASK attention block by block, skipping keys the mask always blocks.

    ``blocks`` are the modality token ranges [start, stop) after the leading
    val and cls tokens. With ``kind`` "intra" a block's rows get scores
    against val, cls and their own block only, with "inter" against val, cls
    and the other blocks. The val and cls rows attend over all keys. q, k, v:
    (N, H, T, Dh); bias: (N, 1, T, T), which still masks padding. Returns the
    same context as ``attention_plain``.
    """
    special = q.shape[2] - sum(stop - start for start, stop in blocks)
    contexts = [attention_plain(q[:, :, :special], k, v, bias[:, :, :special], dropout_p, training)[0]]
    for start, stop in blocks:
        if stop == start:
            continue
        if kind == "intra":
            ranges = [(0, special), (start, stop)]
        else:
            ranges = [(0, special)] + [(a, b) for a, b in blocks if (a, b) != (start, stop) and b > a]
        keys = torch.cat([k[:, :, a:b] for a, b in ranges], dim=2)  # (N, H, S, Dh)
        values = torch.cat([v[:, :, a:b] for a, b in ranges], dim=2)
        block_bias = torch.cat([bias[:, :, start:stop, a:b] for a, b in ranges], dim=3)  # (N, 1, n, S)
        contexts.append(attention_plain(q[:, :, start:stop], keys, values, block_bias, dropout_p, training)[0])
    return torch.cat(contexts, dim=2)  # (N, H, T, Dh)


def encoder_pass(
    x: torch.Tensor,
    layers: Sequence[TransformerLayer],
    bias: torch.Tensor,
    sinusoid: torch.Tensor,
    settings: PassSettings,
    training: bool,
    return_attention: bool = False,
    query_rows: int | None = None,
    block_kinds: Sequence[str] | None = None,
    blocks: Sequence[tuple[int, int]] = (),
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Run one pass of K branches.

    x: (K, B, T, D) branch inputs; ``layers``: K layers; bias: additive
    attention bias (K*B, 1, T, T), branch-major; sinusoid: (T, D).
    Returns (K, B, Q, D), where Q is ``query_rows`` (only the first Q tokens
    are computed, as queries over all T keys) or T when it is None. With
    ``return_attention`` it also returns the attention weights (K, B, H, Q, T)
    from the explicit path instead of SDPA. Attention runs on 4-D tensors
    (K*B, H, Q, Dh) because torch's CPU flash kernel takes only those.
    In training, when all T rows are computed and ``block_kinds`` gives each
    branch's mask ("intra" or "inter"), attention runs per modality block
    ``blocks`` ([start, stop) token ranges) through ``attention_blocks``.
    """
    branches, batch, tokens, dim = x.shape
    heads = settings.heads
    head_dim = dim // heads
    rows = tokens if query_rows is None else query_rows

    h = x * math.sqrt(dim) + sinusoid  # (K, B, T, D)
    h = dropout(h, p=settings.embedding_dropout, training=training)

    # Attention block. Keys and values always cover all T tokens.
    a = _layer_norm(
        h.reshape(branches, batch * tokens, dim),
        _stack(layers, "attention_norm.weight"),
        _stack(layers, "attention_norm.bias"),
    )  # (K, B*T, D)
    w_qkv, b_qkv = _stack(layers, "qkv.weight"), _stack(layers, "qkv.bias")  # (K, 3D, D), (K, 3D)
    if rows == tokens:
        qkv = _linear(a, w_qkv, b_qkv)  # (K, B*T, 3D)
        qkv = qkv.view(branches * batch, tokens, 3, heads, head_dim).permute(2, 0, 3, 1, 4)  # (3, K*B, H, T, Dh)
        q, k, v = qkv.unbind(0)
    else:
        kv = _linear(a, w_qkv[:, dim:], b_qkv[:, dim:])  # (K, B*T, 2D)
        kv = kv.view(branches * batch, tokens, 2, heads, head_dim).permute(2, 0, 3, 1, 4)  # (2, K*B, H, T, Dh)
        k, v = kv.unbind(0)
        a_rows = a.view(branches, batch, tokens, dim)[:, :, :rows].reshape(branches, batch * rows, dim)
        q = _linear(a_rows, w_qkv[:, :dim], b_qkv[:, :dim])  # (K, B*Q, D)
        q = q.view(branches * batch, rows, heads, head_dim).transpose(1, 2)  # (K*B, H, Q, Dh)
        bias = bias[..., :rows, :]
        h = h[:, :, :rows]  # (K, B, Q, D)
    h = h.reshape(branches, batch * rows, dim)  # (K, B*Q, D)

    attention_dropout = settings.attention_dropout if training else 0.0
    weights = None
    if return_attention or (training and attention_dropout > 0.0):
        # SDPA's CPU kernels draw attention dropout with bernoulli_, which is
        # slow, so training uses the explicit path with ``dropout``.
        # Attending per modality block there skips about 60% of the intra
        # and 35% of the inter (T, T) scores with 100, 100 and 50 tokens.
        if block_kinds is not None and not return_attention and rows == tokens:
            contexts = []
            for index, kind in enumerate(block_kinds):
                part = slice(index * batch, (index + 1) * batch)
                contexts.append(
                    attention_blocks(q[part], k[part], v[part], bias[part], blocks, kind, attention_dropout, training)
                )
            context = torch.cat(contexts)  # (K*B, H, T, Dh)
        else:
            context, weights = attention_plain(q, k, v, bias, attention_dropout, training)
            if not return_attention:
                weights = None
    else:
        context = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=attention_dropout)
    context = context.transpose(1, 2).reshape(branches, batch * rows, dim)  # (K, B*Q, D)
    if weights is not None:
        weights = weights.view(branches, batch, heads, rows, tokens)
    a = _linear(context, _stack(layers, "out.weight"), _stack(layers, "out.bias"))
    h = h + dropout(a, p=settings.residual_dropout, training=training)

    # Feed-forward block.
    f = _layer_norm(h, _stack(layers, "ff_norm.weight"), _stack(layers, "ff_norm.bias"))
    f = torch.relu(_linear(f, _stack(layers, "fc1.weight"), _stack(layers, "fc1.bias")))  # (K, B*Q, F)
    f = dropout(f, p=settings.ff_dropout, training=training)
    f = _linear(f, _stack(layers, "fc2.weight"), _stack(layers, "fc2.bias"))  # (K, B*Q, D)
    h = h + dropout(f, p=settings.residual_dropout, training=training)

    h = _layer_norm(h, _stack(layers, "final_norm.weight"), _stack(layers, "final_norm.bias"))
    return h.view(branches, batch, rows, dim), weights
