"""MMSA / M-SENA ``label.csv``: import labels and splits, export the project's labels.

Columns: video_id, clip_id, text, label, label_T, label_A, label_V,
annotation, mode. ``label`` is the intensity in [-3, 3]. label_T/A/V are the
unimodal labels of CH-SIMS, empty for MOSI and MOSEI. ``annotation`` is
Positive, Negative or Neutral, and ``mode`` is train, valid or test.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from app.project.atomic import atomic_write_text
from app.project.bins import sentiment_word, validate_intensity
from app.project.errors import ImportFormatError
from app.project.text_files import read_text

log = logging.getLogger(__name__)

COLUMNS = ("video_id", "clip_id", "text", "label", "label_T", "label_A", "label_V", "annotation", "mode")
REQUIRED = ("video_id", "clip_id", "label")
UNIMODAL = ("label_T", "label_A", "label_V")
# MMSA joins video and clip ids with this separator in its feature files.
ID_SEPARATOR = "$_$"
MODE_ALIASES = {"train": "train", "valid": "valid", "val": "valid", "dev": "valid", "validation": "valid",
                "test": "test"}


@dataclass(frozen=True)
class ImportReport:
    """Counts of an import: rows read, clips created or matched, labels set."""

    rows: int
    created_clips: int
    matched_clips: int
    labels: int


def source_id(video_id: str, clip_id: str) -> str:
    return f"{video_id}{ID_SEPARATOR}{clip_id}"


def _float_text(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def import_label_csv(project, path: str | os.PathLike, *, annotator: str = "label.csv") -> ImportReport:
    """Import labels and splits from an MMSA ``label.csv`` in one transaction.

    Rows are matched to clips by (video_id, clip_id), stored as the clip's
    source id. Rows with no matching clip create a clip without times under a
    media-less video named ``video_id``; relink or re-analyse it later. Labels
    become "corrected" annotations by ``annotator`` and form one undoable
    action. An empty ``label`` imports the clip and its split only.
    """
    file = Path(path)
    reader = csv.DictReader(io.StringIO(read_text(file), newline=""))
    header = [name.strip() for name in (reader.fieldnames or [])]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise ImportFormatError(f"{file} lacks the label.csv columns {missing}; found {header}")
    reader.fieldnames = header
    rows = []
    for line, row in enumerate(reader, start=2):
        video_name = (row.get("video_id") or "").strip()
        clip_name = (row.get("clip_id") or "").strip()
        if not video_name or not clip_name:
            raise ImportFormatError(f"{file} line {line}: video_id and clip_id must not be empty")
        label = (row.get("label") or "").strip()
        value = None if label == "" else validate_intensity(label, subject=f"{file} line {line}: label")
        mode = (row.get("mode") or "").strip().lower()
        if mode and mode not in MODE_ALIASES:
            raise ImportFormatError(f"{file} line {line}: mode {mode!r} is invalid; use train, valid or test")
        unimodal = {}
        for name in UNIMODAL:
            text = (row.get(name) or "").strip()
            if text:
                unimodal[name] = validate_intensity(text, subject=f"{file} line {line}: {name}")
        rows.append((video_name, clip_name, row.get("text") or "", value, MODE_ALIASES.get(mode), unimodal))

    created = matched = labels = 0
    with project._write() as conn:
        existing = {sid: clip_id for clip_id, sid in conn.execute(
            "SELECT id, source_id FROM clips WHERE source_id IS NOT NULL")}
        new_by_video: dict[str, list[dict]] = {}
        for video_name, clip_name, text, _value, split, unimodal in rows:
            sid = source_id(video_name, clip_name)
            if sid in existing:
                matched += 1
                conn.execute("UPDATE clips SET split = ? WHERE id = ?", (split, existing[sid]))
            else:
                new_by_video.setdefault(video_name, []).append(
                    {"text": text, "split": split, "source_id": sid, "meta": unimodal})
        for video_name, clips in new_by_video.items():
            video = project.add_video_placeholder(video_name)
            ids = project.add_clips(video.id, clips, replace=False)
            existing.update((clip["source_id"], clip_id) for clip, clip_id in zip(clips, ids))
            created += len(ids)
        changes = []
        for video_name, clip_name, _text, value, _split, _unimodal in rows:
            if value is None:
                continue
            clip_id = existing[source_id(video_name, clip_name)]
            changes += project._label_changes(conn, clip_id, annotator, "corrected", value, None, None)
            labels += 1
        if changes:
            project._perform(conn, "import_labels", f"Import {labels} labels from {file.name}", annotator, changes)
    log.info("imported %s: %d rows, %d clips created, %d matched, %d labels", file, len(rows), created, matched, labels)
    return ImportReport(rows=len(rows), created_clips=created, matched_clips=matched, labels=labels)


def export_label_csv(project, path: str | os.PathLike, *, include_predicted: bool = False) -> int:
    """Write the labeled clips (accepted and corrected) as an MMSA ``label.csv``; return the row count.

    With ``include_predicted`` clips without a human decision are added with
    their latest predicted intensity (pseudo-labels). Clips imported from a
    label.csv keep their video_id and clip_id; others use the video name and
    the clip's 1-based position in the video. Clips without a split get
    mode "train". The file is UTF-8 and written atomically.
    """
    statuses = ["accepted", "corrected"] + (["predicted"] if include_predicted else [])
    with project._read() as conn:
        rows = conn.execute(
            "SELECT v.name, c.source_id, "
            "row_number() OVER (PARTITION BY c.video_id ORDER BY c.start_s, c.id), "
            "c.text, COALESCE(a.intensity, p.intensity), c.meta, c.split, "
            "COALESCE(a.status, CASE WHEN c.prediction_id IS NULL THEN 'unlabeled' ELSE 'predicted' END) AS status "
            "FROM clips AS c JOIN videos AS v ON v.id = c.video_id "
            "LEFT JOIN annotations AS a ON a.clip_id = c.id LEFT JOIN predictions AS p ON p.id = c.prediction_id "
            "ORDER BY v.name, c.video_id, c.start_s, c.id"
        ).fetchall()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    count = 0
    for video_name, sid, position, text, value, meta, split, status in rows:
        if status not in statuses or value is None:
            continue
        if sid and ID_SEPARATOR in sid:
            video_id, clip_id = sid.split(ID_SEPARATOR, 1)
        else:
            video_id, clip_id = video_name, str(position)
        unimodal = json.loads(meta) if meta != "{}" else {}
        value = max(-3.0, min(3.0, float(value)))
        writer.writerow([video_id, clip_id, text, _float_text(value)]
                        + [_float_text(unimodal.get(name)) for name in UNIMODAL]
                        + [sentiment_word(value), split or "train"])
        count += 1
    atomic_write_text(path, buffer.getvalue())
    log.info("exported %d labels to %s", count, path)
    return count
