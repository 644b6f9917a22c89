"""``python main.py`` without a display: clip table, screenshot, and no torch in the GUI process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtGui import QImage

from conftest import build_project

REPO = Path(__file__).resolve().parents[2]


def test_offscreen_run_prints_table_and_saves_screenshot(tmp_path):
    project = build_project(tmp_path / "project", tmp_path / "media")
    project.close()
    screenshot = tmp_path / "shot.png"
    env = dict(os.environ, SEMI_IIN_DATA_DIR=str(tmp_path / "data"))
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "main.py", str(tmp_path / "project"), "--screenshot", str(screenshot)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "no display found" in completed.stdout
    assert "window shown" in completed.stdout
    assert "NOW THE TITLE OF THE MOVIE BASICALLY SAYS IT ALL" in completed.stdout
    assert "-0.60" in completed.stdout
    assert f"screenshot saved to {screenshot}" in completed.stdout
    image = QImage(str(screenshot))
    assert image.width() >= 800
    assert image.height() >= 600
    imported = [line.rsplit("|", 1)[-1].strip() for line in completed.stderr.splitlines()
                if line.startswith("import time:")]
    assert "app.ui.main_window" in imported
    assert not [name for name in imported if name.split(".")[0] == "torch"], "the GUI process imported torch"
    assert (tmp_path / "data" / "logs" / "semi-iin-studio.log").is_file()
