"""Feature presets: one encoder per modality, with their output sizes and identifiers.

``lite`` is the offline default: MiniLM-L6 word vectors and the small speech
and face encoders trained by this repository's recipes (weights under
``resources/models/``). ``paper`` uses RoBERTa-large, HuBERT-large and FAb-Net,
which the user must provide locally.

A preset built with ``allow_missing=True`` may lack an encoder. That modality
is then flagged missing on every clip, never filled with placeholder values.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from pathlib import Path

from core_model.data.batch import MODALITIES
from core_model.errors import ConfigError, ModelNotFoundError
from core_model.features.base import describe_encoder

log = logging.getLogger(__name__)

PRESET_NAMES = ("lite", "paper")

# Output sizes of the paper encoders, known before loading: the hidden size of RoBERTa-large and
# HuBERT-large (1024) and the FAb-Net embedding (256).
PAPER_DIMS = {"audio": 1024, "text": 1024, "visual": 256}


@dataclass(frozen=True)
class Preset:
    """A named set of encoders; an encoder that is None marks its modality as always missing."""

    name: str
    text: object | None
    audio: object | None
    visual: object | None
    declared_dims: tuple[tuple[str, int], ...] = ()

    def encoder(self, modality: str) -> object | None:
        if modality not in MODALITIES:
            raise ConfigError(f"unknown modality {modality!r}; expected one of {MODALITIES}")
        return getattr(self, modality)

    @property
    def dims(self) -> dict[str, int]:
        """Feature size per modality: the encoder's ``dim``, else the declared size (0 when unknown)."""
        declared = dict(self.declared_dims)
        sizes = {}
        for modality in MODALITIES:
            encoder = self.encoder(modality)
            sizes[modality] = int(encoder.dim) if encoder is not None else int(declared.get(modality, 0))
        return sizes

    @property
    def identifiers(self) -> dict[str, str]:
        """The identifier of each modality's encoder, ``"<modality>:unavailable"`` where it is None."""
        return {
            m: describe_encoder(self.encoder(m), m) if self.encoder(m) is not None else f"{m}:unavailable"
            for m in MODALITIES
        }

    def missing_encoders(self) -> list[str]:
        return [m for m in MODALITIES if self.encoder(m) is None]


def get_preset(name: str, **options) -> Preset:
    """Build the preset ``name`` ("lite" or "paper").

    Options of both presets: ``allow_missing`` (default False) turns a missing
    encoder into an always-missing modality instead of a ModelNotFoundError.
    Paper options: ``roberta`` and ``hubert`` (folder or Hugging Face id),
    ``fabnet_folder`` (folder with FAb-Net weights) and ``allow_download``.
    Lite options: ``audio_weights`` and ``visual_weights`` (weight files in
    place of the bundled ones). Unknown options raise ConfigError.
    """
    if name == "lite":
        return _lite_preset(**_check_options(name, options, {"allow_missing", "audio_weights", "visual_weights"}))
    if name == "paper":
        allowed = {"allow_missing", "roberta", "hubert", "fabnet_folder", "allow_download"}
        return _paper_preset(**_check_options(name, options, allowed))
    raise ConfigError(f"unknown feature preset {name!r}; choose one of {', '.join(PRESET_NAMES)}")


def _check_options(name: str, options: dict, allowed: set[str]) -> dict:
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise ConfigError(f"unknown option(s) {unknown} for preset {name!r}; allowed: {sorted(allowed)}")
    return options


def _load_or_skip(modality: str, allow_missing: bool, loader, *args, **kwargs):
    try:
        return loader(*args, **kwargs)
    except ModelNotFoundError as exc:
        if not allow_missing:
            raise
        log.warning("%s encoder unavailable, so the %s modality will be flagged missing: %s", modality, modality, exc)
        return None


def _lite_preset(allow_missing: bool = False, audio_weights: str | Path | None = None,
                 visual_weights: str | Path | None = None) -> Preset:
    from core_model.features.text_minilm import shared_minilm

    text = _load_or_skip("text", allow_missing, shared_minilm)
    audio = _load_or_skip("audio", allow_missing, _load_lite, "lite_audio", "LiteAudioEncoder", audio_weights)
    visual = _load_or_skip("visual", allow_missing, _load_lite, "lite_visual", "LiteVisualEncoder", visual_weights)
    return Preset("lite", text=text, audio=audio, visual=visual)


def _load_lite(module_name: str, class_name: str, weights: str | Path | None):
    """Build one of the small lite encoders from its module under ``core_model.features``."""
    try:
        module = importlib.import_module(f"core_model.features.{module_name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"core_model.features.{module_name}":
            raise
        raise ModelNotFoundError(
            f"the lite preset's {class_name} (core_model.features.{module_name}) is not installed; "
            "update Semi-IIN Studio or use allow_missing=True to analyse without that modality"
        ) from exc
    encoder_class = getattr(module, class_name)
    # The lite encoders load their bundled weights (resources/models/) when ``weights`` is None,
    # and raise ModelNotFoundError when the files are absent.
    encoder = encoder_class.load(weights)
    log.info("loaded %s (%s)", class_name, describe_encoder(encoder, encoder.modality))
    return encoder


def _paper_preset(allow_missing: bool = False, roberta: str | Path | None = None, hubert: str | Path | None = None,
                  fabnet_folder: str | Path | None = None, allow_download: bool = False) -> Preset:
    from core_model.features import paper

    text = _load_or_skip("text", allow_missing, paper.load_roberta, roberta or paper.ROBERTA_ID,
                         allow_download=allow_download)
    audio = _load_or_skip("audio", allow_missing, paper.load_hubert, hubert or paper.HUBERT_ID,
                          allow_download=allow_download)
    visual = _load_or_skip("visual", allow_missing, paper.load_fabnet, fabnet_folder)
    return Preset("paper", text=text, audio=audio, visual=visual, declared_dims=tuple(PAPER_DIMS.items()))
