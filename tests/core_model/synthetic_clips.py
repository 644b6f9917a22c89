"""Structured synthetic clips for training tests: the label is readable from every modality.

Each modality's frames are ``label / 3 * direction + noise`` with a fixed
random direction per modality, so a model can learn the label and a constant
predictor cannot.
"""

from __future__ import annotations

import numpy as np

from core_model.data.batch import ClipFeatures

DIMS = {"audio": 6, "text": 8, "visual": 4}
MAX_FRAMES = {"audio": 16, "text": 6, "visual": 5}
MIN_FRAMES = {"audio": 8, "text": 2, "visual": 2}
TINY_MODEL = dict(hidden=16, heads=2, ff=32)
NO_DROPOUT = dict(input_dropout=0.0, attention_dropout=0.0, residual_dropout=0.0, ff_dropout=0.0,
                  embedding_dropout=0.0)


def make_clips(count: int, split: str | None, seed: int, labeled: bool = True, prefix: str | None = None,
               dims: dict[str, int] = DIMS):
    rng = np.random.default_rng(seed)
    directions = {m: np.random.default_rng(1234 + i).normal(size=d) for i, (m, d) in enumerate(dims.items())}
    clips = []
    for i in range(count):
        value = round(float(rng.uniform(-3, 3)), 2)
        clip = ClipFeatures(name=f"{prefix or split}_{i}", label=value if labeled else None, split=split)
        for modality, dim in dims.items():
            frames = int(rng.integers(MIN_FRAMES[modality], MAX_FRAMES[modality] + 1))
            noise = rng.normal(scale=0.5, size=(frames, dim))
            setattr(clip, modality, (value / 3 * directions[modality][None, :] + noise).astype(np.float32))
        clips.append(clip)
    return clips


def tiny_model(seed: int = 0, **overrides):
    import torch

    from core_model.model import SemiIIN, SemiIINConfig

    torch.manual_seed(seed)
    settings = dict(TINY_MODEL)
    settings.update(overrides)
    return SemiIIN(SemiIINConfig.for_dims(DIMS, fixed_lengths=dict(MAX_FRAMES), **settings))
