"""The schema of project.sqlite and its ordered migrations.

``PRAGMA user_version`` stores the schema version. A new project is built by
running every step from version 0, so the migrations are exercised on each
create. Each step runs in its own transaction together with the version bump,
so a crash mid-migration leaves the file at the previous version.

Versions:
1. settings, videos, clips, predictions, one annotation per clip, history.
2. model versions; clip alignment confidence, missing-modality flags and
   machine-draft flag; a pointer from each clip to its latest prediction.
3. per-annotator labels for agreement, and annotation provenance (model
   version, confidence, note). Also video name and size, clip source id and
   metadata, the history annotator, a copy of the latest prediction's
   confidence on each clip, and indexes for sorting and filtering.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import PurePath
from typing import Callable

log = logging.getLogger(__name__)

# "SIIN" in ASCII; marks the file as a Semi-IIN project for `PRAGMA application_id`.
APPLICATION_ID = 0x5349494E

_V1 = (
    """CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )""",
    """CREATE TABLE videos (
        id INTEGER PRIMARY KEY,
        path TEXT,
        sha256 TEXT UNIQUE,
        duration_s REAL,
        streams TEXT NOT NULL DEFAULT '[]',
        added_at TEXT NOT NULL
    )""",
    """CREATE TABLE clips (
        id INTEGER PRIMARY KEY,
        video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        start_s REAL,
        end_s REAL,
        text TEXT NOT NULL DEFAULT '',
        words TEXT NOT NULL DEFAULT '[]',
        split TEXT,
        feature_key TEXT
    )""",
    "CREATE INDEX clips_video_start ON clips(video_id, start_s)",
    """CREATE TABLE predictions (
        id INTEGER PRIMARY KEY,
        clip_id INTEGER NOT NULL REFERENCES clips(id) ON DELETE CASCADE,
        model_version TEXT NOT NULL,
        intensity REAL NOT NULL,
        probs TEXT NOT NULL,
        gate_val REAL,
        gate_cls REAL,
        confidence REAL,
        created_at TEXT NOT NULL,
        UNIQUE (clip_id, model_version)
    )""",
    """CREATE TABLE annotations (
        clip_id INTEGER PRIMARY KEY REFERENCES clips(id) ON DELETE CASCADE,
        intensity REAL,
        bin INTEGER,
        status TEXT NOT NULL
            CHECK (status IN ('accepted', 'corrected', 'rejected', 'flagged')),
        annotator TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    """CREATE TABLE history (
        id INTEGER PRIMARY KEY,
        action TEXT NOT NULL,
        description TEXT NOT NULL,
        created_at TEXT NOT NULL,
        changes TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'done' CHECK (state IN ('done', 'undone', 'discarded'))
    )""",
)

_V2 = (
    """CREATE TABLE model_versions (
        version TEXT PRIMARY KEY,
        directory TEXT NOT NULL,
        config TEXT NOT NULL DEFAULT '{}',
        metrics TEXT NOT NULL DEFAULT '{}',
        parent TEXT,
        training_summary TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL
    )""",
    "ALTER TABLE clips ADD COLUMN alignment_confidence REAL",
    "ALTER TABLE clips ADD COLUMN missing TEXT NOT NULL DEFAULT '[]'",
    "ALTER TABLE clips ADD COLUMN is_machine_draft INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE clips ADD COLUMN prediction_id INTEGER REFERENCES predictions(id) ON DELETE SET NULL",
    # Version 1 had no pointer; the latest prediction was the one with the highest id.
    """UPDATE clips SET prediction_id =
        (SELECT MAX(p.id) FROM predictions AS p WHERE p.clip_id = clips.id)""",
    "CREATE INDEX predictions_clip ON predictions(clip_id)",
)

_V3 = (
    """CREATE TABLE labels (
        clip_id INTEGER NOT NULL REFERENCES clips(id) ON DELETE CASCADE,
        annotator TEXT NOT NULL,
        intensity REAL,
        bin INTEGER,
        status TEXT NOT NULL CHECK (status IN ('accepted', 'corrected', 'rejected')),
        updated_at TEXT NOT NULL,
        PRIMARY KEY (clip_id, annotator)
    )""",
    """INSERT INTO labels (clip_id, annotator, intensity, bin, status, updated_at)
        SELECT clip_id, annotator, intensity, bin, status, updated_at FROM annotations
        WHERE status IN ('accepted', 'corrected', 'rejected')""",
    "ALTER TABLE annotations ADD COLUMN model_version TEXT",
    "ALTER TABLE annotations ADD COLUMN confidence REAL",
    "ALTER TABLE annotations ADD COLUMN note TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE videos ADD COLUMN name TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE videos ADD COLUMN size_bytes INTEGER",
    "ALTER TABLE clips ADD COLUMN source_id TEXT",
    "ALTER TABLE clips ADD COLUMN meta TEXT NOT NULL DEFAULT '{}'",
    "ALTER TABLE history ADD COLUMN annotator TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE history ADD COLUMN state_changed_at TEXT",
    # A copy of the latest prediction's confidence on the clip, with one index per
    # sort direction (NULL sorts last both ways), makes "least certain first"
    # pages an index scan instead of a sort of every clip.
    "ALTER TABLE clips ADD COLUMN confidence REAL",
    "UPDATE clips SET confidence = (SELECT p.confidence FROM predictions AS p WHERE p.id = clips.prediction_id)",
    "CREATE INDEX clips_confidence_ascending ON clips(ifnull(confidence, 1e308))",
    "CREATE INDEX clips_confidence_descending ON clips(ifnull(confidence, -1e308))",
    "CREATE INDEX annotations_status ON annotations(status)",
    # The UNIQUE (clip_id, model_version) index already serves lookups by clip.
    "DROP INDEX predictions_clip",
    "CREATE INDEX history_state ON history(state, id)",
    "CREATE INDEX clips_source ON clips(source_id)",
    # Deleting a prediction (with its clip) checks clips.prediction_id; without
    # this index each check would scan every clip.
    "CREATE INDEX clips_prediction ON clips(prediction_id)",
    "CREATE INDEX labels_annotator ON labels(annotator)",
)

MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1, _V2, _V3)
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, target: int = SCHEMA_VERSION,
            after_step: Callable[[sqlite3.Connection, int], None] | None = None) -> list[int]:
    """Run the migration steps from the file's version up to ``target``; return the versions reached.

    ``conn`` must be in autocommit mode (``isolation_level=None``). ``after_step``
    runs inside each step's transaction; the fixture generator uses it.
    """
    current = schema_version(conn)
    reached = []
    for version in range(current + 1, target + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in MIGRATIONS[version - 1]:
                conn.execute(statement)
            if version == 1:
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            if version == 3:
                # Version 2 had no name column; derive it from the file name.
                _fill_video_names(conn)
            if after_step is not None:
                after_step(conn, version)
            conn.execute(f"PRAGMA user_version = {int(version)}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        log.info("migrated project schema to version %d", version)
        reached.append(version)
    return reached


def _fill_video_names(conn: sqlite3.Connection) -> None:
    rows = conn.execute("SELECT id, path FROM videos").fetchall()
    for video_id, path in rows:
        name = PurePath(path).stem if path else f"video {video_id}"
        conn.execute("UPDATE videos SET name = ? WHERE id = ?", (name, video_id))
