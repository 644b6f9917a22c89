"""Attention maps of one clip: where the cls token looked in the intra- and inter-modal branches."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from app.project import Project
from app.services.prediction import load_clip_features
from core_model.errors import DataError

logger = logging.getLogger(__name__)

# Position of the cls token in the sequence [val, cls, audio, text, visual].
CLS_INDEX = 1


def clip_attention(project_folder: str | Path, clip_id: int, version: str | None = None, *, progress=None,
                   cancel=None) -> dict[str, Any]:
    """Run the model (default: the active version) on one clip and return the cls token's attention.

    Returns ``{"clip_id", "version", "weights": {branch: float32 array (H, T)},
    "token_spans": {modality: (start, stop)}, "token_lengths": {modality: int},
    "words": [str]}``. Raises DataError when the clip has no cached features.
    """
    import torch

    from app.services.models import load_model
    from core_model.data.batch import collate
    from core_model.training.trainer import fixed_lengths_of

    report = progress or (lambda step, total, message: None)
    report(0, 2, "loading the model")
    with Project.open(project_folder) as project:
        model, info, version = load_model(project, version)
        clip = project.clip(clip_id)
        features, _clips = load_clip_features(project, [clip], info["preset"], info["dims"])
    if not features:
        raise DataError(f"clip {clip_id} has no cached features for preset {info['preset']!r}; "
                        "analyze its video first (Model > Analyze videos)")
    if cancel is not None and cancel.is_set():
        raise DataError("attention computation cancelled")
    report(1, 2, f"running {version} on clip {clip_id}")
    model.eval()
    with torch.no_grad():
        batch = collate(features, info["dims"], fixed_lengths=fixed_lengths_of(model))
        output = model(batch, return_attention=True)
    if not output.attention:
        raise DataError(f"model {version} returned no attention maps")
    weights = {branch: tensor[0, :, CLS_INDEX, :].float().cpu().numpy() for branch, tensor in output.attention.items()}
    report(2, 2, "done")
    return {
        "clip_id": clip_id,
        "version": version,
        "weights": weights,
        "token_spans": {m: (int(a), int(b)) for m, (a, b) in output.token_spans.items()},
        "token_lengths": {m: int(v[0]) for m, v in output.token_lengths.items()},
        "words": [str(w.get("text", "")) for w in clip.words],
    }
