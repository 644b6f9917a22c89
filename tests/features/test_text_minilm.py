"""MiniLM word vectors: one finite 384-d row per word, context-dependent, repeatable."""

import numpy as np
import pytest

from core_model.features.base import TextEncoder
from core_model.features.text_minilm import DIM, load_minilm


@pytest.fixture(scope="module")
def encoder():
    return load_minilm()


def test_encoder_matches_interface(encoder):
    assert isinstance(encoder, TextEncoder)
    assert encoder.dim == DIM == 384
    assert encoder.modality == "text"
    assert encoder.frame_rate is None
    assert "MiniLM-L6" in encoder.identifier


def test_one_row_per_word(encoder):
    words = "NOW IM NOT EVEN GONNA SUGAR COAT THIS".split()
    vectors = encoder.encode_words(words)
    assert vectors.shape == (len(words), 384)
    assert vectors.dtype == np.float32
    assert np.isfinite(vectors).all()


def test_split_and_punctuation_words_keep_rows(encoder):
    # "unbelievably" splits into several word pieces; "..." is punctuation only;
    # the empty, blank and zero-width words give no token at all.
    words = ["unbelievably", "...", "", " ", "\u200b", "ok"]
    vectors = encoder.encode_words(words)
    assert vectors.shape == (6, 384)
    assert np.isfinite(vectors).all()


def test_same_word_differs_by_context(encoder):
    first = encoder.encode_words("the river bank was muddy".split())[2]
    second = encoder.encode_words("the bank approved my loan".split())[1]
    cosine = float(first @ second / (np.linalg.norm(first) * np.linalg.norm(second)))
    assert cosine < 0.99, f"'bank' in two contexts has cosine {cosine:.4f}"


def test_encoding_is_deterministic(encoder):
    words = "AND HE IS ONE OF MY FAVORITE ACTORS EVER".split()
    first = encoder.encode_words(words)
    second = encoder.encode_words(words)
    np.testing.assert_array_equal(first, second)


def test_empty_word_list(encoder):
    assert encoder.encode_words([]).shape == (0, 384)


def test_long_word_list_split_into_windows(encoder):
    # 600 words exceed MiniLM's 512 positions, so they are encoded in windows.
    words = ["good"] * 600
    vectors = encoder.encode_words(words)
    assert vectors.shape == (600, 384)
    assert np.isfinite(vectors).all()
