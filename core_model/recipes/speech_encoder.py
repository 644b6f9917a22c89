"""Recipe: train the lite speech-emotion encoder on RAVDESS, split by actor.

Actors 1-18 train, actors 19-20 select the epoch and actors 21-24 are
reported once at the end. Inputs are Whisper log-mel frames of whole clips.
Training adds random crops and SpecAugment-style time and frequency masks.
The loss uses class weights, because neutral has half as many clips as each
other emotion.
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
from core_model.features.lite_audio import LiteAudioEncoder, SpeechEmotionNet, SpeechNetConfig
from core_model.recipes.artifacts import write_artifact
from core_model.recipes.common import Stopwatch, limit_threads, machine_note, seed_everything, write_card
from core_model.recipes.ravdess import ACTOR_SPLITS, RavdessClip, cached_log_mels, list_clips
from core_model.recipes.valence import (
    RAVDESS_CLASSES, RAVDESS_INTENSITY_SCALE, RAVDESS_VALENCE, class_valence, valence_sign_accuracy,
)

log = logging.getLogger(__name__)

VERSION = "1.0"


@dataclass(frozen=True)
class SpeechRecipeConfig:
    """Settings of one speech-encoder training run."""

    seed: int = 0
    epochs: int = 60
    batch_size: int = 32
    max_lr: float = 2e-3
    weight_decay: float = 1e-2
    label_smoothing: float = 0.05
    limit: int | None = None  # max clips per split, for quick runs
    threads: int = 2
    cache_dir: Path | None = None  # folder for the log-mel cache shared with the default-model recipe
    min_crop: float = 0.8  # shortest random crop, as a share of the clip
    time_masks: int = 2
    max_time_mask: int = 20  # mel frames
    freq_masks: int = 2
    max_freq_mask: int = 10  # mel bands


def load_split_mels(
    folder: Path, limit: int | None, seed: int, progress: bool, cache_dir: Path | None = None
) -> dict[str, list[tuple[RavdessClip, np.ndarray]]]:
    """Return ``{split: [(clip, log-mel (80, Lmel))]}`` for the train, valid and test actors."""
    clips = list_clips(folder)
    rng = np.random.default_rng(seed)
    splits: dict[str, list[tuple[RavdessClip, np.ndarray]]] = {}
    for split in ACTOR_SPLITS:
        chosen = [clip for clip in clips if clip.split == split]
        if limit is not None and limit < len(chosen):
            chosen = [chosen[i] for i in sorted(rng.choice(len(chosen), size=limit, replace=False))]
        if not chosen:
            raise DataError(f"{folder} has no clips of the {split} actors {ACTOR_SPLITS[split]}")
        mels = cached_log_mels(chosen, cache_dir, progress)
        splits[split] = [(clip, mels[clip.path.stem]) for clip in chosen]
    return splits


def make_batch(
    mels: list[np.ndarray], config: SpeechRecipeConfig | None, generator: torch.Generator | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad log-mels into ``(B, 80, Lmax)`` with lengths ``(B,)``; augment them when ``config`` is given."""
    pieces = []
    for mel in mels:
        piece = torch.from_numpy(mel)
        if config is not None:
            length = piece.shape[1]
            crop = max(1, int(length * (config.min_crop + (1 - config.min_crop) * float(torch.rand(1, generator=generator)))))
            start = int(torch.randint(0, length - crop + 1, (1,), generator=generator))
            piece = piece[:, start : start + crop].clone()
            for _ in range(config.time_masks):
                width = int(torch.randint(0, config.max_time_mask + 1, (1,), generator=generator))
                begin = int(torch.randint(0, max(1, crop - width), (1,), generator=generator))
                piece[:, begin : begin + width] = piece.min()
            for _ in range(config.freq_masks):
                width = int(torch.randint(0, config.max_freq_mask + 1, (1,), generator=generator))
                begin = int(torch.randint(0, piece.shape[0] - width + 1, (1,), generator=generator))
                piece[begin : begin + width] = piece.min()
        pieces.append(piece)
    lengths = torch.tensor([p.shape[1] for p in pieces])
    batch = torch.full((len(pieces), pieces[0].shape[0], int(lengths.max())), -1.5)  # (B, 80, Lmax)
    for row, piece in enumerate(pieces):
        batch[row, :, : piece.shape[1]] = piece
    return batch, lengths


def predict(net: SpeechEmotionNet, items: list[tuple[RavdessClip, np.ndarray]], batch_size: int = 64) -> np.ndarray:
    """Return the predicted emotion index of each clip."""
    net.eval()
    predictions = []
    with torch.inference_mode():
        for start in range(0, len(items), batch_size):
            mels, lengths = make_batch([mel for _, mel in items[start : start + batch_size]], None, None)
            logits, _ = net(mels, lengths)
            predictions.append(logits.argmax(1).numpy())
    return np.concatenate(predictions)


