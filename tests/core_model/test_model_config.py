"""SemiIINConfig presets, validation, dict round trip and parameter counts."""

import json

import pytest

from core_model.errors import ConfigError
from core_model.model import ConvSpec, SemiIIN, SemiIINConfig, count_parameters


def test_paper_parameter_count():
    model = SemiIIN(SemiIINConfig.paper(faithful=True))
    assert count_parameters(model) == 1_602_376


def test_global_baseline_parameter_count():
    model = SemiIIN(SemiIINConfig.paper(faithful=True).global_baseline())
    assert count_parameters(model) == 1_338_056


def test_untied_layers_add_parameters():
    tied = count_parameters(SemiIIN(SemiIINConfig.paper()))
    untied = count_parameters(SemiIIN(SemiIINConfig.paper(tie_layers=False)))
    # One more pre-LN layer with its final LayerNorm per branch.
    layer = 3 * 128 * 128 + 3 * 128 + 128 * 128 + 128 + 128 * 512 + 512 + 512 * 128 + 128 + 3 * 2 * 128
    assert untied - tied == 2 * layer


def test_paper_sizes_and_positions():
    config = SemiIINConfig.paper()
    assert config.dims == {"audio": 1024, "text": 1024, "visual": 256}
    assert config.fixed_lengths == {"audio": 800, "text": 100, "visual": 50}
    assert config.token_capacity("audio") == 100
    assert config.token_capacity("text") == 100
    assert config.token_capacity("visual") == 50
    assert config.max_positions == 252
    assert config.position_offsets() == {"audio": 2, "text": 102, "visual": 202}


def test_for_dims_is_improved_default():
    config = SemiIINConfig.for_dims({"audio": 80, "text": 384, "visual": 64}, passes=3)
    assert not config.faithful
    assert config.dims == {"audio": 80, "text": 384, "visual": 64}
    assert config.passes == 3
    assert config.fusion == "gate"


def test_global_baseline_settings():
    config = SemiIINConfig.paper().global_baseline()
    assert config.attention == "global"
    assert not config.learned_positions
    assert config.tie_layers


def test_dict_round_trip_through_json():
    config = SemiIINConfig.paper(faithful=False, fusion="concat", passes=3)
    restored = SemiIINConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert restored == config


def test_from_dict_unknown_key_named():
    data = SemiIINConfig.paper().to_dict()
    data["hiden"] = 64
    with pytest.raises(ConfigError, match="hiden"):
        SemiIINConfig.from_dict(data)


def test_from_dict_unknown_step_key_named():
    data = SemiIINConfig.paper().to_dict()
    data["audio"]["steps"][0]["dilation"] = 2
    with pytest.raises(ConfigError, match="dilation"):
        SemiIINConfig.from_dict(data)


def test_replace_unknown_key_named():
    with pytest.raises(ConfigError, match="dropout"):
        SemiIINConfig.paper().replace(dropout=0.1)


@pytest.mark.parametrize(
    "overrides, word",
    [
        ({"fusion": "mul"}, "fusion"),
        ({"attention": "local"}, "attention"),
        ({"hidden": 130}, "heads"),
        ({"attention_dropout": 1.0}, "attention_dropout"),
        ({"fixed_lengths": {"audio": 800, "text": 100}}, "fixed_lengths"),
        ({"fixed_lengths": {"audio": 2, "text": 100, "visual": 50}}, "audio"),
    ],
)
def test_invalid_values_rejected(overrides, word):
    with pytest.raises(ConfigError, match=word):
        SemiIINConfig.paper().replace(**overrides)


def test_conv_output_length():
    assert ConvSpec(4, 2, 1).output_length(800) == 400
    assert ConvSpec(4, 4, 1).output_length(400) == 100
    assert ConvSpec(3, 1, 1).output_length(1) == 1
    assert ConvSpec(4, 4, 1).output_length(1) == 0
    assert ConvSpec(3, 1, 1).output_length(0) == 0
