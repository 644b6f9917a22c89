"""``semi-iin train``: train a Semi-IIN model on a corpus and save the best epoch.

The corpus format is detected from ``--data`` (MMSA .pkl, official-layout
folder or feature cache); feature sizes and lengths come from the data. The
best epoch by the validation metric is saved to ``--out`` as a checkpoint
folder, then scored on the test split when the data has one. Runs under
``torchrun`` as one process per device with DistributedDataParallel.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
from pathlib import Path
from typing import Any, Mapping

from core_model.data.dataset import FeatureDataset, NONFINITE_POLICIES, training_splits
from core_model.data.loading import load_data
from core_model.errors import ConfigError
from core_model.training.config import TrainConfig
from core_model.training.events import TrainingEvent
from core_model.training.metrics import METRIC_ORDER, format_table

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a Semi-IIN model on a feature corpus",
        description="Train Semi-IIN with 0.6 MSE + 0.4 CE, keep the best validation epoch and save it.",
    )
    parser.add_argument("--data", type=Path, required=True,
                        help="MMSA .pkl file, official-layout folder or feature cache folder")
    parser.add_argument("--out", type=Path, required=True, help="checkpoint folder to write")
    add_training_arguments(parser)
    parser.set_defaults(func=run)


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options shared by ``train`` and ``self-train``."""
    defaults = TrainConfig()
    parser.add_argument("--epochs", type=int, default=defaults.epochs, help=f"epochs (default {defaults.epochs})")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size,
                        help=f"global batch size, split over torchrun processes (default {defaults.batch_size})")
    parser.add_argument("--lr", type=float, default=defaults.lr, help=f"Adam learning rate (default {defaults.lr})")
    parser.add_argument("--weight-decay", type=float, default=defaults.weight_decay,
                        help=f"Adam weight decay (default {defaults.weight_decay})")
    parser.add_argument("--select-metric", choices=METRIC_ORDER, default=defaults.select_metric,
                        help="validation metric that picks the best epoch (default mae)")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="seed for torch, numpy and Python")
    parser.add_argument("--deterministic", action="store_true", help="use deterministic kernels (slower)")
    parser.add_argument("--device", default=defaults.device, help="auto, cpu, cuda or cuda:N (default auto)")
    parser.add_argument("--no-bf16", action="store_true", help="train in float32 on CUDA instead of bf16 autocast")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's choice)")
    parser.add_argument("--faithful", action="store_true",
                        help="use the official code's behaviour (fixed lengths, no padding mask)")
    parser.add_argument("--model-config", default=None, metavar="JSON",
                        help="SemiIINConfig overrides as a JSON object or a .json file, e.g. '{\"hidden\": 64}'")
    parser.add_argument("--nonfinite", choices=NONFINITE_POLICIES, default="zero",
                        help="NaN/Inf in features: replace by 0 and log the count (zero, default) or stop (reject)")


def train_config_from_args(args: argparse.Namespace, **changes: Any) -> TrainConfig:
    """Build the TrainConfig of ``args``; ``changes`` override single fields."""
    values = dict(lr=args.lr, weight_decay=args.weight_decay, batch_size=args.batch_size, epochs=args.epochs,
                  select_metric=args.select_metric, seed=args.seed, deterministic=args.deterministic,
                  device=args.device, bf16=not args.no_bf16, num_threads=args.threads)
    values.update(changes)
    return TrainConfig(**values)


def model_overrides(text: str | None) -> dict[str, Any]:
    """Parse ``--model-config``: a JSON object, or the path of a .json file holding one."""
    if not text:
        return {}
    source = text
    if text.strip().endswith(".json") and Path(text).is_file():
        source = Path(text).read_text(encoding="utf-8")
    try:
        value = json.loads(source)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--model-config is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ConfigError("--model-config must be a JSON object of SemiIINConfig fields")
    return value


