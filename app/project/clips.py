"""Clips and predictions: add or replace a video's clips, list clips with prediction and annotation."""

from __future__ import annotations

import json
import logging
import math
from typing import Any, Iterable, Mapping, Sequence

from app.project.bins import NUM_BINS
from app.project.errors import ClipNotFoundError, InvalidValueError
from app.project.records import SPLITS, STATUSES, ClipRow
from app.project.store import ProjectBase, dumps, utc_now

log = logging.getLogger(__name__)

MODALITIES = ("audio", "text", "visual")
CLIP_KEYS = frozenset({"start_s", "end_s", "text", "words", "alignment_confidence", "missing", "is_machine_draft",
                       "feature_key", "split", "source_id", "meta"})
PREDICTION_KEYS = frozenset({"clip_id", "intensity", "probs", "gate_val", "gate_cls", "confidence"})

# The status of a clip: its human decision, else "predicted" when it has a prediction.
STATUS_SQL = "COALESCE(a.status, CASE WHEN c.prediction_id IS NULL THEN 'unlabeled' ELSE 'predicted' END)"

CLIP_SELECT = f"""
SELECT c.id, c.video_id, c.start_s, c.end_s, c.text, c.words, c.missing, c.split,
       c.alignment_confidence, c.is_machine_draft, c.feature_key, c.source_id, c.meta,
       p.intensity, p.probs, p.gate_val, p.gate_cls, p.confidence, p.model_version,
       {STATUS_SQL}, a.intensity, a.bin, a.annotator, a.updated_at, a.note, a.model_version, a.confidence
FROM clips AS c
LEFT JOIN predictions AS p ON p.id = c.prediction_id
LEFT JOIN annotations AS a ON a.clip_id = c.id
"""

# Sort keys for list_clips: column expressions, completed by c.id so pages are stable.
ORDER_COLUMNS = {
    "start": ("c.video_id", "c.start_s"),
    "id": (),
    "confidence": ("c.confidence",),
    "intensity": ("p.intensity",),
    "label": ("a.intensity",),
    "status": (STATUS_SQL,),
    "updated": ("a.updated_at",),
    "text": ("c.text",),
}
# Sort terms that match an index on an expression, so no sort step is needed.
INDEXED_ORDER = {
    ("confidence", False): "ifnull(c.confidence, 1e308) ASC",
    ("confidence", True): "ifnull(c.confidence, -1e308) DESC",
}


def clip_from_row(row: Sequence[Any]) -> ClipRow:
    return ClipRow(
        id=row[0], video_id=row[1], start_s=row[2], end_s=row[3], text=row[4], words=json.loads(row[5]),
        missing=json.loads(row[6]), split=row[7], alignment_confidence=row[8], is_machine_draft=bool(row[9]),
        feature_key=row[10], source_id=row[11], meta=json.loads(row[12]),
        predicted_intensity=row[13], probs=json.loads(row[14]) if row[14] is not None else None,
        gate_val=row[15], gate_cls=row[16], confidence=row[17], model_version=row[18],
        status=row[19], label_intensity=row[20], label_bin=row[21], annotator=row[22], updated_at=row[23],
        note=row[24] or "", label_model_version=row[25], label_confidence=row[26],
    )


