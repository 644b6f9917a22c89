"""Registered model versions and the active model setting."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, Mapping

from app.project.errors import InvalidValueError, ProjectError
from app.project.records import ModelVersion
from app.project.store import ProjectBase, dumps, utc_now

log = logging.getLogger(__name__)

ACTIVE_MODEL_SETTING = "active_model_version"


class ModelVersionsMixin(ProjectBase):
    def register_model_version(self, version: str, directory: str | os.PathLike,
                               config: Mapping[str, Any] | None = None, metrics: Mapping[str, Any] | None = None,
                               parent: str | None = None, training_summary: Mapping[str, Any] | None = None,
                               *, activate: bool = False) -> ModelVersion:
        """Record a model version whose files are already complete in ``directory``.

        A directory inside the project folder is stored relative to it, so the
        project can be moved. Write the directory with :func:`atomic_directory`
        first, so a half-written model is never registered.
        """
        if not isinstance(version, str) or not version.strip():
            raise InvalidValueError(f"model version {version!r} is invalid; use a non-empty name")
        folder = Path(directory).resolve()
        if not folder.is_dir():
            raise FileNotFoundError(f"model directory {folder} not found; write it before registering")
        try:
            stored = folder.relative_to(self.folder.resolve()).as_posix()
        except ValueError:
            stored = str(folder)
        with self._write() as conn:
            if parent is not None and conn.execute(
                "SELECT 1 FROM model_versions WHERE version = ?", (parent,)
            ).fetchone() is None:
                raise InvalidValueError(f"parent model version {parent!r} of {version!r} is not registered")
            if conn.execute("SELECT 1 FROM model_versions WHERE version = ?", (version,)).fetchone():
                raise ProjectError(f"model version {version!r} is already registered; choose a new name")
            conn.execute(
                "INSERT INTO model_versions (version, directory, config, metrics, parent, training_summary, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (version, stored, dumps(dict(config or {})), dumps(dict(metrics or {})), parent,
                 dumps(dict(training_summary or {})), utc_now()),
            )
            if activate:
                self.set_setting(ACTIVE_MODEL_SETTING, version)
        log.info("registered model version %s at %s", version, stored)
        return self.model_version(version)

    def model_version(self, version: str) -> ModelVersion:
        with self._read() as conn:
            row = conn.execute(
                "SELECT version, directory, config, metrics, parent, training_summary, created_at "
                "FROM model_versions WHERE version = ?", (version,)
            ).fetchone()
        if row is None:
            raise InvalidValueError(f"model version {version!r} is not registered in project {self.folder}")
        return self._model_from_row(row)

    def model_versions(self) -> list[ModelVersion]:
        """Return the registered model versions, oldest first."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT version, directory, config, metrics, parent, training_summary, created_at "
                "FROM model_versions ORDER BY created_at, rowid"
            ).fetchall()
        return [self._model_from_row(row) for row in rows]

    def active_model_version(self) -> str | None:
        return self.get_setting(ACTIVE_MODEL_SETTING)

    def set_active_model_version(self, version: str | None) -> None:
        """Make a registered version the active model (None clears it)."""
        if version is not None:
            self.model_version(version)
        self.set_setting(ACTIVE_MODEL_SETTING, version)

    def _model_from_row(self, row) -> ModelVersion:
        directory = Path(row[1])
        if not directory.is_absolute():
            directory = self.folder / directory
        return ModelVersion(version=row[0], directory=directory, config=json.loads(row[2]),
                            metrics=json.loads(row[3]), parent=row[4], training_summary=json.loads(row[5]),
                            created_at=row[6])
