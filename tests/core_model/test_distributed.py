"""Distributed training: W processes see the same global batches as one, and reach the same model.

The default-suite test checks the sampler arithmetic in-process. The slow test
runs `semi-iin train` under torchrun with 2 CPU processes (gloo) and compares
the result with a single-process run of the same command.
"""

import json
import os
import subprocess
import sys

import pytest
from safetensors.torch import load_file
from torch.utils.data.distributed import DistributedSampler

from synthetic_clips import NO_DROPOUT, TINY_MODEL

from test_train_cli import build_cache


def global_batches(size, batch_size, world, epoch, seed=0):
    """Return the sets of dataset indices that form each optimiser step across ``world`` processes."""
    per_rank = []
    for rank in range(world):
        sampler = DistributedSampler(range(size), num_replicas=world, rank=rank, shuffle=True, seed=seed)
        sampler.set_epoch(epoch)
        indices = list(sampler)
        step = batch_size // world
        per_rank.append([indices[i:i + step] for i in range(0, len(indices), step)])
    return [sorted(sum((batches[b] for batches in per_rank), [])) for b in range(len(per_rank[0]))]


@pytest.mark.parametrize("epoch", [1, 2])
def test_two_processes_share_global_batches(epoch):
    single = global_batches(48, 16, world=1, epoch=epoch)
    double = global_batches(48, 16, world=2, epoch=epoch)
    assert single == double
    assert sorted(sum(single, [])) == list(range(48))


@pytest.mark.slow
def test_torchrun_matches_single_process(tmp_path):
    cache = build_cache(tmp_path / "cache", {"train": (48, 1), "valid": (16, 2)})
    model_config = json.dumps(dict(TINY_MODEL, **NO_DROPOUT))
    common = ["train", "--data", str(cache), "--epochs", "2", "--batch-size", "16", "--lr", "3e-3",
              "--device", "cpu", "--threads", "1", "--seed", "3", "--model-config", model_config]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    single = subprocess.run([sys.executable, "-m", "app.cli", *common, "--out", str(tmp_path / "one")],
                            capture_output=True, text=True, env=env, timeout=600)
    assert single.returncode == 0, single.stderr[-3000:]
    double = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                             "-m", "app.cli", *common, "--out", str(tmp_path / "two")],
                            capture_output=True, text=True, env=env, timeout=600)
    assert double.returncode == 0, double.stderr[-3000:]
    assert "rank 1 of 2" in double.stderr

    one = json.loads((tmp_path / "one" / "checkpoint.json").read_text())
    two = json.loads((tmp_path / "two" / "checkpoint.json").read_text())
    assert one["best_epoch"] == two["best_epoch"]
    for key in ("mae", "corr", "acc7"):
        a, b = one["metrics"]["valid"][key], two["metrics"]["valid"][key]
        assert abs(a - b) < 1e-4, f"valid {key}: one process {a}, two processes {b}"
    weights_one = load_file(str(tmp_path / "one" / "model.safetensors"))
    weights_two = load_file(str(tmp_path / "two" / "model.safetensors"))
    assert sorted(weights_one) == sorted(weights_two)
    differences = [(weights_one[k] - weights_two[k]).abs().flatten() for k in weights_one]
    mean = float(sum(float(d.sum()) for d in differences) / sum(d.numel() for d in differences))
    worst = max(float(d.max()) for d in differences)
    # Adam moves a weight by about lr per step whatever its gradient's size, so
    # a weight whose gradient is near 0 can step the other way after a
    # rounding-level difference between the runs: bound the maximum by lr.
    assert mean < 1e-4, f"mean weight difference {mean} (max {worst})"
    assert worst < 3e-3, f"max weight difference {worst} (mean {mean})"
