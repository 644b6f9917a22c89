"""Fixtures for the media tests: small media files generated in tmp_path."""

from pathlib import Path

import numpy as np
import pytest

from .helpers import write_video, write_wav


@pytest.fixture
def video_only(tmp_path) -> Path:
    path = tmp_path / "video_only.mp4"
    write_video(path, [index / 10 for index in range(20)])
    return path


@pytest.fixture
def audio_only(tmp_path) -> Path:
    path = tmp_path / "audio_only.wav"
    time = np.arange(16000 * 2) / 16000
    write_wav(path, 0.3 * np.sin(2 * np.pi * 220 * time))
    return path
