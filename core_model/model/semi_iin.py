"""The Semi-IIN network: local encoders, masked intra/inter branches, fusion and heads.

Dimension letters: B batch, L/N/M audio/text/visual input frames, D hidden
size, H heads, T sequence tokens (val, cls, then audio, text and visual
tokens).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from core_model.data.batch import Batch
from core_model.errors import DataError, MissingModalityError
from core_model.model.config import MODALITIES, SPECIAL_TOKENS, SemiIINConfig
from core_model.model.dropout import dropout
from core_model.model.encoder import ConvEncoder
from core_model.model.fusion import Fusion
from core_model.model.layers import PassSettings, TransformerLayer, encoder_pass, sinusoidal_positions
from core_model.model.masks import build_keep, keep_to_bias

logger = logging.getLogger(__name__)


@dataclass
class SemiIINOutput:
    """Result of one forward pass.

    ``gate_val`` and ``gate_cls`` are the gate vectors g (1 = inter branch,
    0 = intra branch) at the val and cls positions; they are None when the
    fusion is not "gate" and for the global-attention baseline. ``attention``
    holds, on request, the last pass's attention weights per branch
    ({"intra", "inter"}, or {"global"} for the baseline), each (B, H, T, T).
    ``token_spans`` maps each modality to its [start, stop) token range in the
    sequence and ``token_lengths`` to its (B,) real token counts.
    """

    intensity: torch.Tensor  # (B,)
    logits: torch.Tensor  # (B, num_classes)
    gate_val: torch.Tensor | None  # (B, D)
    gate_cls: torch.Tensor | None  # (B, D)
    attention: dict[str, torch.Tensor] | None
    token_spans: dict[str, tuple[int, int]]
    token_lengths: dict[str, torch.Tensor]


class SemiIIN(nn.Module):
    """Semi-IIN over a ``Batch`` of padded audio, text and visual features."""

    def __init__(self, config: SemiIINConfig) -> None:
        super().__init__()
        self.config = config
        hidden = config.hidden
        self.encoders = nn.ModuleDict({m: ConvEncoder(config.encoder(m), hidden) for m in MODALITIES})
        self.type_embedding = nn.Embedding(len(MODALITIES), hidden)
        nn.init.normal_(self.type_embedding.weight, mean=0.0, std=0.05)

        # NOTE: the faithful global baseline allocates the position table but
        # never uses it, as the official model does. That unused table is part
        # of its trainable count of 1,338,056, so training it under
        # DistributedDataParallel needs find_unused_parameters=True.
        self.position_embedding: nn.Parameter | None = None
        if config.learned_positions or config.faithful:
            self.position_embedding = nn.Parameter(torch.empty(config.max_positions, hidden))
            nn.init.trunc_normal_(self.position_embedding, std=0.02)
        self.val_token = nn.Parameter(torch.empty(hidden))
        self.cls_token = nn.Parameter(torch.empty(hidden))
        nn.init.trunc_normal_(self.val_token, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)

        count = 1 if config.tie_layers else config.passes
        if config.attention == "masked":
            self.branches: tuple[str, ...] = ("intra", "inter")
            self.intra_layers = nn.ModuleList(TransformerLayer(hidden, config.ff) for _ in range(count))
            self.inter_layers = nn.ModuleList(TransformerLayer(hidden, config.ff) for _ in range(count))
            self.fusion_val = Fusion(config.fusion, hidden)
            self.fusion_cls = Fusion(config.fusion, hidden)
        else:
            self.branches = ("global",)
            self.global_layers = nn.ModuleList(TransformerLayer(hidden, config.ff) for _ in range(count))

        sizes = (hidden, *config.head_layers)
        # No nonlinearity between the projection layers, as in the official code.
        self.projection = nn.Sequential(*(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])))
        self.intensity_head = nn.Linear(sizes[-1], 1)
        self.class_head = nn.Linear(sizes[-1], config.num_classes)
        self.settings = PassSettings(
            heads=config.heads,
            embedding_dropout=config.embedding_dropout,
            attention_dropout=config.attention_dropout,
            residual_dropout=config.residual_dropout,
            ff_dropout=config.ff_dropout,
        )

    # ------------------------------------------------------------- helpers
    def _branch_layers(self, name: str) -> nn.ModuleList:
        return getattr(self, f"{name}_layers")

    def _check_batch(self, batch: Batch) -> None:
        for modality in MODALITIES:
            features = batch.features(modality)
            expected = self.config.encoder(modality).input_size
            if features.dim() != 3 or features.shape[-1] != expected:
                raise DataError(
                    f"{modality} features have shape {tuple(features.shape)}, expected (batch, frames, {expected}); "
                    "the features do not match this model's configuration"
                )

    def _clip_names(self, batch: Batch, rows: torch.Tensor) -> str:
        indices = [int(i) for i in rows.nonzero().flatten()]
        names = [batch.names[i] if i < len(batch.names) else f"#{i}" for i in indices]
        return ", ".join(repr(n) for n in names)

    def _input_dropout(self, x: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
        """Apply input dropout and zero the frames where ``valid`` (B, L, 1) is False."""
        active = self.training or self.config.input_dropout_in_eval
        return dropout(x, p=self.config.input_dropout, training=active, valid=valid)

    def _encode_faithful(self, batch: Batch) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """Fixed-length path: pad or cut to ``fixed_lengths``, every token counts as real."""
        tokens, lengths = {}, {}
        for modality in MODALITIES:
            x = batch.features(modality)  # (B, L, D)
            width = self.config.fixed_lengths[modality]
            if x.shape[1] >= width:
                x = x[:, :width]
            else:
                x = F.pad(x, (0, 0, 0, width - x.shape[1]))
            x = self._input_dropout(x)
            count = self.config.token_capacity(modality)
            tokens[modality] = self.encoders[modality](x, None)[:, :count]  # (B, T_m, D)
            lengths[modality] = torch.full((x.shape[0],), count, dtype=torch.int64, device=x.device)
        return tokens, lengths

    def _encode_improved(self, batch: Batch) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """Variable-length path: zero frames past each real length, keep real token counts."""
        tokens, lengths = {}, {}
        for modality in MODALITIES:
            x = batch.features(modality)  # (B, L, D)
            frames = batch.lengths(modality).to(device=x.device, dtype=torch.int64).clamp(min=0, max=x.shape[1])
            encoder = self.encoders[modality]
            count = encoder.lengths(frames)[-1]  # (B,) tokens per sample
            width = int(count.max()) if count.numel() else 0
            capacity = self.config.token_capacity(modality)
            if width > capacity:
                too_long = count > capacity
                raise DataError(
                    f"{modality} of clip(s) {self._clip_names(batch, too_long)} gives {width} tokens but the "
                    f"model has position slots for {capacity} ({self.config.fixed_lengths[modality]} frames); "
                    f"cut the input to {self.config.fixed_lengths[modality]} frames"
                )
            lengths[modality] = count
            if width == 0:
                # No sample has this modality. One zero frame keeps the encoder
                # in the autograd graph (DistributedDataParallel expects every
                # parameter to get a gradient) at almost no cost.
                tokens[modality] = encoder(x.new_zeros(x.shape[0], 1, x.shape[2]), None)[:, :0]
                continue

            valid = None
            if bool((frames < x.shape[1]).any()):
                valid = (torch.arange(x.shape[1], device=x.device)[None, :] < frames[:, None])[:, :, None]  # (B, L, 1)
            x = self._input_dropout(x, valid)
            encoded = encoder(x, frames)  # (B, >=width, D)
            tokens[modality] = encoded[:, :width]
        return tokens, lengths

    # ------------------------------------------------------------- forward
    def forward(self, batch: Batch, return_attention: bool = False) -> SemiIINOutput:
        """Score ``batch``; see ``SemiIINOutput`` for the fields."""
        self._check_batch(batch)
        config = self.config
        frames = torch.stack([batch.lengths(m).to(torch.int64).cpu() for m in MODALITIES])  # (3, B)
        absent = (frames <= 0).all(dim=0)
        if bool(absent.any()):
            raise MissingModalityError(
                f"clip(s) {self._clip_names(batch, absent)} have no audio, text or visual frames; "
                "the model needs at least one modality to score a clip"
            )

        if config.faithful:
            tokens, lengths = self._encode_faithful(batch)
        else:
            tokens, lengths = self._encode_improved(batch)
            no_tokens = torch.stack([lengths[m].cpu() for m in MODALITIES]).sum(dim=0) == 0
            if bool(no_tokens.any()):
                raise MissingModalityError(
                    f"clip(s) {self._clip_names(batch, no_tokens)} are too short to give any token after "
                    "the local encoders; the model needs at least one token to score a clip"
                )

        z, positions, spans = self._sequence(tokens)  # (B, T, D), (T,)
        batch_size, length, hidden = z.shape
        device = z.device
        counts = {m: tokens[m].shape[1] for m in MODALITIES}

        # One bias for every pass, branch-major: (K*B, 1, T, T).
        keep = build_keep(self.branches, counts, None if config.faithful else lengths, device)
        keep = keep.expand(len(self.branches), batch_size, 1, length, length)
        bias = keep_to_bias(keep, z.dtype).view(len(self.branches) * batch_size, 1, length, length)
        sinusoid = sinusoidal_positions(positions + 1, hidden)  # (T, D)

        x = z.unsqueeze(0).expand(len(self.branches), -1, -1, -1)  # (K, B, T, D)
        weights = None
        for index in range(config.passes):
            layer_index = 0 if config.tie_layers else index
            layers = [self._branch_layers(name)[layer_index] for name in self.branches]
            last = index == config.passes - 1
            # Only val and cls are read after the last pass, so it computes
            # just those two query rows unless the full map is requested.
            rows = SPECIAL_TOKENS if last and not return_attention else None
            x, weights = encoder_pass(
                x,
                layers,
                bias,
                sinusoid,
                self.settings,
                self.training,
                return_attention=return_attention and last,
                query_rows=rows,
                block_kinds=self.branches if config.attention == "masked" else None,
                blocks=[spans[m] for m in MODALITIES],
            )

        gate_val = gate_cls = None
        if config.attention == "masked":
            intra, inter = x[0], x[1]  # (B, T, D) each
            fused_val, gate_val = self.fusion_val(intra[:, 0], inter[:, 0])
            fused_cls, gate_cls = self.fusion_cls(intra[:, 1], inter[:, 1])
        else:
            fused_val, fused_cls = x[0, :, 0], x[0, :, 1]
        intensity = self.intensity_head(self.projection(fused_val)).squeeze(-1)  # (B,)
        logits = self.class_head(self.projection(fused_cls))  # (B, C)

        attention = None
        if weights is not None:
            attention = {name: weights[i] for i, name in enumerate(self.branches)}
        return SemiIINOutput(
            intensity=intensity,
            logits=logits,
            gate_val=gate_val,
            gate_cls=gate_cls,
            attention=attention,
            token_spans=spans,
            token_lengths=lengths,
        )

    def _sequence(
        self, tokens: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor, dict[str, tuple[int, int]]]:
        """Build Z = [val, cls, audio, text, visual] (B, T, D) and each token's position index (T,)."""
        first = tokens[MODALITIES[0]]
        batch_size, device = first.shape[0], first.device
        hidden = self.config.hidden
        parts = [
            self.val_token.expand(batch_size, 1, hidden),
            self.cls_token.expand(batch_size, 1, hidden),
        ]
        positions = [torch.arange(SPECIAL_TOKENS, device=device)]
        offsets = self.config.position_offsets()
        spans: dict[str, tuple[int, int]] = {}
        start = SPECIAL_TOKENS
        for type_id, modality in enumerate(MODALITIES):
            part = tokens[modality] + self.type_embedding.weight[type_id]  # (B, T_m, D)
            parts.append(part)
            width = part.shape[1]
            spans[modality] = (start, start + width)
            # Faithful inputs always fill their slot, so both modes index the
            # same rows; shorter improved inputs use the start of their slot.
            positions.append(offsets[modality] + torch.arange(width, device=device))
            start += width
        z = torch.cat(parts, dim=1)  # (B, T, D)
        index = torch.cat(positions)  # (T,)
        if self.config.learned_positions and self.position_embedding is not None:
            z = z + self.position_embedding[index]
        return z, index, spans


def count_parameters(model: nn.Module) -> int:
    """Return the number of trainable parameters (shared tensors counted once)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


