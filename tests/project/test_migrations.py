"""Opening fixture files written with every older schema version."""

from __future__ import annotations

import shutil
import sqlite3

import pytest

from app.project import SCHEMA_VERSION, Project
from app.project.backup import integrity_ok


@pytest.fixture(params=[1, 2])
def old_project(request, data_dir, tmp_path):
    folder = tmp_path / f"v{request.param}"
    folder.mkdir()
    shutil.copy(data_dir / "project" / f"schema_v{request.param}.sqlite", folder / "project.sqlite")
    return request.param, folder


def test_fixture_versions_are_older(data_dir):
    for version in (1, 2):
        conn = sqlite3.connect(data_dir / "project" / f"schema_v{version}.sqlite")
        assert conn.execute("PRAGMA user_version").fetchone()[0] == version
        conn.close()
    assert SCHEMA_VERSION > 2


def test_migration_keeps_data(old_project):
    version, folder = old_project
    with Project.open(folder) as project:
        assert project.schema_version == SCHEMA_VERSION
        assert project.integrity_check() == ["ok"]
        assert [v.name for v in project.videos()] == ["interview", "Überraschung"]
        rows = project.list_clips()
        assert [r.text for r in rows][2] == "ganz schön überraschend"
        assert [r.status for r in rows] == ["accepted", "corrected", "rejected", "predicted"]
        assert rows[0].model_version == "v2"
        assert rows[0].predicted_intensity == 1.3
        assert rows[1].label_bin == 2
        assert project.get_setting("feature_preset") == "lite"
        labels = sqlite3.connect(project.db_path).execute(
            "SELECT clip_id, annotator, status FROM labels ORDER BY clip_id").fetchall()
        assert labels == [(1, "alice", "accepted"), (2, "bob", "corrected"), (3, "bob", "rejected")]
        if version == 2:
            assert rows[2].missing == ["visual"]
            assert rows[2].alignment_confidence == 0.92
            assert rows[3].is_machine_draft
            assert [m.version for m in project.model_versions()] == ["v2"]
        backup = project.backups()[0]
        assert integrity_ok(backup)
        assert sqlite3.connect(backup).execute("PRAGMA user_version").fetchone()[0] == version


def test_migrated_history_undoes(old_project):
    _version, folder = old_project
    with Project.open(folder, backup_on_open=False) as project:
        assert project.undo() == "Label clip 2 as -1.20"
        assert project.clip(2).status == "predicted"
        assert project.undo() == "Accept prediction of clip 1"
        assert project.clip(1).status == "predicted"
        assert project.redo() == "Accept prediction of clip 1"
        assert project.clip(1).label_intensity == 1.3
        project.set_label(4, 0.5, "carol")
    with Project.open(folder, backup_on_open=False) as project:
        assert project.clip(4).status == "corrected"
        assert not project.can_redo()


def test_failed_migration_step_rolls_back(tmp_path, data_dir, monkeypatch):
    folder = tmp_path / "p"
    folder.mkdir()
    shutil.copy(data_dir / "project" / "schema_v2.sqlite", folder / "project.sqlite")
    from app.project import schema

    broken = schema.MIGRATIONS[2] + ("CREATE TABLE clips (x)",)
    monkeypatch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:2] + (broken,))
    with pytest.raises(Exception, match="already exists"):
        Project.open(folder, backup_on_open=False)
    conn = sqlite3.connect(folder / "project.sqlite")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'labels'").fetchone()[0] == 0
    conn.close()
