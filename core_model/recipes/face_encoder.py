"""Recipe: train the lite facial-expression encoder on FER2013.

Training uses the ``Training`` split with random flips, shifts, rotations
and scaling; the epoch with the best ``PublicTest`` accuracy is kept, and
``PrivateTest`` is reported once at the end. The input is an ``.npz`` with
``images`` (N, 48, 48) uint8, ``labels`` (N,) int in FER2013 class order and
``usage`` (N,) strings, as in the FER2013 copy described in the data README.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from core_model.errors import DataError
from core_model.features.lite_visual import FER_CLASSES, FaceExpressionNet, FaceNetConfig, LiteVisualEncoder
from core_model.recipes.artifacts import write_artifact
from core_model.recipes.common import Stopwatch, limit_threads, machine_note, seed_everything, write_card
from core_model.recipes.valence import FER_VALENCE, class_valence, valence_sign_accuracy

log = logging.getLogger(__name__)

VERSION = "1.0"


@dataclass(frozen=True)
class FaceRecipeConfig:
    """Settings of one face-encoder training run."""

    seed: int = 0
    epochs: int = 14
    batch_size: int = 128
    max_lr: float = 3e-3
    weight_decay: float = 5e-4
    label_smoothing: float = 0.1
    limit: int | None = None  # max images per split, for quick runs
    threads: int = 2
    max_rotation_deg: float = 10.0
    max_shift: float = 0.1  # fraction of the crop size
    max_scale: float = 0.1


def load_fer(path: Path, limit: int | None, seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Return ``{usage: (images, labels)}`` for Training, PublicTest and PrivateTest.

    With ``limit`` each split keeps a seeded random subset of that size, because
    the FER2013 file is sorted by class and its first rows are all "angry".
    """
    if not path.is_file():
        raise DataError(f"FER2013 file {path} not found; pass the fer2013_48x48.npz file with --data")
    with np.load(path, allow_pickle=False) as archive:
        missing = {"images", "labels", "usage"} - set(archive.files)
        if missing:
            raise DataError(f"{path} lacks the arrays {sorted(missing)}; expected images, labels and usage")
        images, labels, usage = archive["images"], archive["labels"].astype(np.int64), archive["usage"].astype(str)
    if images.ndim != 3 or images.shape[1:] != (48, 48) or images.dtype != np.uint8:
        raise DataError(f"{path}: images have shape {images.shape} {images.dtype}, expected (N, 48, 48) uint8")
    splits = {}
    rng = np.random.default_rng(seed)
    for name in ("Training", "PublicTest", "PrivateTest"):
        index = np.flatnonzero(usage == name)
        if limit is not None and limit < len(index):
            index = np.sort(rng.choice(index, size=limit, replace=False))
        if len(index) == 0:
            raise DataError(f"{path} has no images with usage {name!r}")
        splits[name] = (images[index], labels[index])
    return splits


def augment(pixels: torch.Tensor, config: FaceRecipeConfig, generator: torch.Generator) -> torch.Tensor:
    """Randomly flip, rotate, scale and shift normalized images ``(B, 1, H, W)``."""
    batch = pixels.shape[0]
    flip = torch.rand(batch, generator=generator) < 0.5
    pixels = torch.where(flip[:, None, None, None], pixels.flip(3), pixels)
    angle = (torch.rand(batch, generator=generator) * 2 - 1) * math.radians(config.max_rotation_deg)
    scale = 1 + (torch.rand(batch, generator=generator) * 2 - 1) * config.max_scale
    shift = (torch.rand(batch, 2, generator=generator) * 2 - 1) * config.max_shift * 2  # grid units span 2
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(pixels.shape), align_corners=False)  # (B, H, W, 2)
    return F.grid_sample(pixels, grid, padding_mode="border", align_corners=False)


