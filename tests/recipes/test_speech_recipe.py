"""The speech-encoder recipe on ten RAVDESS clips, RAVDESS file names and the encoder it writes."""

import json
from pathlib import Path

import numpy as np
import pytest

from core_model.errors import DataError, ModelNotFoundError
from core_model.features.lite_audio import LiteAudioEncoder, log_mel
from core_model.recipes.ravdess import cached_log_mels, list_clips, parse_name, read_audio


def test_speech_recipe_writes_artifact(tiny_speech_encoder):
    out, metrics = tiny_speech_encoder
    for name in ("model.safetensors", "config.json", "card.json", "card.md"):
        assert (out / name).is_file(), name
    assert metrics["train_clips"] == 6
    assert metrics["valid_clips"] == 2
    assert metrics["test_clips"] == 2
    card = json.loads((out / "card.json").read_text())
    assert card["trained_modalities"] == ["audio"]
    assert "CC BY-NC-SA 4.0" in card["licence"]
    assert card["valence_mapping"]["per_class"]["happy"] > 0


def test_speech_encoder_frames_at_25_hz(tiny_speech_encoder, recipe_data):
    encoder = LiteAudioEncoder.load(tiny_speech_encoder[0])
    audio = read_audio(next((recipe_data / "ravdess").rglob("*.flac")))
    features = encoder.encode(audio)
    assert encoder.frame_rate == 25.0
    expected_rows = len(audio) // 160 // 4
    assert abs(features.shape[0] - expected_rows) <= 1
    assert features.shape[1] == encoder.dim == 128
    assert features.dtype == np.float32
    assert np.isfinite(features).all()
    assert encoder.identifier.startswith("audio:lite-speech-cnn@")


def test_log_mel_handles_long_and_short_audio():
    rng = np.random.default_rng(0)
    long_audio = (rng.standard_normal(16000 * 31) * 0.1).astype(np.float32)
    assert log_mel(long_audio).shape == (80, 3100)
    assert log_mel(np.zeros(100, dtype=np.float32)).shape == (80, 10)
    with pytest.raises(DataError, match="empty"):
        log_mel(np.zeros(0, dtype=np.float32))
    with pytest.raises(DataError, match="mono"):
        log_mel(np.zeros((2, 1600), dtype=np.float32))


def test_missing_speech_weights_name_recipe(tmp_path):
    with pytest.raises(ModelNotFoundError) as caught:
        LiteAudioEncoder.load(tmp_path)
    assert "config.json" in str(caught.value)
    assert "semi-iin recipe speech-encoder" in str(caught.value)


def test_ravdess_name_parsing():
    clip = parse_name(Path("03-01-03-02-01-01-21.flac"))
    assert clip.emotion == 2
    assert clip.intensity == "strong"
    assert clip.actor == 21
    assert clip.split == "test"
    assert clip.valence == 2.0
    assert parse_name(Path("03-01-02-01-01-01-05.flac")).valence == 0.375
    for bad in ("notes.flac", "03-01-09-01-01-01-01.flac", "03-01-01-01-01-01-25.flac"):
        with pytest.raises(DataError):
            parse_name(Path(bad))


def test_log_mel_cache_reused(recipe_data, tmp_path):
    clips = list_clips(recipe_data / "ravdess")[:2]
    first = cached_log_mels(clips, tmp_path, progress=False)
    assert (tmp_path / "ravdess_logmel.npz").is_file()
    second = cached_log_mels(clips, tmp_path, progress=False)
    for name, mel in first.items():
        assert np.array_equal(mel, second[name]), name


def test_missing_ravdess_folder_raises(tmp_path):
    with pytest.raises(DataError, match="not found"):
        list_clips(tmp_path / "absent")
