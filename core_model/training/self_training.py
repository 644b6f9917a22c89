"""Self-training (Semi-IIN's Algorithm 1): pseudo-label the top-k clips per class and retrain.

1. Train phi on the labeled set L (skipped when phi is already trained).
2. Predict the unlabeled set U with phi in eval mode without gradients.
   Each clip goes to its argmax class. Within each of the 7 classes the k
   clips with the highest probability of that class are kept, and ties are
   broken by clip name, then input order. This is U'.
3. Initialise phi' as a copy of phi and train it on L and U' with the
   retraining loss (pseudo-labeled clips add cross-entropy only).
4. Return phi' with the pseudo-label records.
"""

from __future__ import annotations

import copy
import logging
import os
from dataclasses import asdict, dataclass
from typing import Any, Mapping, Sequence

import numpy as np
from torch import nn

from core_model.data.batch import ClipFeatures
from core_model.errors import ConfigError, DataError
from core_model.training.checkpoint import unwrap
from core_model.training.config import TrainConfig
from core_model.training.events import CancelToken, ProgressCallback
from core_model.training.labels import NUM_CLASSES
from core_model.training.trainer import TrainResult, Trainer, predict

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PseudoLabel:
    """One selected clip: its name, pseudo class (0..6), that class's probability and phi's intensity."""

    name: str
    class_index: int
    probability: float
    intensity: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_k(value: int | str) -> int | None:
    """Turn a k setting into an int >= 1, or None for "all"."""
    if isinstance(value, str):
        if value.strip().lower() == "all":
            return None
        try:
            value = int(value)
        except ValueError:
            raise ConfigError(f"k must be a positive integer or 'all', got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"k must be a positive integer or 'all', got {value!r}")
    return value


def select_top_k(
    names: Sequence[str],
    probabilities: np.ndarray,
    k: int | str,
    intensities: np.ndarray | None = None,
) -> list[PseudoLabel]:
    """Keep, for each class, the k clips assigned to it with the highest probability.

    ``probabilities`` is (U, 7). A class with fewer than k clips keeps all of
    them. Returns the records ordered by class, then by rank within the class.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2 or probabilities.shape[0] != len(names):
        raise DataError(f"probabilities have shape {probabilities.shape}, expected ({len(names)}, classes)")
    limit = parse_k(k)
    assigned = probabilities.argmax(axis=1)
    selected: list[PseudoLabel] = []
    for class_index in range(probabilities.shape[1]):
        members = [i for i in range(len(names)) if assigned[i] == class_index]
        members.sort(key=lambda i: (-probabilities[i, class_index], names[i], i))
        kept = members if limit is None else members[:limit]
        for i in kept:
            intensity = float(intensities[i]) if intensities is not None else float("nan")
            selected.append(PseudoLabel(names[i], class_index, float(probabilities[i, class_index]), intensity))
        if limit is not None and len(members) < limit:
            log.info("class %d has only %d candidate clips (k=%d); keeping all of them",
                     class_index, len(members), limit)
    return selected


@dataclass
class SelfTrainingResult:
    """phi' (``model``), the teacher phi, the records of U' and both stages' results."""

    model: nn.Module
    teacher: nn.Module
    pseudo_labels: list[PseudoLabel]
    supervised: TrainResult | None
    retrained: TrainResult


def self_train(
    model: nn.Module,
    train: Sequence[ClipFeatures],
    valid: Sequence[ClipFeatures],
    unlabeled: Sequence[ClipFeatures],
    dims: Mapping[str, int],
    k: int | str = 40,
    config: TrainConfig = TrainConfig(),
    retrain_config: TrainConfig | None = None,
    train_teacher: bool = True,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    checkpoint_dir: str | os.PathLike | None = None,
    checkpoint_info: Mapping[str, Any] | None = None,
) -> SelfTrainingResult:
    """Run Algorithm 1 and return phi' with the pseudo-label set.

    ``model`` is phi; with ``train_teacher`` False it is used as already
    trained. Labels of ``unlabeled`` clips are ignored. ``retrain_config``
    defaults to ``config``. With ``checkpoint_dir``, phi' is saved there at
    each improving epoch of the retraining stage, with the pseudo-label set.
    """
    if not unlabeled:
        raise DataError("self-training needs unlabeled clips, and none were given")
    supervised = None
    if train_teacher:
        supervised = Trainer(model, config, dims, progress=progress, cancel=cancel, phase="supervised").fit(train, valid)
    teacher = unwrap(model)

    predictions = predict(teacher, list(unlabeled), dims, batch_size=config.eval_batch_size, bf16=config.bf16,
                          cancel=cancel)
    records = select_top_k(predictions.names, predictions.probabilities, k, predictions.intensity)
    counts = np.bincount([r.class_index for r in records], minlength=NUM_CLASSES)
    log.info("selected %d of %d unlabeled clips as pseudo-labels (per class %s)",
             len(records), len(unlabeled), counts.tolist())
    by_name = {clip.name: clip for clip in unlabeled}
    pseudo = [(by_name[r.name], r.class_index) for r in records]

    student = copy.deepcopy(teacher)
    info = dict(checkpoint_info or {})
    info["pseudo_labels"] = [r.to_dict() for r in records]
    retrained = Trainer(student, retrain_config or config, dims, progress=progress, cancel=cancel,
                        checkpoint_dir=checkpoint_dir, checkpoint_info=info, phase="retrain").fit(train, valid, pseudo)
    return SelfTrainingResult(model=student, teacher=teacher, pseudo_labels=records,
                              supervised=supervised, retrained=retrained)