def predict_classes(net: FaceExpressionNet, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Return the predicted class index of each image."""
    net.eval()
    predictions = []
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            chunk = torch.from_numpy(np.ascontiguousarray(images[start : start + batch_size]))
            logits, _ = net(net.normalize(chunk))
            predictions.append(logits.argmax(1).numpy())
    return np.concatenate(predictions)


def train_face_encoder(data: Path, out: Path, config: FaceRecipeConfig, progress: bool = True) -> dict:
    """Train on FER2013 at ``data``, write the artifact and its card into ``out``, return the metrics."""
    limit_threads(config.threads)
    generator = seed_everything(config.seed)
    clock = Stopwatch()
    splits = load_fer(data, config.limit, config.seed)
    train_images, train_labels = splits["Training"]
    log.info("FER2013: %s", {name: len(labels) for name, (_, labels) in splits.items()})

    net = FaceExpressionNet(FaceNetConfig())
    optimizer = torch.optim.AdamW(net.parameters(), lr=config.max_lr / 10, weight_decay=config.weight_decay)
    steps_per_epoch = math.ceil(len(train_labels) / config.batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.max_lr, epochs=config.epochs, steps_per_epoch=steps_per_epoch
    )
    images_t = torch.from_numpy(train_images)
    labels_t = torch.from_numpy(train_labels)
    best_accuracy, best_state, best_epoch, history = -1.0, None, 0, []

    for epoch in range(1, config.epochs + 1):
        net.train()
        order = torch.randperm(len(labels_t), generator=generator)
        total_loss = 0.0
        bar = tqdm(range(steps_per_epoch), desc=f"face epoch {epoch}/{config.epochs}", disable=not progress)
        for step in bar:
            index = order[step * config.batch_size : (step + 1) * config.batch_size]
            pixels = augment(net.normalize(images_t[index]), config, generator)
            logits, _ = net(pixels)
            loss = F.cross_entropy(logits, labels_t[index], label_smoothing=config.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total_loss += float(loss.detach()) * len(index)
            bar.set_postfix(loss=f"{float(loss.detach()):.3f}")
        public_images, public_labels = splits["PublicTest"]
        accuracy = float(np.mean(predict_classes(net, public_images) == public_labels))
        history.append({"epoch": epoch, "train_loss": total_loss / len(labels_t), "public_test_accuracy": accuracy})
        log.info("epoch %d: train loss %.4f, PublicTest accuracy %.4f (%.0f s)",
                 epoch, total_loss / len(labels_t), accuracy, clock.seconds())
        if accuracy > best_accuracy:
            best_accuracy, best_epoch = accuracy, epoch
            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}

    net.load_state_dict(best_state)
    valence = class_valence(FER_CLASSES, FER_VALENCE)
    metrics = {"selected_epoch": best_epoch, "public_test_accuracy": best_accuracy}
    for name in ("PublicTest", "PrivateTest"):
        images, labels = splits[name]
        predicted = predict_classes(net, images)
        key = "public_test" if name == "PublicTest" else "private_test"
        metrics[f"{key}_accuracy"] = float(np.mean(predicted == labels))
        metrics[f"{key}_valence_sign_accuracy"] = valence_sign_accuracy(labels, predicted, valence)
        metrics[f"{key}_images"] = int(len(labels))
    metrics["train_images"] = int(len(train_labels))
    metrics["train_seconds"] = clock.seconds()

    artifact_config = {"version": VERSION, "kind": "face_encoder", "model": net.config.to_dict(),
                       "classes": list(FER_CLASSES)}
    write_artifact(out, artifact_config, net.state_dict())
    write_card(out, face_card(data, config, metrics, history, net))
    LiteVisualEncoder.load(out)  # the written folder must load through the public wrapper
    log.info("face encoder metrics: %s", metrics)
    return metrics


def face_card(data: Path, config: FaceRecipeConfig, metrics: dict, history: list, net: FaceExpressionNet) -> dict:
    """Build the model card of a trained face encoder."""
    limit = f" --limit {config.limit}" if config.limit else ""
    return {
        "name": "Lite facial-expression encoder (FER2013)",
        "summary": "Compact CNN over 48x48 greyscale face crops. Its 128-d penultimate activations are the "
                   "visual features of the lite preset. Research and non-commercial use only.",
        "trained_modalities": ["visual"],
        "data": {
            "corpus": "FER2013 (ICML 2013 challenge), 35,887 greyscale 48x48 faces, 7 expression classes",
            "file": data.name,
            "splits": "train on Training, select the epoch on PublicTest, report PrivateTest",
        },
        "licence": "FER2013 carries no licence (web images collected for a research challenge): research use "
                   "only. The weights are for research and non-commercial use only.",
        "preprocessing": "pixels / 255, then (x - 0.5) / 0.25; training augmentation: horizontal flip, rotation "
                         f"up to {config.max_rotation_deg} degrees, scale +-{config.max_scale}, shift up to "
                         f"{config.max_shift} of the crop size",
        "architecture": {"stem": f"5x5 stride-2 conv to {net.config.stem_channels} channels",
                         "stages (channels, convs)": [list(s) for s in net.config.stages],
                         "embedding_dim": net.config.embedding_dim,
                         "parameters": sum(p.numel() for p in net.parameters())},
        "training": {"epochs": config.epochs, "batch_size": config.batch_size, "optimizer": "AdamW",
                     "schedule": "OneCycle", "max_lr": config.max_lr, "weight_decay": config.weight_decay,
                     "label_smoothing": config.label_smoothing, "seed": config.seed, "machine": machine_note()},
        "valence_mapping": dict(FER_VALENCE),
        "valence_sign_accuracy": "share of images whose predicted class has the same valence sign (-, 0, +) "
                                 "as the labelled class under the mapping above",
        "metrics": metrics,
        "history": history,
        "command": f"semi-iin recipe face-encoder --data {data.name} --out OUT --seed {config.seed} "
                   f"--epochs {config.epochs}{limit}",
    }
