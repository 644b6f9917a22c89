"""Local Conv1d encoders computed as matrix products on channels-last input.

The features arrive as (B, L, D). A Conv1d with kernel k, stride s and
padding p gives output t from frames s*t - p + r, r = 0..k-1. Viewing the
input as (B, L/s, s*D) blocks of s frames, the taps that fall into the same
block shift form one contiguous column slice, so each shift is one matmul on
a strided view (no im2col copy, no transpose to (B, D, L)). The weights keep
the Conv1d layout (out, in, k) so ``torch.nn.functional.conv1d`` gives the
same numbers, which the tests check.
"""

from __future__ import annotations

import logging
import math

import torch
import torch.nn.functional as F
from torch import nn

from core_model.model.config import ConvSpec, EncoderConfig

logger = logging.getLogger(__name__)


def _tap_plan(kernel: int, stride: int, padding: int) -> list[tuple[int, int, int, int]]:
    """Group taps by block shift: (shift, first offset, first tap, tap count)."""
    plan: list[tuple[int, int, int, int]] = []
    for tap in range(kernel):
        shift, offset = divmod(tap - padding, stride)
        if plan and plan[-1][0] == shift:
            s, o, r, n = plan[-1]
            plan[-1] = (s, o, r, n + 1)
        else:
            plan.append((shift, offset, tap, 1))
    return plan


def conv1d_channels_last(x: torch.Tensor, weight: torch.Tensor, spec: ConvSpec, out_length: int) -> torch.Tensor:
    """Return Conv1d(x) for channels-last ``x`` (B, L, D) and ``weight`` (E, D, k): (B, out_length, E).

    Frames outside [0, L) count as zeros, exactly like the Conv1d padding.
    """
    batch, length, channels = x.shape
    out_channels = weight.shape[0]
    stride = spec.stride
    blocks = math.ceil(length / stride)
    if blocks * stride != length:
        x = F.pad(x, (0, 0, 0, blocks * stride - length))
    if not x.is_contiguous():
        x = x.contiguous()
    grouped = x.view(batch, blocks, stride * channels)  # (B, L/s, s*D)
    taps = weight.permute(2, 1, 0)  # (k, D, E)

    # Taps whose column slice is the same (always the case when s = 1) share
    # one matmul with their weights side by side.
    by_slice: dict[tuple[int, int], list[tuple[int, int, int]]] = {}
    for shift, offset, first, count in _tap_plan(spec.kernel, stride, spec.padding):
        by_slice.setdefault((offset, count), []).append((shift, first, count))

    out: torch.Tensor | None = None
    for (offset, count), members in by_slice.items():
        columns = grouped[:, :, offset * channels : (offset + count) * channels]  # (B, L/s, count*D)
        w = torch.cat([taps[first : first + n].reshape(n * channels, out_channels) for _, first, n in members], dim=1)
        y = torch.matmul(columns, w)  # (B, L/s, E * len(members))
        for index, (shift, _, _) in enumerate(members):
            part = y[:, :, index * out_channels : (index + 1) * out_channels]
            # Output t reads block t + shift; blocks outside [0, L/s) are zeros.
            start, stop = max(0, -shift), min(out_length, blocks - shift)
            if start >= stop:
                continue
            piece = part[:, start + shift : stop + shift]
            piece = F.pad(piece, (0, 0, start, out_length - stop))  # (B, out_length, E)
            out = piece if out is None else out + piece
    if out is None:
        out = x.new_zeros(batch, out_length, out_channels)
    return out


class ConvEncoder(nn.Module):
    """The local encoder of one modality: Conv1d steps without bias or activation."""

    def __init__(self, config: EncoderConfig, hidden: int) -> None:
        super().__init__()
        self.specs = tuple(config.steps)
        weights = []
        in_channels = config.input_size
        for spec in self.specs:
            out_channels = spec.out_channels or hidden
            conv = nn.Conv1d(in_channels, out_channels, spec.kernel, spec.stride, spec.padding, bias=False)
            weights.append(conv.weight)  # (E, D, k), PyTorch's Conv1d initialisation
            in_channels = out_channels
        self.weights = nn.ParameterList(weights)

    def lengths(self, lengths: torch.Tensor) -> list[torch.Tensor]:
        """Return the (B,) frame counts after each step for (B,) input ``lengths``."""
        result = []
        for spec in self.specs:
            padded = lengths + 2 * spec.padding
            out = torch.div(padded - spec.kernel, spec.stride, rounding_mode="floor") + 1
            lengths = torch.where((lengths > 0) & (padded >= spec.kernel), out, torch.zeros_like(out))
            result.append(lengths)
        return result

    def forward(self, x: torch.Tensor, step_lengths: list[torch.Tensor] | None) -> torch.Tensor:
        """Encode ``x`` (B, L, D) to (B, T, hidden).

        With ``step_lengths`` (from ``lengths``), frames past each sample's
        real count are zeroed between steps, so that the next step's padding
        sees zeros as an unpadded sample would; the caller zeroes the input.
        Without them, every frame is treated as real (faithful mode).
        """
        length = x.shape[1]
        for index, (spec, weight) in enumerate(zip(self.specs, self.weights)):
            out_length = max(1, spec.output_length(length)) if length > 0 else 1
            x = conv1d_channels_last(x, weight, spec, out_length)  # (B, L', E)
            length = out_length
            if step_lengths is not None and index + 1 < len(self.specs):
                keep = torch.arange(length, device=x.device)[None, :] < step_lengths[index][:, None]
                x = x * keep[:, :, None].to(x.dtype)
        return x
