"""SemiIIN forward behaviour on tiny configurations.

``reference_forward`` recomputes the faithful model the plain way (NCL
Conv1d, per-branch loops, explicit softmax attention with hard-coded mask
boundaries, as the official code does) from the same weights, so the
batched and fused implementation is checked against it.
"""

import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F

from core_model.data.batch import Batch
from core_model.errors import DataError, MissingModalityError
from core_model.model import SemiIIN, SemiIINConfig
from core_model.model.layers import attention_blocks, attention_plain
from core_model.model.masks import INTER_TABLE, INTRA_TABLE, build_keep, keep_to_bias

DIMS = {"audio": 12, "text": 10, "visual": 6}
# 32 audio frames give 4 tokens, so T = 2 + 4 + 6 + 5 = 17.
LENGTHS = {"audio": 32, "text": 6, "visual": 5}


@pytest.fixture(autouse=True, scope="module")
def single_thread():
    """Run these tiny models on one thread: on a shared, loaded CPU two threads
    spin against each other and make each small op ~30x slower."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def tiny_config(**overrides):
    base = SemiIINConfig.for_dims(DIMS, hidden=16, heads=2, ff=24, fixed_lengths=dict(LENGTHS))
    return base.replace(**overrides)


def make_batch(lengths, width=None, seed=0, names=None):
    """Random features with per-sample ``lengths`` {modality: [n, ...]}; padding is zero."""
    generator = torch.Generator().manual_seed(seed)
    size = len(lengths["audio"])
    tensors = {}
    for modality, dim in DIMS.items():
        frames = torch.tensor(lengths[modality], dtype=torch.int64)
        w = (width or {}).get(modality, max(1, int(frames.max())))
        x = torch.randn(size, w, dim, generator=generator)
        x = x * (torch.arange(w)[None, :] < frames[:, None])[:, :, None]
        tensors[modality] = x
        tensors[f"{modality}_lengths"] = frames
    return Batch(**tensors, names=names or [f"clip{i}" for i in range(size)])


def full_batch(size=3, seed=0):
    return make_batch({m: [n] * size for m, n in LENGTHS.items()}, seed=seed)


def sinusoid(count, dim):
    half = dim // 2
    freqs = torch.exp(torch.arange(half) * -(math.log(10000.0) / (half - 1)))
    angles = torch.arange(1, count + 1)[:, None] * freqs[None, :]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


def reference_forward(model, batch):
    """Faithful Semi-IIN computed step by step from ``model``'s weights (eval mode)."""
    config = model.config
    tokens = []
    for type_id, modality in enumerate(("audio", "text", "visual")):
        h = batch.features(modality).transpose(1, 2)  # (B, D, L)
        encoder = model.encoders[modality]
        for spec, taps in zip(encoder.specs, encoder.weights):
            h = F.conv1d(h, taps.permute(2, 1, 0), stride=spec.stride, padding=spec.padding)
        tokens.append(h.transpose(1, 2) + model.type_embedding.weight[type_id])
    size = tokens[0].shape[0]
    val = model.val_token.expand(size, 1, -1)
    cls = model.cls_token.expand(size, 1, -1)
    z = torch.cat([val, cls, *tokens], dim=1)
    length, hidden = z.shape[1], z.shape[2]
    z = z + model.position_embedding[:length]

    # Hard-coded boundaries, as the official code builds its masks.
    bounds = [0, 1, 2]
    for t in tokens:
        bounds.append(bounds[-1] + t.shape[1])
    group = torch.zeros(length, dtype=torch.long)
    for g in range(5):
        group[bounds[g] : bounds[g + 1]] = g
    results = {}
    for name, table in (("intra", INTRA_TABLE), ("inter", INTER_TABLE)):
        layer = getattr(model, f"{name}_layers")[0]
        mask = torch.where(table[group[:, None], group[None, :]], 0.0, float("-inf"))
        x = z
        for _ in range(config.passes):
            x = x * math.sqrt(hidden) + sinusoid(length, hidden)
            residual = x
            h = layer.attention_norm(x)
            q, k, v = layer.qkv(h).chunk(3, dim=-1)
            heads = config.heads
            split = lambda t: t.view(size, length, heads, hidden // heads).transpose(1, 2)  # noqa: E731
            q, k, v = split(q), split(k), split(v)
            scores = q @ k.transpose(-1, -2) / math.sqrt(hidden // heads) + mask
            context = (scores.softmax(-1) @ v).transpose(1, 2).reshape(size, length, hidden)
            x = residual + layer.out(context)
            x = x + layer.fc2(torch.relu(layer.fc1(layer.ff_norm(x))))
            x = layer.final_norm(x)
        results[name] = x

    def gate(fusion, intra, inter):
        g = torch.sigmoid(fusion.inter_proj(inter) + fusion.intra_proj(intra))
        return g * inter + (1 - g) * intra

    fused_val = gate(model.fusion_val, results["intra"][:, 0], results["inter"][:, 0])
    fused_cls = gate(model.fusion_cls, results["intra"][:, 1], results["inter"][:, 1])
    intensity = model.intensity_head(model.projection(fused_val)).squeeze(-1)
    logits = model.class_head(model.projection(fused_cls))
    return intensity, logits


def max_diff(a, b):
    return (a - b).abs().max().item()


@pytest.fixture
def improved():
    torch.manual_seed(0)
    return SemiIIN(tiny_config()).eval()


def test_faithful_matches_reference():
    torch.manual_seed(1)
    model = SemiIIN(tiny_config(faithful=True)).eval()
    batch = full_batch()
    with torch.no_grad():
        out = model(batch)
        intensity, logits = reference_forward(model, batch)
    assert max_diff(out.intensity, intensity) < 1e-5, f"intensity max abs diff {max_diff(out.intensity, intensity)}"
    assert max_diff(out.logits, logits) < 1e-5, f"logits max abs diff {max_diff(out.logits, logits)}"


def test_faithful_and_improved_agree_on_full_inputs():
    torch.manual_seed(2)
    faithful = SemiIIN(tiny_config(faithful=True)).eval()
    improved = SemiIIN(tiny_config(faithful=False)).eval()
    improved.load_state_dict(faithful.state_dict())
    batch = full_batch(seed=3)
    with torch.no_grad():
        a, b = faithful(batch), improved(batch)
    for field in ("intensity", "logits", "gate_val", "gate_cls"):
        diff = max_diff(getattr(a, field), getattr(b, field))
        assert diff < 1e-5, f"{field}: max abs diff {diff}"


def test_faithful_pads_short_inputs():
    model = SemiIIN(tiny_config(faithful=True)).eval()
    batch = make_batch({"audio": [20], "text": [3], "visual": [5]})
    with torch.no_grad():
        out = model(batch)
    assert out.token_spans == {"audio": (2, 6), "text": (6, 12), "visual": (12, 17)}
    assert out.token_lengths["text"].tolist() == [6]


def test_padding_content_changes_nothing(improved):
    lengths = {"audio": [32, 17, 0], "text": [6, 2, 4], "visual": [5, 0, 3]}
    clean = make_batch(lengths, seed=4)
    noisy = make_batch(lengths, seed=4)
    for modality in DIMS:
        x = noisy.features(modality)
        frames = noisy.lengths(modality)
        pad = torch.arange(x.shape[1])[None, :] >= frames[:, None]
        x[pad] = 50.0 * torch.randn(int(pad.sum()), x.shape[2])
    with torch.no_grad():
        a, b = improved(clean), improved(noisy)
    assert max_diff(a.intensity, b.intensity) < 1e-5, f"max abs diff {max_diff(a.intensity, b.intensity)}"
    assert max_diff(a.logits, b.logits) < 1e-5, f"max abs diff {max_diff(a.logits, b.logits)}"


def test_sample_alone_matches_padded_batch(improved):
    lengths = {"audio": [32, 17], "text": [6, 2], "visual": [5, 1]}
    batch = make_batch(lengths, seed=5)
    alone = make_batch({m: [v[1]] for m, v in lengths.items()}, seed=5)
    for modality in DIMS:
        n = lengths[modality][1]
        alone.features(modality)[0, :n] = batch.features(modality)[1, :n]
    with torch.no_grad():
        together, single = improved(batch), improved(alone)
    diff = max_diff(together.intensity[1], single.intensity[0])
    assert diff < 1e-5, f"max abs diff {diff}"


def test_eval_is_deterministic(improved):
    batch = full_batch(seed=6)
    with torch.no_grad():
        a, b = improved(batch), improved(batch)
    assert torch.equal(a.intensity, b.intensity)
    assert torch.equal(a.logits, b.logits)


def test_train_mode_applies_dropout(improved):
    batch = full_batch(seed=7)
    improved.train()
    a, b = improved(batch), improved(batch)
    assert not torch.equal(a.intensity, b.intensity)


def test_input_dropout_in_eval_flag():
    torch.manual_seed(3)
    model = SemiIIN(tiny_config(input_dropout_in_eval=True, embedding_dropout=0.0)).eval()
    batch = full_batch(seed=8)
    with torch.no_grad():
        a, b = model(batch), model(batch)
    assert not torch.equal(a.intensity, b.intensity)


def test_gate_values_in_unit_interval(improved):
    with torch.no_grad():
        out = improved(full_batch(size=5, seed=9))
    for gate in (out.gate_val, out.gate_cls):
        assert gate.shape == (5, 16)
        assert gate.min() >= 0.0
        assert gate.max() <= 1.0


def test_output_shapes_and_spans(improved):
    batch = make_batch({"audio": [32, 9], "text": [6, 2], "visual": [0, 3]})
    with torch.no_grad():
        out = improved(batch)
    assert out.intensity.shape == (2,)
    assert out.logits.shape == (2, 7)
    assert out.attention is None
    assert out.token_lengths["audio"].tolist() == [4, 1]
    assert out.token_lengths["text"].tolist() == [6, 2]
    assert out.token_lengths["visual"].tolist() == [0, 3]
    assert out.token_spans == {"audio": (2, 6), "text": (6, 12), "visual": (12, 15)}


def test_all_absent_sample_raises(improved):
    batch = make_batch({"audio": [32, 0], "text": [6, 0], "visual": [5, 0]}, names=["ok", "empty_clip"])
    with pytest.raises(MissingModalityError, match="empty_clip"):
        improved(batch)


def test_all_absent_raises_in_faithful_mode():
    model = SemiIIN(tiny_config(faithful=True))
    batch = make_batch({"audio": [0], "text": [0], "visual": [0]}, names=["silent"])
    with pytest.raises(MissingModalityError, match="silent"):
        model(batch)


def test_too_short_audio_only_raises(improved):
    # One audio frame gives no token after the two audio steps.
    batch = make_batch({"audio": [1], "text": [0], "visual": [0]}, names=["blip"])
    with pytest.raises(MissingModalityError, match="blip"):
        improved(batch)


@pytest.mark.parametrize("missing", ["audio", "text", "visual"])
def test_missing_modality_gives_finite_outputs(improved, missing):
    lengths = {m: [n, n] for m, n in LENGTHS.items()}
    lengths[missing] = [0, LENGTHS[missing]]
    batch = make_batch(lengths, seed=10)
    improved.train()
    out = improved(batch)
    assert torch.isfinite(out.intensity).all()
    assert torch.isfinite(out.logits).all()
    (out.intensity.sum() + out.logits.sum()).backward()
    for name, parameter in improved.named_parameters():
        if parameter.grad is not None:
            assert torch.isfinite(parameter.grad).all(), f"non-finite gradient in {name}"


def test_absent_modality_keeps_encoder_gradient(improved):
    # The whole batch lacks audio, yet every parameter gets a (zero) gradient.
    batch = make_batch({"audio": [0, 0], "text": [6, 2], "visual": [5, 3]})
    improved.train()
    out = improved(batch)
    (out.intensity.sum() + out.logits.sum()).backward()
    for weight in improved.encoders["audio"].weights:
        assert weight.grad is not None
        assert torch.count_nonzero(weight.grad) == 0


def test_only_one_modality_present(improved):
    batch = make_batch({"audio": [0], "text": [0], "visual": [4]})
    with torch.no_grad():
        out = improved(batch, return_attention=True)
    assert torch.isfinite(out.intensity).all()
    assert torch.isfinite(out.attention["intra"]).all()


def test_attention_paths_agree(improved):
    batch = make_batch({"audio": [32, 12], "text": [6, 3], "visual": [5, 0]}, seed=11)
    with torch.no_grad():
        fused = improved(batch)
        plain = improved(batch, return_attention=True)
    diff = max_diff(fused.intensity, plain.intensity)
    assert diff < 1e-5, f"intensity max abs diff {diff}"
    diff = max_diff(fused.logits, plain.logits)
    assert diff < 1e-5, f"logits max abs diff {diff}"


def test_attention_maps_respect_masks(improved):
    batch = make_batch({"audio": [32, 12], "text": [6, 3], "visual": [5, 0]}, seed=12)
    with torch.no_grad():
        out = improved(batch, return_attention=True)
    counts = {m: out.token_spans[m][1] - out.token_spans[m][0] for m in DIMS}
    keep = build_keep(("intra", "inter"), counts, out.token_lengths)  # (2, B, 1, T, T)
    for index, name in enumerate(("intra", "inter")):
        weights = out.attention[name]  # (B, H, T, T)
        assert weights.shape == (2, 2, 17, 17)
        sums = weights.sum(-1)
        assert max_diff(sums, torch.ones_like(sums)) < 1e-5
        blocked = ~keep[index].expand_as(weights)
        assert weights[blocked].abs().max() == 0.0, f"{name} attends a masked key"


def test_sdpa_matches_plain_attention():
    torch.manual_seed(4)
    q, k, v = (torch.randn(6, 2, 9, 8) for _ in range(3))  # (K*B, H, T, Dh)
    keep = torch.rand(6, 1, 9, 9) > 0.4
    keep |= torch.eye(9, dtype=torch.bool)
    bias = keep_to_bias(keep)
    expected, _ = attention_plain(q, k, v, bias, 0.0, False)
    got = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
    assert max_diff(got, expected) < 1e-5, f"max abs diff {max_diff(got, expected)}"


@pytest.mark.parametrize("kind", ["intra", "inter"])
def test_block_attention_matches_dense(kind):
    torch.manual_seed(9)
    counts = {"audio": 4, "text": 6, "visual": 3}
    lengths = {"audio": torch.tensor([4, 0, 2]), "text": torch.tensor([6, 3, 1]), "visual": torch.tensor([3, 3, 0])}
    keep = build_keep((kind,), counts, lengths)[0]  # (B, 1, T, T)
    bias = keep_to_bias(keep)
    q, k, v = (torch.randn(3, 2, 15, 8, dtype=torch.float64, requires_grad=True) for _ in range(3))
    blocks = [(2, 6), (6, 12), (12, 15)]
    dense, _ = attention_plain(q, k, v, bias.double(), 0.0, True)
    sparse = attention_blocks(q, k, v, bias.double(), blocks, kind, 0.0, True)
    assert max_diff(sparse, dense) < 1e-12, f"max abs diff {max_diff(sparse, dense)}"
    grads_dense = torch.autograd.grad(dense.square().sum(), (q, k, v))
    grads_sparse = torch.autograd.grad(sparse.square().sum(), (q, k, v))
    for name, a, b in zip("qkv", grads_dense, grads_sparse):
        assert max_diff(a, b) < 1e-10, f"grad {name}: max abs diff {max_diff(a, b)}"


def test_training_forward_matches_eval_without_dropout():
    # With every dropout at 0 the training path (block attention for intra)
    # must give the eval path's outputs.
    torch.manual_seed(10)
    zero = dict(input_dropout=0.0, embedding_dropout=0.0, residual_dropout=0.0, ff_dropout=0.0)
    model = SemiIIN(tiny_config(attention_dropout=0.5, **zero))
    batch = make_batch({"audio": [32, 12], "text": [6, 3], "visual": [5, 0]}, seed=16)
    model.settings = dataclasses.replace(model.settings, attention_dropout=1e-9)
    model.train()
    trained = model(batch)
    model.eval()
    with torch.no_grad():
        evaluated = model(batch)
    assert max_diff(trained.intensity, evaluated.intensity) < 1e-5, f"max abs diff {max_diff(trained.intensity, evaluated.intensity)}"
    assert max_diff(trained.logits, evaluated.logits) < 1e-5, f"max abs diff {max_diff(trained.logits, evaluated.logits)}"


@pytest.mark.parametrize("fusion", ["add", "concat", "dot"])
def test_other_fusions_have_no_gates(fusion):
    torch.manual_seed(5)
    model = SemiIIN(tiny_config(fusion=fusion)).eval()
    with torch.no_grad():
        out = model(full_batch(seed=13))
    assert out.gate_val is None
    assert out.gate_cls is None
    assert torch.isfinite(out.intensity).all()


def test_global_baseline_runs():
    torch.manual_seed(6)
    model = SemiIIN(tiny_config().global_baseline()).eval()
    batch = make_batch({"audio": [32, 8], "text": [6, 0], "visual": [5, 2]})
    with torch.no_grad():
        out = model(batch, return_attention=True)
    assert out.gate_val is None
    assert set(out.attention) == {"global"}
    assert torch.isfinite(out.logits).all()


def test_untied_layers_run():
    torch.manual_seed(7)
    model = SemiIIN(tiny_config(tie_layers=False, passes=3)).eval()
    assert len(model.intra_layers) == 3
    with torch.no_grad():
        out = model(full_batch(seed=14))
    assert torch.isfinite(out.intensity).all()


def test_too_long_input_rejected(improved):
    batch = make_batch({"audio": [32], "text": [9], "visual": [5]}, names=["long_clip"])
    with pytest.raises(DataError, match="long_clip"):
        improved(batch)


def test_wrong_feature_size_rejected(improved):
    batch = full_batch()
    batch.text = torch.zeros(3, 6, 11)
    with pytest.raises(DataError, match="text"):
        improved(batch)


def test_training_step_reduces_loss():
    torch.manual_seed(8)
    model = SemiIIN(tiny_config(input_dropout=0.0))
    batch = full_batch(size=8, seed=15)
    target = torch.linspace(-2, 2, 8)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.eval()
    with torch.no_grad():
        before = F.mse_loss(model(batch).intensity, target).item()
    model.train()
    for _ in range(30):
        optimizer.zero_grad()
        F.mse_loss(model(batch).intensity, target).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        after = F.mse_loss(model(batch).intensity, target).item()
    assert after < 0.5 * before, f"loss {before:.4f} -> {after:.4f}"
