"""Benchmark the Semi-IIN network on CPU at the dimensions of SemiIINConfig.paper().

Those are 1024-d audio (800 frames), 1024-d text (100 words) and 256-d faces
(50 frames), as in the Semi-IIN paper (Lin et al., AAAI 2025).

It prints one table with training samples/s (forward, 0.6 MSE + 0.4 CE
loss, backward and Adam step) and inference ms per clip, batched and at
batch 1. FLOPs per sample come from torch.utils.flop_counter.FlopCounterMode.
The achieved fraction compares them with the fp32 matmul throughput that the
same run measures by timing a 2048^3 torch.mm. ``--baseline`` also times a straightforward
implementation of the same model (NCL Conv1d, one branch after the other,
masks built and added inside every attention call) on the same weights.

Usage: python bench/bench_model.py [--quick] [--threads N] [--baseline]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core_model.data.batch import Batch  # noqa: E402
from core_model.model import SemiIIN, SemiIINConfig, count_parameters  # noqa: E402
from core_model.model.masks import INTER_TABLE, INTRA_TABLE  # noqa: E402


def paper_batch(config: SemiIINConfig, size: int, seed: int = 0) -> Batch:
    """Full-length random features at the config's fixed lengths (no padding)."""
    generator = torch.Generator().manual_seed(seed)
    tensors = {}
    for modality, dim in config.dims.items():
        frames = config.fixed_lengths[modality]
        tensors[modality] = torch.randn(size, frames, dim, generator=generator)
        tensors[f"{modality}_lengths"] = torch.full((size,), frames, dtype=torch.int64)
    return Batch(**tensors, names=[f"clip{i}" for i in range(size)])


