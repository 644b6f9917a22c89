"""CSV and JSON export of clips, predictions and annotations, with provenance.

Each row carries where its values came from: the model version and confidence
of the prediction, and who set the label, when, and from which model version.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from typing import Any

from app.project.atomic import atomic_write_text
from app.project.bins import intensity_to_bin
from app.project.schema import SCHEMA_VERSION
from app.project.store import utc_now

log = logging.getLogger(__name__)

EXPORT_FORMAT = "semi-iin-project-export"
EXPORT_VERSION = 1
CSV_COLUMNS = (
    "clip_id", "video_name", "video_path", "video_sha256", "start_s", "end_s", "text", "split", "missing",
    "status", "label_intensity", "label_bin", "annotator", "labeled_at", "label_model_version", "label_confidence",
    "note", "predicted_intensity", "predicted_bin", "confidence", "probs", "gate_val", "gate_cls", "model_version",
)


def clip_records(project) -> list[dict[str, Any]]:
    """Return one dict per clip with CSV_COLUMNS as keys (probs and missing as lists)."""
    videos = {video.id: video for video in project.videos()}
    records = []
    for row in project.list_clips(order_by="start"):
        video = videos[row.video_id]
        predicted = row.predicted_intensity
        records.append({
            "clip_id": row.id,
            "video_name": video.name,
            "video_path": None if video.path is None else str(video.path),
            "video_sha256": video.sha256,
            "start_s": row.start_s,
            "end_s": row.end_s,
            "text": row.text,
            "split": row.split,
            "missing": row.missing,
            "status": row.status,
            "label_intensity": row.label_intensity,
            "label_bin": row.label_bin,
            "annotator": row.annotator,
            "labeled_at": row.updated_at,
            "label_model_version": row.label_model_version,
            "label_confidence": row.label_confidence,
            "note": row.note,
            "predicted_intensity": predicted,
            "predicted_bin": None if predicted is None else intensity_to_bin(max(-3.0, min(3.0, predicted))),
            "confidence": row.confidence,
            "probs": row.probs,
            "gate_val": row.gate_val,
            "gate_cls": row.gate_cls,
            "model_version": row.model_version,
        })
    return records


def export_csv(project, path: str | os.PathLike) -> int:
    """Write every clip as one CSV row (UTF-8, atomically); lists are JSON in their cell. Returns the row count."""
    records = clip_records(project)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for record in records:
        cells = dict(record)
        for name in ("probs", "missing"):
            cells[name] = "" if cells[name] is None else json.dumps(cells[name])
        writer.writerow({key: "" if value is None else value for key, value in cells.items()})
    atomic_write_text(path, buffer.getvalue())
    log.info("exported %d clips to %s", len(records), path)
    return len(records)


def export_json(project, path: str | os.PathLike) -> int:
    """Write clips, per-annotator labels and model versions as one JSON document; return the clip count."""
    from app.project.agreement import annotator_labels

    records = clip_records(project)
    document = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": utc_now(),
        "project": project.folder.name,
        "schema_version": SCHEMA_VERSION,
        "active_model_version": project.active_model_version(),
        "model_versions": [
            {"version": m.version, "parent": m.parent, "created_at": m.created_at, "metrics": m.metrics,
             "training_summary": m.training_summary}
            for m in project.model_versions()
        ],
        "annotator_labels": {
            name: {str(clip_id): value for clip_id, value in labels.items()}
            for name, labels in annotator_labels(project).items()
        },
        "clips": records,
    }
    atomic_write_text(path, json.dumps(document, ensure_ascii=False, indent=1, allow_nan=False) + "\n")
    log.info("exported %d clips to %s", len(records), path)
    return len(records)
