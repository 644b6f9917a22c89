"""Fixtures for the project store tests: small projects built on real SQLite files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.project import Project

PROBS_BY_BIN = [[1.0 if i == b else 0.0 for i in range(7)] for b in range(7)]


def make_media(folder: Path, name: str, size: int = 4096, seed: int = 0) -> Path:
    """Write a file with deterministic content that stands in for a media file (the store only hashes it)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    block = (name.encode("utf-8") + seed.to_bytes(4, "little")) * (size // 8 + 1)
    path.write_bytes(block[:size])
    return path


def prediction(clip_id: int, intensity: float, confidence: float) -> dict:
    probs = [0.0] * 7
    probs[3] = 1.0 - confidence
    probs[4] = confidence
    return {"clip_id": clip_id, "intensity": intensity, "probs": probs, "gate_val": 0.4, "gate_cls": 0.6,
            "confidence": confidence}


@pytest.fixture
def project(tmp_path) -> Project:
    with Project.create(tmp_path / "proj", backup_on_open=False) as opened:
        yield opened


@pytest.fixture
def filled(tmp_path) -> Project:
    """A project with two videos, five clips and predictions of model "m1" for four of them."""
    media = tmp_path / "media"
    with Project.create(tmp_path / "proj", backup_on_open=False) as opened:
        first = opened.add_video(make_media(media, "first.mp4"), {"duration_s": 20.0, "streams": []})
        second = opened.add_video(make_media(media, "second.mp4", seed=1), {"duration_s": 10.0, "streams": []})
        ids = opened.add_clips(first.id, [
            {"start_s": 0.0, "end_s": 2.0, "text": "good film"},
            {"start_s": 2.0, "end_s": 4.0, "text": "bad ending"},
            {"start_s": 4.0, "end_s": 7.5, "text": "café crème"},
        ])
        ids += opened.add_clips(second.id, [
            {"start_s": 0.5, "end_s": 3.0, "text": "so so"},
            {"start_s": 3.0, "end_s": 5.0, "text": "no prediction here"},
        ])
        opened.save_predictions("m1", [
            prediction(ids[0], 2.1, 0.9),
            prediction(ids[1], -1.4, 0.55),
            prediction(ids[2], 0.3, 0.75),
            prediction(ids[3], -0.2, 0.3),
        ])
        opened.clip_ids = ids
        yield opened
