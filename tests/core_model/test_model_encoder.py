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
    got = conv1d_channels_last(x, weight.permute(2, 1, 0), spec, spec.output_length(frames))
    diff = (got - expected).abs().max().item()
    assert got.shape == expected.shape
    assert diff < 1e-10, f"max abs diff {diff}"


def test_weight_gradient_matches_conv1d():
    torch.manual_seed(1)
    spec = ConvSpec(4, 2, 1)
    x = torch.randn(3, 20, 8, dtype=torch.float64)
    weight = torch.randn(4, 8, 4, dtype=torch.float64, requires_grad=True)
    reference = weight.detach().clone().requires_grad_(True)
    conv1d_channels_last(x, weight.permute(2, 1, 0), spec, 10).square().sum().backward()
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


def conv_chain(encoder, x):
    """Apply the encoder's steps with F.conv1d on an unpadded (1, L, D) sample."""
    h = x.transpose(1, 2)
    for spec, taps in zip(encoder.specs, encoder.weights):
        h = F.conv1d(h, taps.permute(2, 1, 0), stride=spec.stride, padding=spec.padding)
    return h.transpose(1, 2)


AUDIO_STEPS = (ConvSpec(4, 2, 1), ConvSpec(4, 4, 1))
# Two kernel-3 steps over wide input cost less one after the other.
NARROW_STEPS = (ConvSpec(3, 1, 1), ConvSpec(3, 1, 1))
CHAINS = [(AUDIO_STEPS, 6, 5, True), (NARROW_STEPS, 64, 5, False)]


@pytest.mark.parametrize("steps, channels, hidden, composed", CHAINS)
def test_encoder_matches_conv1d_chain(steps, channels, hidden, composed):
    torch.manual_seed(2)
    config = EncoderConfig(channels, steps)
    encoder = ConvEncoder(config, hidden=hidden).double()
    assert (encoder.composed_spec is not None) == composed
    for frames in range(4, 40):
        x = torch.randn(1, frames, channels, dtype=torch.float64)
        expected = conv_chain(encoder, x)
        got = encoder(x, None)
        assert got.shape == expected.shape, f"{frames} frames"
        diff = (got - expected).abs().max().item()
        assert diff < 1e-10, f"{frames} frames: max abs diff {diff}"


@pytest.mark.parametrize("steps, channels, hidden, composed", CHAINS)
def test_padded_sample_matches_unpadded(steps, channels, hidden, composed):
    # A short sample in a zero-padded batch gives the tokens of F.conv1d on
    # the sample alone.
    torch.manual_seed(3)
    config = EncoderConfig(channels, steps)
    encoder = ConvEncoder(config, hidden=hidden).double()
    assert (encoder.composed_spec is not None) == composed
    width = 40
    samples = [torch.randn(1, n, channels, dtype=torch.float64) for n in range(1, width)]
    batch = torch.zeros(len(samples), width, channels, dtype=torch.float64)
    for row, sample in enumerate(samples):
        batch[row, : sample.shape[1]] = sample[0]
    lengths = torch.tensor([s.shape[1] for s in samples])
    got = encoder(batch, lengths)
    for row, sample in enumerate(samples):
        count = config.output_length(sample.shape[1])
        if count == 0:
            continue
        expected = conv_chain(encoder, sample)[0, :count]
        diff = (got[row, :count] - expected).abs().max().item()
        assert diff < 1e-10, f"{sample.shape[1]} frames: max abs diff {diff}"


def test_composed_gradients_match_chain():
    torch.manual_seed(4)
    config = EncoderConfig(6, (ConvSpec(4, 2, 1), ConvSpec(4, 4, 1)))
    encoder = ConvEncoder(config, hidden=5).double()
    reference = ConvEncoder(config, hidden=5).double()
    reference.load_state_dict(encoder.state_dict())
    x = torch.randn(3, 24, 6, dtype=torch.float64)
    x[2, 13:] = 0.0
    lengths = torch.tensor([24, 24, 13])
    got = encoder(x, lengths)
    count = encoder.lengths(lengths)[-1]
    keep = (torch.arange(got.shape[1])[None, :] < count[:, None])[..., None]
    (got * keep).square().sum().backward()
    expected = torch.cat(
        [F.pad(conv_chain(reference, x[i : i + 1, : int(lengths[i])]), (0, 0, 0, got.shape[1] - int(count[i]))) for i in range(3)]
    )
    (expected * keep).square().sum().backward()
    for a, b in zip(encoder.weights, reference.weights):
        diff = (a.grad - b.grad).abs().max().item()
        assert diff < 1e-9, f"max abs gradient diff {diff}"


def test_composed_weight_cache_follows_updates():
    torch.manual_seed(5)
    config = EncoderConfig(6, (ConvSpec(4, 2, 1), ConvSpec(4, 4, 1)))
    encoder = ConvEncoder(config, hidden=5).double()
    x = torch.randn(1, 32, 6, dtype=torch.float64)
    with torch.no_grad():
        before = encoder(x, None)
        encoder.weights[0].mul_(2.0)
        after = encoder(x, None)
    diff = (after - 2.0 * before).abs().max().item()
    assert diff < 1e-10, f"cached kernel not refreshed: max abs diff {diff}"


def test_loads_conv1d_layout_weights():
    torch.manual_seed(6)
    config = EncoderConfig(6, AUDIO_STEPS)
    encoder = ConvEncoder(config, hidden=5)
    conv_layout = {f"weights.{i}": taps.detach().permute(2, 1, 0).clone() for i, taps in enumerate(encoder.weights)}
    restored = ConvEncoder(config, hidden=5)
    restored.load_state_dict(conv_layout)
    for a, b in zip(encoder.weights, restored.weights):
        assert torch.equal(a, b)
