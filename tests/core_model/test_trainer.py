"""The trainer: learning, progress events, cancellation, determinism and its config."""

import json
import threading

import numpy as np
import pytest
import torch

from core_model.errors import ConfigError, DataError, TrainingCancelled
from core_model.training.config import TrainConfig
from core_model.training.losses import LOSS_NAMES, LossWeights
from core_model.training.trainer import Trainer, evaluate, predict, seed_everything
from synthetic_clips import DIMS, make_clips, tiny_model

FAST = dict(lr=3e-3, batch_size=16, num_threads=1, device="cpu")


@pytest.fixture(scope="module")
def data():
    return make_clips(96, "train", seed=1), make_clips(32, "valid", seed=2)


def test_training_beats_constant_predictor(data):
    train, valid = data
    model = tiny_model(seed=0)
    result = Trainer(model, TrainConfig(epochs=6, **FAST), DIMS).fit(train, valid)
    constant = np.mean([c.label for c in train])
    constant_mae = float(np.mean([abs(c.label - constant) for c in valid]))
    assert result.best_metrics["mae"] < 0.7 * constant_mae, (result.best_metrics, constant_mae)
    assert result.best_metrics["corr"] > 0.5
    # Afterwards the model contains the best epoch's weights.
    again = evaluate(model, valid, DIMS)
    assert again["mae"] == pytest.approx(result.best_metrics["mae"], abs=1e-6)
    assert len(result.history) == 6
    assert result.best_epoch == 1 + int(np.argmin([h["metrics"]["mae"] for h in result.history]))


def test_progress_events(data):
    train, valid = data
    events = []
    Trainer(tiny_model(), TrainConfig(epochs=2, **FAST), DIMS, progress=events.append).fit(train[:32], valid[:8])
    steps = [e for e in events if e.kind == "step"]
    epochs = [e for e in events if e.kind == "epoch"]
    assert [e.step for e in steps] == [1, 2, 3, 4]
    assert {e.total_steps for e in steps} == {4}
    assert all(tuple(e.losses) == LOSS_NAMES for e in steps)
    assert [e.epoch for e in epochs] == [1, 2]
    assert "mae" in epochs[-1].metrics
    assert epochs[-1].best_epoch in (1, 2)
    assert steps[0].phase == "train"


def test_cancel_keeps_last_checkpoint(data, tmp_path):
    train, valid = data
    token = threading.Event()
    seen = []

    def on_event(event):
        seen.append(event)
        if event.kind == "step" and event.epoch == 2:
            token.set()

    model = tiny_model()
    trainer = Trainer(model, TrainConfig(epochs=3, **FAST), DIMS, progress=on_event, cancel=token,
                      checkpoint_dir=tmp_path / "ckpt", checkpoint_info={"preset": "synthetic"})
    with pytest.raises(TrainingCancelled):
        trainer.fit(train[:32], valid[:8])
    info = json.loads((tmp_path / "ckpt" / "checkpoint.json").read_text())
    assert info["best_epoch"] == 1
    assert info["preset"] == "synthetic"
    # Cancelled in the first step of epoch 2: no further step ran.
    assert [e.step for e in seen if e.kind == "step"] == [1, 2, 3]
    # The model was restored to epoch 1's weights, the ones in the checkpoint.
    from core_model.training.checkpoint import load_checkpoint

    saved, _ = load_checkpoint(tmp_path / "ckpt")
    for key, value in saved.state_dict().items():
        assert torch.equal(value, model.state_dict()[key]), key


def test_same_seed_same_result(data):
    train, valid = data
    results = []
    try:
        for _ in range(2):
            seed_everything(5, deterministic=True)
            model = tiny_model(seed=5)
            results.append(Trainer(model, TrainConfig(epochs=2, seed=5, deterministic=True, **FAST), DIMS)
                           .fit(train[:48], valid[:16]))
    finally:
        torch.use_deterministic_algorithms(False)
    assert results[0].history == results[1].history


