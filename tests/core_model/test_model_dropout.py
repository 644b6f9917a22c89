"""The bit-mask dropout: drop rate, scaling, gradient and seeding."""

import pytest
import torch

from core_model.model.dropout import dropout


@pytest.mark.parametrize("p", [0.1, 0.2, 0.5])
def test_drop_rate_and_scale(p):
    torch.manual_seed(0)
    x = torch.ones(400_000)
    y = dropout(x, p, training=True)
    rate = (y == 0).float().mean().item()
    assert abs(rate - p) < 0.005, f"drop rate {rate:.4f} for p={p}"
    kept_values = y[y != 0]
    assert torch.allclose(kept_values, torch.full_like(kept_values, 1.0 / (1.0 - p)), rtol=1e-4)
    assert abs(y.mean().item() - 1.0) < 0.01


def test_eval_and_zero_rate_are_identity():
    x = torch.randn(100)
    assert dropout(x, 0.5, training=False) is x
    assert dropout(x, 0.0, training=True) is x


def test_gradient_uses_same_mask():
    torch.manual_seed(1)
    x = torch.randn(1000, requires_grad=True)
    y = dropout(x, 0.3, training=True)
    y.sum().backward()
    dropped = y.detach() == 0
    assert (x.grad[dropped] == 0).all()
    assert torch.allclose(x.grad[~dropped], torch.full_like(x.grad[~dropped], 1.0 / 0.7), rtol=1e-4)


def test_seed_reproduces_mask():
    x = torch.ones(5000)
    torch.manual_seed(2)
    a = dropout(x, 0.5, training=True)
    torch.manual_seed(2)
    b = dropout(x, 0.5, training=True)
    assert torch.equal(a, b)
