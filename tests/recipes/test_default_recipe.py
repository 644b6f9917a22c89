"""The default-model recipe on tiny MOSI, RAVDESS and FER2013 subsets with tiny encoders."""

import json

import numpy as np

from core_model.recipes.default_model import DefaultRecipeConfig, sign_accuracy, train_default_model
from core_model.training.checkpoint import load_checkpoint


def test_default_recipe_writes_checkpoint(tiny_face_encoder, tiny_speech_encoder, recipe_data, tmp_path):
    encoders = tiny_face_encoder[0].parent
    out = tmp_path / "semi_iin_lite"
    config = DefaultRecipeConfig(epochs=1, retrain_epochs=1, limit=7, k=2, batch_size=8)
    metrics = train_default_model(
        mosi=recipe_data / "mosi_tiny.csv", ravdess=recipe_data / "ravdess", fer=recipe_data / "fer2013_tiny.npz",
        encoders=encoders, out=out, config=config, progress=False,
    )
    assert metrics["final"]["mosi_test_clips"] == 6
    assert set(metrics["final"]["mosi_test_text_only"]) >= {"mae", "corr", "acc2_has0", "acc2_non0", "f1_has0", "acc7"}
    assert metrics["kept"] in ("supervised", "self_trained")
    assert "self_trained" in metrics

    model, info = load_checkpoint(out, expected_dims={"audio": 128, "text": 384, "visual": 128}, expected_preset="lite")
    assert info["modalities"] == ["audio", "text", "visual"]
    assert len(info["pseudo_labels"]) > 0
    card = json.loads((out / "card.json").read_text())
    assert "non-commercial" in card["licence"]
    assert card["valence_mapping"]["fer2013"]["happy"] > 0
    assert (out / "card.md").read_text().startswith("# Semi-IIN default model")


def test_sign_accuracy_skips_zero_labels():
    predictions = np.array([0.5, -1.0, 2.0, -0.1])
    labels = np.array([1.0, -2.0, 0.0, 0.5])
    assert sign_accuracy(predictions, labels) == 2 / 3
