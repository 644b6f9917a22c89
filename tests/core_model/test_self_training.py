"""Self-training: top-k pseudo-label selection and Algorithm 1 end to end."""

import numpy as np
import pytest
import torch

from core_model.errors import ConfigError, DataError
from core_model.training.checkpoint import read_checkpoint_info
from core_model.training.config import TrainConfig
from core_model.training.self_training import parse_k, select_top_k, self_train
from synthetic_clips import DIMS, make_clips, tiny_model


def one_hot_rows(rows):
    """Build (U, 7) probabilities from (class, probability) pairs; the rest is spread evenly."""
    table = np.zeros((len(rows), 7))
    for i, (cls, p) in enumerate(rows):
        table[i, :] = (1 - p) / 6
        table[i, cls] = p
    return table


def test_top_k_hand_made():
    names = ["a", "b", "c", "d", "e", "f", "g"]
    probabilities = one_hot_rows([
        (0, 0.9),  # a
        (0, 0.8),  # b
        (0, 0.95),  # c
        (3, 0.6),  # d  tie with e: names break it
        (3, 0.6),  # e
        (3, 0.7),  # f
        (6, 0.5),  # g  class 6 has fewer than k
    ])
    picked = select_top_k(names, probabilities, k=2)
    assert [(p.name, p.class_index) for p in picked] == [("c", 0), ("a", 0), ("f", 3), ("d", 3), ("g", 6)]
    assert picked[0].probability == pytest.approx(0.95)


def test_top_k_tie_order_independent():
    names = ["z", "y", "x"]
    probabilities = one_hot_rows([(2, 0.7), (2, 0.7), (2, 0.7)])
    picked = select_top_k(names, probabilities, k=2)
    assert [p.name for p in picked] == ["x", "y"]
    reversed_pick = select_top_k(names[::-1], probabilities[::-1], k=2)
    assert [p.name for p in reversed_pick] == ["x", "y"]


def test_top_k_all_and_errors():
    names = ["a", "b", "c"]
    probabilities = one_hot_rows([(1, 0.9), (1, 0.8), (5, 0.4)])
    assert len(select_top_k(names, probabilities, k="all")) == 3
    assert parse_k("ALL") is None
    assert parse_k("40") == 40
    for bad in (0, -1, "many", 2.5, True):
        with pytest.raises(ConfigError):
            parse_k(bad)
    with pytest.raises(DataError, match="shape"):
        select_top_k(names, probabilities[:2], k=1)


def test_self_training_end_to_end(tmp_path):
    train = make_clips(64, "train", seed=11)
    valid = make_clips(16, "valid", seed=12)
    unlabeled = make_clips(48, None, seed=13, labeled=False, prefix="u")
    teacher = tiny_model(seed=1)
    config = TrainConfig(epochs=2, lr=3e-3, batch_size=16, num_threads=1, device="cpu")
    phases = []
    result = self_train(teacher, train, valid, unlabeled, DIMS, k=3, config=config,
                        progress=lambda e: phases.append(e.phase), checkpoint_dir=tmp_path / "student",
                        checkpoint_info={"preset": "synthetic", "dims": DIMS})
    assert result.teacher is teacher
    assert result.model is not teacher
    assert set(phases) == {"supervised", "retrain"}
    counts = np.bincount([p.class_index for p in result.pseudo_labels], minlength=7)
    assert counts.max() <= 3
    assert len(result.pseudo_labels) == counts.sum() > 0
    assert {p.name for p in result.pseudo_labels} <= {c.name for c in unlabeled}
    # phi' started from phi and was then trained further, so they now differ.
    differs = any(not torch.equal(a, b) for a, b in zip(teacher.state_dict().values(),
                                                         result.model.state_dict().values()))
    assert differs
    info = read_checkpoint_info(tmp_path / "student")
    assert [p["name"] for p in info["pseudo_labels"]] == [p.name for p in result.pseudo_labels]
    assert result.retrained.best_epoch == info["best_epoch"]


def test_self_training_needs_unlabeled():
    with pytest.raises(DataError, match="unlabeled"):
        self_train(tiny_model(), make_clips(4, "train", 1), make_clips(2, "valid", 2), [], DIMS)
