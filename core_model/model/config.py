"""Frozen configuration of the Semi-IIN network and its named presets.

``SemiIINConfig.paper()`` is the configuration of the Semi-IIN paper (Lin,
Wang, Xu and Liu, AAAI 2025) as its authors' model file builds it
(github.com/flow-ljh/Semi-IIN, ``code/model.py``). Its inputs are
HuBERT-large audio (1024-d, 800 frames), RoBERTa-large words (1024-d, 100
words) and FabNet faces (256-d, 50 frames). It has hidden size 128, 4 heads,
feed-forward 512 and one weight-tied layer per branch applied twice.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Any, Mapping

from core_model.errors import ConfigError

logger = logging.getLogger(__name__)

MODALITIES: tuple[str, ...] = ("audio", "text", "visual")
FUSIONS: tuple[str, ...] = ("gate", "add", "concat", "dot")
ATTENTIONS: tuple[str, ...] = ("masked", "global")
# Number of leading special tokens (val, cls) before the modality tokens.
SPECIAL_TOKENS = 2


@dataclass(frozen=True)
class ConvSpec:
    """One Conv1d step of a local encoder (no bias, no activation).

    ``out_channels`` None means the model's hidden size.
    """

    kernel: int
    stride: int = 1
    padding: int = 0
    out_channels: int | None = None

    def __post_init__(self) -> None:
        if self.kernel < 1 or self.stride < 1 or self.padding < 0:
            raise ConfigError(
                f"invalid Conv1d step kernel={self.kernel} stride={self.stride} padding={self.padding}: "
                "kernel and stride must be >= 1 and padding >= 0"
            )
        if self.out_channels is not None and self.out_channels < 1:
            raise ConfigError(f"invalid Conv1d out_channels={self.out_channels}: must be >= 1")

    def output_length(self, length: int) -> int:
        """Return the number of output frames for ``length`` input frames (0 stays 0)."""
        padded = length + 2 * self.padding
        if length <= 0 or padded < self.kernel:
            return 0
        return (padded - self.kernel) // self.stride + 1


@dataclass(frozen=True)
class EncoderConfig:
    """Local encoder of one modality: its feature size and Conv1d steps."""

    input_size: int
    steps: tuple[ConvSpec, ...]

    def __post_init__(self) -> None:
        if self.input_size < 1:
            raise ConfigError(f"invalid encoder input_size={self.input_size}: must be >= 1")
        if not self.steps:
            raise ConfigError("an encoder needs at least one Conv1d step")
        if not all(isinstance(step, ConvSpec) for step in self.steps):
            raise ConfigError("encoder steps must be ConvSpec values")

    def output_length(self, length: int) -> int:
        """Return the token count after all steps for ``length`` input frames."""
        for step in self.steps:
            length = step.output_length(length)
        return length


def _paper_encoders(dims: Mapping[str, int]) -> dict[str, EncoderConfig]:
    # Audio frames (50 Hz) are reduced 8-fold by two steps, words and face
    # frames keep their count.
    return {
        "audio": EncoderConfig(int(dims["audio"]), (ConvSpec(4, 2, 1), ConvSpec(4, 4, 1))),
        "text": EncoderConfig(int(dims["text"]), (ConvSpec(3, 1, 1),)),
        "visual": EncoderConfig(int(dims["visual"]), (ConvSpec(3, 1, 1),)),
    }


PAPER_DIMS: dict[str, int] = {"audio": 1024, "text": 1024, "visual": 256}
PAPER_LENGTHS: dict[str, int] = {"audio": 800, "text": 100, "visual": 50}


@dataclass(frozen=True)
class SemiIINConfig:
    """Everything that fixes the Semi-IIN network's shape and behaviour.

    ``faithful`` True reproduces the official code where it changes numbers:
    inputs padded or cut to ``fixed_lengths``, no key-padding mask, a missing
    modality fed as zeros. False (the improved default) builds masks and
    positions from each batch's real lengths. In both modes each pass scales
    its input by sqrt(hidden), adds sinusoidal positions, applies embedding
    dropout and ends with a LayerNorm, as the official MulT-style encoder does.

    ``fixed_lengths`` gives input frames per modality. In faithful mode they
    are the exact input lengths. In the improved mode they set the capacity of
    each modality's slot in the learned position table, so longer inputs are
    rejected.
    """

    audio: EncoderConfig
    text: EncoderConfig
    visual: EncoderConfig
    hidden: int = 128
    heads: int = 4
    ff: int = 512
    passes: int = 2
    tie_layers: bool = True
    input_dropout: float = 0.5
    attention_dropout: float = 0.1
    residual_dropout: float = 0.2
    ff_dropout: float = 0.2
    embedding_dropout: float = 0.2
    fusion: str = "gate"
    attention: str = "masked"
    faithful: bool = False
    fixed_lengths: dict[str, int] = field(default_factory=lambda: dict(PAPER_LENGTHS))
    learned_positions: bool = True
    # True keeps input dropout on in eval mode, as the official forward's
    # ``training=True`` default argument does unless a caller overrides it.
    input_dropout_in_eval: bool = False
    head_layers: tuple[int, ...] = (128, 64)
    num_classes: int = 7

    def __post_init__(self) -> None:
        for modality in MODALITIES:
            if not isinstance(getattr(self, modality), EncoderConfig):
                raise ConfigError(f"{modality} must be an EncoderConfig, got {type(getattr(self, modality)).__name__}")

        if self.hidden < 1 or self.heads < 1 or self.hidden % self.heads:
            raise ConfigError(f"hidden={self.hidden} must be a positive multiple of heads={self.heads}")
        if self.hidden % 2:
            raise ConfigError(f"hidden={self.hidden} must be even for the sinusoidal positions")
        if self.ff < 1 or self.passes < 1:
            raise ConfigError(f"ff={self.ff} and passes={self.passes} must be >= 1")
        for name in ("input_dropout", "attention_dropout", "residual_dropout", "ff_dropout", "embedding_dropout"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ConfigError(f"{name}={value} must lie in [0, 1)")

        if self.fusion not in FUSIONS:
            raise ConfigError(f"unknown fusion {self.fusion!r}; expected one of {', '.join(FUSIONS)}")
        if self.attention not in ATTENTIONS:
            raise ConfigError(f"unknown attention {self.attention!r}; expected one of {', '.join(ATTENTIONS)}")

        if set(self.fixed_lengths) != set(MODALITIES):
            raise ConfigError(
                f"fixed_lengths must name exactly {', '.join(MODALITIES)}; got {', '.join(sorted(self.fixed_lengths))}"
            )
        object.__setattr__(self, "fixed_lengths", {m: int(self.fixed_lengths[m]) for m in MODALITIES})
        object.__setattr__(self, "head_layers", tuple(int(n) for n in self.head_layers))

        for modality in MODALITIES:
            encoder = self.encoder(modality)
            last = encoder.steps[-1].out_channels
            if last is not None and last != self.hidden:
                raise ConfigError(f"the last {modality} Conv1d step must output hidden={self.hidden} channels, not {last}")
            if self.token_capacity(modality) < 1:
                raise ConfigError(
                    f"fixed_lengths[{modality!r}]={self.fixed_lengths[modality]} frames give no token "
                    f"after the {modality} encoder; raise it"
                )

        if not self.head_layers or self.num_classes < 2:
            raise ConfigError("head_layers needs at least one size and num_classes must be >= 2")

    # ----------------------------------------------------------------- derived
    def encoder(self, modality: str) -> EncoderConfig:
        """Return the local encoder config of ``modality``."""
        if modality not in MODALITIES:
            raise ConfigError(f"unknown modality {modality!r}; expected one of {', '.join(MODALITIES)}")
        return getattr(self, modality)

    @property
    def dims(self) -> dict[str, int]:
        """Input feature size per modality."""
        return {m: self.encoder(m).input_size for m in MODALITIES}

    def token_capacity(self, modality: str) -> int:
        """Return the token count of a ``fixed_lengths`` input of ``modality``."""
        return self.encoder(modality).output_length(self.fixed_lengths[modality])

    def position_offsets(self) -> dict[str, int]:
        """Return the first position-table row of each modality's token slot."""
        offsets, start = {}, SPECIAL_TOKENS
        for modality in MODALITIES:
            offsets[modality] = start
            start += self.token_capacity(modality)
        return offsets

    @property
    def max_positions(self) -> int:
        """Row count of the learned position table (252 at the paper's lengths)."""
        return SPECIAL_TOKENS + sum(self.token_capacity(m) for m in MODALITIES)

    # ------------------------------------------------------------- presets
    @classmethod
    def paper(cls, faithful: bool = True, **overrides: Any) -> "SemiIINConfig":
        """Return the paper's configuration (1024/1024/256 inputs, 800/100/50 frames)."""
        config = cls(**_paper_encoders(PAPER_DIMS), faithful=faithful, fixed_lengths=dict(PAPER_LENGTHS))
        return config.replace(**overrides)

    @classmethod
    def for_dims(cls, dims: Mapping[str, int], **overrides: Any) -> "SemiIINConfig":
        """Return the improved default for the given input feature sizes.

        The encoders keep the paper's kernels and strides, so the audio
        features are expected at about 50 frames per second.
        """
        missing = [m for m in MODALITIES if m not in dims]
        if missing:
            raise ConfigError(f"dims lacks {', '.join(missing)}; expected sizes for {', '.join(MODALITIES)}")
        config = cls(**_paper_encoders(dims), faithful=False, fixed_lengths=dict(PAPER_LENGTHS))
        return config.replace(**overrides)

    def global_baseline(self) -> "SemiIINConfig":
        """Return the global-attention baseline: one shared unmasked layer, no gates, no learned positions."""
        return self.replace(attention="global", learned_positions=False, tie_layers=True)

    def replace(self, **overrides: Any) -> "SemiIINConfig":
        """Return a copy with ``overrides`` applied; unknown names raise ConfigError."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise ConfigError(f"unknown SemiIINConfig key(s) {', '.join(map(repr, unknown))}")
        return dataclasses.replace(self, **overrides)

    # ---------------------------------------------------------- dictionaries
    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict that ``from_dict`` turns back into this config."""
        result: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, EncoderConfig):
                value = {"input_size": value.input_size, "steps": [dataclasses.asdict(s) for s in value.steps]}
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, dict):
                value = dict(value)
            result[f.name] = value
        return result

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SemiIINConfig":
        """Build a config from ``to_dict`` output; unknown keys raise ConfigError."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"unknown SemiIINConfig key(s) {', '.join(map(repr, unknown))}")
        kwargs = dict(data)
        for modality in MODALITIES:
            if modality not in kwargs:
                raise ConfigError(f"SemiIINConfig dict lacks the {modality!r} encoder")
            kwargs[modality] = _encoder_from_dict(modality, kwargs[modality])
        if "head_layers" in kwargs:
            kwargs["head_layers"] = tuple(kwargs["head_layers"])
        return cls(**kwargs)


def _encoder_from_dict(modality: str, data: Any) -> EncoderConfig:
    if isinstance(data, EncoderConfig):
        return data
    if not isinstance(data, Mapping):
        raise ConfigError(f"{modality} encoder must be a dict, got {type(data).__name__}")
    unknown = sorted(set(data) - {"input_size", "steps"})
    if unknown:
        raise ConfigError(f"unknown {modality} encoder key(s) {', '.join(map(repr, unknown))}")
    step_names = {f.name for f in dataclasses.fields(ConvSpec)}
    steps = []
    for step in data.get("steps", ()):
        bad = sorted(set(step) - step_names)
        if bad:
            raise ConfigError(f"unknown {modality} Conv1d step key(s) {', '.join(map(repr, bad))}")
        steps.append(ConvSpec(**step))
    if "input_size" not in data:
        raise ConfigError(f"{modality} encoder dict lacks 'input_size'")
    return EncoderConfig(int(data["input_size"]), tuple(steps))
