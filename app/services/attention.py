"""Attention of one clip's cls token over its words, audio frames and face frames."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.project import Project
from app.services.prediction import load_clip_features
from core_model.errors import DataError

# Position of the cls token in the model sequence [val, cls, audio, text, visual].
CLS_INDEX = 1


def clip_attention(project_folder: str | Path, clip_id: int, version: str | None = None, *, progress=None,
                   cancel=None) -> dict[str, Any]:
    """Run the model on one clip and return the cls row of each branch's last-pass attention.

    ``weights`` maps each branch ("intra", "inter", or "global") to an (H, T)
    array; ``token_spans`` and ``token_lengths`` locate each modality's tokens.
    """
    import torch

    from app.services.models import load_model
    from core_model.data.batch import collate

    with Project.open(project_folder) as project:
        model, info, version = load_model(project, version)
        clip = project.clip(int(clip_id))
        features, _ = load_clip_features(project, [clip], info["preset"], info["dims"])
    if not features:
        raise DataError(f"clip {clip_id} has no cached features; analyse its video first")
    batch = collate(features, info["dims"])
    with torch.no_grad():
        output = model(batch, return_attention=True)
    if not output.attention:
        raise DataError(f"model {version} returned no attention maps")
    weights = {branch: maps[0, :, CLS_INDEX, :].float().numpy() for branch, maps in output.attention.items()}
    return {
        "clip_id": clip.id,
        "model_version": version,
        "weights": weights,
        "token_spans": {m: (int(a), int(b)) for m, (a, b) in output.token_spans.items()},
        "token_lengths": {m: int(v[0]) for m, v in output.token_lengths.items()},
        "words": [w["text"] for w in clip.words],
    }
