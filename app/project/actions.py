"""User actions with a persistent history: accept, correct, reject, flag, edit, bulk accept, undo, redo.

Every action is one transaction that changes rows and appends one history row
listing each changed row's state before and after. Undo writes the "before"
states back (newest change first), redo writes the "after" states, so both
survive a restart. History rows are ``done``, ``undone`` or ``discarded``: a new
action discards the rows that could still be redone, which keeps the done rows
a prefix of the non-discarded ones and makes undo/redo a simple stack.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
from typing import Any

from app.project.bins import MAX_INTENSITY, MIN_INTENSITY, intensity_to_bin, validate_intensity
from app.project.clips import validate_times
from app.project.errors import ClipNotFoundError, InvalidValueError, NoPredictionError
from app.project.records import HistoryEntry
from app.project.store import ProjectBase, dumps, utc_now

log = logging.getLogger(__name__)

# Table -> (key columns, value columns) of the rows that history records.
TRACKED = {
    "annotations": (("clip_id",), ("intensity", "bin", "status", "annotator", "updated_at", "model_version",
                                   "confidence", "note")),
    "labels": (("clip_id", "annotator"), ("intensity", "bin", "status", "updated_at")),
    "clips": (("id",), ("text", "start_s", "end_s")),
}

Change = dict[str, Any]


def _snapshot(conn: sqlite3.Connection, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
    key_columns, value_columns = TRACKED[table]
    where = " AND ".join(f"{column} = ?" for column in key_columns)
    row = conn.execute(f"SELECT {', '.join(value_columns)} FROM {table} WHERE {where}",
                       [key[c] for c in key_columns]).fetchone()
    return None if row is None else dict(zip(value_columns, row))


def _apply(conn: sqlite3.Connection, table: str, key: dict[str, Any], state: dict[str, Any] | None) -> None:
    key_columns, value_columns = TRACKED[table]
    where = " AND ".join(f"{column} = ?" for column in key_columns)
    key_values = [key[c] for c in key_columns]
    if state is None:
        conn.execute(f"DELETE FROM {table} WHERE {where}", key_values)
        return
    # History written by older schema versions lacks newer columns; those keep their defaults.
    present = [column for column in value_columns if column in state]
    assignments = ", ".join(f"{column} = ?" for column in present)
    cursor = conn.execute(f"UPDATE {table} SET {assignments} WHERE {where}",
                          [state[c] for c in present] + key_values)
    if cursor.rowcount == 0 and table != "clips":
        columns = list(key_columns) + present
        conn.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
                     key_values + [state[c] for c in present])


def _clip_of(change: Change) -> int:
    return change["key"].get("clip_id", change["key"].get("id"))


class ActionsMixin(ProjectBase):
    # -- single-clip actions ---------------------------------------------------

    def accept(self, clip_id: int, annotator: str) -> None:
        """Accept the latest prediction of a clip as its label (status accepted)."""
        annotator = _check_annotator(annotator)
        with self._write() as conn:
            prediction = self._latest_prediction(conn, clip_id)
            if prediction is None:
                raise NoPredictionError(f"clip {clip_id} has no prediction to accept; set a label instead")
            intensity, version, confidence = prediction
            changes = self._label_changes(conn, clip_id, annotator, "accepted", intensity, version, confidence)
            self._perform(conn, "accept", f"Accept prediction of clip {clip_id}", annotator, changes)

    def set_label(self, clip_id: int, intensity: float, annotator: str) -> None:
        """Set a human intensity label in [-3, 3] (status corrected); the 7-class bin is derived."""
        annotator = _check_annotator(annotator)
        value = validate_intensity(intensity, subject=f"label for clip {clip_id}")
        with self._write() as conn:
            self._require_clip(conn, clip_id)
            prediction = self._latest_prediction(conn, clip_id)
            version, confidence = (prediction[1], prediction[2]) if prediction else (None, None)
            changes = self._label_changes(conn, clip_id, annotator, "corrected", value, version, confidence)
            self._perform(conn, "set_label", f"Label clip {clip_id} as {value:+.2f}", annotator, changes)

    def reject(self, clip_id: int, annotator: str) -> None:
        """Mark a clip as unusable (status rejected); it is left out of training sets."""
        annotator = _check_annotator(annotator)
        with self._write() as conn:
            self._require_clip(conn, clip_id)
            changes = self._label_changes(conn, clip_id, annotator, "rejected", None, None, None)
            self._perform(conn, "reject", f"Reject clip {clip_id}", annotator, changes)

    def flag(self, clip_id: int, annotator: str, note: str = "") -> None:
        """Flag a clip for review with an optional note; an existing label value is kept."""
        annotator = _check_annotator(annotator)
        with self._write() as conn:
            self._require_clip(conn, clip_id)
            key = {"clip_id": clip_id}
            before = _snapshot(conn, "annotations", key)
            after = {
                "intensity": before["intensity"] if before else None,
                "bin": before["bin"] if before else None,
                "status": "flagged", "annotator": annotator, "updated_at": utc_now(),
                "model_version": before["model_version"] if before else None,
                "confidence": before["confidence"] if before else None,
                "note": str(note),
            }
            changes = [{"table": "annotations", "key": key, "before": before, "after": after}]
            self._perform(conn, "flag", f"Flag clip {clip_id}", annotator, changes)

    def clear_decision(self, clip_id: int, annotator: str) -> None:
        """Remove the human decision of a clip, so it is "predicted" or "unlabeled" again."""
        annotator = _check_annotator(annotator)
        with self._write() as conn:
            self._require_clip(conn, clip_id)
            changes = []
            for table, key in (("annotations", {"clip_id": clip_id}),
                               ("labels", {"clip_id": clip_id, "annotator": annotator})):
                before = _snapshot(conn, table, key)
                if before is not None:
                    changes.append({"table": table, "key": key, "before": before, "after": None})
            if changes:
                self._perform(conn, "clear", f"Clear the decision on clip {clip_id}", annotator, changes)

    def edit_text(self, clip_id: int, text: str, annotator: str = "") -> None:
        """Replace a clip's transcript text.

        NOTE: the word list with its times is kept as it was; re-run alignment to
        get word times for the new text.
        """
        with self._write() as conn:
            self._require_clip(conn, clip_id)
            key = {"id": clip_id}
            before = _snapshot(conn, "clips", key)
            after = {**before, "text": str(text)}
            changes = [{"table": "clips", "key": key, "before": before, "after": after}]
            self._perform(conn, "edit_text", f"Edit text of clip {clip_id}", annotator, changes)

    def edit_bounds(self, clip_id: int, start_s: float, end_s: float, annotator: str = "") -> None:
        """Move a clip's start and end (seconds); they must lie within the video when its duration is known."""
        start, end = validate_times(start_s, end_s, f"clip {clip_id}")
        if start is None:
            raise InvalidValueError(f"clip {clip_id}: start_s and end_s are required")
        with self._write() as conn:
            self._require_clip(conn, clip_id)
            duration = conn.execute(
                "SELECT v.duration_s FROM clips AS c JOIN videos AS v ON v.id = c.video_id WHERE c.id = ?", (clip_id,)
            ).fetchone()[0]
            if duration is not None and end > duration + 1e-3:
                raise InvalidValueError(f"clip {clip_id}: end {end} s is past the end of its video ({duration} s)")
            key = {"id": clip_id}
            before = _snapshot(conn, "clips", key)
            after = {**before, "start_s": start, "end_s": end}
            changes = [{"table": "clips", "key": key, "before": before, "after": after}]
            self._perform(conn, "edit_bounds", f"Move clip {clip_id} to {start:.2f}-{end:.2f} s", annotator, changes)

    # -- bulk accept -----------------------------------------------------------

    # The ifnull() term matches the index clips_confidence_ascending, so only clips above the threshold are read.
    _BULK_SQL = (
        "FROM clips AS c JOIN predictions AS p ON p.id = c.prediction_id "
        "LEFT JOIN annotations AS a ON a.clip_id = c.id "
        "WHERE ifnull(c.confidence, 1e308) >= ? AND c.confidence IS NOT NULL AND a.clip_id IS NULL"
    )

    def count_bulk_accept(self, min_confidence: float) -> int:
        """Return how many "predicted" clips :meth:`bulk_accept` would accept."""
        # Both range terms are on the indexed expression, so the count reads the index only.
        sql = ("SELECT count(*) FROM clips AS c LEFT JOIN annotations AS a ON a.clip_id = c.id "
               "WHERE ifnull(c.confidence, 1e308) >= ? AND ifnull(c.confidence, 1e308) < 1e308 AND a.clip_id IS NULL")
        with self._read() as conn:
            return int(conn.execute(sql, (float(min_confidence),)).fetchone()[0])

    def bulk_accept(self, min_confidence: float, annotator: str) -> int:
        """Accept every clip without a human decision whose prediction confidence is >= ``min_confidence``.

        One action in the history (one undo reverts all); returns the number accepted.
        """
        annotator = _check_annotator(annotator)
        threshold = float(min_confidence)
        if not math.isfinite(threshold):
            raise InvalidValueError(f"min_confidence {min_confidence!r} is not finite")
        with self._write() as conn:
            rows = conn.execute("SELECT c.id, p.intensity, p.model_version, p.confidence " + self._BULK_SQL,
                                (threshold,)).fetchall()
            changes: list[Change] = []
            for clip_id, intensity, version, confidence in rows:
                changes += self._label_changes(conn, clip_id, annotator, "accepted", intensity, version, confidence)
            if rows:
                self._perform(conn, "bulk_accept",
                              f"Accept {len(rows)} predictions with confidence >= {threshold:g}", annotator, changes)
        log.info("bulk accept by %s: %d clips with confidence >= %g", annotator, len(rows), threshold)
        return len(rows)

    # -- undo and redo ---------------------------------------------------------

    def undo(self) -> str | None:
        """Revert the latest done action; return its description, or None when there is nothing to undo."""
        with self._write() as conn:
            row = conn.execute(
                "SELECT id, description, changes FROM history WHERE state = 'done' ORDER BY id DESC LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            for change in reversed(json.loads(row[2])):
                self._restore(conn, change, change["before"])
            conn.execute("UPDATE history SET state = 'undone', state_changed_at = ? WHERE id = ?", (utc_now(), row[0]))
        log.info("undid action %d: %s", row[0], row[1])
        return row[1]

    def redo(self) -> str | None:
        """Re-apply the earliest undone action; return its description, or None when there is nothing to redo."""
        with self._write() as conn:
            row = conn.execute(
                "SELECT id, description, changes FROM history WHERE state = 'undone' ORDER BY id ASC LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            for change in json.loads(row[2]):
                self._restore(conn, change, change["after"])
            conn.execute("UPDATE history SET state = 'done', state_changed_at = ? WHERE id = ?", (utc_now(), row[0]))
        log.info("redid action %d: %s", row[0], row[1])
        return row[1]

    def can_undo(self) -> bool:
        with self._read() as conn:
            return conn.execute("SELECT 1 FROM history WHERE state = 'done' LIMIT 1").fetchone() is not None

    def can_redo(self) -> bool:
        with self._read() as conn:
            return conn.execute("SELECT 1 FROM history WHERE state = 'undone' LIMIT 1").fetchone() is not None

    def undo_description(self) -> str | None:
        """Return the description of the action :meth:`undo` would revert (for an "Undo ..." menu item)."""
        with self._read() as conn:
            row = conn.execute(
                "SELECT description FROM history WHERE state = 'done' ORDER BY id DESC LIMIT 1").fetchone()
        return None if row is None else row[0]

    def redo_description(self) -> str | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT description FROM history WHERE state = 'undone' ORDER BY id ASC LIMIT 1").fetchone()
        return None if row is None else row[0]

    def history(self, limit: int | None = None) -> list[HistoryEntry]:
        """Return the history, newest first, including undone and discarded actions (the audit trail)."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT id, action, description, annotator, created_at, state, state_changed_at, "
                "json_array_length(changes) FROM history ORDER BY id DESC LIMIT ?",
                (-1 if limit is None else int(limit),),
            ).fetchall()
        return [HistoryEntry(*row) for row in rows]

    # -- helpers -----------------------------------------------------------------

    def _perform(self, conn: sqlite3.Connection, action: str, description: str, annotator: str,
                 changes: list[Change]) -> int:
        for change in changes:
            _apply(conn, change["table"], change["key"], change["after"])
        now = utc_now()
        conn.execute("UPDATE history SET state = 'discarded', state_changed_at = ? WHERE state = 'undone'", (now,))
        cursor = conn.execute(
            "INSERT INTO history (action, description, annotator, created_at, changes, state) "
            "VALUES (?, ?, ?, ?, ?, 'done')",
            (action, description, annotator, now, dumps(changes)),
        )
        return cursor.lastrowid

    def _restore(self, conn: sqlite3.Connection, change: Change, state: dict[str, Any] | None) -> None:
        clip_id = _clip_of(change)
        if conn.execute("SELECT 1 FROM clips WHERE id = ?", (clip_id,)).fetchone() is None:
            log.warning("history change on clip %d skipped: the clip was removed by a re-analysis", clip_id)
            return
        _apply(conn, change["table"], change["key"], state)

    def _label_changes(self, conn: sqlite3.Connection, clip_id: int, annotator: str, status: str,
                       intensity: float | None, version: str | None, confidence: float | None) -> list[Change]:
        if intensity is not None:
            # Model outputs can overshoot the scale slightly; labels live in [-3, 3].
            intensity = min(MAX_INTENSITY, max(MIN_INTENSITY, float(intensity)))
        bin_index = None if intensity is None else intensity_to_bin(intensity)
        now = utc_now()
        annotation_key = {"clip_id": clip_id}
        label_key = {"clip_id": clip_id, "annotator": annotator}
        annotation = {"intensity": intensity, "bin": bin_index, "status": status, "annotator": annotator,
                      "updated_at": now, "model_version": version, "confidence": confidence, "note": ""}
        label = {"intensity": intensity, "bin": bin_index, "status": status, "updated_at": now}
        return [
            {"table": "annotations", "key": annotation_key, "before": _snapshot(conn, "annotations", annotation_key),
             "after": annotation},
            {"table": "labels", "key": label_key, "before": _snapshot(conn, "labels", label_key), "after": label},
        ]

    def _require_clip(self, conn: sqlite3.Connection, clip_id: int) -> None:
        if conn.execute("SELECT 1 FROM clips WHERE id = ?", (clip_id,)).fetchone() is None:
            raise ClipNotFoundError(f"clip {clip_id} not found in project {self.folder}")

    def _latest_prediction(self, conn: sqlite3.Connection, clip_id: int) -> tuple[float, str, float] | None:
        row = conn.execute(
            "SELECT c.id, p.intensity, p.model_version, p.confidence FROM clips AS c "
            "LEFT JOIN predictions AS p ON p.id = c.prediction_id WHERE c.id = ?", (clip_id,)
        ).fetchone()
        if row is None:
            raise ClipNotFoundError(f"clip {clip_id} not found in project {self.folder}")
        return None if row[1] is None else (row[1], row[2], row[3])


def _check_annotator(annotator: str) -> str:
    if not isinstance(annotator, str) or not annotator.strip():
        raise InvalidValueError(f"annotator {annotator!r} is invalid; pass the annotator's name")
    return annotator.strip()
