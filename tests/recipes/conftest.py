"""Tiny recipe runs shared by the recipe tests: each trains once per session on the bundled subsets."""

from pathlib import Path

import pytest

RECIPE_DATA = Path(__file__).resolve().parents[1] / "data" / "recipes"


@pytest.fixture(scope="session")
def recipe_data() -> Path:
    return RECIPE_DATA


@pytest.fixture(scope="session")
def tiny_face_encoder(tmp_path_factory) -> tuple[Path, dict]:
    from core_model.recipes.face_encoder import FaceRecipeConfig, train_face_encoder

    out = tmp_path_factory.mktemp("encoders") / "face_encoder"
    metrics = train_face_encoder(RECIPE_DATA / "fer2013_tiny.npz", out, FaceRecipeConfig(epochs=2, batch_size=16),
                                 progress=False)
    return out, metrics


@pytest.fixture(scope="session")
def tiny_speech_encoder(tiny_face_encoder) -> tuple[Path, dict]:
    from core_model.recipes.speech_encoder import SpeechRecipeConfig, train_speech_encoder

    out = tiny_face_encoder[0].parent / "speech_encoder"
    metrics = train_speech_encoder(RECIPE_DATA / "ravdess", out, SpeechRecipeConfig(epochs=2, batch_size=4),
                                   progress=False)
    return out, metrics
