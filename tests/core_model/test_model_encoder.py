"""Channels-last Conv1d against torch.nn.functional.conv1d, and length propagation."""

import pytest
import torch
import torch.nn.functional as F

from core_model.model.config import ConvSpec, EncoderConfig
from core_model.model.encoder import ConvEncoder, conv1d_channels_last


@pytest.fixture(autouse=True, scope="module")
def single_thread():
    """Run these tiny models on one thread: on a shared, loaded CPU two threads
    spin against each other and make each small op ~30x slower."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)

CASES = [
    # kernel, stride, padding, input frames
    (3, 1, 1, 7),
    (3, 1, 1, 1),
    (4, 2, 1, 16),
    (4, 2, 1, 17),
    (4, 4, 1, 9),
    (4, 4, 1, 8),
    (5, 3, 2, 11),
    (2, 5, 0, 12),
    (10, 8, 3, 40),
]


@pytest.mark.parametrize("kernel, stride, padding, frames", CASES)
def test_matches_conv1d(kernel, stride, padding, frames):
    torch.manual_seed(0)
    spec = ConvSpec(kernel, stride, padding)
    x = torch.randn(2, frames, 6, dtype=torch.float64)
    weight = torch.randn(5, 6, kernel, dtype=torch.float64)
    expected = F.conv1d(x.transpose(1, 2), weight, stride=stride, padding=padding).transpose(1, 2)
    assert expected.shape[1] == spec.output_length(frames)
    got = conv1d_channels_last(x, weight, spec, spec.output_length(frames))
    diff = (got - expected).abs().max().item()
    assert got.shape == expected.shape
    assert diff < 1e-10, f"max abs diff {diff}"


def test_weight_gradient_matches_conv1d():
    torch.manual_seed(1)
    spec = ConvSpec(4, 2, 1)
    x = torch.randn(3, 20, 8, dtype=torch.float64)
    weight = torch.randn(4, 8, 4, dtype=torch.float64, requires_grad=True)
    reference = weight.detach().clone().requires_grad_(True)
    conv1d_channels_last(x, weight, spec, 10).square().sum().backward()
    F.conv1d(x.transpose(1, 2), reference, stride=2, padding=1).square().sum().backward()
    diff = (weight.grad - reference.grad).abs().max().item()
    assert diff < 1e-9, f"max abs gradient diff {diff}"


def test_step_lengths_match_output_length():
    config = EncoderConfig(4, (ConvSpec(4, 2, 1), ConvSpec(4, 4, 1)))
    encoder = ConvEncoder(config, hidden=8)
    frames = torch.tensor([0, 1, 2, 3, 7, 8, 9, 10, 16, 800])
    steps = encoder.lengths(frames)
    assert steps[-1].tolist() == [config.output_length(int(n)) for n in frames]
    assert steps[0].tolist() == [config.steps[0].output_length(int(n)) for n in frames]


def test_padded_sample_matches_unpadded():
    # A short sample in a wider batch gives the same tokens as on its own,
    # even with junk in the padded frames.
    torch.manual_seed(2)
    config = EncoderConfig(6, (ConvSpec(4, 2, 1), ConvSpec(4, 4, 1)))
    encoder = ConvEncoder(config, hidden=5).double()
    for frames in range(2, 30):
        alone = torch.randn(1, frames, 6, dtype=torch.float64)
        padded = torch.cat([alone, 100 * torch.randn(1, 40 - frames, 6, dtype=torch.float64)], dim=1)
        lengths = torch.tensor([frames])
        padded = padded * (torch.arange(40) < frames)[None, :, None]
        count = config.output_length(frames)
        expected = encoder(alone, encoder.lengths(lengths))[:, :count]
        got = encoder(padded, encoder.lengths(lengths))[:, :count]
        diff = (got - expected).abs().max().item() if count else 0.0
        assert diff < 1e-10, f"{frames} frames: max abs diff {diff}"
