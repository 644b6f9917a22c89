"""Retrain a project's model with Semi-IIN self-training on its annotations.

Labeled clips are the accepted and corrected ones (plus an optional base
corpus), split by video into train and valid; unlabeled clips (no human
decision) feed the pseudo-label stage. The new model starts from the active
version unless ``from_scratch`` is set, is written atomically as a new model
version, and is compared with its parent on the held-out annotated clips.
"""

from __future__ import annotations

import copy
import datetime as _dt
import logging
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Callable, Mapping

from app.project import Project
from app.services.prediction import load_clip_features
from core_model.errors import ConfigError, DataError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetrainOptions:
    """Settings of one retraining run (defaults follow the Semi-IIN paper where it gives them)."""

    k: int | str = 40  # pseudo-labels kept per class, or "all"
    epochs: int = 30
    lr: float = 1e-4
    batch_size: int = 32
    mse_weight: float = 0.6
    ce_weight: float = 0.4
    pseudo_weight: float = 0.2
    valid_fraction: float = 0.2
    seed: int = 0
    from_scratch: bool = False
    base: str | None = None  # feature cache folder of a base corpus with index.csv
    device: str = "auto"

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "RetrainOptions":
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ConfigError(f"unknown retrain options {sorted(unknown)}; known: {sorted(known)}")
        return cls(**values)

    def train_config(self):
        from core_model.training.config import TrainConfig
        from core_model.training.losses import LossWeights

        return TrainConfig(lr=self.lr, batch_size=self.batch_size, epochs=self.epochs, seed=self.seed,
                           device=self.device,
                           loss=LossWeights(mse=self.mse_weight, ce=self.ce_weight, pseudo_ce=self.pseudo_weight))


@dataclass
class _Sets:
    train: list
    valid: list
    unlabeled: list
    without_features: int
    valid_is_train: bool


def _collect(project, options: RetrainOptions, preset: str, dims) -> _Sets:
    from core_model.data.cache import FeatureCache

    sets = project.training_sets(base=options.base, valid_fraction=options.valid_fraction, seed=options.seed)
    cache_root = project.features_dir / preset
    cache = FeatureCache(cache_root, preset, dims) if cache_root.is_dir() else None
    base = FeatureCache(options.base) if options.base else None
    missing = 0

    def labeled(items) -> list:
        nonlocal missing
        out = []
        for item in items:
            source = cache if item.clip_id is not None else base
            if source is None or not item.feature_key or not source.has(item.feature_key):
                missing += 1
                continue
            name = str(item.clip_id) if item.clip_id is not None else f"base:{item.feature_key}"
            sample = source.get(item.feature_key, name=name)
            if not sample.present():
                missing += 1
                continue
            sample.label = float(item.intensity)
            out.append(sample)
        return out

    train, valid = labeled(sets.labeled_train), labeled(sets.labeled_valid)
    unlabeled_clips = [project.clip(clip_id) for clip_id in sets.unlabeled]
    unlabeled, kept = load_clip_features(project, unlabeled_clips, preset, dims)
    missing += len(unlabeled_clips) - len(kept)
    for sample in unlabeled:
        sample.label = None
    valid_is_train = False
    if not valid and train:
        # NOTE: with all labeled clips from one video there is no held-out video;
        # the best epoch is then chosen on the training clips themselves.
        valid, valid_is_train = list(train), True
    return _Sets(train, valid, unlabeled, missing, valid_is_train)


def retrain_plan(project_folder: str | Path, options: RetrainOptions | Mapping[str, Any] = RetrainOptions()) -> dict:
    """Return the clip counts a retraining run with ``options`` would use (for the dialog)."""
    from app.services.models import checkpoint_info, ensure_active_model

    options = options if isinstance(options, RetrainOptions) else RetrainOptions.from_dict(options)
    with Project.open(project_folder) as project:
        version = ensure_active_model(project)
        info = checkpoint_info(project, version)
        sets = _collect(project, options, info["preset"], info["dims"])
    return {"parent": version, "train": len(sets.train), "valid": len(sets.valid), "unlabeled": len(sets.unlabeled),
            "without_features": sets.without_features, "valid_is_train": sets.valid_is_train}


def _json_metrics(metrics: Mapping[str, float]) -> dict[str, float | None]:
    """Replace NaN metrics (Corr of a constant vector, for example) by None, which JSON can store."""
    return {key: (None if value != value else float(value)) for key, value in metrics.items()}


