"""Paper-preset loaders: missing-model errors, the vocabulary check and tiny real models.

The tiny models are real transformers models with random weights and small
configurations, saved into a temporary folder and loaded back through the
same loaders that load RoBERTa-large and HuBERT-large.
"""

import json

import numpy as np
import pytest
import torch

from core_model.errors import DataError, ModelNotFoundError
from core_model.features.base import AudioEncoder, TextEncoder, VisualEncoder
from core_model.features.paper import (
    FABNET_FILE,
    FabNetEncoderNet,
    load_fabnet,
    load_hubert,
    load_roberta,
)


def _tiny_roberta_folder(path, with_tokenizer=True):
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaConfig, RobertaModel, RobertaTokenizerFast

    path.mkdir(parents=True, exist_ok=True)
    vocab_size = 400
    if with_tokenizer:
        corpus = ["now im not even gonna sugar coat this", "and he is one of my favorite actors ever"] * 20
        bpe = ByteLevelBPETokenizer()
        bpe.train_from_iterator(
            corpus, vocab_size=vocab_size, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
        )
        tokenizer = RobertaTokenizerFast(
            tokenizer_object=bpe._tokenizer,
            bos_token="<s>",
            eos_token="</s>",
            cls_token="<s>",
            sep_token="</s>",
            unk_token="<unk>",
            pad_token="<pad>",
            mask_token="<mask>",
        )
        tokenizer.save_pretrained(str(path))
        vocab_size = len(tokenizer)
    torch.manual_seed(0)
    config = RobertaConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=4,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=66,
    )
    RobertaModel(config).save_pretrained(str(path))
    return path


def _tiny_hubert_folder(path):
    from transformers import HubertConfig, HubertModel, Wav2Vec2FeatureExtractor

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
    HubertModel(config).save_pretrained(str(path))
    Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, do_normalize=True).save_pretrained(str(path))
    return path


def test_roberta_missing_names_model(tmp_path):
    with pytest.raises(ModelNotFoundError) as info:
        load_roberta(tmp_path / "nothing-here")
    message = str(info.value)
    assert "roberta-large" in message
    assert "huggingface-cli download roberta-large" in message


def test_uncached_model_id_blames_cache_not_network():
    with pytest.raises(ModelNotFoundError) as info:
        load_roberta("semi-iin-tests/no-such-model")
    message = str(info.value)
    assert "not in the local Hugging Face cache" in message
    assert "connect" not in message
    assert "allow_download=True" in message


def test_empty_folder_reported_incomplete(tmp_path):
    with pytest.raises(ModelNotFoundError, match="is incomplete"):
        load_roberta(tmp_path)


def test_hubert_missing_names_model(tmp_path):
    with pytest.raises(ModelNotFoundError, match="hubert-large"):
        load_hubert(tmp_path / "nothing-here")


def test_config_only_folder_fails_vocab_check(tmp_path):
    folder = _tiny_roberta_folder(tmp_path / "config-only", with_tokenizer=False)
    assert not (folder / "tokenizer.json").exists()
    with pytest.raises(ModelNotFoundError) as info:
        load_roberta(folder)
    message = str(info.value)
    assert "roberta-large" in message
    assert "tokenizer of only" in message


def test_tiny_roberta_round_trip(tmp_path):
    encoder = load_roberta(_tiny_roberta_folder(tmp_path / "tiny-roberta"))
    assert isinstance(encoder, TextEncoder)
    assert encoder.dim == 32
    assert encoder.layers == 4
    words = ["now", "unfavorite", "...", "", "actors"]
    vectors = encoder.encode_words(words)
    assert vectors.shape == (5, 32)
    assert np.isfinite(vectors).all()
    np.testing.assert_array_equal(vectors, encoder.encode_words(words))


def test_tiny_roberta_sums_last_four_layers(tmp_path):
    encoder = load_roberta(_tiny_roberta_folder(tmp_path / "tiny-roberta"))
    words = ["sugar", "coat"]
    encoded = encoder.tokenizer(words, is_split_into_words=True, return_tensors="pt")
    with torch.inference_mode():
        states = encoder.model(**encoded, output_hidden_states=True).hidden_states
    summed = sum(states[-4:])[0]
    word_ids = encoded.word_ids()
    expected = np.stack(
        [summed[[t for t, w in enumerate(word_ids) if w == i]].mean(0).numpy() for i in range(len(words))]
    )
    difference = float(np.abs(encoder.encode_words(words) - expected).max())
    assert difference < 1e-5, f"max difference {difference}"


def test_tiny_hubert_round_trip(tmp_path):
    encoder = load_hubert(_tiny_hubert_folder(tmp_path / "tiny-hubert"))
    assert isinstance(encoder, AudioEncoder)
    assert encoder.frame_rate == 50.0
    audio = np.random.default_rng(0).normal(0, 0.1, 16000).astype(np.float32)
    frames = encoder.encode(audio)
    assert frames.shape == (49, 32)
    assert np.isfinite(frames).all()
    assert encoder.encode(audio[:100]).shape == (0, 32)


def test_fabnet_needs_weights_folder(tmp_path):
    with pytest.raises(ModelNotFoundError, match="FAb-Net weights must be provided"):
        load_fabnet(None)
    with pytest.raises(ModelNotFoundError, match=FABNET_FILE):
        load_fabnet(tmp_path)


def test_fabnet_round_trip(tmp_path):
    from safetensors.torch import save_file

    torch.manual_seed(0)
    net = FabNetEncoderNet(base=4, embedding=16)
    save_file(net.state_dict(), str(tmp_path / FABNET_FILE))
    (tmp_path / "config.json").write_text(json.dumps({"base": 4, "embedding": 16}))
    encoder = load_fabnet(tmp_path)
    assert isinstance(encoder, VisualEncoder)
    crops = np.random.default_rng(0).integers(0, 256, (3, 48, 48), dtype=np.uint8)
    embeddings = encoder.encode(crops)
    assert embeddings.shape == (3, 16)
    assert np.isfinite(embeddings).all()


def test_fabnet_rejects_mismatched_weights(tmp_path):
    from safetensors.torch import save_file

    save_file({"encoder.0.weight": torch.zeros(4, 3, 4, 4)}, str(tmp_path / FABNET_FILE))
    with pytest.raises(DataError, match="does not match"):
        load_fabnet(tmp_path)
