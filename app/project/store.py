"""The project folder and its SQLite connection: open, create, settings, transactions, backups.

A project is a folder containing ``project.sqlite`` and the sub-folders
``features/``, ``models/``, ``exports/`` and ``backups/``. Each Project object
owns one connection, used for reads and writes under a re-entrant lock, so a
process that keeps one Project has one writer connection. Writes take SQLite's
write lock at the start (``BEGIN IMMEDIATE``) and wait up to ``busy_timeout_ms``
for another process to finish. Because a transaction never upgrades a read
lock to a write lock halfway, a worker process and the GUI can write to the
same file without "database is locked" errors.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from app.project.backup import list_backups, write_backup
from app.project.errors import (
    InvalidValueError,
    NotAProjectError,
    ProjectBusyError,
    ProjectClosedError,
    ProjectDamagedError,
    SchemaTooNewError,
)
from app.project.schema import APPLICATION_ID, SCHEMA_VERSION, migrate, schema_version

log = logging.getLogger(__name__)

DB_NAME = "project.sqlite"
SUBFOLDERS = ("features", "models", "exports", "backups")
DEFAULT_BUSY_TIMEOUT_MS = 15_000
DEFAULT_BACKUP_INTERVAL_S = 10 * 60
DEFAULT_BACKUPS_KEPT = 5

# A probe returns media information for a path: a mapping or an object with
# ``duration_s`` (or ``duration``) and ``streams``.
Probe = Callable[[Path], Any]


def utc_now() -> str:
    """Return the current UTC time as ISO 8601 with milliseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class ProjectBase:
    """Connection handling shared by the parts of :class:`app.project.Project`."""

    def __init__(self, folder: Path, conn: sqlite3.Connection, *, probe: Probe | None,
                 backup_interval_s: float, backups_kept: int):
        self.folder = folder
        self.db_path = folder / DB_NAME
        self.features_dir = folder / "features"
        self.models_dir = folder / "models"
        self.exports_dir = folder / "exports"
        self.backups_dir = folder / "backups"
        self.probe = probe
        self.backup_interval_s = backup_interval_s
        self.backups_kept = backups_kept
        self._conn: sqlite3.Connection | None = conn
        self._lock = threading.RLock()
        self._write_depth = 0
        self._last_backup = 0.0
        self.busy_timeout_ms = DEFAULT_BUSY_TIMEOUT_MS
        self._backup_thread: threading.Thread | None = None

    # -- opening -----------------------------------------------------------

    @classmethod
    def create(cls, folder: str | os.PathLike, **options: Any):
        """Create a new project in ``folder`` (created if needed) and open it.

        Raises FileExistsError when the folder already contains a project.
        """
        root = Path(folder)
        if (root / DB_NAME).exists():
            raise FileExistsError(f"{root} already contains a project ({DB_NAME}); open it instead")
        root.mkdir(parents=True, exist_ok=True)
        conn = _connect(root / DB_NAME, options.get("busy_timeout_ms", DEFAULT_BUSY_TIMEOUT_MS))
        try:
            migrate(conn)
        finally:
            conn.close()
        log.info("created project %s", root)
        return cls.open(root, **options)

    @classmethod
    def open(cls, folder: str | os.PathLike, *, probe: Probe | None = None,
             busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
             backup_on_open: bool = True,
             backup_interval_s: float = DEFAULT_BACKUP_INTERVAL_S,
             backups_kept: int = DEFAULT_BACKUPS_KEPT,
             synchronous: str = "FULL"):
        """Open the project in ``folder``, back it up if it changed since the last backup, and migrate it.

        The backup at open runs in a background thread unless a migration
        follows, which must wait for the copy of the old version.

        ``synchronous`` is SQLite's durability setting: FULL (the default) also
        keeps committed actions through a power loss; NORMAL keeps them through a
        process crash only, with cheaper commits.

        Raises NotAProjectError, SchemaTooNewError or ProjectDamagedError.
        """
        root = Path(folder)
        path = root / DB_NAME
        if not path.is_file():
            raise NotAProjectError(f"{root} is not a Semi-IIN project: {DB_NAME} not found; create a project there first")
        if synchronous.upper() not in ("FULL", "NORMAL", "EXTRA"):
            raise InvalidValueError(f"synchronous={synchronous!r} is invalid; use FULL, NORMAL or EXTRA")
        try:
            conn = _connect(path, busy_timeout_ms, synchronous=synchronous.upper())
        except sqlite3.DatabaseError as exc:
            raise ProjectDamagedError(_damaged_message(path, exc)) from exc
        try:
            _check_file(conn, path)
            project = cls(root, conn, probe=probe, backup_interval_s=backup_interval_s, backups_kept=backups_kept)
            project.busy_timeout_ms = busy_timeout_ms
            for name in SUBFOLDERS:
                (root / name).mkdir(exist_ok=True)
            version = schema_version(conn)
            if backup_on_open and version > 0 and project._changed_since_backup():
                # Before a migration the copy must finish first, so that it keeps the old version.
                project.backup(wait=version < SCHEMA_VERSION)
            if migrate(conn):
                log.info("project %s is now at schema version %d", root, SCHEMA_VERSION)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise ProjectDamagedError(_damaged_message(path, exc)) from exc
        except BaseException:
            conn.close()
            raise
        log.info("opened project %s", root)
        return project

    def close(self) -> None:
        """Wait for a background backup, then close the connection; later calls raise ProjectClosedError.

        Closing twice is allowed.
        """
        self.wait_for_backup()
        with self._lock:
            if self._conn is None:
                return
            try:
                self._conn.execute("PRAGMA optimize")
            except sqlite3.Error as exc:
                log.warning("PRAGMA optimize failed on %s: %s", self.db_path, exc)
            self._conn.close()
            self._conn = None
        log.info("closed project %s", self.folder)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._conn is None

    @property
    def schema_version(self) -> int:
        with self._read() as conn:
            return schema_version(conn)

    # -- transactions --------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """Run the block as one write transaction; nested blocks join the outer one."""
        with self._lock:
            conn = self._connection()
            if self._write_depth:
                self._write_depth += 1
                try:
                    yield conn
                finally:
                    self._write_depth -= 1
                return
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    raise ProjectBusyError(
                        f"{self.db_path} stayed locked by another process for over {self.busy_timeout_ms} ms; "
                        "wait for it to finish, or raise busy_timeout_ms"
                    ) from exc
                raise
            self._write_depth = 1
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")
            finally:
                self._write_depth = 0

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._connection()

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ProjectClosedError(f"project {self.folder} is closed; open it again")
        return self._conn

    def data_version(self) -> int:
        """Return SQLite's ``PRAGMA data_version``, which changes after another connection commits.

        A GUI can poll this cheaply to learn that a worker process saved
        predictions; this connection's own commits do not change it.
        """
        with self._read() as conn:
            return int(conn.execute("PRAGMA data_version").fetchone()[0])

    # -- settings ------------------------------------------------------------

    def get_setting(self, key: str, default: Any = None) -> Any:
        """Return the JSON value stored under ``key``, or ``default``."""
        with self._read() as conn:
            row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def set_setting(self, key: str, value: Any) -> None:
        """Store a JSON-serialisable ``value`` under ``key`` (None deletes the key)."""
        if not isinstance(key, str) or not key:
            raise InvalidValueError(f"setting key {key!r} is invalid; use a non-empty string")
        with self._write() as conn:
            if value is None:
                conn.execute("DELETE FROM settings WHERE key = ?", (key,))
                return
            try:
                encoded = json.dumps(value, ensure_ascii=False, allow_nan=False)
            except (TypeError, ValueError) as exc:
                raise InvalidValueError(f"setting {key!r} value {value!r} is not JSON-serialisable: {exc}") from exc
            conn.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, encoded),
            )

    def settings(self) -> dict[str, Any]:
        with self._read() as conn:
            return {key: json.loads(value) for key, value in conn.execute("SELECT key, value FROM settings")}

    # -- backups -------------------------------------------------------------

    def backup(self, *, wait: bool = True) -> Path | None:
        """Write a verified backup to ``backups/``; return its path, or None if verification failed.

        The copy is read through a separate connection in one read transaction,
        so it is a consistent snapshot and, in WAL mode, does not block writers.
        With ``wait=False`` it runs in a background thread and None is returned;
        :meth:`wait_for_backup` joins it.
        """
        self._connection()
        self._last_backup = time.monotonic()
        if wait:
            return self._copy_backup()
        with self._lock:
            if self._backup_thread is not None and self._backup_thread.is_alive():
                return None
            self._backup_thread = threading.Thread(target=self._backup_in_thread, name="project-backup", daemon=True)
            self._backup_thread.start()
        return None

    def wait_for_backup(self, timeout_s: float | None = None) -> None:
        """Block until a background backup started by :meth:`backup` has finished."""
        thread = self._backup_thread
        if thread is not None:
            thread.join(timeout_s)

    def _copy_backup(self) -> Path | None:
        source = sqlite3.connect(self.db_path, timeout=self.busy_timeout_ms / 1000)
        try:
            return write_backup(source, self.backups_dir, self.backups_kept)
        finally:
            source.close()

    def _backup_in_thread(self) -> None:
        try:
            self._copy_backup()
        except (sqlite3.Error, OSError) as exc:
            log.error("background backup of %s failed: %s", self.db_path, exc)

    def _changed_since_backup(self) -> bool:
        """Return True unless the newest backup is younger than every write to the file and its WAL.

        NOTE: a write by another process while a backup is being copied can be
        missed by this test; the next periodic backup includes it.
        """
        backups = list_backups(self.backups_dir)
        if not backups:
            return True
        newest = backups[-1].stat().st_mtime
        if self.db_path.stat().st_mtime >= newest:
            return True
        wal = self.db_path.with_name(self.db_path.name + "-wal")
        return wal.exists() and wal.stat().st_size > 0 and wal.stat().st_mtime >= newest

    def maybe_backup(self, *, wait: bool = True) -> Path | None:
        """Back up when ``backup_interval_s`` has passed since the last backup; return the new path or None.

        A GUI timer should pass ``wait=False``: copying and checking a large
        project takes about a second.
        """
        if time.monotonic() - self._last_backup < self.backup_interval_s:
            return None
        return self.backup(wait=wait)

    def backups(self) -> list[Path]:
        """Return the verified backups, oldest first."""
        return list_backups(self.backups_dir)

    def integrity_check(self) -> list[str]:
        """Run ``PRAGMA integrity_check``; returns ``["ok"]`` for a sound file."""
        with self._read() as conn:
            return [row[0] for row in conn.execute("PRAGMA integrity_check")]