def _new_version_name(project) -> str:
    existing = {v.version for v in project.model_versions()}
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    number = len(existing) + 1
    name = f"v{number}-{stamp}"
    while name in existing:
        number += 1
        name = f"v{number}-{stamp}"
    return name


def retrain_project(
    project_folder: str | Path,
    options: RetrainOptions | Mapping[str, Any] = RetrainOptions(),
    *,
    progress: Callable[[int, int, str], None] | None = None,
    cancel=None,
    on_event: Callable[[dict], None] | None = None,
) -> dict[str, Any]:
    """Train a new model version and register it (not activated); return its metrics and its parent's."""
    from app.services.models import load_model
    from core_model.model import SemiIIN
    from core_model.training.checkpoint import save_checkpoint
    from core_model.training.self_training import self_train
    from core_model.training.trainer import Trainer, evaluate

    options = options if isinstance(options, RetrainOptions) else RetrainOptions.from_dict(options)
    report = progress or (lambda step, total, message: None)

    def relay(event) -> None:
        report(event.step, event.total_steps, f"{event.phase}: epoch {event.epoch}/{event.epochs}")
        if on_event is not None:
            on_event({"kind": event.kind, "phase": event.phase, "epoch": event.epoch, "epochs": event.epochs,
                      "step": event.step, "total_steps": event.total_steps, "losses": dict(event.losses),
                      "metrics": dict(event.metrics), "best_epoch": event.best_epoch})

    with Project.open(project_folder) as project:
        parent, info, parent_version = load_model(project)
        preset, dims = info["preset"], info["dims"]
        sets = _collect(project, options, preset, dims)
        if not sets.train:
            raise DataError(
                "no labeled clips with features to train on: accept or correct some clips first "
                f"({sets.without_features} labeled or unlabeled clips have no cached features; analyse their videos)"
            )
        model = SemiIIN(parent.config) if options.from_scratch else copy.deepcopy(parent)
        config = options.train_config()
        report(0, 1, f"training on {len(sets.train)} labeled clips, {len(sets.unlabeled)} unlabeled")
        pseudo_labels: list[dict] = []
        if sets.unlabeled:
            result = self_train(model, sets.train, sets.valid, sets.unlabeled, dims, k=options.k, config=config,
                                progress=relay, cancel=cancel)
            model = result.model
            pseudo_labels = [record.to_dict() for record in result.pseudo_labels]
            best = result.retrained
        else:
            best = Trainer(model, config, dims, progress=relay, cancel=cancel, phase="train").fit(sets.train, sets.valid)
        new_metrics = _json_metrics(evaluate(model, sets.valid, dims))
        old_metrics = _json_metrics(evaluate(parent, sets.valid, dims))
        version = _new_version_name(project)
        summary = {
            "parent": parent_version, "train_clips": len(sets.train), "valid_clips": len(sets.valid),
            "unlabeled_clips": len(sets.unlabeled), "pseudo_labels": len(pseudo_labels),
            "valid_is_train": sets.valid_is_train, "options": asdict(options), "best_epoch": best.best_epoch,
        }
        directory = project.models_dir / version
        save_checkpoint(directory, model, {
            "preset": preset, "dims": dims, "modalities": info.get("modalities", ["audio", "text", "visual"]),
            "metrics": {"valid": new_metrics}, "seed": options.seed, "train_config": config.to_dict(),
            "pseudo_labels": pseudo_labels, "best_epoch": best.best_epoch, "history": best.history,
            "notes": f"retrained from {parent_version} in Semi-IIN Studio",
        })
        project.register_model_version(version, directory, config=model.config.to_dict(),
                                       metrics={"valid": new_metrics, "parent_valid": old_metrics},
                                       parent=parent_version, training_summary=summary)
    log.info("trained model version %s from %s", version, parent_version)
    return {"version": version, "parent": parent_version, "metrics": new_metrics, "parent_metrics": old_metrics,
            "summary": summary}


def activate_version(project_folder: str | Path, version: str, *, progress=None, cancel=None) -> dict[str, Any]:
    """Make ``version`` the active model and re-predict every clip with it."""
    from app.services.prediction import predict_project

    with Project.open(project_folder) as project:
        project.set_active_model_version(version)
    return predict_project(project_folder, version, progress=progress, cancel=cancel)
