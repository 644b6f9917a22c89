"""Recipe: train the default Semi-IIN model of the ``lite`` preset.

The labeled set mixes three single-modality corpora: MOSI transcripts (text
only, standard folds), RAVDESS clips (audio only, split by actor) and FER2013
faces (visual only, each a short still sequence of shifted copies). Emotion
labels become sentiment intensities through ``core_model.recipes.valence``.
Rare emotion classes are repeated to balance the classes. Self-training then
pseudo-labels a pool of FER2013 training faces that the supervised stage
did not see, and the card reports the test metrics before and after.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from core_model.data.batch import ClipFeatures
from core_model.errors import DataError
from core_model.features.lite_audio import LiteAudioEncoder
from core_model.features.lite_visual import LiteVisualEncoder
from core_model.recipes.artifacts import MODELS_DIR
from core_model.recipes.common import Stopwatch, limit_threads, machine_note, write_card
from core_model.recipes.default_data import (
    FER_SPLITS, balanced_indices, fer_samples, load_fer_arrays, mosi_samples, ravdess_samples,
)
from core_model.recipes.ravdess import list_clips
from core_model.recipes.valence import FER_VALENCE, RAVDESS_INTENSITY_SCALE, RAVDESS_VALENCE

log = logging.getLogger(__name__)

PRESET = "lite"
MODALITY_DIMS = {"audio": 128, "text": 384, "visual": 128}
# Input capacity per modality: 60 s of audio frames at 25 Hz, 200 words and
# 60 s of face frames at 5 per second. Positions are sinusoidal only, so
# clips longer than the training clips get positions the model has seen the
# pattern of, not untrained rows of a learned table.
CAPACITY = {"audio": 1500, "text": 200, "visual": 300}


@dataclass(frozen=True)
class DefaultRecipeConfig:
    """Settings of one default-model training run."""

    seed: int = 0
    epochs: int = 8
    retrain_epochs: int = 3
    lr: float = 5e-4
    batch_size: int = 32
    limit: int | None = None  # max items per corpus split, for quick runs
    threads: int = 2
    self_training: bool = True
    k: int = 40  # pseudo-labels kept per class
    hidden: int = 64  # half the paper's 128, so that training fits a small CPU
    ff: int = 256
    fer_per_class: int = 150  # training faces per class (rare classes repeated)
    fer_valid_per_class: int = 40
    fer_unlabeled: int = 700  # pool of training faces for self-training
    fer_frames: int = 3  # frames of each still sequence
    fer_max_shift: int = 2  # pixels
    cache_dir: Path | None = None


def build_samples(mosi: Path, ravdess: Path, fer: Path, audio: LiteAudioEncoder, visual: LiteVisualEncoder,
                  config: DefaultRecipeConfig, progress: bool) -> dict[str, list[ClipFeatures]]:
    """Return ``{"train", "valid", "test", "unlabeled"}`` feature samples from the three corpora."""
    from core_model.features.text_minilm import shared_minilm

    rng = np.random.default_rng(config.seed)
    text = mosi_samples(mosi, shared_minilm(), config.limit, progress)

    clips = list_clips(ravdess)
    if config.limit is not None:
        clips = [c for split in ("train", "valid", "test") for c in [c for c in clips if c.split == split][: config.limit]]
    speech = ravdess_samples(clips, audio, config.cache_dir, progress)
    # Neutral has half as many RAVDESS clips as each other emotion, so its training clips count twice.
    speech_train = [s for s in speech if s.split == "train"]
    speech_train += [s for s in speech_train if s.meta["emotion"] == 0]

    images, labels, usage = load_fer_arrays(fer)
    per_class = config.fer_per_class if config.limit is None else max(1, config.limit // 7)
    valid_per_class = config.fer_valid_per_class if config.limit is None else max(1, config.limit // 7)
    train_pool = np.flatnonzero(usage == "Training")
    train_index = balanced_indices(labels, train_pool, per_class, rng)
    valid_index = balanced_indices(labels, np.flatnonzero(usage == "PublicTest"), valid_per_class, rng)
    test_index = np.flatnonzero(usage == "PrivateTest")
    if config.limit is not None:
        test_index = test_index[: config.limit]
    unused = np.setdiff1d(train_pool, train_index)
    unlabeled_size = config.fer_unlabeled if config.limit is None else config.limit
    unlabeled_index = np.sort(rng.choice(unused, size=min(unlabeled_size, len(unused)), replace=False))

    def faces(index: np.ndarray, split: str, with_labels: bool = True) -> list[ClipFeatures]:
        names = [f"fer:{split}:{i}" for i in index]
        return fer_samples(images[index], labels[index], names, split, visual, config.fer_frames,
                           config.fer_max_shift, rng, with_labels)

    samples = {
        "train": [s for s in text if s.split == "train"] + speech_train + faces(train_index, "train"),
        "valid": ([s for s in text if s.split == "valid"] + [s for s in speech if s.split == "valid"]
                  + faces(valid_index, "valid")),
        "test_mosi": [s for s in text if s.split == "test"],
        "test_ravdess": [s for s in speech if s.split == "test"],
        "test_fer": faces(test_index, "test"),
        "unlabeled": faces(unlabeled_index, "unlabeled", with_labels=False),
    }
    # Repeated clips need unique names, because predictions and pseudo-labels are keyed by name.
    samples["train"] = _unique_names(samples["train"])
    log.info("default model samples: %s", {k: len(v) for k, v in samples.items()})
    return samples


def _unique_names(samples: list[ClipFeatures]) -> list[ClipFeatures]:
    seen: dict[str, int] = {}
    unique = []
    for sample in samples:
        count = seen.get(sample.name, 0)
        seen[sample.name] = count + 1
        unique.append(sample if count == 0 else replace(sample, name=f"{sample.name}#{count}"))
    return unique


def sign_accuracy(predictions: np.ndarray, labels: np.ndarray) -> float:
    """Return the share of clips with a non-zero label whose prediction has the same sign."""
    keep = labels != 0
    if not keep.any():
        return float("nan")
    return float(np.mean(np.sign(predictions[keep]) == np.sign(labels[keep])))


def held_out_metrics(model, samples: dict[str, list[ClipFeatures]]) -> dict:
    """Return MOSI text-only regression metrics and the valence-sign accuracy on RAVDESS and FER2013 test sets."""
    from core_model.training.metrics import regression_metrics
    from core_model.training.trainer import predict

    result: dict = {}
    mosi = predict(model, samples["test_mosi"], MODALITY_DIMS)
    result["mosi_test_text_only"] = {k: round(v, 4) for k, v in regression_metrics(
        mosi.intensity, mosi.labels, class_predictions=mosi.classes).items()}
    result["mosi_test_clips"] = len(mosi.labels)
    for key in ("test_ravdess", "test_fer"):
        if not samples[key]:
            continue
        predicted = predict(model, samples[key], MODALITY_DIMS)
        corpus = key.split("_")[1]
        result[f"{corpus}_test_valence_sign_accuracy"] = round(sign_accuracy(predicted.intensity, predicted.labels), 4)
        result[f"{corpus}_test_mae"] = round(float(np.mean(np.abs(predicted.intensity - predicted.labels))), 4)
        result[f"{corpus}_test_items"] = len(predicted.labels)
    return result


def train_default_model(mosi: Path, ravdess: Path, fer: Path, encoders: Path | None, out: Path,
                        config: DefaultRecipeConfig, progress: bool = True) -> dict:
    """Train the default lite model, save it with ``save_checkpoint`` and its card into ``out``; return the metrics."""
    from core_model.model import SemiIIN, SemiIINConfig
    from core_model.training.checkpoint import save_checkpoint
    from core_model.training.config import TrainConfig
    from core_model.training.self_training import self_train
    from core_model.training.trainer import Trainer

    limit_threads(config.threads)
    clock = Stopwatch()
    encoders = encoders if encoders is not None else MODELS_DIR
    audio = LiteAudioEncoder.load(encoders / "speech_encoder")
    visual = LiteVisualEncoder.load(encoders / "face_encoder")
    samples = build_samples(mosi, ravdess, fer, audio, visual, config, progress)
    if not samples["test_mosi"]:
        raise DataError(f"{mosi} has no test-fold clips, so the text metrics cannot be measured")
    features_seconds = clock.seconds()

    model_config = SemiIINConfig.for_dims(MODALITY_DIMS, fixed_lengths=dict(CAPACITY), learned_positions=False,
                                          hidden=config.hidden, ff=config.ff,
                                          head_layers=(config.hidden, config.hidden // 2))
    train_config = TrainConfig(lr=config.lr, epochs=config.epochs, batch_size=config.batch_size, seed=config.seed,
                               device="cpu", bf16=False, num_threads=config.threads, select_metric="mae")
    torch.manual_seed(config.seed)
    model = SemiIIN(model_config)
    supervised = Trainer(model, train_config, MODALITY_DIMS, phase="supervised").fit(samples["train"], samples["valid"])
    metrics = {"supervised": held_out_metrics(model, samples), "supervised_best_epoch": supervised.best_epoch}
    pseudo_labels: list = []
    final, final_epoch = model, supervised.best_epoch
    if config.self_training and samples["unlabeled"]:
        retrain = replace(train_config, epochs=config.retrain_epochs)
        result = self_train(model, samples["train"], samples["valid"], samples["unlabeled"], MODALITY_DIMS,
                            k=config.k, config=train_config, retrain_config=retrain, train_teacher=False)
        metrics["self_trained"] = held_out_metrics(result.model, samples)
        metrics["self_trained_best_epoch"] = result.retrained.best_epoch
        pseudo_labels = [r.to_dict() for r in result.pseudo_labels]
        # Keep phi' only when it is no worse on the validation MAE than phi, as the trainer selects epochs.
        if result.retrained.best_metrics["mae"] <= supervised.best_metrics["mae"]:
            final, final_epoch = result.model, result.retrained.best_epoch
        metrics["kept"] = "self_trained" if final is result.model else "supervised"
    else:
        metrics["kept"] = "supervised"
    metrics["final"] = metrics[metrics["kept"]]
    metrics["features_seconds"] = features_seconds
    metrics["train_seconds"] = round(clock.seconds() - features_seconds, 1)

    info = {
        "preset": PRESET,
        "dims": MODALITY_DIMS,
        "modalities": ["audio", "text", "visual"],
        "metrics": metrics["final"],
        "seed": config.seed,
        "train_config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()},
        "pseudo_labels": pseudo_labels,
        "best_epoch": final_epoch,
        "notes": f"encoders: {audio.identifier}, {visual.identifier}",
    }
    save_checkpoint(out, final, info)
    write_card(out, default_card(mosi, ravdess, fer, config, metrics, audio, visual, final))
    log.info("default model metrics: %s", metrics)
    return metrics


def default_card(mosi: Path, ravdess: Path, fer: Path, config: DefaultRecipeConfig, metrics: dict,
                 audio: LiteAudioEncoder, visual: LiteVisualEncoder, model) -> dict:
    """Build the model card of the default lite model."""
    limit = f" --limit {config.limit}" if config.limit else ""
    self_training = "" if config.self_training else " --no-self-training"
    return {
        "name": "Semi-IIN default model (lite preset)",
        "summary": "Semi-IIN trained on MOSI transcripts, RAVDESS speech and FER2013 faces, one modality per "
                   "training sample. For research and non-commercial use only.",
        "trained_modalities": ["text (MOSI)", "audio (RAVDESS)", "visual (FER2013)"],
        "data": {
            "text": "CMU-MOSI transcripts, 2,199 clips, standard folds (train 1,284 / valid 229 / test 686); "
                    "text present, audio and visual absent",
            "audio": "RAVDESS speech, actors 1-18 train, 19-20 valid, 21-24 test; audio only",
            "visual": f"FER2013: {config.fer_per_class} Training faces per class (rare classes repeated), "
                      f"{config.fer_valid_per_class} PublicTest faces per class for validation, all PrivateTest "
                      f"faces for test; each face is a still sequence of {config.fer_frames} frames shifted by up "
                      f"to {config.fer_max_shift} px and randomly mirrored; visual only",
        },
        "licence": "Research and non-commercial use only: RAVDESS is CC BY-NC-SA 4.0, FER2013 and CMU-MOSI are "
                   "distributed for research use.",
        "preprocessing": {"text": "MiniLM-L6 word vectors (384-d), sub-words averaged into words",
                          "audio": audio.identifier, "visual": visual.identifier},
        "valence_mapping": {"ravdess": dict(RAVDESS_VALENCE), "ravdess_intensity_scale": dict(RAVDESS_INTENSITY_SCALE),
                            "fer2013": dict(FER_VALENCE),
                            "note": "a design choice, not a measurement: acted emotions are not sentiment"},
        "class_balance": "RAVDESS neutral clips count twice and FER2013 classes are sampled to equal counts "
                         "(disgust repeated), in place of class weights in the loss",
        "model": {"config": f"SemiIINConfig.for_dims(audio 128, text 384, visual 128), hidden {config.hidden}, "
                            f"feed-forward {config.ff}, sinusoidal positions only",
                  "parameters": sum(p.numel() for p in model.parameters())},
        "self_training": f"k={config.k} pseudo-labels per class from {config.fer_unlabeled} unseen FER2013 training "
                         f"faces, retrained {config.retrain_epochs} epochs from the supervised model; the version "
                         "with the lower validation MAE is kept",
        "metrics": metrics,
        "metric_notes": "MOSI metrics use the text only. valence_sign_accuracy counts the items with a non-zero "
                        "mapped label whose predicted intensity has the same sign.",
        "training": {"epochs": config.epochs, "lr": config.lr, "batch_size": config.batch_size, "seed": config.seed,
                     "machine": machine_note()},
        "command": f"semi-iin recipe default-model --mosi {mosi.name} --ravdess {ravdess.name} --fer {fer.name} "
                   f"--out OUT --seed {config.seed} --epochs {config.epochs}{limit}{self_training}",
    }