def baseline_forward(model: SemiIIN, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    """Straightforward Semi-IIN (MulT style) on ``model``'s weights, for comparison."""
    config = model.config
    training = model.training
    tokens = []
    for type_id, modality in enumerate(("audio", "text", "visual")):
        x = F.dropout(batch.features(modality), p=config.input_dropout, training=training)
        h = x.transpose(1, 2)  # (B, D, L)
        encoder = model.encoders[modality]
        for spec, taps in zip(encoder.specs, encoder.weights):
            h = F.conv1d(h, taps.permute(2, 1, 0), stride=spec.stride, padding=spec.padding)
        tokens.append(h.transpose(1, 2) + model.type_embedding.weight[type_id])

    size = tokens[0].shape[0]
    z = torch.cat([model.val_token.expand(size, 1, -1), model.cls_token.expand(size, 1, -1), *tokens], dim=1)
    length, hidden = z.shape[1], z.shape[2]
    z = z + model.position_embedding[:length]
    bounds = [0, 1, 2]
    for t in tokens:
        bounds.append(bounds[-1] + t.shape[1])
    heads = config.heads
    half = hidden // 2
    freqs = torch.exp(torch.arange(half) * -(math.log(10000.0) / (half - 1)))
    angles = torch.arange(1, length + 1)[:, None] * freqs[None, :]
    sinusoid = torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)

    outputs = {}
    for name, table in (("intra", INTRA_TABLE), ("inter", INTER_TABLE)):
        layer = getattr(model, f"{name}_layers")[0]
        x = z.transpose(0, 1)  # (T, B, D), MulT layout
        for _ in range(config.passes):
            x = x * math.sqrt(hidden) + sinusoid[:, None, :]
            x = F.dropout(x, p=config.embedding_dropout, training=training)

            residual = x
            h = layer.attention_norm(x)
            q, k, v = layer.qkv(h).chunk(3, dim=-1)
            q = q * (hidden // heads) ** -0.5
            split = lambda t: t.reshape(length, size * heads, hidden // heads).transpose(0, 1)  # noqa: E731
            q, k, v = split(q), split(k), split(v)
            # The mask is rebuilt from the group boundaries in every call.
            group = torch.zeros(length, dtype=torch.long)
            for g in range(5):
                group[bounds[g] : bounds[g + 1]] = g
            mask = torch.zeros(length, length).masked_fill(~table[group[:, None], group[None, :]], float("-inf"))
            weights = torch.softmax(torch.bmm(q, k.transpose(1, 2)) + mask, dim=-1)
            weights = F.dropout(weights, p=config.attention_dropout, training=training)
            context = torch.bmm(weights, v).transpose(0, 1).reshape(length, size, hidden)
            x = residual + F.dropout(layer.out(context), p=config.residual_dropout, training=training)

            residual = x
            h = F.dropout(torch.relu(layer.fc1(layer.ff_norm(x))), p=config.ff_dropout, training=training)
            x = residual + F.dropout(layer.fc2(h), p=config.residual_dropout, training=training)
            x = layer.final_norm(x)
        outputs[name] = x.transpose(0, 1)

    fused_val, _ = model.fusion_val(outputs["intra"][:, 0], outputs["inter"][:, 0])
    fused_cls, _ = model.fusion_cls(outputs["intra"][:, 1], outputs["inter"][:, 1])
    intensity = model.intensity_head(model.projection(fused_val)).squeeze(-1)
    return intensity, model.class_head(model.projection(fused_cls))


def forward_pair(model: SemiIIN, batch: Batch, baseline: bool) -> tuple[torch.Tensor, torch.Tensor]:
    if baseline:
        return baseline_forward(model, batch)
    out = model(batch)
    return out.intensity, out.logits


def train_step(model, optimizer, batch, targets, classes, baseline):
    optimizer.zero_grad(set_to_none=True)
    intensity, logits = forward_pair(model, batch, baseline)
    loss = 0.6 * F.mse_loss(intensity, targets) + 0.4 * F.cross_entropy(logits, classes)
    loss.backward()
    optimizer.step()


def timed(function, repeats: int) -> tuple[float, float]:
    """Return the median wall time and process CPU time of ``function`` over ``repeats`` calls, in seconds.

    On a shared machine the CPU time varies less than the wall time; with
    several threads it also counts their spin-waiting.
    """
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        function()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def matmul_gflops(size: int, repeats: int) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)
    seconds, _ = timed(lambda: torch.mm(a, b), repeats)
    return 2 * size**3 / seconds / 1e9


def measure(model, batch, batch1, steps, baseline):
    size = batch.size
    targets = torch.linspace(-3, 3, size)
    classes = torch.arange(size) % 7
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4, weight_decay=1e-4)

    model.train()
    with FlopCounterMode(display=False) as counter:
        train_step(model, optimizer, batch, targets, classes, baseline)
    train_flops = counter.get_total_flops() / size
    train_step(model, optimizer, batch, targets, classes, baseline)
    train_s, train_cpu = timed(lambda: train_step(model, optimizer, batch, targets, classes, baseline), steps)

    model.eval()
    with torch.no_grad():
        with FlopCounterMode(display=False) as counter:
            forward_pair(model, batch, baseline)
        infer_flops = counter.get_total_flops() / size
        forward_pair(model, batch, baseline)
        batched_s, batched_cpu = timed(lambda: forward_pair(model, batch, baseline), steps)
        forward_pair(model, batch1, baseline)
        single_s, _ = timed(lambda: forward_pair(model, batch1, baseline), steps * 4)
    return {
        "train samples/s": size / train_s,
        "train GFLOP/sample": train_flops / 1e9,
        "train GFLOP/s": train_flops * size / train_s / 1e9,
        "infer ms/clip (batch)": 1000 * batched_s / size,
        "infer ms/clip (batch 1)": 1000 * single_s,
        "infer GFLOP/sample": infer_flops / 1e9,
        "infer GFLOP/s": infer_flops * size / batched_s / 1e9,
        "train CPU ms/sample": 1000 * train_cpu / size,
        "infer CPU ms/clip (batch)": 1000 * batched_cpu / size,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer timed repeats (3 instead of 10)")
    parser.add_argument("--batch", type=int, default=32, help="batch size (default 32)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--steps", type=int, default=None, help="timed repeats per measurement")
    parser.add_argument("--faithful", action="store_true", help="time the faithful config instead of the improved one")
    parser.add_argument("--baseline", action="store_true", help="also time the straightforward implementation")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    steps = args.steps or (3 if args.quick else 10)
    config = SemiIINConfig.paper(faithful=args.faithful)
    model = SemiIIN(config)
    batch = paper_batch(config, args.batch)
    batch1 = paper_batch(config, 1, seed=1)

    model.eval()
    with torch.no_grad():
        ours, reference = forward_pair(model, batch1, False), baseline_forward(model, batch1)
    agreement = max((ours[0] - reference[0]).abs().max().item(), (ours[1] - reference[1]).abs().max().item())

    peak = matmul_gflops(2048, steps)
    rows = {"Semi-IIN": measure(model, batch, batch1, steps, baseline=False)}
    if args.baseline:
        rows["baseline"] = measure(model, batch, batch1, steps, baseline=True)
    peak_after = matmul_gflops(2048, steps)
    peak = max(peak, peak_after)

    mode = "faithful" if args.faithful else "improved"
    print(
        f"Semi-IIN at paper dims ({mode} config, {count_parameters(model):,} parameters), batch {args.batch}, "
        f"{args.threads} thread(s), torch {torch.__version__}, median of {steps} repeats"
    )
    print(f"fp32 matmul throughput (2048^3 torch.mm): {peak:.1f} GFLOP/s")
    print(f"max abs difference of outputs from the baseline implementation (eval, batch 1): {agreement:.2e}")
    names = list(next(iter(rows.values())))
    header = f"{'metric':<26}" + "".join(f"{name:>14}" for name in rows)
    print(header)
    print("-" * len(header))
    for metric in names:
        print(f"{metric:<26}" + "".join(f"{row[metric]:>14.2f}" for row in rows.values()))
    print(f"{'train fraction of matmul':<26}" + "".join(f"{row['train GFLOP/s'] / peak:>14.1%}" for row in rows.values()))
    if args.baseline:
        ratio = rows["Semi-IIN"]["train samples/s"] / rows["baseline"]["train samples/s"]
        infer = rows["baseline"]["infer ms/clip (batch)"] / rows["Semi-IIN"]["infer ms/clip (batch)"]
        print(f"speed-up over baseline (wall): training {ratio:.2f}x, batched inference {infer:.2f}x")
        ratio = rows["baseline"]["train CPU ms/sample"] / rows["Semi-IIN"]["train CPU ms/sample"]
        infer = rows["baseline"]["infer CPU ms/clip (batch)"] / rows["Semi-IIN"]["infer CPU ms/clip (batch)"]
        print(f"speed-up over baseline (CPU time): training {ratio:.2f}x, batched inference {infer:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
