"""The named Semi-IIN loss: weights, labeled vs pseudo-labeled clips."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from core_model.data.batch import ClipFeatures, collate
from core_model.errors import ConfigError
from core_model.training.losses import LOSS_NAMES, LossWeights, semi_iin_loss

DIMS = {"audio": 2, "text": 3, "visual": 2}


def make_batch(labels, pseudo_classes=None):
    samples = [
        ClipFeatures(name=f"c{i}", text=np.ones((2, 3), np.float32), label=label)
        for i, label in enumerate(labels)
    ]
    return collate(samples, DIMS, pseudo_classes=pseudo_classes)


def test_names_and_supervised_weights():
    batch = make_batch([1.0, -2.0, 0.2])
    intensity = torch.tensor([0.5, -1.0, 0.0])
    logits = torch.randn(3, 7, generator=torch.Generator().manual_seed(0))
    losses = semi_iin_loss(intensity, logits, batch)
    assert tuple(losses) == LOSS_NAMES
    expected_mse = F.mse_loss(intensity, batch.labels)
    expected_ce = F.cross_entropy(logits, torch.tensor([4, 1, 3]))
    assert torch.allclose(losses["mse"], expected_mse)
    assert torch.allclose(losses["ce"], expected_ce)
    assert losses["pseudo_ce"].item() == 0.0
    assert torch.allclose(losses["total"], 0.6 * expected_mse + 0.4 * expected_ce)


def test_pseudo_clips_add_no_mse():
    # Clip 2 is pseudo-labeled as class 6; clip 3 is unlabeled and not pseudo.
    batch = make_batch([1.0, -2.0, None, None], pseudo_classes=[None, None, 6, None])
    logits = torch.zeros(4, 7)
    base = semi_iin_loss(torch.tensor([0.5, -1.0, 0.0, 0.0]), logits, batch)
    moved = semi_iin_loss(torch.tensor([0.5, -1.0, 100.0, -50.0]), logits, batch)
    assert base["mse"].item() == moved["mse"].item()
    assert torch.allclose(base["mse"], F.mse_loss(torch.tensor([0.5, -1.0]), torch.tensor([1.0, -2.0])))


def test_pseudo_intensity_gets_no_gradient():
    batch = make_batch([1.0, 0.3], pseudo_classes=[None, 2])
    batch.labels[1] = 0.3  # a pseudo clip that also carries a label still gets no MSE
    intensity = torch.tensor([0.0, 0.0], requires_grad=True)
    logits = torch.zeros(2, 7, requires_grad=True)
    losses = semi_iin_loss(intensity, logits, batch)
    losses["total"].backward()
    assert intensity.grad[1].item() == 0.0
    assert intensity.grad[0].item() != 0.0
    assert logits.grad[1].abs().sum().item() > 0


def test_pseudo_ce_weight():
    batch = make_batch([None, None], pseudo_classes=[0, 6])
    logits = torch.randn(2, 7, generator=torch.Generator().manual_seed(1))
    weights = LossWeights(mse=0.6, ce=0.4, pseudo_ce=0.5)
    losses = semi_iin_loss(torch.zeros(2), logits, batch, weights)
    expected = F.cross_entropy(logits, torch.tensor([0, 6]))
    assert torch.allclose(losses["pseudo_ce"], expected)
    assert torch.allclose(losses["total"], 0.5 * expected)
    assert losses["mse"].item() == 0.0


def test_empty_terms_still_backward():
    batch = make_batch([None])
    intensity = torch.zeros(1, requires_grad=True)
    losses = semi_iin_loss(intensity, torch.zeros(1, 7, requires_grad=True), batch)
    losses["total"].backward()
    assert losses["total"].item() == 0.0


def test_weights_reject_bad_values():
    with pytest.raises(ConfigError, match="mse"):
        LossWeights(mse=-1.0)
    with pytest.raises(ConfigError, match="unknown loss weight"):
        LossWeights.from_dict({"mse": 0.6, "l1": 0.1})
    assert LossWeights.from_dict(LossWeights(ce=0.3).to_dict()) == LossWeights(ce=0.3)
