"""Checkpoints: safetensors round trip, self-description, mismatch errors, atomic replace."""

import json

import pytest
import torch
from safetensors.torch import load_file

from core_model.data.batch import collate
from core_model.errors import CheckpointMismatchError, ConfigError, ModelNotFoundError
from core_model.training.checkpoint import load_checkpoint, read_checkpoint_info, save_checkpoint
from synthetic_clips import DIMS, make_clips, tiny_model

INFO = {"preset": "synthetic", "dims": DIMS, "seed": 3, "metrics": {"valid": {"mae": 0.5}},
        "data_hashes": {"train": "abc"}, "modalities": ["audio", "text", "visual"],
        "pseudo_labels": [{"name": "u_1", "class_index": 2, "probability": 0.9, "intensity": -1.0}]}


def test_round_trip_identical_outputs(tmp_path):
    model = tiny_model(seed=7).eval()
    batch = collate(make_clips(6, "test", seed=4), DIMS)
    with torch.no_grad():
        before = model(batch)
    save_checkpoint(tmp_path / "ckpt", model, INFO)
    loaded, info = load_checkpoint(tmp_path / "ckpt", expected_dims=DIMS, expected_preset="synthetic")
    with torch.no_grad():
        after = loaded(batch)
    assert not loaded.training
    assert torch.equal(before.intensity, after.intensity)
    assert torch.equal(before.logits, after.logits)
    assert info["model_config"] == model.config.to_dict()
    assert info["pseudo_labels"] == INFO["pseudo_labels"]
    assert info["seed"] == 3
    assert info["data_hashes"] == {"train": "abc"}
    assert {"torch", "numpy", "python", "safetensors"} <= set(info["library_versions"])


def test_weights_are_safetensors(tmp_path):
    model = tiny_model()
    save_checkpoint(tmp_path / "ckpt", model, INFO)
    tensors = load_file(str(tmp_path / "ckpt" / "model.safetensors"))
    assert set(tensors) <= set(model.state_dict())
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["checkpoint.json", "model.safetensors"]


def test_dims_mismatch_names_both(tmp_path):
    save_checkpoint(tmp_path / "ckpt", tiny_model(), INFO)
    wrong = dict(DIMS, audio=7)
    with pytest.raises(CheckpointMismatchError) as caught:
        load_checkpoint(tmp_path / "ckpt", expected_dims=wrong)
    message = str(caught.value)
    assert "audio: checkpoint 6, data 7" in message
    assert "text" not in message.split("(")[1]


def test_preset_mismatch_names_both(tmp_path):
    save_checkpoint(tmp_path / "ckpt", tiny_model(), INFO)
    with pytest.raises(CheckpointMismatchError, match="preset 'synthetic'.*preset 'paper'"):
        load_checkpoint(tmp_path / "ckpt", expected_preset="paper")


def test_overwrite_is_clean(tmp_path):
    target = tmp_path / "ckpt"
    save_checkpoint(target, tiny_model(seed=1), INFO)
    second = tiny_model(seed=2)
    save_checkpoint(target, second, dict(INFO, seed=9))
    assert read_checkpoint_info(target)["seed"] == 9
    loaded, _ = load_checkpoint(target)
    for key, value in loaded.state_dict().items():
        assert torch.equal(value, second.state_dict()[key])
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]


def test_json_is_strict(tmp_path):
    info = dict(INFO, metrics={"valid": {"corr": float("nan"), "mae": 1.0}}, notes=tmp_path)
    save_checkpoint(tmp_path / "ckpt", tiny_model(), info)
    text = (tmp_path / "ckpt" / "checkpoint.json").read_text()
    assert "NaN" not in text
    record = json.loads(text)
    assert record["metrics"]["valid"]["corr"] is None
    assert record["notes"] == str(tmp_path)


def test_fills_empty_folder(tmp_path):
    target = tmp_path / "ckpt"
    target.mkdir()
    save_checkpoint(target, tiny_model(), INFO)
    assert read_checkpoint_info(target)["preset"] == "synthetic"


def test_rejects_foreign_folder(tmp_path):
    target = tmp_path / "results"
    target.mkdir()
    (target / "notes.txt").write_text("keep me")
    with pytest.raises(ConfigError, match="not a checkpoint"):
        save_checkpoint(target, tiny_model(), INFO)
    assert (target / "notes.txt").read_text() == "keep me"
    assert [p.name for p in tmp_path.iterdir()] == ["results"]


def test_damaged_weights_detected(tmp_path):
    save_checkpoint(tmp_path / "ckpt", tiny_model(), INFO)
    weights = tmp_path / "ckpt" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointMismatchError, match="damaged"):
        load_checkpoint(tmp_path / "ckpt")


def test_info_errors(tmp_path):
    with pytest.raises(ConfigError, match="unknown checkpoint info keys"):
        save_checkpoint(tmp_path / "a", tiny_model(), dict(INFO, colour="red"))
    with pytest.raises(ConfigError, match="needs 'preset'"):
        save_checkpoint(tmp_path / "b", tiny_model(), {"dims": DIMS})
    with pytest.raises(ModelNotFoundError, match="checkpoint.json is missing"):
        load_checkpoint(tmp_path / "nothing")
    (tmp_path / "future").mkdir()
    (tmp_path / "future" / "checkpoint.json").write_text(json.dumps({"format": "semi-iin-checkpoint", "version": 99}))
    with pytest.raises(CheckpointMismatchError, match="version 99"):
        load_checkpoint(tmp_path / "future")