def _connect(path: Path, busy_timeout_ms: int, *, synchronous: str = "FULL") -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=busy_timeout_ms / 1000, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    conn.execute("PRAGMA foreign_keys = ON")
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if mode.lower() != "wal":
        log.warning("%s could not switch to WAL mode (mode is %s)", path, mode)
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    return conn


def _check_file(conn: sqlite3.Connection, path: Path) -> None:
    version = schema_version(conn)
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    if app_id != APPLICATION_ID:
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if app_id != 0 or tables:
            raise NotAProjectError(f"{path} is an SQLite file but not a Semi-IIN project (application_id {app_id})")
    if version > SCHEMA_VERSION:
        raise SchemaTooNewError(
            f"{path} has schema version {version}, but this release of Semi-IIN Studio reads versions up to "
            f"{SCHEMA_VERSION}; open it with a newer release"
        )
    result = conn.execute("PRAGMA quick_check").fetchall()
    if result != [("ok",)]:
        problems = "; ".join(row[0] for row in result[:5])
        raise ProjectDamagedError(f"{path} failed SQLite's quick check ({problems}); restore a copy from backups/")


def _damaged_message(path: Path, exc: Exception) -> str:
    return f"{path} cannot be read as a project database ({exc}); restore a copy from {path.parent / 'backups'}"


def dumps(value: Any) -> str:
    """Encode ``value`` as compact JSON for a TEXT column."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def as_mapping(info: Any) -> Mapping[str, Any]:
    """Turn a MediaInfo-like object (mapping, dataclass or attribute object) into a mapping."""
    if info is None:
        return {}
    if isinstance(info, Mapping):
        return info
    import dataclasses

    if dataclasses.is_dataclass(info):
        return dataclasses.asdict(info)
    return {name: getattr(info, name) for name in dir(info) if not name.startswith("_") and not callable(getattr(info, name))}
