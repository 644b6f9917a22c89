"""``semi-iin self-train``: Semi-IIN's self-training on labeled and unlabeled corpora.

Trains phi on the labeled data (or loads it with ``--init``), pseudo-labels
the top ``--k`` unlabeled clips per class, retrains a copy phi' on both and
saves phi' with the pseudo-label set to ``--out``.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from app.commands.train import (
    TqdmProgress,
    add_training_arguments,
    check_output_folder,
    data_info,
    json_safe,
    model_overrides,
    print_metrics,
    train_config_from_args,
)
from core_model.data.dataset import training_splits
from core_model.data.loading import load_data
from core_model.errors import DataError

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "self-train",
        help="self-train with top-k pseudo-labels per class",
        description="Train on labeled data, pseudo-label the top k unlabeled clips per class and retrain.",
    )
    parser.add_argument("--labeled", type=Path, required=True,
                        help="labeled corpus: MMSA .pkl file, official-layout folder or feature cache folder")
    parser.add_argument("--unlabeled", type=Path, required=True,
                        help="unlabeled corpus in any supported format; its labels, if any, are ignored")
    parser.add_argument("--k", default="40", help="pseudo-labeled clips kept per class, or 'all' (default 40)")
    parser.add_argument("--out", type=Path, required=True, help="checkpoint folder to write for phi'")
    parser.add_argument("--init", type=Path, default=None,
                        help="checkpoint folder of an already trained phi; skips the supervised stage")
    parser.add_argument("--retrain-epochs", type=int, default=None,
                        help="epochs of the retraining stage (default: --epochs)")
    add_training_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from core_model.model import SemiIIN
    from core_model.training.checkpoint import load_checkpoint, save_checkpoint
    from core_model.training.distributed import init_distributed, shutdown_distributed
    from core_model.training.model_setup import config_for_data, fit_to_capacity
    from core_model.training.self_training import parse_k, self_train
    from core_model.training.trainer import evaluate, resolve_device, seed_everything

    k = parse_k(args.k)
    config = train_config_from_args(args)
    retrain_config = train_config_from_args(args, epochs=args.retrain_epochs) if args.retrain_epochs else config
    check_output_folder(args.out)
    context = init_distributed(config.device)
    try:
        seed_everything(config.seed, config.deterministic)
        labeled = load_data(args.labeled, nonfinite=args.nonfinite)
        unlabeled = load_data(args.unlabeled, nonfinite=args.nonfinite)
        if unlabeled.dims != labeled.dims or unlabeled.preset != labeled.preset:
            raise DataError(
                f"unlabeled data {args.unlabeled} has preset {unlabeled.preset!r} and dims {unlabeled.dims}, "
                f"but labeled data {args.labeled} has preset {labeled.preset!r} and dims {labeled.dims}"
            )
        train, valid, test = training_splits(labeled, seed=config.seed)
        if args.init is not None:
            model, _ = load_checkpoint(args.init, expected_dims=labeled.dims, expected_preset=labeled.preset,
                                       device=resolve_device(config.device, context.local_rank))
            model.train()
        else:
            model_config = config_for_data(labeled.dims, labeled.samples + unlabeled.samples,
                                           faithful=args.faithful, **model_overrides(args.model_config))
            model = SemiIIN(model_config)
        pool = fit_to_capacity(unlabeled.samples, model.config)
        info = data_info(labeled, {"train": train, "valid": valid, "test": test})
        info["data_hashes"]["unlabeled"] = unlabeled.content_hash()
        info.update(seed=config.seed, train_config=retrain_config.to_dict())
        progress = TqdmProgress(enabled=context.is_main)
        try:
            with progress.logging_through_bars():
                result = self_train(model, train, valid, pool, labeled.dims, k="all" if k is None else k,
                                    config=config, retrain_config=retrain_config, train_teacher=args.init is None,
                                    progress=progress, checkpoint_dir=args.out, checkpoint_info=info)
        finally:
            progress.close()
        metrics = {"valid": result.retrained.best_metrics}
        if test:
            metrics["test"] = evaluate(result.model, test, labeled.dims, batch_size=config.eval_batch_size,
                                       bf16=config.bf16)
        if context.is_main:
            info.update(metrics=json_safe(metrics), best_epoch=result.retrained.best_epoch,
                        history=json_safe(result.retrained.history),
                        pseudo_labels=[p.to_dict() for p in result.pseudo_labels])
            save_checkpoint(args.out, result.model, info)
            print(f"pseudo-labeled {len(result.pseudo_labels)} of {len(pool)} unlabeled clips (k={args.k})")
            print_metrics(f"validation, retrained phi' at epoch {result.retrained.best_epoch}", metrics["valid"])
            if "test" in metrics:
                print_metrics(f"test ({len(test)} clips)", metrics["test"])
            print(f"saved checkpoint to {args.out}")
    finally:
        shutdown_distributed()
    return 0
