"""Generate schema_v1.sqlite and schema_v2.sqlite: projects as older releases wrote them.

Run from the repository root: ``python tests/data/project/make_fixtures.py``.
Each file is built by running the real migration steps up to that version and
inserting rows with that version's columns only.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from app.project.schema import migrate  # noqa: E402

T0 = "2025-03-01T10:00:00.000+00:00"
PROBS = json.dumps([0.0, 0.0, 0.05, 0.1, 0.6, 0.2, 0.05])


def _changes(clip_id: int, before: dict | None, after: dict) -> str:
    return json.dumps([{"table": "annotations", "key": {"clip_id": clip_id}, "before": before, "after": after}])


def fill_v1(conn: sqlite3.Connection) -> None:
    conn.execute("INSERT INTO settings VALUES ('feature_preset', '\"lite\"')")
    conn.execute("INSERT INTO videos VALUES (1, '/data/old/interview.mp4', ?, 12.5, '[{\"type\": \"audio\"}]', ?)",
                 ("a" * 64, T0))
    conn.execute("INSERT INTO videos VALUES (2, '/data/old/Überraschung.mkv', ?, 30.0, '[]', ?)", ("b" * 64, T0))
    clips = [
        (1, 1, 0.0, 2.5, "I really liked it", '[{"text": "I", "start_s": 0.1, "end_s": 0.3}]', "train", "k1"),
        (2, 1, 2.5, 6.0, "the ending was weak", "[]", None, "k2"),
        (3, 2, 1.0, 4.0, "ganz schön überraschend", "[]", "valid", None),
        (4, 2, 4.0, 9.0, "no decision yet", "[]", None, None),
    ]
    conn.executemany("INSERT INTO clips VALUES (?, ?, ?, ?, ?, ?, ?, ?)", clips)
    conn.executemany(
        "INSERT INTO predictions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (1, 1, "v1", 0.8, PROBS, 0.4, 0.6, 0.55, T0),
            (2, 1, "v2", 1.3, PROBS, 0.5, 0.5, 0.6, T0),
            (3, 2, "v1", -0.9, PROBS, 0.3, 0.7, 0.4, T0),
            (4, 4, "v1", 0.2, PROBS, 0.3, 0.7, 0.7, T0),
        ],
    )
    accepted = {"intensity": 1.3, "bin": 4, "status": "accepted", "annotator": "alice", "updated_at": T0}
    corrected = {"intensity": -1.2, "bin": 2, "status": "corrected", "annotator": "bob", "updated_at": T0}
    conn.execute("INSERT INTO annotations VALUES (1, 1.3, 4, 'accepted', 'alice', ?)", (T0,))
    conn.execute("INSERT INTO annotations VALUES (2, -1.2, 2, 'corrected', 'bob', ?)", (T0,))
    conn.execute("INSERT INTO annotations VALUES (3, NULL, NULL, 'rejected', 'bob', ?)", (T0,))
    conn.execute("INSERT INTO history VALUES (1, 'accept', 'Accept prediction of clip 1', ?, ?, 'done')",
                 (T0, _changes(1, None, accepted)))
    conn.execute("INSERT INTO history VALUES (2, 'set_label', 'Label clip 2 as -1.20', ?, ?, 'done')",
                 (T0, _changes(2, None, corrected)))


def fill_v2(conn: sqlite3.Connection) -> None:
    fill_v1_rows = conn.execute("SELECT count(*) FROM clips").fetchone()[0]
    if not fill_v1_rows:
        raise RuntimeError("version 1 rows must exist before version 2 rows are added")
    conn.execute("UPDATE clips SET alignment_confidence = 0.92, missing = '[\"visual\"]' WHERE id = 3")
    conn.execute("UPDATE clips SET is_machine_draft = 1 WHERE id = 4")
    conn.execute(
        "INSERT INTO model_versions VALUES ('v2', 'models/v2', '{\"hidden\": 32}', '{\"mae\": 0.71}', NULL, "
        "'{\"labeled\": 2}', ?)", (T0,))


def build(version: int) -> Path:
    target = HERE / f"schema_v{version}.sqlite"
    target.unlink(missing_ok=True)
    conn = sqlite3.connect(target, isolation_level=None)

    def after_step(step_conn: sqlite3.Connection, step: int) -> None:
        if step == 1:
            fill_v1(step_conn)
        elif step == 2:
            fill_v2(step_conn)

    migrate(conn, target=version, after_step=after_step)
    conn.execute("VACUUM")
    conn.close()
    return target


if __name__ == "__main__":
    for number in (1, 2):
        print(build(number))
