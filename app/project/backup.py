"""Rotating backups of project.sqlite taken with SQLite's online backup API.

Each backup is written to a temporary file, checked with ``PRAGMA
integrity_check`` and only then renamed into place. Old backups are pruned
only after a new one is verified, so a damaged copy never displaces a good one.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from datetime import datetime, timezone
from pathlib import Path

log = logging.getLogger(__name__)

BACKUP_PREFIX = "project-"
BACKUP_SUFFIX = ".sqlite"


def list_backups(folder: Path) -> list[Path]:
    """Return the verified backups in ``folder``, oldest first."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(f"{BACKUP_PREFIX}*{BACKUP_SUFFIX}") if p.is_file())


def integrity_ok(path: Path) -> bool:
    """Return True when ``path`` opens as SQLite and ``PRAGMA integrity_check`` reports ok."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return False
    try:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
    except sqlite3.DatabaseError:
        return False
    finally:
        conn.close()
    return rows == [("ok",)]


def _remove_stale_temporaries(folder: Path, min_age_s: float = 3600.0) -> None:
    # A process killed mid-backup leaves its temporary copy behind. Copies younger
    # than an hour may still be written by another process, so they stay.
    now = time.time()
    for temp in folder.glob(f".{BACKUP_PREFIX}*.tmp"):
        try:
            if now - temp.stat().st_mtime > min_age_s:
                temp.unlink()
                log.info("removed stale temporary backup %s", temp)
        except FileNotFoundError:
            continue


def write_backup(source: sqlite3.Connection, folder: Path, keep: int) -> Path | None:
    """Copy ``source`` into ``folder``, verify it and prune to the newest ``keep`` backups.

    Returns the new backup's path, or None when the copy failed verification
    (the failure is logged and the existing backups are kept).
    """
    folder.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(folder)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    final = folder / f"{BACKUP_PREFIX}{stamp}{BACKUP_SUFFIX}"
    temp = folder / f".{final.name}.tmp"
    temp.unlink(missing_ok=True)
    target = sqlite3.connect(temp)
    try:
        source.backup(target)
        # Backups are single files: leave rollback-journal mode so no -wal file is needed.
        target.execute("PRAGMA journal_mode = DELETE")
    finally:
        target.close()
    if not integrity_ok(temp):
        log.error("backup %s failed the integrity check; keeping the older backups", temp)
        temp.unlink(missing_ok=True)
        return None
    with open(temp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temp, final)
    backups = list_backups(folder)
    for old in backups[: max(0, len(backups) - keep)]:
        old.unlink(missing_ok=True)
        log.debug("removed old backup %s", old)
    log.info("backed up the project to %s", final)
    return final
