"""The frozen run configuration of the trainer."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Mapping

from core_model.errors import ConfigError
from core_model.training.losses import LossWeights
from core_model.training.metrics import METRIC_ORDER

DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class TrainConfig:
    """Optimiser, schedule and run settings (defaults from the Semi-IIN paper).

    ``batch_size`` is the global batch: under torchrun each of W processes
    takes ``batch_size / W`` clips per step. ``select_metric`` picks the best
    epoch on the validation split. ``bf16`` turns on bfloat16 autocast, used
    on CUDA only. ``num_threads`` sets torch's CPU threads (None leaves it).
    """

    lr: float = 1e-4
    weight_decay: float = 1e-4
    batch_size: int = 32
    eval_batch_size: int = 64
    epochs: int = 30
    select_metric: str = "mae"
    seed: int = 0
    deterministic: bool = False
    device: str = "auto"
    bf16: bool = True
    num_threads: int | None = None
    max_grad_norm: float | None = None
    loss: LossWeights = field(default_factory=LossWeights)

    def __post_init__(self) -> None:
        if not isinstance(self.loss, LossWeights):
            raise ConfigError(f"loss must be LossWeights, got {type(self.loss).__name__}")
        if self.lr <= 0:
            raise ConfigError(f"lr must be > 0, got {self.lr}")
        if self.weight_decay < 0:
            raise ConfigError(f"weight_decay must be >= 0, got {self.weight_decay}")
        for name in ("batch_size", "eval_batch_size", "epochs"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")
        if self.select_metric not in METRIC_ORDER:
            raise ConfigError(f"select_metric {self.select_metric!r} is unknown; use one of {', '.join(METRIC_ORDER)}")
        if self.device not in DEVICES and not self.device.startswith("cuda:"):
            raise ConfigError(f"device {self.device!r} is unknown; use auto, cpu, cuda or cuda:N")
        if self.num_threads is not None and self.num_threads < 1:
            raise ConfigError(f"num_threads must be >= 1 or None, got {self.num_threads}")
        if self.max_grad_norm is not None and self.max_grad_norm <= 0:
            raise ConfigError(f"max_grad_norm must be > 0 or None, got {self.max_grad_norm}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TrainConfig":
        """Build a config from a dict such as :meth:`to_dict` returns; unknown keys raise ConfigError."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"unknown train config keys {sorted(unknown)}; known keys are {sorted(known)}")
        values = dict(data)
        if isinstance(values.get("loss"), Mapping):
            values["loss"] = LossWeights.from_dict(values["loss"])
        return cls(**values)
