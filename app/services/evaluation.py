"""Evaluate a model version on the project's annotated clips."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.project import Project
from app.services.prediction import load_clip_features
from core_model.errors import DataError


def evaluate_project(project_folder: str | Path, version: str | None = None, *, progress=None,
                     cancel=None) -> dict[str, Any]:
    """Return the metrics of ``version`` (default: active) on accepted and corrected clips.

    The result carries ``pairs`` of (clip id, predicted, annotated intensity)
    for a scatter plot. Clips without cached features are counted in ``skipped``.
    """
    from app.services.models import load_model
    from core_model.training.metrics import regression_metrics
    from core_model.training.trainer import predict

    with Project.open(project_folder) as project:
        model, info, version = load_model(project, version)
        clips = project.list_clips(status=["accepted", "corrected"])
        features, kept = load_clip_features(project, clips, info["preset"], info["dims"])
    if not features:
        raise DataError("no annotated clips with features to evaluate on: accept or correct some analysed clips")
    result = predict(model, features, info["dims"], cancel=cancel)
    metrics = regression_metrics(result.intensity, result.labels, class_predictions=result.classes)
    pairs = [(clip.id, float(p), float(label)) for clip, p, label in zip(kept, result.intensity, result.labels)]
    return {"version": version, "metrics": metrics, "pairs": pairs, "count": len(pairs),
            "skipped": len(clips) - len(kept)}
