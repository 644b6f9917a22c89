"""Presets: encoder sizes and identifiers, option checks and missing encoders."""

import pytest

from core_model.errors import ConfigError, ModelNotFoundError
from core_model.features.analyzed_clip import clip_feature_key, hash_media_file
from core_model.features.presets import PAPER_DIMS, Preset, get_preset


def test_lite_preset_text_encoder():
    preset = get_preset("lite", allow_missing=True)
    assert preset.name == "lite"
    assert preset.dims["text"] == 384
    assert "MiniLM-L6" in preset.identifiers["text"]
    for modality in preset.missing_encoders():
        assert preset.identifiers[modality] == f"{modality}:unavailable"
        assert preset.dims[modality] == 0


def test_lite_encoders_match_dims():
    preset = get_preset("lite", allow_missing=True)
    for modality in ("audio", "text", "visual"):
        encoder = preset.encoder(modality)
        if encoder is not None:
            assert encoder.modality == modality
            assert preset.dims[modality] == encoder.dim > 0


def test_unknown_preset_rejected():
    with pytest.raises(ConfigError, match="unknown feature preset 'huge'"):
        get_preset("huge")


def test_unknown_option_rejected():
    with pytest.raises(ConfigError, match="unknown option"):
        get_preset("lite", fabnet_folder="/tmp")


def test_paper_preset_missing_models(tmp_path):
    with pytest.raises(ModelNotFoundError, match="roberta-large"):
        get_preset("paper", roberta=tmp_path / "absent")


def test_paper_preset_allow_missing_keeps_dims(tmp_path):
    preset = get_preset("paper", roberta=tmp_path / "r", hubert=tmp_path / "h", allow_missing=True)
    assert preset.missing_encoders() == ["audio", "text", "visual"]
    assert preset.dims == PAPER_DIMS


def test_identifiers_change_cache_key(minilm, tiny_fabnet):
    with_faces = Preset("x", text=minilm, audio=None, visual=tiny_fabnet)
    without_faces = Preset("x", text=minilm, audio=None, visual=None)
    first = clip_feature_key("0" * 64, 0.0, 2.5, with_faces.identifiers, "hello")
    second = clip_feature_key("0" * 64, 0.0, 2.5, without_faces.identifiers, "hello")
    assert first != second
    assert first == clip_feature_key("0" * 64, 0.0, 2.5, with_faces.identifiers, "hello")
    assert first != clip_feature_key("0" * 64, 0.0, 2.501, with_faces.identifiers, "hello")
    assert first != clip_feature_key("0" * 64, 0.0, 2.5, with_faces.identifiers, "hello there")


def test_media_hash_is_sha256(tmp_path):
    import hashlib

    path = tmp_path / "bytes.bin"
    data = bytes(range(256)) * 5000
    path.write_bytes(data)
    assert hash_media_file(path, chunk_bytes=4096) == hashlib.sha256(data).hexdigest()
