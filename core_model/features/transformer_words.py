"""Word vectors from a Hugging Face transformer: sub-word states averaged per word.

Both text encoders (MiniLM for the lite preset, RoBERTa-large for the paper
preset) tokenise a list of words with the tokenizer's word ids, run the model,
combine some hidden layers and average each word's sub-word tokens, so the
output has exactly one row per input word. A word that yields no token at all
(an empty string, whitespace, a character the normaliser strips) is encoded
as the tokenizer's unknown token instead, which keeps the row count.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from core_model.errors import ModelNotFoundError
from core_model.features.base import check_features

log = logging.getLogger(__name__)

# A real vocabulary has thousands of entries. A folder that holds only
# config.json makes AutoTokenizer build a tokenizer of the special tokens
# alone (5 entries for RoBERTa) without any warning.
MIN_VOCAB_SIZE = 100


class TransformerWordEncoder:
    """Encode words with a transformer, summing the last ``layers`` hidden layers.

    ``tokenizer`` must be a fast tokenizer (it provides ``word_ids``). Long word
    lists are split into windows of at most ``max_tokens`` tokens, each encoded
    on its own.
    """

    modality = "text"
    frame_rate = None

    def __init__(self, model, tokenizer, *, identifier: str, layers: int = 1, max_tokens: int | None = None):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self._identifier = identifier
        self.layers = int(layers)
        config = model.config
        self._dim = int(config.hidden_size)
        if self.layers < 1 or self.layers > int(config.num_hidden_layers):
            raise ValueError(f"layers={layers} outside 1..{config.num_hidden_layers} for {identifier}")
        positions = int(getattr(config, "max_position_embeddings", 512))
        # RoBERTa reserves two position ids for padding, so its usable length is 2 below the table size.
        limit = min(positions - 2, int(getattr(tokenizer, "model_max_length", positions) or positions))
        self.max_tokens = min(int(max_tokens), limit) if max_tokens else limit

    @property
    def identifier(self) -> str:
        return self._identifier

    @property
    def dim(self) -> int:
        return self._dim

    def encode_words(self, words: Sequence[str]) -> np.ndarray:
        """Return float32 ``(N, D)`` for N words; an empty list gives ``(0, D)``."""
        words = [str(w) for w in words]
        if not words:
            return np.zeros((0, self.dim), dtype=np.float32)
        words = self._replace_empty_words(words)
        counts = self._token_counts(words)
        rows = []
        for start, stop in _windows(counts, self.max_tokens - 2):
            rows.append(self._encode_window(words[start:stop]))
        vectors = np.concatenate(rows, axis=0)
        return check_features(vectors, dim=self.dim, rows=len(words), source=self.identifier)

    def _replace_empty_words(self, words: list[str]) -> list[str]:
        counts = self._token_counts(words)
        empty = [i for i, n in enumerate(counts) if n == 0]
        if not empty:
            return words
        unknown = self.tokenizer.unk_token
        log.debug("%d of %d words give no tokens; encoding them as %r", len(empty), len(words), unknown)
        return [unknown if n == 0 else w for w, n in zip(words, counts)]

    def _token_counts(self, words: list[str]) -> list[int]:
        encoded = self.tokenizer(
            words, is_split_into_words=True, add_special_tokens=False, truncation=False, verbose=False
        )
        counts = [0] * len(words)
        for word_id in encoded.word_ids():
            if word_id is not None:
                counts[word_id] += 1
        return counts

    @torch.inference_mode()
    def _encode_window(self, words: list[str]) -> np.ndarray:
        encoded = self.tokenizer(
            words, is_split_into_words=True, return_tensors="pt", truncation=True, max_length=self.max_tokens
        )
        word_ids = encoded.word_ids()
        outputs = self.model(**encoded, output_hidden_states=True)
        # hidden_states contains the embedding output and then one entry per layer, each (1, T, D).
        states = torch.stack(outputs.hidden_states[-self.layers:], dim=0).sum(dim=0)[0]  # (T, D)
        index = torch.tensor([-1 if w is None else w for w in word_ids])
        keep = index >= 0
        sums = torch.zeros(len(words), states.shape[1], dtype=states.dtype)
        sums.index_add_(0, index[keep], states[keep])
        counts = torch.bincount(index[keep], minlength=len(words)).clamp(min=1).unsqueeze(1)
        return (sums / counts).float().numpy()


def _windows(counts: list[int], budget: int) -> list[tuple[int, int]]:
    """Split words into consecutive ranges whose token counts sum to at most ``budget``.

    A single word longer than the budget gets a window of its own, and
    ``_encode_window`` keeps only its first tokens.
    """
    windows = []
    start, used = 0, 0
    for i, n in enumerate(counts):
        if used + n > budget and i > start:
            windows.append((start, i))
            start, used = i, 0
        used += n
    windows.append((start, len(counts)))
    return windows


def load_word_encoder(
    folder: str | Path,
    *,
    model_id: str,
    identifier: str,
    layers: int,
    allow_download: bool = False,
    how_to_provide: str,
    tokenizer_options: dict | None = None,
) -> TransformerWordEncoder:
    """Load a tokenizer and model with transformers and check the vocabulary.

    ``folder`` is a local model folder or a Hugging Face model id, looked up
    in the local cache unless ``allow_download`` is true. Missing or
    incomplete weights raise ModelNotFoundError naming ``model_id`` and
    ``how_to_provide``.
    """
    from transformers import AutoModel, AutoTokenizer

    source = str(folder)
    check_local_source(source, model_id, how_to_provide)
    local_only = not allow_download
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local_only, **(tokenizer_options or {}))
        model = AutoModel.from_pretrained(source, local_files_only=local_only)
    except (OSError, ValueError) as exc:
        raise ModelNotFoundError(f"{describe_load_failure(source, model_id, exc, allow_download)}. {how_to_provide}") from exc
    if not getattr(tokenizer, "is_fast", False):
        raise ModelNotFoundError(
            f"model {model_id} at {source!r} has no fast tokenizer (tokenizer.json), which word alignment needs. "
            f"{how_to_provide}"
        )
    size = len(tokenizer)
    if size < MIN_VOCAB_SIZE or size < int(model.config.vocab_size) // 2:
        raise ModelNotFoundError(
            f"model {model_id} at {source!r} has a tokenizer of only {size} tokens (the model expects "
            f"{model.config.vocab_size}); the vocabulary files are missing. {how_to_provide}"
        )
    log.info("loaded %s from %s (%d tokens, hidden size %d)", model_id, source, size, model.config.hidden_size)
    return TransformerWordEncoder(model, tokenizer, identifier=identifier, layers=layers)


def check_local_source(source: str, model_id: str, how_to_provide: str) -> None:
    """Raise ModelNotFoundError when ``source`` is written as a path but no such folder exists.

    transformers would treat it as a Hugging Face id and report an invalid repository name.
    """
    looks_like_path = source.startswith((".", "~", "/")) or "\\" in source or source.count("/") > 1
    if looks_like_path and not Path(source).expanduser().exists():
        raise ModelNotFoundError(f"model {model_id}: folder {source} not found. {how_to_provide}")


def describe_load_failure(source: str, model_id: str, exc: BaseException, allow_download: bool) -> str:
    """Describe why loading ``source`` failed, without transformers' hint at the network when offline."""
    if Path(source).expanduser().is_dir():
        return f"model {model_id}: folder {source} is incomplete ({_first_line(exc)})"
    if not allow_download:
        from huggingface_hub.constants import HF_HUB_CACHE

        return (f"model {model_id} ({source}) is not in the local Hugging Face cache {HF_HUB_CACHE}, "
                "and downloading is off (allow_download=True, or --allow-download on the command line, turns it on)")
    return f"model {model_id} ({source}) could not be downloaded or loaded ({_first_line(exc)})"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0].rstrip(".") if text else type(exc).__name__
