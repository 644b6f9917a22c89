"""The training loop: Adam, validation every epoch, best-epoch selection.

One :class:`Trainer` serves plain training, both stages of self-training and
distributed runs under torchrun (DistributedDataParallel with a
DistributedSampler). A single process uses the same sampler with one replica,
so one process and W processes see the same global batches.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torch.utils.data.distributed import DistributedSampler

from core_model.data.batch import MODALITIES, Batch, ClipFeatures, collate
from core_model.errors import ConfigError, DataError, TrainingCancelled
from core_model.training.checkpoint import save_checkpoint, unwrap
from core_model.training.config import TrainConfig
from core_model.training.distributed import current_context
from core_model.training.events import CancelToken, ProgressCallback, TrainingEvent
from core_model.training.losses import LOSS_NAMES, semi_iin_loss
from core_model.training.metrics import is_better, regression_metrics

log = logging.getLogger(__name__)


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed Python, numpy and torch; in deterministic mode also force deterministic kernels."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False


def resolve_device(setting: str, local_rank: int = 0) -> torch.device:
    """Turn "auto", "cpu", "cuda" or "cuda:N" into a device; under torchrun CUDA uses GPU local_rank."""
    if setting == "auto":
        setting = "cuda" if torch.cuda.is_available() else "cpu"
    if setting.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"device {setting!r} requested but CUDA is not available; use --device cpu")
        if setting == "cuda":
            return torch.device("cuda", local_rank)
    return torch.device(setting)


def fixed_lengths_of(model: nn.Module) -> Mapping[str, int] | None:
    """Return the input lengths every batch must be padded to, or None for per-batch padding.

    Only the faithful configuration needs fixed lengths; in the improved
    configuration ``fixed_lengths`` is a capacity, not a padding target.
    """
    config = getattr(unwrap(model), "config", None)
    if not getattr(config, "faithful", False):
        return None
    return dict(config.fixed_lengths)


class _ClipList(Dataset):
    """Clips with an optional pseudo class each (None = labeled clip)."""

    def __init__(self, items: Sequence[tuple[ClipFeatures, int | None]]):
        self.items = list(items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[ClipFeatures, int | None]:
        return self.items[index]


def _collate_items(items, dims, fixed_lengths) -> Batch:
    samples = [clip for clip, _ in items]
    classes = [cls for _, cls in items]
    return collate(samples, dims, fixed_lengths=fixed_lengths,
                   pseudo_classes=classes if any(c is not None for c in classes) else None)


@dataclass
class Predictions:
    """Model outputs for a list of clips, in input order.

    ``intensity`` is (B,), ``probabilities`` (B, 7) softmax of the class head,
    ``labels`` (B,) with NaN for unlabeled clips.
    """

    names: list[str]
    intensity: np.ndarray
    probabilities: np.ndarray
    labels: np.ndarray
    # Gate balance per clip: the mean of the val and cls gate vectors over
    # their channels (1 = inter-modal branch); None without gate fusion.
    gate_val: np.ndarray | None = None
    gate_cls: np.ndarray | None = None

    @property
    def classes(self) -> np.ndarray:
        return self.probabilities.argmax(axis=1)


def _autocast(device: torch.device, enabled: bool):
    if enabled and device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.no_grad()
def predict(
    model: nn.Module,
    samples: Sequence[ClipFeatures],
    dims: Mapping[str, int],
    batch_size: int = 64,
    device: torch.device | str | None = None,
    bf16: bool = True,
    cancel: CancelToken | None = None,
) -> Predictions:
    """Run ``model`` in eval mode without gradients over ``samples``; restores the previous mode."""
    if not samples:
        raise DataError("no clips to predict")
    model = unwrap(model)
    device = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    fixed = fixed_lengths_of(model)
    intensities, probabilities, gates_val, gates_cls = [], [], [], []
    try:
        for start in range(0, len(samples), batch_size):
            if cancel is not None and cancel.is_set():
                raise TrainingCancelled("prediction cancelled")
            batch = collate(samples[start:start + batch_size], dims, fixed_lengths=fixed).to(device)
            with _autocast(device, bf16):
                output = model(batch)
            intensities.append(output.intensity.float().cpu())
            probabilities.append(torch.softmax(output.logits.float(), dim=-1).cpu())
            if output.gate_val is not None and output.gate_cls is not None:
                gates_val.append(output.gate_val.float().mean(dim=-1).cpu())
                gates_cls.append(output.gate_cls.float().mean(dim=-1).cpu())
    finally:
        model.train(was_training)
    labels = np.array([np.nan if s.label is None else float(s.label) for s in samples], dtype=np.float64)
    return Predictions(
        names=[s.name for s in samples],
        intensity=torch.cat(intensities).numpy().astype(np.float64),
        probabilities=torch.cat(probabilities).numpy().astype(np.float64),
        labels=labels,
        gate_val=torch.cat(gates_val).numpy().astype(np.float64) if gates_val else None,
        gate_cls=torch.cat(gates_cls).numpy().astype(np.float64) if gates_cls else None,
    )


def evaluate(model: nn.Module, samples: Sequence[ClipFeatures], dims: Mapping[str, int], **kwargs: Any) -> dict[str, float]:
    """Predict the labeled clips of ``samples`` and return :func:`regression_metrics`."""
    labeled = [s for s in samples if s.label is not None]
    if not labeled:
        raise DataError("no labeled clips to evaluate")
    result = predict(model, labeled, dims, **kwargs)
    return regression_metrics(result.intensity, result.labels, class_predictions=result.classes)


@dataclass
class TrainResult:
    """Outcome of :meth:`Trainer.fit`. Afterwards the model contains the best epoch's weights."""

    best_epoch: int
    best_metrics: dict[str, float]
    history: list[dict[str, Any]] = field(default_factory=list)
    steps: int = 0