def test_predict_restores_mode_and_order(data):
    _, valid = data
    model = tiny_model()
    model.train()
    result = predict(model, valid[:5], DIMS, batch_size=2)
    assert model.training
    assert result.names == [c.name for c in valid[:5]]
    assert result.probabilities.shape == (5, 7)
    np.testing.assert_allclose(result.probabilities.sum(axis=1), 1.0, rtol=1e-6)


def test_unlabeled_validation_rejected(data):
    train, _ = data
    unlabeled = make_clips(4, "valid", seed=3, labeled=False)
    with pytest.raises(DataError, match="validation split has no labeled clips"):
        Trainer(tiny_model(), TrainConfig(epochs=1, **FAST), DIMS).fit(train[:8], unlabeled)


def test_train_config_round_trip_and_errors():
    config = TrainConfig(epochs=3, loss=LossWeights(pseudo_ce=0.3))
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    with pytest.raises(ConfigError, match="unknown train config keys"):
        TrainConfig.from_dict({"epochs": 3, "learning_rate": 0.1})
    with pytest.raises(ConfigError, match="select_metric"):
        TrainConfig(select_metric="rmse")
    with pytest.raises(ConfigError, match="batch_size"):
        TrainConfig(batch_size=0)
    with pytest.raises(ConfigError, match="device"):
        TrainConfig(device="tpu")
    defaults = TrainConfig()
    assert (defaults.lr, defaults.weight_decay, defaults.batch_size, defaults.epochs) == (1e-4, 1e-4, 32, 30)
    assert defaults.select_metric == "mae"


def test_faithful_configuration_trains(data):
    from core_model.model import SemiIIN
    from core_model.training.model_setup import config_for_data
    from core_model.training.trainer import fixed_lengths_of

    train, valid = data
    config = config_for_data(DIMS, train + valid, faithful=True, hidden=16, heads=2, ff=32)
    model = SemiIIN(config)
    assert fixed_lengths_of(model) == {"audio": 16, "text": 6, "visual": 5}
    result = Trainer(model, TrainConfig(epochs=1, **FAST), DIMS).fit(train[:32], valid[:8])
    assert np.isfinite(result.best_metrics["mae"])


def test_model_sized_from_data():
    from core_model.data.batch import ClipFeatures
    from core_model.training.model_setup import config_for_data, fit_to_capacity, max_lengths

    clips = [ClipFeatures(name="short", text=np.ones((3, 8), np.float32), audio=np.ones((2, 6), np.float32))]
    assert max_lengths(clips) == {"audio": 2, "text": 3, "visual": 0}
    config = config_for_data(DIMS, clips, hidden=16, heads=2, ff=32)
    # Two audio frames give no token after the two strided convolutions, so the
    # audio capacity grows until the encoder yields one.
    assert config.token_capacity("audio") == 1
    assert config.fixed_lengths["text"] == 3
    assert config.fixed_lengths["visual"] == 1
    longer = [ClipFeatures(name="long", text=np.ones((7, 8), np.float32))]
    fitted = fit_to_capacity(longer, config)
    assert fitted[0].text.shape == (3, 8)
    assert longer[0].text.shape == (7, 8)


class CountdownToken:
    """A cancel token that reports cancellation from its n-th is_set() call on."""

    def __init__(self, calls_before_cancel):
        self.remaining = calls_before_cancel

    def is_set(self):
        self.remaining -= 1
        return self.remaining < 0


def test_cancel_during_validation(data, tmp_path):
    train, valid = data
    model = tiny_model()
    # Per epoch: 2 steps, 1 check before validation, 1 validation batch.
    # The 8th call is epoch 2's validation, so epoch 1 stays the best.
    token = CountdownToken(calls_before_cancel=7)
    trainer = Trainer(model, TrainConfig(epochs=3, **FAST), DIMS, cancel=token,
                      checkpoint_dir=tmp_path / "ckpt", checkpoint_info={"preset": "synthetic"})
    with pytest.raises(TrainingCancelled):
        trainer.fit(train[:32], valid[:8])
    from core_model.training.checkpoint import load_checkpoint

    saved, info = load_checkpoint(tmp_path / "ckpt")
    assert info["best_epoch"] == 1
    for key, value in saved.state_dict().items():
        assert torch.equal(value, model.state_dict()[key]), key
