"""The bundled lite face encoder: loading, output shape and expression accuracy on real FER2013 faces."""

import time
from pathlib import Path

import numpy as np

from core_model.features.lite_visual import DEFAULT_FOLDER, LiteVisualEncoder

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "recipes" / "fer2013_tiny.npz"


def test_bundled_face_encoder_loads_fast():
    start = time.perf_counter()
    encoder = LiteVisualEncoder.load()
    elapsed = time.perf_counter() - start
    assert elapsed < 2.0, f"loading took {elapsed:.2f} s"
    assert encoder.dim == 128
    assert encoder.frame_rate is None
    assert (DEFAULT_FOLDER / "card.json").is_file()


def test_bundled_face_encoder_beats_chance():
    encoder = LiteVisualEncoder.load()
    with np.load(FIXTURE) as archive:
        images, labels = archive["images"], archive["labels"]
    features = encoder.encode(images)
    assert features.shape == (64, 128)
    assert np.isfinite(features).all()
    accuracy = float(np.mean(encoder.predict_proba(images).argmax(1) == labels))
    # Seven classes give 0.14 by chance.
    assert accuracy > 0.3, f"accuracy {accuracy:.2f} on 64 FER2013 faces"


def test_face_encoder_accepts_weights_file_path():
    encoder = LiteVisualEncoder.load(DEFAULT_FOLDER / "model.safetensors")
    assert encoder.identifier == LiteVisualEncoder.load().identifier
