"""Model versions of a project: the bundled default, the active version, loading."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from app.project.atomic import atomic_directory
from app.services.paths import DEFAULT_MODEL
from core_model.errors import ModelNotFoundError

log = logging.getLogger(__name__)

DEFAULT_VERSION = "lite-default"
CHECKPOINT_INFO = "checkpoint.json"


def ensure_active_model(project) -> str:
    """Return the project's active model version, installing the bundled default when there is none.

    The default checkpoint is copied into the project's ``models/`` folder so
    the project keeps working when the application is moved or updated.
    """
    active = project.active_model_version()
    if active is not None:
        return active
    known = {v.version for v in project.model_versions()}
    if DEFAULT_VERSION not in known:
        if not (DEFAULT_MODEL / CHECKPOINT_INFO).is_file():
            raise ModelNotFoundError(
                f"the bundled default model is missing from {DEFAULT_MODEL}; rebuild it with "
                "`semi-iin recipe default-model` or reinstall Semi-IIN Studio"
            )
        from core_model.training.checkpoint import read_checkpoint_info

        target = project.models_dir / DEFAULT_VERSION
        if not target.is_dir():
            with atomic_directory(target) as temporary:
                for item in DEFAULT_MODEL.iterdir():
                    if item.is_file():
                        shutil.copy2(item, temporary / item.name)
        info = read_checkpoint_info(target)
        project.register_model_version(
            DEFAULT_VERSION, target, config=info.get("model_config", {}), metrics=info.get("metrics", {}),
            training_summary={"source": "bundled default model", "preset": info.get("preset"),
                              "modalities": info.get("modalities", [])},
        )
        log.info("installed the bundled default model as version %s in %s", DEFAULT_VERSION, project.folder)
    project.set_active_model_version(DEFAULT_VERSION)
    return DEFAULT_VERSION


def model_directory(project, version: str) -> Path:
    directory = project.model_version(version).directory
    if not (directory / CHECKPOINT_INFO).is_file():
        raise ModelNotFoundError(
            f"model version {version!r} has no checkpoint in {directory}; the folder was moved or deleted. "
            "Activate another version in the model panel or retrain."
        )
    return directory


def load_model(project, version: str | None = None, device: str = "cpu") -> tuple[Any, dict, str]:
    """Load ``version`` (default: the active one) and return ``(model, checkpoint info, version)``."""
    from core_model.training.checkpoint import load_checkpoint

    version = version or ensure_active_model(project)
    model, info = load_checkpoint(model_directory(project, version), device=device)
    return model, info, version


def checkpoint_info(project, version: str) -> dict:
    from core_model.training.checkpoint import read_checkpoint_info

    return read_checkpoint_info(model_directory(project, version))
