"""Fixtures of the desktop app tests: a small real project built through the store API."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from app.project import Project
from app.ui.dialogs import AppSettings

UI_DATA = Path(__file__).resolve().parents[1] / "data" / "ui"
CLIP_NAMES = ("0h-zjBukYpk_1", "Sqr0AcuoNnk_12", "0h-zjBukYpk_24")
# Test inputs for the prediction columns: (intensity, confidence, gate_val, gate_cls) per clip.
FIXTURE_PREDICTIONS = ((-0.6, 0.55, 0.35, 0.62), (1.8, 0.91, 0.48, 0.40), (2.2, 0.72, 0.51, 0.57))


def class_probs(intensity: float, confidence: float) -> list[float]:
    """Spread ``1 - confidence`` evenly over the classes other than the intensity's bin."""
    top = int(min(6, max(0, round(intensity) + 3)))
    rest = (1.0 - confidence) / 6
    return [confidence if k == top else rest for k in range(7)]


def build_project(folder: Path, media_folder: Path, names=CLIP_NAMES) -> Project:
    """Create a project with one clip per sample video, aligned words and a prediction each."""
    words = json.loads((UI_DATA / "words.json").read_text(encoding="utf-8"))
    media_folder.mkdir(parents=True, exist_ok=True)
    project = Project.create(folder)
    clip_ids = []
    for name in names:
        media = media_folder / f"{name}.mp4"
        if not media.exists():
            shutil.copy(UI_DATA / f"{name}.mp4", media)
        video = project.add_video(media)
        entry = words[name]
        clip_ids += project.add_clips(video.id, [{
            "start_s": 0.0, "end_s": entry["duration_s"], "text": entry["text"], "words": entry["words"],
            "alignment_confidence": entry["alignment_confidence"],
        }])
    rows = []
    for clip_id, (intensity, confidence, gate_val, gate_cls) in zip(clip_ids, FIXTURE_PREDICTIONS):
        rows.append({"clip_id": clip_id, "intensity": intensity, "probs": class_probs(intensity, confidence),
                     "gate_val": gate_val, "gate_cls": gate_cls, "confidence": confidence})
    project.save_predictions("fixture-v1", rows)
    return project


@pytest.fixture
def app_settings(tmp_path) -> AppSettings:
    return AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


@pytest.fixture
def sample_project(tmp_path) -> Project:
    project = build_project(tmp_path / "project", tmp_path / "media")
    yield project
    if not project.closed:
        project.close()


@pytest.fixture
def window(qtbot, sample_project, app_settings):
    from app.ui.main_window import MainWindow

    main_window = MainWindow(settings=app_settings)
    qtbot.addWidget(main_window)
    main_window.set_project(sample_project)
    main_window.show()
    qtbot.waitExposed(main_window)
    main_window.activateWindow()
    return main_window
