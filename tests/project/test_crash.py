"""Crash safety: a child doing random actions is killed with SIGKILL at random moments.

After each kill the file must pass ``PRAGMA integrity_check`` and hold exactly
the acknowledged actions, plus at most the one action in flight at the kill.
A reference project replays the acknowledged actions to know the expected state.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.project import Project

from .conftest import make_media, prediction
from .workers import perform

WORKERS = Path(__file__).with_name("workers.py")


def state_digest(db_path: Path) -> tuple:
    """Return the rows that actions change, without timestamps (which differ between replays)."""
    conn = sqlite3.connect(db_path)
    try:
        return (
            conn.execute("SELECT clip_id, intensity, bin, status, annotator, model_version, confidence, note "
                         "FROM annotations ORDER BY clip_id").fetchall(),
            conn.execute("SELECT clip_id, annotator, intensity, bin, status FROM labels "
                         "ORDER BY clip_id, annotator").fetchall(),
            conn.execute("SELECT id, text, start_s, end_s, prediction_id FROM clips ORDER BY id").fetchall(),
            conn.execute("SELECT clip_id, model_version, intensity, confidence FROM predictions "
                         "ORDER BY id").fetchall(),
            conn.execute("SELECT id, action, description, state FROM history ORDER BY id").fetchall(),
        )
    finally:
        conn.close()


def read_acks(path: Path) -> tuple[list[dict], dict | None]:
    """Return the acknowledged specs and the spec in flight at the kill (None if none)."""
    done: list[dict] = []
    pending = None
    if not path.exists():
        return done, pending
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("intent "):
            pending = json.loads(line[len("intent "):])
        elif line == "done":
            done.append(pending)
            pending = None
        # A partial last line (killed mid-write) is neither intent nor done; the intent before it stays pending.
    return done, pending


def build_project(folder: Path, media: Path, clips: int = 24) -> None:
    with Project.create(folder, backup_on_open=False) as project:
        video = project.add_video(make_media(media, "talk.mp4"), {"duration_s": 600.0})
        ids = project.add_clips(video.id, [
            {"start_s": 2.0 * i, "end_s": 2.0 * i + 1.5, "text": f"phrase {i} ü"} for i in range(clips)
        ])
        project.save_predictions("m0", [prediction(c, (i % 13) / 2 - 3, 0.3 + (i % 7) / 10)
                                        for i, c in enumerate(ids)])


def run_kills(tmp_path: Path, kills: int, seed: int) -> int:
    """Kill the child ``kills`` times; return how many actions were committed in total."""
    rng = random.Random(seed)
    live = tmp_path / "live"
    reference = tmp_path / "reference"
    build_project(live, tmp_path / "media")
    shutil.copytree(live, reference)
    committed = 0
    with Project.open(reference, backup_on_open=False, synchronous="NORMAL") as expected:
        for kill in range(kills):
            ack_path = tmp_path / f"ack{kill}.txt"
            child = subprocess.Popen([sys.executable, str(WORKERS), "crash", str(live), str(ack_path),
                                      str(seed * 1000 + kill)], stdout=subprocess.PIPE, text=True)
            try:
                assert child.stdout.readline().strip() == "ready", f"kill {kill}: child did not start"
                time.sleep(rng.uniform(0.0, 0.25))
                child.send_signal(signal.SIGKILL)
            finally:
                child.wait(timeout=30)
                child.stdout.close()
            assert child.returncode == -signal.SIGKILL, f"kill {kill}: child exited early ({child.returncode})"
            done, pending = read_acks(ack_path)
            for spec in done:
                perform(expected, spec)
            committed += len(done)
            conn = sqlite3.connect(live / "project.sqlite")
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)], f"kill {kill}"
            conn.close()
            actual = state_digest(live / "project.sqlite")
            if actual != state_digest(reference / "project.sqlite") and pending is not None:
                # The action in flight committed before the kill but was not acknowledged.
                perform(expected, pending)
                committed += 1
            assert actual == state_digest(reference / "project.sqlite"), (
                f"kill {kill}: database differs from the {len(done)} acknowledged actions (pending: {pending})"
            )
    with Project.open(live) as reopened:
        assert reopened.integrity_check() == ["ok"]
    return committed


def test_sigkill_keeps_acknowledged_actions(tmp_path):
    committed = run_kills(tmp_path, kills=10, seed=1)
    assert committed > 10


@pytest.mark.slow
def test_sigkill_hundred_times(tmp_path):
    committed = run_kills(tmp_path, kills=100, seed=2)
    assert committed > 100
