"""The bundled default model on the bundled MOSI sample clips, through the full lite pipeline.

All four clips belong to the MOSI training fold, so this checks that the
shipped artifacts work together end to end, not how well they generalise.
"""

import csv
from pathlib import Path

import pytest

from core_model.data.cache import FeatureCache
from core_model.features.pipeline import analyze_video
from core_model.features.presets import get_preset
from core_model.recipes.artifacts import MODELS_DIR
from core_model.recipes.default_model import MODALITY_DIMS, PRESET
from core_model.training.checkpoint import load_checkpoint
from core_model.training.trainer import predict

SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "samples" / "mosi"
STRONG_CLIPS = [
    (f"{row['video_id']}_{row['clip_id']}", float(row["label"]))
    for row in csv.DictReader((SAMPLES / "label.csv").open(encoding="utf-8"))
    if abs(float(row["label"])) >= 2.0
]


@pytest.fixture(scope="module")
def lite_run(tmp_path_factory):
    preset = get_preset("lite")
    cache = FeatureCache(tmp_path_factory.mktemp("cache"), preset.name, preset.dims)
    model, _ = load_checkpoint(MODELS_DIR / "semi_iin_lite", expected_dims=MODALITY_DIMS, expected_preset=PRESET)
    return preset, cache, model


def test_strong_sample_clips_listed():
    assert len(STRONG_CLIPS) == 3


@pytest.mark.parametrize(("name", "label"), STRONG_CLIPS)
def test_default_model_predicts_label_sign(lite_run, name, label):
    preset, cache, model = lite_run
    clips = analyze_video(SAMPLES / f"{name}.mp4", preset, cache, SAMPLES / f"{name}.txt", threads=1)
    features = [cache.get(clip.feature_key, name=f"{name}:{clip.index}") for clip in clips]
    assert features, f"{name}: no clips analysed"
    assert all(f.text is not None and len(f.text) > 0 for f in features), f"{name}: no words"
    result = predict(model, features, MODALITY_DIMS)
    mean_intensity = float(result.intensity.mean())
    assert mean_intensity * label > 0, f"{name}: predicted {mean_intensity:+.2f}, label {label:+.1f}"
