"""Progress events of a training run and the cancellation token it checks."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable, Protocol


class CancelToken(Protocol):
    """Anything with ``is_set()``, such as ``threading.Event``."""

    def is_set(self) -> bool: ...


@dataclass(frozen=True)
class TrainingEvent:
    """One progress report.

    ``kind`` is "step" after each optimiser step, with that step's named
    ``losses``. It is "epoch" after each validation, with the epoch's mean
    ``losses`` and the validation ``metrics``. ``step`` counts optimiser
    steps from 1 across the whole run, out of ``total_steps``. ``phase`` names
    the stage: "train", or "supervised" and "retrain" in self-training.
    """

    kind: str
    phase: str
    epoch: int
    epochs: int
    step: int
    total_steps: int
    losses: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    best_epoch: int | None = None


ProgressCallback = Callable[[TrainingEvent], None]


def new_cancel_token() -> threading.Event:
    """Return a fresh token; call ``set()`` on it to stop training at the next step."""
    return threading.Event()
