"""The lite facial-expression encoder: a compact CNN over 48x48 greyscale face crops.

It is trained on FER2013's seven expression classes by
``semi-iin recipe face-encoder`` and its 128-d penultimate activations are
the ``lite`` preset's visual features, one row per face crop.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from core_model.errors import ConfigError, DataError
from core_model.features.base import check_features
from core_model.recipes.artifacts import MODELS_DIR, load_network

log = logging.getLogger(__name__)

DEFAULT_FOLDER = MODELS_DIR / "face_encoder"
REBUILD_COMMAND = (
    "semi-iin recipe face-encoder --data /path/to/fer2013_48x48.npz --out resources/models/face_encoder"
)
FER_CLASSES: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
CROP_SIZE = 48


@dataclass(frozen=True)
class FaceNetConfig:
    """Architecture of the face encoder.

    A 5x5 stride-2 stem takes the 48x48 crop to 24x24, then ``stages`` lists
    (channels, 3x3 conv layers) per resolution, with 2x2 max pooling between
    stages (24, 12, 6 pixels).
    """

    stem_channels: int = 32
    stages: tuple[tuple[int, int], ...] = ((48, 1), (96, 1), (160, 2))
    embedding_dim: int = 128
    num_classes: int = len(FER_CLASSES)
    dropout: float = 0.3
    pixel_mean: float = 0.5  # applied to pixels scaled to [0, 1]
    pixel_std: float = 0.25

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "FaceNetConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown face encoder config keys {unknown}; expected a subset of {sorted(known)}")
        values = dict(values)
        if "stages" in values:
            values["stages"] = tuple((int(c), int(n)) for c, n in values["stages"])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["stages"] = [list(stage) for stage in self.stages]
        return values


class FaceExpressionNet(nn.Module):
    """VGG-like CNN: a strided stem, conv-BN-ReLU stages, global average pooling and a 128-d embedding."""

    def __init__(self, config: FaceNetConfig) -> None:
        super().__init__()
        self.config = config
        layers: list[nn.Module] = [
            nn.Conv2d(1, config.stem_channels, 5, stride=2, padding=2, bias=False),  # (B, C, 24, 24)
            nn.BatchNorm2d(config.stem_channels),
            nn.ReLU(inplace=True),
        ]
        in_channels = config.stem_channels
        for index, (channels, convs) in enumerate(config.stages):
            if index > 0:
                layers.append(nn.MaxPool2d(2))
            for _ in range(convs):
                layers += [
                    nn.Conv2d(in_channels, channels, 3, padding=1, bias=False),
                    nn.BatchNorm2d(channels),
                    nn.ReLU(inplace=True),
                ]
                in_channels = channels
        self.features = nn.Sequential(*layers)
        self.embed = nn.Sequential(nn.Linear(in_channels, config.embedding_dim), nn.ReLU(inplace=True))
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(config.embedding_dim, config.num_classes)

    def normalize(self, crops: torch.Tensor) -> torch.Tensor:
        """Turn uint8 ``(B, 48, 48)`` crops into normalized float ``(B, 1, 48, 48)``."""
        pixels = crops.float().div(255.0).unsqueeze(1)
        return (pixels - self.config.pixel_mean) / self.config.pixel_std

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (logits (B, C), embeddings (B, E)) for normalized images (B, 1, 48, 48)."""
        maps = self.features(images)  # (B, channels, h, w)
        pooled = maps.mean(dim=(2, 3))  # (B, channels)
        embedding = self.embed(pooled)  # (B, E)
        return self.classifier(self.dropout(embedding)), embedding


class LiteVisualEncoder:
    """Per-crop 128-d expression embeddings for the ``lite`` preset."""

    modality = "visual"
    frame_rate = None

    def __init__(self, net: FaceExpressionNet, identifier: str) -> None:
        self.net = net.eval()
        self._identifier = identifier

    @classmethod
    def load(cls, path: str | Path | None = None) -> "LiteVisualEncoder":
        """Load the encoder from an artifact folder (default: the bundled ``resources/models/face_encoder``)."""
        net, config_dict = load_network(path, DEFAULT_FOLDER, FaceNetConfig, FaceExpressionNet, REBUILD_COMMAND, "face encoder")
        config = net.config
        identifier = f"visual:lite-face-cnn@{config_dict.get('version', 'unversioned')}:embedding{config.embedding_dim}"
        return cls(net, identifier)

    @property
    def identifier(self) -> str:
        return self._identifier

    @property
    def dim(self) -> int:
        return self.net.config.embedding_dim

    def encode(self, crops: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Return float32 ``(M, dim)`` embeddings for ``(M, 48, 48)`` uint8 greyscale crops."""
        crops = np.asarray(crops)
        if crops.ndim != 3 or crops.shape[1:] != (CROP_SIZE, CROP_SIZE):
            raise DataError(
                f"face crops have shape {crops.shape}, expected (M, {CROP_SIZE}, {CROP_SIZE}) greyscale; "
                "resize each crop to 48x48 first"
            )
        if crops.dtype != np.uint8:
            raise DataError(f"face crops have dtype {crops.dtype}, expected uint8 pixels in 0..255")
        outputs = [np.zeros((0, self.dim), dtype=np.float32)]
        with torch.inference_mode():
            for start in range(0, len(crops), batch_size):
                chunk = torch.from_numpy(np.ascontiguousarray(crops[start : start + batch_size]))
                _, embedding = self.net(self.net.normalize(chunk))
                outputs.append(embedding.numpy())
        return check_features(np.concatenate(outputs), dim=self.dim, rows=len(crops), source="lite face encoder")

    def predict_proba(self, crops: np.ndarray) -> np.ndarray:
        """Return ``(M, 7)`` FER2013 class probabilities in ``FER_CLASSES`` order."""
        crops = np.ascontiguousarray(np.asarray(crops, dtype=np.uint8))
        with torch.inference_mode():
            logits, _ = self.net(self.net.normalize(torch.from_numpy(crops)))
        return torch.softmax(logits, dim=1).numpy()