def train_speech_encoder(data: Path, out: Path, config: SpeechRecipeConfig, progress: bool = True) -> dict:
    """Train on RAVDESS at ``data``, write the artifact and its card into ``out``, return the metrics."""
    limit_threads(config.threads)
    generator = seed_everything(config.seed)
    clock = Stopwatch()
    splits = load_split_mels(data, config.limit, config.seed, progress, config.cache_dir)
    train = splits["train"]
    log.info("RAVDESS clips: %s, log-mel in %.0f s", {k: len(v) for k, v in splits.items()}, clock.seconds())

    labels = torch.tensor([clip.emotion for clip, _ in train])
    counts = torch.bincount(labels, minlength=len(RAVDESS_CLASSES)).float()
    class_weights = counts.sum() / (len(RAVDESS_CLASSES) * counts.clamp(min=1))

    net = SpeechEmotionNet(SpeechNetConfig())
    optimizer = torch.optim.AdamW(net.parameters(), lr=config.max_lr / 10, weight_decay=config.weight_decay)
    steps_per_epoch = math.ceil(len(train) / config.batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.max_lr, epochs=config.epochs, steps_per_epoch=steps_per_epoch
    )
    valid_labels = np.array([clip.emotion for clip, _ in splits["valid"]])
    best_accuracy, best_state, best_epoch, history = -1.0, None, 0, []

    bar = tqdm(range(1, config.epochs + 1), desc="speech epochs", disable=not progress)
    for epoch in bar:
        net.train()
        order = torch.randperm(len(train), generator=generator)
        total_loss = 0.0
        for step in range(steps_per_epoch):
            index = order[step * config.batch_size : (step + 1) * config.batch_size]
            mels, lengths = make_batch([train[i][1] for i in index], config, generator)
            logits, _ = net(mels, lengths)
            loss = F.cross_entropy(logits, labels[index], weight=class_weights, label_smoothing=config.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total_loss += float(loss.detach()) * len(index)
        accuracy = float(np.mean(predict(net, splits["valid"]) == valid_labels))
        history.append({"epoch": epoch, "train_loss": round(total_loss / len(train), 4), "valid_accuracy": accuracy})
        bar.set_postfix(loss=f"{total_loss / len(train):.3f}", valid=f"{accuracy:.3f}")
        log.debug("epoch %d: train loss %.4f, valid accuracy %.4f", epoch, total_loss / len(train), accuracy)
        if accuracy >= best_accuracy:  # ties go to the later, better-trained epoch
            best_accuracy, best_epoch = accuracy, epoch
            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}

    net.load_state_dict(best_state)
    valence = class_valence(RAVDESS_CLASSES, RAVDESS_VALENCE)
    metrics: dict = {"selected_epoch": best_epoch}
    for split in ("valid", "test"):
        truth = np.array([clip.emotion for clip, _ in splits[split]])
        predicted = predict(net, splits[split])
        metrics[f"{split}_accuracy"] = float(np.mean(predicted == truth))
        metrics[f"{split}_valence_sign_accuracy"] = valence_sign_accuracy(truth, predicted, valence)
        metrics[f"{split}_clips"] = len(truth)
    metrics["train_clips"] = len(train)
    metrics["train_seconds"] = clock.seconds()

    artifact_config = {"version": VERSION, "kind": "speech_encoder", "model": net.config.to_dict(),
                       "classes": list(RAVDESS_CLASSES), "front_end": "transformers.WhisperFeatureExtractor(80)"}
    write_artifact(out, artifact_config, net.state_dict())
    write_card(out, speech_card(data, config, metrics, history, net))
    LiteAudioEncoder.load(out)  # the written folder must load through the public wrapper
    log.info("speech encoder metrics: %s", metrics)
    return metrics


def speech_card(data: Path, config: SpeechRecipeConfig, metrics: dict, history: list, net: SpeechEmotionNet) -> dict:
    """Build the model card of a trained speech encoder."""
    limit = f" --limit {config.limit}" if config.limit else ""
    return {
        "name": "Lite speech-emotion encoder (RAVDESS)",
        "summary": "Small 1-D CNN over Whisper log-mel frames. Its 128-d frame embeddings at 25 Hz are the audio "
                   "features of the lite preset. Research and non-commercial use only.",
        "trained_modalities": ["audio"],
        "data": {
            "corpus": "RAVDESS speech (Livingstone and Russo 2018): 1,440 acted clips, 24 actors, 8 emotions, "
                      "16 kHz mono",
            "folder": data.name,
            "splits": {name: list(actors) for name, actors in ACTOR_SPLITS.items()},
        },
        "licence": "RAVDESS is CC BY-NC-SA 4.0, so these weights are for research and non-commercial use only "
                   "and derived works share that licence.",
        "preprocessing": "16 kHz mono; transformers WhisperFeatureExtractor log-mel (80 bands, 25 ms window, "
                         "10 ms hop, Whisper's log10 and dynamic-range normalization, 30 s chunks); training "
                         f"augmentation: random crops of {config.min_crop:.0%}-100% of a clip, {config.time_masks} "
                         f"time masks up to {config.max_time_mask} frames, {config.freq_masks} frequency masks up "
                         f"to {config.max_freq_mask} bands; class-weighted cross-entropy",
        "architecture": {"conv blocks (channels, kernel, stride)": [list(b) for b in net.config.blocks],
                         "embedding_dim": net.config.embedding_dim, "frame_rate_hz": 100.0 / net.config.hop,
                         "parameters": sum(p.numel() for p in net.parameters())},
        "training": {"epochs": config.epochs, "batch_size": config.batch_size, "optimizer": "AdamW",
                     "schedule": "OneCycle", "max_lr": config.max_lr, "weight_decay": config.weight_decay,
                     "label_smoothing": config.label_smoothing, "seed": config.seed, "machine": machine_note()},
        "valence_mapping": {"per_class": dict(RAVDESS_VALENCE), "intensity_scale": dict(RAVDESS_INTENSITY_SCALE)},
        "valence_sign_accuracy": "share of clips whose predicted emotion has the same valence sign (-, 0, +) as "
                                 "the labelled emotion under the mapping above",
        "metrics": metrics,
        "history": history,
        "command": f"semi-iin recipe speech-encoder --data {data.name} --out OUT --seed {config.seed} "
                   f"--epochs {config.epochs}{limit}",
    }