class Trainer:
    """Train a Semi-IIN model with the named loss and keep the best validation epoch.

    ``progress`` receives :class:`TrainingEvent` objects; ``cancel`` is checked
    before every step and raises TrainingCancelled (after restoring the best
    weights so far into the model). With ``checkpoint_dir`` the best epoch is
    saved there whenever it improves, with ``checkpoint_info`` (preset, dims,
    data hashes, ...) merged in. A cancelled run leaves that checkpoint as it
    was after its last improvement.
    """

    def __init__(
        self,
        model: nn.Module,
        config: TrainConfig,
        dims: Mapping[str, int],
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        checkpoint_dir: str | os.PathLike | None = None,
        checkpoint_info: Mapping[str, Any] | None = None,
        phase: str = "train",
    ):
        self.config = config
        self.dims = {m: int(dims[m]) for m in MODALITIES}
        self.progress = progress
        self.cancel = cancel
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
        self.checkpoint_info = dict(checkpoint_info or {})
        self.phase = phase
        self.context = current_context()
        if config.num_threads is not None:
            torch.set_num_threads(config.num_threads)
        self.device = resolve_device(config.device, self.context.local_rank)
        self.model = unwrap(model).to(self.device)
        if self.context.enabled:
            device_ids = [self.device.index] if self.device.type == "cuda" else None
            self.wrapped: nn.Module = nn.parallel.DistributedDataParallel(self.model, device_ids=device_ids)
        else:
            self.wrapped = self.model

    def _emit(self, event: TrainingEvent) -> None:
        if self.progress is not None:
            self.progress(event)

    def _check_cancel(self, best_state: dict | None) -> None:
        if self.cancel is not None and self.cancel.is_set():
            if best_state is not None:
                self.model.load_state_dict(best_state)
            log.info("%s: training cancelled", self.phase)
            raise TrainingCancelled(f"{self.phase} cancelled; the last saved checkpoint is unchanged")

    def _loader(self, items: list[tuple[ClipFeatures, int | None]]) -> tuple[DataLoader, DistributedSampler]:
        world = self.context.world_size
        if self.config.batch_size % world:
            raise ConfigError(f"batch_size {self.config.batch_size} is not divisible by the {world} processes")
        sampler = DistributedSampler(_ClipList(items), num_replicas=world, rank=self.context.rank,
                                     shuffle=True, seed=self.config.seed, drop_last=False)
        loader = DataLoader(_ClipList(items), batch_size=self.config.batch_size // world, sampler=sampler,
                            collate_fn=partial(_collate_items, dims=self.dims,
                                               fixed_lengths=fixed_lengths_of(self.model)))
        return loader, sampler

    def fit(
        self,
        train: Sequence[ClipFeatures],
        valid: Sequence[ClipFeatures],
        pseudo: Sequence[tuple[ClipFeatures, int]] = (),
    ) -> TrainResult:
        """Train on labeled ``train`` clips plus ``pseudo`` (clip, class) pairs; select on ``valid``."""
        config = self.config
        labeled = [s for s in train if s.label is not None]
        if len(labeled) < len(train):
            log.warning("%s: ignoring %d training clips without a label", self.phase, len(train) - len(labeled))
        items = [(s, None) for s in labeled] + [(clip, int(cls)) for clip, cls in pseudo]
        if not items:
            raise DataError("no labeled or pseudo-labeled clips to train on")
        if not any(s.label is not None for s in valid):
            raise DataError("the validation split has no labeled clips; the best epoch cannot be chosen")

        loader, sampler = self._loader(items)
        optimizer = torch.optim.Adam(self.wrapped.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        total_steps = config.epochs * len(loader)
        log.info("%s: %d labeled + %d pseudo-labeled clips, %d epochs of %d steps on %s (process %d of %d)",
                 self.phase, len(labeled), len(pseudo), config.epochs, len(loader), self.device,
                 self.context.rank + 1, self.context.world_size)
        step = 0
        best_epoch, best_metrics, best_state = 0, {}, None
        history: list[dict[str, Any]] = []
        for epoch in range(1, config.epochs + 1):
            sampler.set_epoch(epoch)
            self.wrapped.train()
            sums = {name: 0.0 for name in LOSS_NAMES}
            for batch in loader:
                self._check_cancel(best_state)
                losses = self._step(batch.to(self.device), optimizer)
                step += 1
                for name in LOSS_NAMES:
                    sums[name] += losses[name]
                self._emit(TrainingEvent("step", self.phase, epoch, config.epochs, step, total_steps, losses))
            means = {name: value / len(loader) for name, value in sums.items()}
            self._check_cancel(best_state)
            try:
                metrics = evaluate(self.model, valid, self.dims, batch_size=config.eval_batch_size,
                                   device=self.device, bf16=config.bf16, cancel=self.cancel)
            except TrainingCancelled:
                self._check_cancel(best_state)
                raise
            score = metrics[config.select_metric]
            if is_better(config.select_metric, score, best_metrics.get(config.select_metric)):
                best_epoch, best_metrics = epoch, metrics
                best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
                self._save_best(best_epoch, best_metrics, history + [self._record(epoch, means, metrics)])
            history.append(self._record(epoch, means, metrics))
            log.info("%s epoch %d/%d: loss %.4f, valid %s %.4f (best epoch %d)", self.phase, epoch, config.epochs,
                     means["total"], config.select_metric, score, best_epoch)
            self._emit(TrainingEvent("epoch", self.phase, epoch, config.epochs, step, total_steps, means, metrics,
                                     best_epoch=best_epoch))
        if best_state is None:
            raise DataError(f"validation {config.select_metric} was NaN in every epoch, so no epoch could be chosen")
        self.model.load_state_dict(best_state)
        return TrainResult(best_epoch=best_epoch, best_metrics=best_metrics, history=history, steps=step)

    @staticmethod
    def _record(epoch: int, losses: Mapping[str, float], metrics: Mapping[str, float]) -> dict[str, Any]:
        return {"epoch": epoch, "losses": dict(losses), "metrics": dict(metrics)}

    def _step(self, batch: Batch, optimizer: torch.optim.Optimizer) -> dict[str, float]:
        with _autocast(self.device, self.config.bf16):
            output = self.wrapped(batch)
        losses = semi_iin_loss(output.intensity, output.logits, batch, self.config.loss)
        if not torch.isfinite(losses["total"]):
            raise DataError(f"{self.phase}: the loss became {losses['total'].item()} on clips {batch.names[:5]}; "
                            "lower the learning rate or check the features")
        optimizer.zero_grad(set_to_none=True)
        losses["total"].backward()
        if self.config.max_grad_norm is not None:
            nn.utils.clip_grad_norm_(self.wrapped.parameters(), self.config.max_grad_norm)
        optimizer.step()
        return {name: float(value.detach()) for name, value in losses.items()}

    def _save_best(self, epoch: int, metrics: Mapping[str, float], history: list[dict[str, Any]]) -> None:
        if self.checkpoint_dir is None or not self.context.is_main:
            return
        info = {"preset": "unknown", "dims": self.dims, "seed": self.config.seed,
                "train_config": self.config.to_dict()}
        info.update(self.checkpoint_info)
        metrics_info = dict(info.get("metrics", {}))
        metrics_info["valid"] = dict(metrics)
        info.update(metrics=metrics_info, best_epoch=epoch, history=history)
        save_checkpoint(self.checkpoint_dir, self.model, info)
