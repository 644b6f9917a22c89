"""Predict every analysed clip of a project with a model version and store the results."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

from app.project import Project

log = logging.getLogger(__name__)

def load_clip_features(project, clips, preset: str, dims) -> tuple[list, list]:
    """Return ``(features, clips)`` for the clips whose features are cached, in the same order."""
    from core_model.data.cache import FeatureCache

    root = project.features_dir / preset
    if not root.is_dir():
        return [], []
    cache = FeatureCache(root, preset, dims)
    features, kept = [], []
    for clip in clips:
        if not clip.feature_key or not cache.has(clip.feature_key):
            continue
        sample = cache.get(clip.feature_key, name=str(clip.id))
        if not sample.present():
            continue
        sample.label = clip.label_intensity if clip.is_labeled else None
        features.append(sample)
        kept.append(clip)
    return features, kept


def predict_project(
    project_folder: str | Path,
    version: str | None = None,
    *,
    device: str = "cpu",
    progress: Callable[[int, int, str], None] | None = None,
    cancel=None,
) -> dict[str, Any]:
    """Predict all clips that have cached features with ``version`` (default: active) and store them."""
    from app.services.models import load_model
    from core_model.training.trainer import predict

    report = progress or (lambda step, total, message: None)
    with Project.open(project_folder) as project:
        model, info, version = load_model(project, version, device=device)
        clips = project.list_clips()
        features, kept = load_clip_features(project, clips, info["preset"], info["dims"])
        skipped = len(clips) - len(kept)
        if not features:
            return {"model_version": version, "predicted": 0, "skipped": skipped}
        report(0, 1, f"predicting {len(features)} clips with {version}")
        result = predict(model, features, info["dims"], device=device, cancel=cancel)
        rows = []
        for index, clip in enumerate(kept):
            probs = [float(p) for p in result.probabilities[index]]
            rows.append({
                "clip_id": clip.id,
                "intensity": float(result.intensity[index]),
                "probs": probs,
                "gate_val": None if result.gate_val is None else float(result.gate_val[index]),
                "gate_cls": None if result.gate_cls is None else float(result.gate_cls[index]),
                "confidence": max(probs),
            })
        project.save_predictions(version, rows)
        report(1, 1, f"predicted {len(rows)} clips")
    log.info("predicted %d clips with %s (%d without features)", len(rows), version, skipped)
    return {"model_version": version, "predicted": len(rows), "skipped": skipped}
