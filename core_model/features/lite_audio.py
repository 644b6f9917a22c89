"""The lite speech-emotion encoder: a small 1-D CNN over Whisper log-mel frames.

The front end is ``transformers.WhisperFeatureExtractor`` (80 log-mel bands,
25 ms window, 10 ms hop, so 100 frames per second). Two stride-2 conv layers
bring that to 25 frames per second, and the 128-d output of the last conv
block is the ``lite`` preset's audio feature, one row per 40 ms. The network
is trained on RAVDESS's eight emotion classes by
``semi-iin recipe speech-encoder``.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from core_model.errors import ConfigError, DataError
from core_model.features.base import AUDIO_SAMPLE_RATE, check_features
from core_model.recipes.artifacts import MODELS_DIR, load_network

log = logging.getLogger(__name__)

DEFAULT_FOLDER = MODELS_DIR / "speech_encoder"
REBUILD_COMMAND = (
    "semi-iin recipe speech-encoder --data /path/to/ravdess_speech_16k --out resources/models/speech_encoder"
)
MEL_FRAME_RATE = 100.0  # Whisper log-mel frames per second at a 160-sample hop
CHUNK_SAMPLES = 30 * AUDIO_SAMPLE_RATE  # Whisper's feature extractor truncates its input at 30 s
MIN_SAMPLES = AUDIO_SAMPLE_RATE // 10  # shorter input is zero-padded to 0.1 s


@dataclass(frozen=True)
class SpeechNetConfig:
    """Architecture of the speech encoder; ``blocks`` is (channels, kernel, stride) per conv layer."""

    n_mels: int = 80
    blocks: tuple[tuple[int, int, int], ...] = ((128, 5, 2), (128, 5, 2), (128, 3, 1))
    num_classes: int = 8
    dropout: float = 0.3

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "SpeechNetConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown speech encoder config keys {unknown}; expected a subset of {sorted(known)}")
        values = dict(values)
        if "blocks" in values:
            values["blocks"] = tuple(tuple(int(v) for v in block) for block in values["blocks"])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["blocks"] = [list(block) for block in self.blocks]
        return values

    @property
    def embedding_dim(self) -> int:
        return self.blocks[-1][0]

    @property
    def hop(self) -> int:
        """Mel frames per output frame."""
        return int(np.prod([stride for _, _, stride in self.blocks]))


class SpeechEmotionNet(nn.Module):
    """Conv1d-BN-ReLU blocks over log-mel frames, then mean and max pooling over valid frames and a linear classifier."""

    def __init__(self, config: SpeechNetConfig) -> None:
        super().__init__()
        self.config = config
        layers: list[nn.Module] = []
        in_channels = config.n_mels
        for channels, kernel, stride in config.blocks:
            layers += [
                nn.Conv1d(in_channels, channels, kernel, stride=stride, padding=kernel // 2, bias=False),
                nn.BatchNorm1d(channels),
                nn.ReLU(inplace=True),
            ]
            in_channels = channels
        self.frames = nn.Sequential(*layers)
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(2 * in_channels, config.num_classes)

    def output_lengths(self, mel_lengths: torch.Tensor) -> torch.Tensor:
        """Return the number of output frames for each input length in mel frames."""
        lengths = mel_lengths
        for _, kernel, stride in self.config.blocks:
            lengths = (lengths + 2 * (kernel // 2) - kernel) // stride + 1
        return lengths

    def embed(self, mels: torch.Tensor) -> torch.Tensor:
        """Return frame embeddings (B, L, E) for log-mel input (B, n_mels, Lmel)."""
        return self.frames(mels).transpose(1, 2)  # (B, E, L) -> (B, L, E)

    def forward(self, mels: torch.Tensor, mel_lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (logits (B, C), frame embeddings (B, L, E)); padded frames are left out of the pooling."""
        frames = self.embed(mels)  # (B, L, E)
        lengths = self.output_lengths(mel_lengths).clamp(min=1, max=frames.shape[1])
        valid = torch.arange(frames.shape[1])[None, :] < lengths[:, None]  # (B, L)
        mean = (frames * valid[..., None]).sum(1) / lengths[:, None]  # (B, E)
        peak = frames.masked_fill(~valid[..., None], float("-inf")).amax(1)  # (B, E)
        return self.classifier(self.dropout(torch.cat([mean, peak], dim=1))), frames


