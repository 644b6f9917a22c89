"""The bundled lite speech encoder: loading, frame rate and emotion accuracy on real RAVDESS clips."""

import time
from pathlib import Path

import numpy as np

from core_model.features.lite_audio import DEFAULT_FOLDER, LiteAudioEncoder
from core_model.features.lite_visual import LiteVisualEncoder
from core_model.recipes.ravdess import list_clips, read_audio

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "recipes" / "ravdess"


def test_bundled_encoders_load_fast():
    start = time.perf_counter()
    audio = LiteAudioEncoder.load()
    visual = LiteVisualEncoder.load()
    elapsed = time.perf_counter() - start
    assert elapsed < 2.0, f"loading both encoders took {elapsed:.2f} s"
    assert audio.dim == 128
    assert visual.dim == 128
    assert audio.frame_rate == 25.0
    assert (DEFAULT_FOLDER / "card.json").is_file()


def test_bundled_speech_encoder_beats_chance():
    encoder = LiteAudioEncoder.load()
    clips = list_clips(FIXTURE)
    correct = 0
    for clip in clips:
        audio = read_audio(clip.path)
        features = encoder.encode(audio)
        assert features.shape[1] == 128
        assert np.isfinite(features).all()
        correct += int(encoder.predict_proba(audio).argmax() == clip.emotion)
    # Eight classes give 0.125 by chance; most of these clips are from training actors.
    assert correct / len(clips) > 0.3, f"{correct} of {len(clips)} RAVDESS clips right"