def check_output_folder(out: Path) -> None:
    """Reject an existing, non-empty ``out`` that is not a checkpoint, before any training."""
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / "checkpoint.json").is_file())):
        raise ConfigError(f"output {out} exists and is not a checkpoint folder; choose a new or empty folder")


def json_safe(value: Any) -> Any:
    """Replace NaN and Inf floats by None, recursively, for strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def data_info(dataset: FeatureDataset, splits: Mapping[str, list]) -> dict[str, Any]:
    """Return the checkpoint fields that describe the data: preset, dims, hashes, modalities."""
    present = sorted({m for s in dataset.samples for m in s.present()})
    return {
        "preset": dataset.preset,
        "dims": dict(dataset.dims),
        "data_hashes": {name: dataset.content_hash(clips) for name, clips in splits.items() if clips},
        "modalities": present,
    }


class TqdmProgress:
    """Show training events as tqdm bars, one per phase; inactive on non-main processes."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.bar = None
        self.phase: str | None = None

    def __call__(self, event: TrainingEvent) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        if self.bar is None or event.phase != self.phase:
            self.close()
            self.phase = event.phase
            self.bar = tqdm(total=event.total_steps, desc=event.phase, unit="step", dynamic_ncols=True)
        if event.kind == "step":
            self.bar.update(event.step - self.bar.n)
            self.bar.set_postfix(epoch=f"{event.epoch}/{event.epochs}", loss=f"{event.losses['total']:.4f}",
                                 refresh=False)
        else:
            summary = {k: f"{event.metrics[k]:.4f}" for k in ("mae", "corr") if k in event.metrics}
            self.bar.set_postfix(epoch=f"{event.epoch}/{event.epochs}", best=event.best_epoch, **summary)

    def logging_through_bars(self):
        """Return a context in which console log lines are printed above the bars, not into them."""
        if not self.enabled:
            return contextlib.nullcontext()
        from tqdm.contrib.logging import logging_redirect_tqdm

        return logging_redirect_tqdm()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def print_metrics(title: str, metrics: Mapping[str, float]) -> None:
    print(f"{title}\n{format_table(metrics)}\n")


def run(args: argparse.Namespace) -> int:
    from core_model.model import SemiIIN
    from core_model.training.checkpoint import save_checkpoint
    from core_model.training.distributed import init_distributed, shutdown_distributed
    from core_model.training.model_setup import config_for_data
    from core_model.training.trainer import Trainer, evaluate, seed_everything

    config = train_config_from_args(args)
    check_output_folder(args.out)
    context = init_distributed(config.device)
    try:
        seed_everything(config.seed, config.deterministic)
        dataset = load_data(args.data, nonfinite=args.nonfinite)
        train, valid, test = training_splits(dataset, seed=config.seed)
        model_config = config_for_data(dataset.dims, dataset.samples, faithful=args.faithful,
                                       **model_overrides(args.model_config))
        model = SemiIIN(model_config)
        info = data_info(dataset, {"train": train, "valid": valid, "test": test})
        info.update(seed=config.seed, train_config=config.to_dict())
        progress = TqdmProgress(enabled=context.is_main)
        trainer = Trainer(model, config, dataset.dims, progress=progress, checkpoint_dir=args.out,
                          checkpoint_info=info)
        try:
            with progress.logging_through_bars():
                result = trainer.fit(train, valid)
        finally:
            progress.close()
        metrics = {"valid": result.best_metrics}
        if test:
            metrics["test"] = evaluate(trainer.model, test, dataset.dims, batch_size=config.eval_batch_size,
                                       device=trainer.device, bf16=config.bf16)
        if context.is_main:
            info.update(metrics=json_safe(metrics), best_epoch=result.best_epoch, history=json_safe(result.history))
            save_checkpoint(args.out, trainer.model, info)
            print_metrics(f"validation, best epoch {result.best_epoch} of {config.epochs}", metrics["valid"])
            if "test" in metrics:
                print_metrics(f"test ({len(test)} clips)", metrics["test"])
            print(f"saved checkpoint to {args.out}")
    finally:
        shutdown_distributed()
    return 0
