"""Fixtures of the feature tests: the test media folder and small real encoders."""

from pathlib import Path

import pytest
import torch

FEATURE_DATA = Path(__file__).resolve().parents[1] / "data" / "features"


@pytest.fixture(scope="session")
def feature_data() -> Path:
    return FEATURE_DATA


@pytest.fixture(scope="session")
def minilm():
    from core_model.features.text_minilm import shared_minilm

    return shared_minilm()


@pytest.fixture(scope="session")
def tiny_hubert(tmp_path_factory):
    """A HuBERT model with a tiny configuration and random weights, loaded through load_hubert."""
    from transformers import HubertConfig, HubertModel, Wav2Vec2FeatureExtractor

    from core_model.features.paper import load_hubert

    folder = tmp_path_factory.mktemp("tiny-hubert")
    torch.manual_seed(0)
    config = HubertConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(16,) * 7,
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=4,
    )
    HubertModel(config).save_pretrained(str(folder))
    Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, do_normalize=True).save_pretrained(str(folder))
    return load_hubert(folder)


@pytest.fixture(scope="session")
def tiny_fabnet(tmp_path_factory):
    """A FAb-Net encoder with narrow layers and random weights, loaded through load_fabnet."""
    import json

    from safetensors.torch import save_file

    from core_model.features.paper import FABNET_FILE, FabNetEncoderNet, load_fabnet

    folder = tmp_path_factory.mktemp("tiny-fabnet")
    torch.manual_seed(0)
    save_file(FabNetEncoderNet(base=4, embedding=16).state_dict(), str(folder / FABNET_FILE))
    (folder / "config.json").write_text(json.dumps({"base": 4, "embedding": 16}))
    return load_fabnet(folder)