def _finite(value: Any, subject: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidValueError(f"{subject} {value!r} is not a number") from None
    if not math.isfinite(number):
        raise InvalidValueError(f"{subject} {value!r} is not finite")
    return number


def _optional_finite(value: Any, subject: str) -> float | None:
    return None if value is None else _finite(value, subject)


def validate_times(start_s: Any, end_s: Any, where: str) -> tuple[float | None, float | None]:
    """Return checked clip bounds; both None is allowed (a clip imported without media)."""
    if start_s is None and end_s is None:
        return None, None
    start = _finite(start_s, f"{where}: start_s")
    end = _finite(end_s, f"{where}: end_s")
    if start < 0 or end <= start:
        raise InvalidValueError(f"{where}: bounds {start}..{end} s are invalid; expected 0 <= start_s < end_s")
    return start, end


def _clean_words(words: Any, where: str) -> list[dict[str, Any]]:
    cleaned = []
    for index, word in enumerate(words or []):
        if not isinstance(word, Mapping) or "text" not in word:
            raise InvalidValueError(f"{where}: word {index} must be a mapping with 'text', got {word!r}")
        unknown = set(word) - {"text", "start_s", "end_s", "confidence"}
        if unknown:
            raise InvalidValueError(f"{where}: word {index} has unknown keys {sorted(unknown)}")
        cleaned.append({
            "text": str(word["text"]),
            "start_s": _optional_finite(word.get("start_s"), f"{where}: word {index} start_s"),
            "end_s": _optional_finite(word.get("end_s"), f"{where}: word {index} end_s"),
            "confidence": _optional_finite(word.get("confidence"), f"{where}: word {index} confidence"),
        })
    return cleaned


def _clean_clip(clip: Mapping[str, Any], where: str) -> dict[str, Any]:
    unknown = set(clip) - CLIP_KEYS
    if unknown:
        raise InvalidValueError(f"{where} has unknown keys {sorted(unknown)}; allowed: {sorted(CLIP_KEYS)}")
    start, end = validate_times(clip.get("start_s"), clip.get("end_s"), where)
    missing = sorted(set(clip.get("missing") or []))
    bad = [m for m in missing if m not in MODALITIES]
    if bad:
        raise InvalidValueError(f"{where}: missing modalities {bad} are unknown; use {MODALITIES}")
    split = clip.get("split")
    if split is not None and split not in SPLITS:
        raise InvalidValueError(f"{where}: split {split!r} is invalid; use one of {SPLITS} or None")
    return {
        "start_s": start,
        "end_s": end,
        "text": str(clip.get("text") or ""),
        "words": dumps(_clean_words(clip.get("words"), where)),
        "alignment_confidence": _optional_finite(clip.get("alignment_confidence"), f"{where}: alignment_confidence"),
        "missing": dumps(missing),
        "is_machine_draft": int(bool(clip.get("is_machine_draft", False))),
        "feature_key": clip.get("feature_key"),
        "split": split,
        "source_id": clip.get("source_id"),
        "meta": dumps(dict(clip.get("meta") or {})),
    }



def clean_prediction(row: Mapping[str, Any], index: int) -> tuple:
    unknown = set(row) - PREDICTION_KEYS
    if unknown:
        raise InvalidValueError(f"prediction row {index} has unknown keys {sorted(unknown)}")
    if "clip_id" not in row or "intensity" not in row or "probs" not in row:
        raise InvalidValueError(f"prediction row {index} needs clip_id, intensity and probs, got {sorted(row)}")
    clip_id = int(row["clip_id"])
    where = f"prediction for clip {clip_id}"
    intensity = _finite(row["intensity"], f"{where}: intensity")
    probs = [_finite(p, f"{where}: probability") for p in row["probs"]]
    if len(probs) != NUM_BINS:
        raise InvalidValueError(f"{where}: expected {NUM_BINS} class probabilities, got {len(probs)}")
    if any(p < 0 or p > 1 for p in probs) or abs(math.fsum(probs) - 1.0) > 1e-3:
        raise InvalidValueError(f"{where}: probabilities {probs} must lie in [0, 1] and sum to 1 (pass softmax output)")
    confidence = row.get("confidence")
    # Without an explicit confidence the top class probability is used.
    confidence = max(probs) if confidence is None else _finite(confidence, f"{where}: confidence")
    return (
        clip_id, intensity, dumps(probs),
        _optional_finite(row.get("gate_val"), f"{where}: gate_val"),
        _optional_finite(row.get("gate_cls"), f"{where}: gate_cls"),
        confidence,
    )


class ClipsMixin(ProjectBase):
    def add_clips(self, video_id: int, clips: Iterable[Mapping[str, Any]], *, replace: bool = True) -> list[int]:
        """Store the clips of a video in one transaction; return their ids in the given order.

        With ``replace`` (re-analysis) the video's old clips are replaced: a clip
        with the same bounds (to 1 ms) and text keeps its id, and with it its
        predictions, annotations and labels. Its split, source id and metadata
        stay unless the new clip gives them. The other old clips are deleted.
        """
        cleaned = [_clean_clip(clip, f"clip {index} of video {video_id}") for index, clip in enumerate(clips)]
        ids: list[int] = []
        with self._write() as conn:
            self.video(video_id)
            existing: dict[tuple, list[int]] = {}
            if replace:
                for clip_id, start, end, text in conn.execute(
                    "SELECT id, start_s, end_s, text FROM clips WHERE video_id = ? ORDER BY id", (video_id,)
                ):
                    key = (None if start is None else round(start, 3), None if end is None else round(end, 3), text)
                    existing.setdefault(key, []).append(clip_id)
            kept_ids: set[int] = set()
            for clip in cleaned:
                key = (None if clip["start_s"] is None else round(clip["start_s"], 3),
                       None if clip["end_s"] is None else round(clip["end_s"], 3), clip["text"])
                matches = existing.get(key)
                if matches:
                    clip_id = matches.pop(0)
                    kept_ids.add(clip_id)
                    conn.execute(
                        "UPDATE clips SET start_s = :start_s, end_s = :end_s, words = :words, "
                        "alignment_confidence = :alignment_confidence, missing = :missing, "
                        "is_machine_draft = :is_machine_draft, feature_key = :feature_key, "
                        "split = COALESCE(:split, split), source_id = COALESCE(:source_id, source_id), "
                        "meta = CASE WHEN :meta = '{}' THEN meta ELSE :meta END WHERE id = :id",
                        {**clip, "id": clip_id},
                    )
                else:
                    cursor = conn.execute(
                        "INSERT INTO clips (video_id, start_s, end_s, text, words, alignment_confidence, missing, "
                        "is_machine_draft, feature_key, split, source_id, meta) VALUES (:video_id, :start_s, "
                        ":end_s, :text, :words, :alignment_confidence, :missing, :is_machine_draft, :feature_key, "
                        ":split, :source_id, :meta)",
                        {**clip, "video_id": video_id},
                    )
                    clip_id = cursor.lastrowid
                ids.append(clip_id)
            stale = [clip_id for group in existing.values() for clip_id in group]
            conn.executemany("DELETE FROM clips WHERE id = ?", [(clip_id,) for clip_id in stale])
        log.info("video %d: stored %d clips (%d kept, %d removed)", video_id, len(ids), len(kept_ids), len(stale))
        return ids

    def clip(self, clip_id: int) -> ClipRow:
        with self._read() as conn:
            row = conn.execute(CLIP_SELECT + " WHERE c.id = ?", (clip_id,)).fetchone()
        if row is None:
            raise ClipNotFoundError(f"clip {clip_id} not found in project {self.folder}")
        return clip_from_row(row)

    def list_clips(self, video_id: int | None = None, status: str | Iterable[str] | None = None, *,
                   split: str | None = None, order_by: str = "start", descending: bool = False,
                   limit: int | None = None, offset: int = 0) -> list[ClipRow]:
        """Return clips with their latest prediction and annotation, filtered, sorted and paged.

        ``order_by`` is one of ORDER_COLUMNS; clips without a value for the sort
        key come last in both directions.
        """
        if order_by not in ORDER_COLUMNS:
            raise InvalidValueError(f"order_by {order_by!r} is invalid; use one of {sorted(ORDER_COLUMNS)}")
        where, params = self._clip_filter(video_id, status, split)
        direction = "DESC" if descending else "ASC"
        if (order_by, descending) in INDEXED_ORDER:
            terms = [INDEXED_ORDER[order_by, descending]]
        else:
            terms = [f"{column} {direction} NULLS LAST" for column in ORDER_COLUMNS[order_by]]
        terms.append(f"c.id {direction}")
        order = " ORDER BY " + ", ".join(terms)
        if limit is None and not offset:
            with self._read() as conn:
                rows = conn.execute(CLIP_SELECT + where + order, params).fetchall()
            return [clip_from_row(row) for row in rows]
        # A page is found in two steps: sort only ids and keys, then fetch the wide
        # rows of that page. SQLite's sorter copies every selected column, so
        # sorting the full rows (text, words) of every clip is several times slower.
        joins = ""
        if "p." in order:
            joins += " LEFT JOIN predictions AS p ON p.id = c.prediction_id"
        if "a." in order or "a." in where:
            joins += " LEFT JOIN annotations AS a ON a.clip_id = c.id"
        page_sql = "SELECT c.id FROM clips AS c" + joins + where + order + " LIMIT ? OFFSET ?"
        params += [-1 if limit is None else int(limit), int(offset)]
        with self._read() as conn:
            ids = [row[0] for row in conn.execute(page_sql, params)]
            if not ids:
                return []
            rows = conn.execute(
                CLIP_SELECT + f" WHERE c.id IN ({', '.join('?' for _ in ids)})", ids
            ).fetchall()
        by_id = {row[0]: row for row in rows}
        return [clip_from_row(by_id[clip_id]) for clip_id in ids]

    def count_clips(self, video_id: int | None = None, status: str | Iterable[str] | None = None, *,
                    split: str | None = None) -> int:
        where, params = self._clip_filter(video_id, status, split)
        sql = ("SELECT count(*) FROM clips AS c LEFT JOIN annotations AS a ON a.clip_id = c.id" + where)
        with self._read() as conn:
            return int(conn.execute(sql, params).fetchone()[0])

    def status_counts(self) -> dict[str, int]:
        """Return the number of clips per status (every status present as a key)."""
        counts = dict.fromkeys(STATUSES, 0)
        with self._read() as conn:
            for status, count in conn.execute(
                f"SELECT {STATUS_SQL}, count(*) FROM clips AS c LEFT JOIN annotations AS a ON a.clip_id = c.id "
                f"GROUP BY 1"
            ):
                counts[status] = count
        return counts

    @staticmethod
    def _clip_filter(video_id, status, split) -> tuple[str, list[Any]]:
        conditions, params = [], []
        if video_id is not None:
            conditions.append("c.video_id = ?")
            params.append(int(video_id))
        if status is not None:
            requested = [status] if isinstance(status, str) else list(status)
            bad = [s for s in requested if s not in STATUSES]
            if bad:
                raise InvalidValueError(f"status {bad} is invalid; use one of {STATUSES}")
            conditions.append(f"{STATUS_SQL} IN ({', '.join('?' for _ in requested)})")
            params.extend(requested)
        if split is not None:
            conditions.append("c.split = ?")
            params.append(split)
        return (" WHERE " + " AND ".join(conditions)) if conditions else "", params

    def save_predictions(self, model_version: str, rows: Iterable[Mapping[str, Any]]) -> int:
        """Store model predictions in one transaction and make them each clip's latest; return the count.

        Not a user action: nothing goes to the history. Clips without a human
        decision get the status "predicted". ``probs`` are the 7 softmax
        probabilities; a missing ``confidence`` defaults to the top probability.
        """
        if not isinstance(model_version, str) or not model_version:
            raise InvalidValueError(f"model_version {model_version!r} is invalid; use a non-empty string")
        values = [clean_prediction(row, index) for index, row in enumerate(rows)]
        now = utc_now()
        with self._write() as conn:
            known = {row[0] for row in conn.execute("SELECT id FROM clips")}
            unknown = sorted({v[0] for v in values} - known)
            if unknown:
                raise ClipNotFoundError(f"predictions name clips that do not exist: {unknown[:10]}")
            conn.executemany(
                "INSERT INTO predictions (clip_id, model_version, intensity, probs, gate_val, gate_cls, confidence, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (clip_id, model_version) DO UPDATE SET "
                "intensity = excluded.intensity, probs = excluded.probs, gate_val = excluded.gate_val, "
                "gate_cls = excluded.gate_cls, confidence = excluded.confidence, created_at = excluded.created_at",
                [(v[0], model_version, v[1], v[2], v[3], v[4], v[5], now) for v in values],
            )
            # One set-based update instead of a lookup per clip; the rows of this
            # call are the ones of this model version with this call's timestamp.
            conn.execute(
                "UPDATE clips SET prediction_id = p.id, confidence = p.confidence FROM predictions AS p "
                "WHERE p.clip_id = clips.id AND p.model_version = ? AND p.created_at = ?",
                (model_version, now),
            )
        log.info("saved %d predictions of model %s", len(values), model_version)
        return len(values)

    def predictions(self, clip_id: int) -> list[dict[str, Any]]:
        """Return every stored prediction of a clip (one per model version), oldest first."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT model_version, intensity, probs, gate_val, gate_cls, confidence, created_at "
                "FROM predictions WHERE clip_id = ? ORDER BY id", (clip_id,)
            ).fetchall()
        return [
            {"model_version": r[0], "intensity": r[1], "probs": json.loads(r[2]), "gate_val": r[3],
             "gate_cls": r[4], "confidence": r[5], "created_at": r[6]}
            for r in rows
        ]
