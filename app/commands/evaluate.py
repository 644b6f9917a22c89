"""``semi-iin evaluate``: score a checkpoint on one split of a corpus.

Prints the metric table in the column order of the Semi-IIN paper (MAE,
Corr, Acc-2 has-0/non-0, F1 has-0/non-0, Acc-7) followed by Acc-5 and the
7-bin accuracies, and writes the metrics as JSON with ``--json``.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from app.commands.train import json_safe, print_metrics
from core_model.data.dataset import NONFINITE_POLICIES, SPLITS
from core_model.data.loading import load_data
from core_model.errors import DataError
from core_model.training.metrics import to_mmsa

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="score a trained model on a corpus split",
        description="Evaluate a checkpoint on labeled clips and print MMSA-compatible metrics.",
    )
    parser.add_argument("--model", type=Path, required=True, help="checkpoint folder (from train or self-train)")
    parser.add_argument("--data", type=Path, required=True,
                        help="MMSA .pkl file, official-layout folder or feature cache folder")
    parser.add_argument("--split", choices=SPLITS + ("all",), default="test",
                        help="split to score; 'all' scores every labeled clip (default test)")
    parser.add_argument("--json", type=Path, default=None, metavar="OUT", help="also write the metrics to this JSON file")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
    parser.add_argument("--batch-size", type=int, default=64, help="clips per forward pass (default 64)")
    parser.add_argument("--nonfinite", choices=NONFINITE_POLICIES, default="zero",
                        help="NaN/Inf in features: replace by 0 and log the count (zero, default) or stop (reject)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from core_model.training.checkpoint import load_checkpoint
    from core_model.training.model_setup import fit_to_capacity
    from core_model.training.trainer import evaluate, resolve_device

    dataset = load_data(args.data, nonfinite=args.nonfinite)
    device = resolve_device(args.device)
    model, info = load_checkpoint(args.model, expected_dims=dataset.dims, expected_preset=dataset.preset,
                                  device=device)
    if args.split == "all":
        clips = [s for s in dataset.samples if s.label is not None]
    else:
        clips = [s for s in dataset.split(args.split) if s.label is not None]
    if not clips and not any(s.label is not None for s in dataset.samples):
        raise DataError(f"{args.data} has no labeled clips at all; for a feature cache, extract it with "
                        "`semi-iin extract ... --labels label.csv` so that index.csv carries the labels")
    if not clips:
        raise DataError(f"{args.data} has no labeled clips in split {args.split!r} "
                        f"(clips per split: {dataset.split_sizes()}); choose another --split")
    clips = fit_to_capacity(clips, model.config)
    metrics = evaluate(model, clips, dataset.dims, batch_size=args.batch_size, device=device)
    print_metrics(f"{args.model} on {args.data} [{args.split}], {len(clips)} clips", metrics)
    if args.json is not None:
        report = {
            "model": str(args.model),
            "data": str(args.data),
            "split": args.split,
            "clips": len(clips),
            "preset": dataset.preset,
            "metrics": json_safe(metrics),
            "mmsa": json_safe(to_mmsa(metrics)),
            "nonfinite_counts": dataset.nonfinite_counts,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
        log.info("wrote metrics to %s", args.json)
    return 0
