"""Local Conv1d encoders computed as matrix products on channels-last input.

The features arrive as (B, L, D). A Conv1d with kernel k, stride s and
padding p gives output t from frames s*t - p + r, r = 0..k-1. The input is
viewed as (B, L/s, s*D) blocks of s frames. The taps that fall into the same
block shift then form one contiguous column slice, so each shift is one
matmul on a strided view, with no im2col copy and no transpose to (B, D, L). The weights are
stored as taps (k, D, E), the transpose of the Conv1d layout (E, D, k), so
that every matmul weight is a contiguous block.
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


def tap_matrices(taps: torch.Tensor, spec: ConvSpec) -> list[tuple[int, int, tuple[int, ...], torch.Tensor]]:
    """Lay out ``taps`` (k, D, E) as the matmul weights of ``conv1d_channels_last``.

    Returns one entry per column slice: (first offset, offset count, block
    shifts, weight (count*D, E * number of shifts)). Taps whose slice is the
    same (always the case when the stride is 1) share one matmul with their
    weights side by side.
    """
    kernel, channels, out_channels = taps.shape
    by_slice: dict[tuple[int, int], list[tuple[int, int, int]]] = {}
    for shift, offset, first, count in _tap_plan(kernel, spec.stride, spec.padding):
        by_slice.setdefault((offset, count), []).append((shift, first, count))
    result = []
    for (offset, count), members in by_slice.items():
        blocks = [taps[first : first + n].reshape(n * channels, out_channels) for _, first, n in members]
        weight = blocks[0] if len(blocks) == 1 else torch.cat(blocks, dim=1)
        result.append((offset, count, tuple(shift for shift, _, _ in members), weight))
    return result


def conv1d_channels_last(
    x: torch.Tensor,
    taps: torch.Tensor,
    spec: ConvSpec,
    out_length: int,
    matrices: list[tuple[int, int, tuple[int, ...], torch.Tensor]] | None = None,
) -> torch.Tensor:
    """Return Conv1d(x) for channels-last ``x`` (B, L, D) and ``taps`` (k, D, E): (B, out_length, E).

    ``taps[r]`` is the (D, E) matrix of tap r, so ``taps.permute(2, 1, 0)``
    is the ``F.conv1d`` weight. Frames outside [0, L) count as zeros, exactly
    like the Conv1d padding. ``matrices`` may pass ``tap_matrices(taps, spec)``
    computed earlier.
    """
    batch, length, channels = x.shape
    out_channels = taps.shape[2]
    stride = spec.stride
    blocks = math.ceil(length / stride)
    if blocks * stride != length:
        x = F.pad(x, (0, 0, 0, blocks * stride - length))
    if not x.is_contiguous():
        x = x.contiguous()
    grouped = x.view(batch, blocks, stride * channels)  # (B, L/s, s*D)
    if matrices is None:
        matrices = tap_matrices(taps, spec)

    out: torch.Tensor | None = None
    for offset, count, shifts, weight in matrices:
        columns = grouped[:, :, offset * channels : (offset + count) * channels]  # (B, L/s, count*D)
        y = torch.matmul(columns, weight)  # (B, L/s, E * len(shifts))
        for index, shift in enumerate(shifts):
            part = y[:, :, index * out_channels : (index + 1) * out_channels]
            # Output t reads block t + shift. Blocks outside [0, L/s) are zeros.
            start, stop = max(0, -shift), min(out_length, blocks - shift)
            if start >= stop:
                continue
            piece = part[:, start + shift : stop + shift]
            if start > 0 or stop < out_length:
                piece = F.pad(piece, (0, 0, start, out_length - stop))  # (B, out_length, E)
            out = piece if out is None else out + piece
    if out is None:
        out = x.new_zeros(batch, out_length, out_channels)
    return out


def compose_taps(first: torch.Tensor, second: torch.Tensor, first_stride: int) -> torch.Tensor:
    """Return the taps (K, D, E) of one Conv1d equal to ``second`` after ``first``.

    first: (k1, D, M), second: (k2, M, E); K = first_stride * (k2 - 1) + k1.
    Tap r of the result sums first[i] @ second[j] over first_stride * j + i = r.
    """
    k1, channels, mid = first.shape
    k2, _, out_channels = second.shape
    kernel = first_stride * (k2 - 1) + k1
    flat = first.reshape(k1 * channels, mid)  # (k1*D, M)
    parts = []
    for j in range(k2):
        block = (flat @ second[j]).view(k1, channels, out_channels)  # (k1, D, E)
        parts.append(F.pad(block, (0, 0, 0, 0, first_stride * j, kernel - first_stride * j - k1)))
    return torch.stack(parts).sum(dim=0)


class ConvEncoder(nn.Module):
    """The local encoder of one modality: Conv1d steps without bias or activation.

    Two steps are computed as one composed Conv1d when that costs fewer
    multiply-adds. For the audio encoder of ``SemiIINConfig.paper()`` that is
    kernel 10, stride 8 over 1024 channels, in place of kernel 4, stride 2
    over 1024 channels followed by kernel 4, stride 4 over 128. Composition alone would let the first step's zero padding and
    frames past a sample's end leak into the tokens at either edge, so those
    few tokens are recomputed step by step from gathered frames.
    """

    def __init__(self, config: EncoderConfig, hidden: int) -> None:
        super().__init__()
        self.specs = tuple(config.steps)
        weights = []
        in_channels = config.input_size
        for spec in self.specs:
            out_channels = spec.out_channels or hidden
            conv = nn.Conv1d(in_channels, out_channels, spec.kernel, spec.stride, spec.padding, bias=False)
            # PyTorch's Conv1d initialisation, stored as taps (k, D, E).
            weights.append(nn.Parameter(conv.weight.detach().permute(2, 1, 0).contiguous()))
            in_channels = out_channels
        self.weights = nn.ParameterList(weights)
        self.composed_spec: ConvSpec | None = None
        if len(self.specs) == 2:
            first, second = self.specs
            mid = first.out_channels or hidden
            kernel = first.stride * (second.kernel - 1) + first.kernel
            composed_cost = kernel * config.input_size
            stepwise_cost = second.stride * first.kernel * config.input_size + second.kernel * mid
            if composed_cost < stepwise_cost:
                self.composed_spec = ConvSpec(
                    kernel, first.stride * second.stride, first.stride * second.padding + first.padding
                )
        self._cache: tuple[tuple, list] | None = None

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        # Weights saved in the Conv1d layout (E, D, k), as this model stored
        # them before it switched to taps, are transposed on load.
        for index, taps in enumerate(self.weights):
            key = f"{prefix}weights.{index}"
            value = state_dict.get(key)
            if value is None or value.shape == taps.shape or value.dim() != 3:
                continue
            if value.permute(2, 1, 0).shape == taps.shape:
                logger.info("converting %s from the Conv1d layout %s to taps %s", key, tuple(value.shape), tuple(taps.shape))
                state_dict[key] = value.permute(2, 1, 0).contiguous()
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def lengths(self, lengths: torch.Tensor) -> list[torch.Tensor]:
        """Return the (B,) frame counts after each step for (B,) input ``lengths``."""
        result = []
        for spec in self.specs:
            padded = lengths + 2 * spec.padding
            out = torch.div(padded - spec.kernel, spec.stride, rounding_mode="floor") + 1
            lengths = torch.where((lengths > 0) & (padded >= spec.kernel), out, torch.zeros_like(out))
            result.append(lengths)
        return result

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
        """Encode ``x`` (B, L, D) to (B, T, hidden).

        ``lengths`` (B,) are the real input frame counts; the caller zeroes
        the frames past them. Intermediate frames past each sample's real
        count are treated as zeros, as an unpadded sample's next step would
        see them. None treats every frame as real (faithful mode).
        """
        width = x.shape[1]
        if lengths is None:
            lengths = torch.full((x.shape[0],), width, dtype=torch.int64, device=x.device)
        step_lengths = self.lengths(lengths)
        if self.composed_spec is not None:
            return self._forward_composed(x, lengths, step_lengths)
        length = width
        plans = self._matrices()
        for index, (spec, taps) in enumerate(zip(self.specs, self.weights)):
            out_length = max(1, spec.output_length(length))
            x = conv1d_channels_last(x, taps, spec, out_length, plans[index])  # (B, L', E)
            length = out_length
            if index + 1 < len(self.specs):
                keep = torch.arange(length, device=x.device)[None, :] < step_lengths[index][:, None]
                x = x * keep[:, :, None].to(x.dtype)
        return x

    def _matrices(self) -> list:
        """Return the matmul weights: one ``tap_matrices`` list per step, or one for the composed step.

        Without autograd (evaluation) they are cached until a weight changes.
        """
        parameters = list(self.weights)
        if torch.is_grad_enabled() and any(p.requires_grad for p in parameters):
            return self._build_matrices()
        key = tuple((p._version, p.data_ptr(), p.dtype, p.device) for p in parameters)
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, self._build_matrices())
        return self._cache[1]

    def _build_matrices(self) -> list:
        if self.composed_spec is not None:
            taps = compose_taps(self.weights[0], self.weights[1], self.specs[0].stride)
            return [(taps, tap_matrices(taps, self.composed_spec))]
        return [tap_matrices(taps, spec) for taps, spec in zip(self.weights, self.specs)]

    def _forward_composed(
        self, x: torch.Tensor, lengths: torch.Tensor, step_lengths: list[torch.Tensor]
    ) -> torch.Tensor:
        first, second = self.specs
        w1, w2 = self.weights[0], self.weights[1]
        batch, width, channels = x.shape
        out_length = max(1, second.output_length(first.output_length(width)))
        taps, matrices = self._matrices()[0]
        y = conv1d_channels_last(x, taps, self.composed_spec, out_length, matrices)  # (B, T, E)

        # A token whose second-step window reaches a middle frame outside
        # [0, mid count) gets a first-step output there from the composed
        # kernel, where the step-by-step Conv1d pads with zeros.
        mid_count, token_count = step_lengths[0], step_lengths[1]  # (B,)
        t = torch.arange(out_length, device=x.device)[None, :]  # (1, T)
        window_start = second.stride * t - second.padding
        window_stop = window_start + second.kernel - 1
        fix = (t < token_count[:, None]) & ((window_start < 0) | (window_stop >= mid_count[:, None]))  # (B, T)
        rows, tokens = fix.nonzero(as_tuple=True)  # (P,), (P,)
        if rows.numel() == 0:
            return y

        # Recompute those P tokens step by step from their frames.
        mid_index = second.stride * tokens[:, None] - second.padding + torch.arange(second.kernel, device=x.device)
        frame_index = first.stride * mid_index[:, :, None] - first.padding + torch.arange(first.kernel, device=x.device)
        mid_valid = (mid_index >= 0) & (mid_index < mid_count[rows][:, None])  # (P, k2)
        frame_valid = (frame_index >= 0) & (frame_index < lengths[rows][:, None, None]) & (frame_index < width)
        frames = x[rows[:, None, None], frame_index.clamp(0, width - 1)]  # (P, k2, k1, D)
        frames = frames * frame_valid[..., None].to(x.dtype)
        count, k2, k1 = frame_index.shape
        mid = (frames.reshape(count * k2, k1 * channels) @ w1.reshape(k1 * channels, -1)).view(count, k2, -1)
        mid = mid * mid_valid[..., None].to(x.dtype)  # (P, k2, M)
        exact = mid.reshape(count, -1) @ w2.reshape(k2 * mid.shape[-1], -1)  # (P, E)
        return y.index_put((rows, tokens), exact)
