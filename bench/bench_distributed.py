"""Compare `semi-iin train` in one process with the same run under torchrun.

The script builds a synthetic feature cache whose labels are readable from
every modality. It runs the train command once as a single process and once
with ``--procs`` processes (gloo on CPU, nccl on CUDA). It prints wall time,
training samples per second and the largest difference between the two
runs' validation metrics. Dropout is off so that both runs compute the same
thing.

    python bench/bench_distributed.py [--quick] [--procs 2] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from core_model.data.batch import ClipFeatures
from core_model.data.cache import FeatureCache

DIMS = {"audio": 32, "text": 64, "visual": 16}
FRAMES = {"audio": (40, 160), "text": (4, 20), "visual": (5, 25)}
NO_DROPOUT = {"input_dropout": 0.0, "attention_dropout": 0.0, "residual_dropout": 0.0, "ff_dropout": 0.0,
              "embedding_dropout": 0.0}


def build_cache(root: Path, counts: dict[str, int], seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    directions = {m: rng.normal(size=d) for m, d in DIMS.items()}
    cache = FeatureCache(root, preset="bench-synthetic", dims=DIMS)
    rows = []
    for split, count in counts.items():
        for i in range(count):
            label = round(float(rng.uniform(-3, 3)), 2)
            clip = ClipFeatures(name=f"{split}_{i}", label=label, split=split)
            for modality, dim in DIMS.items():
                frames = int(rng.integers(*FRAMES[modality]))
                noise = rng.normal(scale=0.5, size=(frames, dim))
                setattr(clip, modality, (label / 3 * directions[modality] + noise).astype(np.float32))
            key = f"{split}-{i}"
            cache.put(key, clip)
            rows.append({"key": key, "name": clip.name, "label": label, "split": split})
    cache.write_index(rows)
    return root


def run_train(command: list[str], out: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run([*command, "--out", str(out)], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.stderr.write(result.stderr[-4000:])
        raise SystemExit(f"training failed with exit code {result.returncode}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small corpus and 1 epoch")
    parser.add_argument("--procs", type=int, default=2, help="processes for the torchrun run (default 2)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process (default 1)")
    args = parser.parse_args()

    train_clips, epochs = (64, 1) if args.quick else (512, 3)
    batch_size = 16 * args.procs
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        cache = build_cache(root / "cache", {"train": train_clips, "valid": 64})
        common = ["train", "--data", str(cache), "--epochs", str(epochs), "--batch-size", str(batch_size),
                  "--device", args.device, "--threads", str(args.threads), "--seed", "0",
                  "--model-config", json.dumps(dict(hidden=64, heads=4, ff=256, **NO_DROPOUT))]
        env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
        single = run_train([sys.executable, "-m", "app.cli", *common], root / "one", env)
        multi = run_train([sys.executable, "-m", "torch.distributed.run", "--standalone",
                           "--nproc_per_node", str(args.procs), "-m", "app.cli", *common], root / "many", env)
        one = json.loads((root / "one" / "checkpoint.json").read_text())["metrics"]["valid"]
        many = json.loads((root / "many" / "checkpoint.json").read_text())["metrics"]["valid"]

    samples = train_clips * epochs
    worst = max(abs(one[k] - many[k]) for k in ("mae", "corr", "acc2_has0", "acc7"))
    print(f"{'run':<12}{'wall s':>10}{'samples/s':>12}{'valid MAE':>12}")
    print(f"{'1 process':<12}{single:>10.1f}{samples / single:>12.1f}{one['mae']:>12.4f}")
    print(f"{f'{args.procs} processes':<12}{multi:>10.1f}{samples / multi:>12.1f}{many['mae']:>12.4f}")
    print(f"max |metric difference| (MAE, Corr, Acc-2, Acc-7): {worst:.2e}")
    print("wall time includes start-up and validation; the machine may be shared")
    return 0


if __name__ == "__main__":
    sys.exit(main())
