"""IntraMASK, InterMASK and key-padding masks, and the keep-to-bias converter.

Every mask here is a boolean ``keep`` tensor: True means the query (row) may
attend to the key (column). ``keep_to_bias`` is the only place where a keep
mask becomes the additive bias that attention adds to its logits.

Token groups in the sequence [val, cls, audio..., text..., visual...]:
0 val, 1 cls, 2 audio, 3 text, 4 visual.
"""

from __future__ import annotations

import logging
from typing import Mapping, Sequence

import torch

from core_model.model.config import MODALITIES, SPECIAL_TOKENS

logger = logging.getLogger(__name__)

GROUP_NAMES: tuple[str, ...] = ("val", "cls", *MODALITIES)

# Rows are query groups, columns key groups, in GROUP_NAMES order.
INTRA_TABLE = torch.tensor(
    [
        [0, 0, 1, 1, 1],
        [0, 0, 1, 1, 1],
        [1, 1, 1, 0, 0],
        [1, 1, 0, 1, 0],
        [1, 1, 0, 0, 1],
    ],
    dtype=torch.bool,
)
# A modality token attends to val, cls and the other modalities, never to its own.
INTER_TABLE = torch.tensor(
    [
        [0, 0, 1, 1, 1],
        [0, 0, 1, 1, 1],
        [1, 1, 0, 1, 1],
        [1, 1, 1, 0, 1],
        [1, 1, 1, 1, 0],
    ],
    dtype=torch.bool,
)
# The global baseline attends everywhere (only padding is masked).
GLOBAL_TABLE = torch.ones(5, 5, dtype=torch.bool)

TABLES: dict[str, torch.Tensor] = {"intra": INTRA_TABLE, "inter": INTER_TABLE, "global": GLOBAL_TABLE}


def token_groups(token_counts: Mapping[str, int], device: torch.device | str | None = None) -> torch.Tensor:
    """Return the group id of each sequence token, shape (T,), for per-modality token counts."""
    counts = [1, 1] + [int(token_counts[m]) for m in MODALITIES]
    ids = torch.arange(len(GROUP_NAMES), device=device)
    return torch.repeat_interleave(ids, torch.tensor(counts, device=device))


def group_keep(kind: str, groups: torch.Tensor) -> torch.Tensor:
    """Expand the ``kind`` table ("intra", "inter" or "global") to a token keep mask (T, T)."""
    table = TABLES[kind].to(groups.device)
    return table[groups[:, None], groups[None, :]]


def key_valid(token_counts: Mapping[str, int], lengths: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """Return (B, T) True where a key is a real token; val and cls are always real.

    ``token_counts`` are the per-modality widths in the sequence and
    ``lengths`` the (B,) real token counts of each sample.
    """
    parts = []
    batch = next(iter(lengths.values())).shape[0]
    device = next(iter(lengths.values())).device
    parts.append(torch.ones(batch, SPECIAL_TOKENS, dtype=torch.bool, device=device))
    for modality in MODALITIES:
        width = int(token_counts[modality])
        index = torch.arange(width, device=device)
        parts.append(index[None, :] < lengths[modality][:, None])
    return torch.cat(parts, dim=1)


def build_keep(
    kinds: Sequence[str],
    token_counts: Mapping[str, int],
    lengths: Mapping[str, torch.Tensor] | None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Return the keep masks of the ``kinds`` branches, stacked.

    Shape (K, B, 1, T, T) with ``lengths`` (a key-padding mask per sample), or
    (K, 1, 1, T, T) when ``lengths`` is None (no padding mask, as in the
    official code). A query row left with no key may attend to itself only,
    so that softmax never gets a row of -inf. The model rejects samples whose
    val and cls rows would be empty before it builds the masks.
    """
    groups = token_groups(token_counts, device)
    keep = torch.stack([group_keep(kind, groups) for kind in kinds])  # (K, T, T)
    keep = keep[:, None, None]  # (K, 1, 1, T, T)
    if lengths is not None:
        valid = key_valid(token_counts, lengths)  # (B, T)
        keep = keep & valid[None, :, None, None, :]  # (K, B, 1, T, T)
    empty = ~keep.any(dim=-1, keepdim=True)  # (K, B|1, 1, T, 1)
    if bool(empty.any()):
        eye = torch.eye(keep.shape[-1], dtype=torch.bool, device=keep.device)
        keep = keep | (empty & eye)
    return keep


def keep_to_bias(keep: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Turn a boolean keep mask into an additive attention bias: 0 where kept, -inf elsewhere."""
    bias = torch.zeros(keep.shape, dtype=dtype, device=keep.device)
    return bias.masked_fill_(~keep, float("-inf"))
