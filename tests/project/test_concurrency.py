"""Two processes write to one project at once: an annotator and a worker saving predictions."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from app.project import Project

from .conftest import make_media

WORKERS = Path(__file__).with_name("workers.py")


def test_annotator_and_worker_write_concurrently(tmp_path):
    folder = tmp_path / "p"
    with Project.create(folder, backup_on_open=False) as project:
        video = project.add_video(make_media(tmp_path / "m", "v.mp4"), {"duration_s": 900.0})
        project.add_clips(video.id, [{"start_s": float(i), "end_s": i + 0.9, "text": f"c{i}"} for i in range(300)])
    labels_ack = tmp_path / "labels.txt"
    predictions_ack = tmp_path / "predictions.txt"
    annotator = subprocess.Popen([sys.executable, str(WORKERS), "annotate", str(folder), str(labels_ack), "400"],
                                 stderr=subprocess.PIPE, text=True)
    worker = subprocess.Popen([sys.executable, str(WORKERS), "predict", str(folder), str(predictions_ack), "12"],
                              stderr=subprocess.PIPE, text=True)
    _, annotator_errors = annotator.communicate(timeout=120)
    _, worker_errors = worker.communicate(timeout=120)
    assert annotator.returncode == 0, annotator_errors
    assert worker.returncode == 0, worker_errors
    assert "locked" not in annotator_errors + worker_errors

    expected_labels: dict[int, float] = {}
    for line in labels_ack.read_text().splitlines():
        clip_id, value = line.split()
        expected_labels[int(clip_id)] = float(value)
    assert len(labels_ack.read_text().splitlines()) == 400
    batches = predictions_ack.read_text().splitlines()
    assert len(batches) == 12

    with Project.open(folder, backup_on_open=False) as project:
        rows = {row.id: row for row in project.list_clips()}
        for clip_id, value in expected_labels.items():
            assert rows[clip_id].label_intensity == value, f"clip {clip_id}: label lost"
            assert rows[clip_id].status == "corrected"
        assert all(row.model_version == "batch11" for row in rows.values())
        assert len(project.history()) == 400
    conn = sqlite3.connect(folder / "project.sqlite")
    assert conn.execute("SELECT count(*) FROM predictions").fetchone()[0] == 12 * 300
    conn.close()
