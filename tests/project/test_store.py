"""Opening, creating and backing up project folders."""

from __future__ import annotations

import os
import sqlite3

import pytest

from app.project import (
    NotAProjectError,
    Project,
    ProjectBusyError,
    ProjectClosedError,
    ProjectDamagedError,
    SCHEMA_VERSION,
    SchemaTooNewError,
)
from app.project.backup import integrity_ok


def test_create_makes_folders_and_schema(tmp_path):
    with Project.create(tmp_path / "p") as project:
        assert project.schema_version == SCHEMA_VERSION
        for folder in (project.features_dir, project.models_dir, project.exports_dir):
            assert folder.is_dir()
        conn = sqlite3.connect(project.db_path)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        conn.close()


def test_create_twice_raises(tmp_path):
    Project.create(tmp_path / "p").close()
    with pytest.raises(FileExistsError):
        Project.create(tmp_path / "p")


def test_open_folder_without_project(tmp_path):
    with pytest.raises(NotAProjectError, match="project.sqlite not found"):
        Project.open(tmp_path)


def test_open_foreign_sqlite_file(tmp_path):
    conn = sqlite3.connect(tmp_path / "project.sqlite")
    conn.execute("CREATE TABLE other (x)")
    conn.commit()
    conn.close()
    with pytest.raises(NotAProjectError, match="not a Semi-IIN project"):
        Project.open(tmp_path)


def test_open_newer_schema_is_rejected(tmp_path):
    Project.create(tmp_path / "p").close()
    conn = sqlite3.connect(tmp_path / "p" / "project.sqlite")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(SchemaTooNewError, match=f"schema version {SCHEMA_VERSION + 1}.*newer release"):
        Project.open(tmp_path / "p")


def test_open_damaged_file(tmp_path):
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "project.sqlite").write_bytes(b"this is not an SQLite database at all" * 200)
    with pytest.raises(ProjectDamagedError, match="backups"):
        Project.open(folder)


def test_open_file_with_damaged_pages(tmp_path):
    with Project.create(tmp_path / "p", backup_on_open=False) as project:
        project.set_setting("filler", "x" * 20000)
    path = tmp_path / "p" / "project.sqlite"
    data = bytearray(path.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    for page in range(1, len(data) // page_size):
        start = page * page_size
        data[start:start + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))
    with pytest.raises(ProjectDamagedError):
        Project.open(tmp_path / "p")


def test_settings_round_trip(project):
    project.set_setting("feature_preset", "lite")
    project.set_setting("weights", {"a": [1, 2.5], "ü": None})
    assert project.get_setting("feature_preset") == "lite"
    assert project.get_setting("weights") == {"a": [1, 2.5], "ü": None}
    assert project.get_setting("absent", 7) == 7
    project.set_setting("feature_preset", None)
    assert project.get_setting("feature_preset") is None


def test_closed_project_raises(tmp_path):
    project = Project.create(tmp_path / "p")
    project.close()
    project.close()
    with pytest.raises(ProjectClosedError):
        project.get_setting("x")


def test_backups_rotate_and_verify(tmp_path):
    folder = tmp_path / "p"
    Project.create(folder, backups_kept=3).close()
    for step in range(4):
        with Project.open(folder, backups_kept=3) as project:
            project.set_setting("step", step)
    with Project.open(folder, backups_kept=3, backup_interval_s=3600) as project:
        backups = project.backups()
        assert len(backups) == 3
        assert all(integrity_ok(path) for path in backups)
        assert project.maybe_backup() is None
        project.backup_interval_s = 0
        assert project.maybe_backup() is not None
        assert len(project.backups()) == 3


def test_failed_backup_keeps_older_ones(tmp_path, monkeypatch):
    folder = tmp_path / "p"
    with Project.create(folder) as project:
        project.wait_for_backup()
        good = project.backups()
        assert len(good) == 1
        monkeypatch.setattr("app.project.backup.integrity_ok", lambda path: False)
        assert project.backup() is None
        assert project.backups() == good
        assert not list(project.backups_dir.glob(".*.tmp"))


def test_unchanged_project_is_not_backed_up_again(tmp_path):
    folder = tmp_path / "p"
    with Project.create(folder) as project:
        project.set_setting("x", 1)
    Project.open(folder).close()
    first = Project.open(folder)
    first.close()
    assert len(first.backups()) == 2
    with Project.open(folder) as project:
        project.set_setting("x", 2)
    with Project.open(folder) as project:
        project.wait_for_backup()
        assert len(project.backups()) == 3


def test_integrity_ok_detects_damage(tmp_path):
    path = tmp_path / "copy.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.executemany("INSERT INTO t VALUES (?)", [("row %d" % i * 20,) for i in range(2000)])
    conn.commit()
    conn.close()
    assert integrity_ok(path)
    data = bytearray(path.read_bytes())
    data[5000:9000] = b"\x13" * 4000
    path.write_bytes(bytes(data))
    assert not integrity_ok(path)


def test_write_lock_timeout_raises_busy(tmp_path):
    folder = tmp_path / "p"
    Project.create(folder, backup_on_open=False).close()
    other = sqlite3.connect(folder / "project.sqlite", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with Project.open(folder, backup_on_open=False, busy_timeout_ms=100) as project:
            with pytest.raises(ProjectBusyError, match="locked by another process"):
                project.set_setting("x", 1)
            assert project.get_setting("x") is None
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_data_version_sees_other_writers(tmp_path):
    folder = tmp_path / "p"
    Project.create(folder, backup_on_open=False).close()
    with Project.open(folder, backup_on_open=False) as gui, Project.open(folder, backup_on_open=False) as worker:
        start = gui.data_version()
        gui.set_setting("own", 1)
        assert gui.data_version() == start
        worker.set_setting("worker", 2)
        assert gui.data_version() != start
        assert gui.get_setting("worker") == 2


def test_backup_at_open_runs_in_background(tmp_path):
    folder = tmp_path / "p"
    with Project.create(folder) as project:
        project.wait_for_backup()
        project.set_setting("x", 1)
    with Project.open(folder) as project:
        project.set_setting("during the backup", True)
        project.wait_for_backup()
        backups = project.backups()
        assert len(backups) == 2
        assert integrity_ok(backups[-1])
        assert project.backup(wait=False) is None
        project.wait_for_backup()
        assert len(project.backups()) == 3


def test_stale_backup_temporaries_are_removed(tmp_path):
    folder = tmp_path / "p"
    with Project.create(folder) as project:
        project.wait_for_backup()
        stale = project.backups_dir / ".project-20200101T000000000000Z.sqlite.tmp"
        fresh = project.backups_dir / ".project-20990101T000000000000Z.sqlite.tmp"
        stale.write_bytes(b"half a copy")
        fresh.write_bytes(b"being written")
        os.utime(stale, (0, 0))
        project.backup()
        assert not stale.exists()
        assert fresh.exists()