@lru_cache(maxsize=1)
def whisper_front_end():
    """Return the Whisper log-mel feature extractor (80 bands at 16 kHz); it needs no downloaded weights."""
    from transformers import WhisperFeatureExtractor

    return WhisperFeatureExtractor(feature_size=80, sampling_rate=AUDIO_SAMPLE_RATE)


def log_mel(audio_16k: np.ndarray) -> np.ndarray:
    """Return Whisper log-mel frames ``(80, Lmel)`` float32 for mono 16 kHz samples, at 100 frames per second.

    Audio longer than 30 s is processed in 30 s chunks because the extractor
    truncates there; each chunk is normalized on its own, as Whisper does.
    """
    audio = np.asarray(audio_16k, dtype=np.float32)
    if audio.ndim != 1:
        raise DataError(f"audio has shape {audio.shape}, expected mono samples (S,) at 16 kHz")
    if audio.size == 0:
        raise DataError("audio is empty; treat the clip's audio modality as missing")
    if not np.all(np.isfinite(audio)):
        raise DataError("audio contains NaN or Inf samples; decode the file again")
    if audio.size < MIN_SAMPLES:
        audio = np.pad(audio, (0, MIN_SAMPLES - audio.size))
    extractor = whisper_front_end()
    chunks = []
    for start in range(0, audio.size, CHUNK_SAMPLES):
        piece = audio[start : start + CHUNK_SAMPLES]
        if piece.size < MIN_SAMPLES:  # a tail too short for its own chunk is dropped
            break
        features = extractor(piece, sampling_rate=AUDIO_SAMPLE_RATE, padding="longest", return_tensors="np")
        chunks.append(features["input_features"][0])
    return np.concatenate(chunks, axis=1).astype(np.float32)


class LiteAudioEncoder:
    """Frame-level 128-d speech-emotion embeddings at 25 Hz for the ``lite`` preset."""

    modality = "audio"

    def __init__(self, net: SpeechEmotionNet, identifier: str) -> None:
        self.net = net.eval()
        self._identifier = identifier

    @classmethod
    def load(cls, path: str | Path | None = None) -> "LiteAudioEncoder":
        """Load the encoder from an artifact folder (default: the bundled ``resources/models/speech_encoder``)."""
        net, config_dict = load_network(path, DEFAULT_FOLDER, SpeechNetConfig, SpeechEmotionNet, REBUILD_COMMAND, "speech encoder")
        config = net.config
        identifier = f"audio:lite-speech-cnn@{config_dict.get('version', 'unversioned')}:whisper-logmel80:embedding{config.embedding_dim}"
        return cls(net, identifier)

    @property
    def identifier(self) -> str:
        return self._identifier

    @property
    def dim(self) -> int:
        return self.net.config.embedding_dim

    @property
    def frame_rate(self) -> float:
        return MEL_FRAME_RATE / self.net.config.hop

    def encode(self, audio_16k: np.ndarray) -> np.ndarray:
        """Return float32 ``(L, dim)`` frame embeddings for mono float32 samples at 16 kHz."""
        return self.encode_log_mel(log_mel(audio_16k))

    def encode_log_mel(self, mel: np.ndarray) -> np.ndarray:
        """Return float32 ``(L, dim)`` frame embeddings for log-mel frames ``(80, Lmel)`` from :func:`log_mel`."""
        if mel.ndim != 2 or mel.shape[0] != self.net.config.n_mels:
            raise DataError(f"log-mel input has shape {mel.shape}, expected ({self.net.config.n_mels}, frames)")
        with torch.inference_mode():
            frames = self.net.embed(torch.from_numpy(mel)[None])[0]  # (L, E)
        return check_features(frames.numpy(), dim=self.dim, rows=None, source="lite speech encoder")

    def predict_proba(self, audio_16k: np.ndarray) -> np.ndarray:
        """Return the eight RAVDESS emotion probabilities for one clip."""
        mel = torch.from_numpy(log_mel(audio_16k))[None]
        with torch.inference_mode():
            logits, _ = self.net(mel, torch.tensor([mel.shape[2]]))
        return torch.softmax(logits, dim=1)[0].numpy()
