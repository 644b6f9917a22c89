"""The face-encoder recipe on a 64-image FER2013 subset, and the encoder it writes."""

import json

import numpy as np
import pytest
from safetensors.torch import load_file

from core_model.errors import DataError, ModelNotFoundError
from core_model.features.lite_visual import LiteVisualEncoder
from core_model.recipes.face_encoder import FaceRecipeConfig, load_fer, train_face_encoder


def test_face_recipe_writes_artifact(tiny_face_encoder):
    out, metrics = tiny_face_encoder
    for name in ("model.safetensors", "config.json", "card.json", "card.md"):
        assert (out / name).is_file(), name
    assert metrics["private_test_images"] == 14
    assert metrics["train_images"] == 36
    assert 0.0 <= metrics["private_test_accuracy"] <= 1.0
    card = json.loads((out / "card.json").read_text())
    assert card["trained_modalities"] == ["visual"]
    assert "research" in card["licence"]
    assert card["metrics"]["private_test_accuracy"] == metrics["private_test_accuracy"]
    assert card["command"].startswith("semi-iin recipe face-encoder")


def test_face_recipe_is_deterministic(tiny_face_encoder, recipe_data, tmp_path):
    out, metrics = tiny_face_encoder
    again = train_face_encoder(recipe_data / "fer2013_tiny.npz", tmp_path / "again",
                               FaceRecipeConfig(epochs=2, batch_size=16), progress=False)
    first = load_file(str(out / "model.safetensors"))
    second = load_file(str(tmp_path / "again" / "model.safetensors"))
    assert first.keys() == second.keys()
    for name in first:
        assert np.array_equal(first[name].numpy(), second[name].numpy()), name
    assert again["private_test_accuracy"] == metrics["private_test_accuracy"]


def test_face_encoder_encodes_crops(tiny_face_encoder, recipe_data):
    encoder = LiteVisualEncoder.load(tiny_face_encoder[0])
    with np.load(recipe_data / "fer2013_tiny.npz") as archive:
        crops = archive["images"][:5]
    features = encoder.encode(crops)
    assert features.shape == (5, encoder.dim)
    assert features.dtype == np.float32
    assert np.isfinite(features).all()
    assert encoder.encode(crops[:0]).shape == (0, encoder.dim)
    assert encoder.identifier.startswith("visual:lite-face-cnn@")
    assert encoder.modality == "visual"


def test_face_encoder_rejects_bad_crops(tiny_face_encoder):
    encoder = LiteVisualEncoder.load(tiny_face_encoder[0])
    with pytest.raises(DataError, match="48, 48"):
        encoder.encode(np.zeros((2, 64, 64), dtype=np.uint8))
    with pytest.raises(DataError, match="uint8"):
        encoder.encode(np.zeros((2, 48, 48), dtype=np.float32))


def test_missing_face_weights_name_recipe(tmp_path):
    with pytest.raises(ModelNotFoundError) as caught:
        LiteVisualEncoder.load(tmp_path)
    assert "config.json" in str(caught.value)
    assert "semi-iin recipe face-encoder" in str(caught.value)


def test_fer_limit_draws_every_class(recipe_data):
    splits = load_fer(recipe_data / "fer2013_tiny.npz", limit=10, seed=0)
    assert set(splits) == {"Training", "PublicTest", "PrivateTest"}
    assert len(splits["Training"][1]) == 10
    assert len(set(splits["Training"][1].tolist())) > 1


def test_fer_missing_file_raises(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_fer(tmp_path / "absent.npz", limit=None)
