"""Locations of the bundled resources and of the user's data and logs."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "semi-iin-studio"
RESOURCES = Path(__file__).resolve().parents[2] / "resources"
SAMPLE_MEDIA = RESOURCES / "samples" / "mosi"
DEFAULT_MODEL = RESOURCES / "models" / "semi_iin_lite"


def user_data_dir() -> Path:
    """Return the user's data folder; ``SEMI_IIN_DATA_DIR`` overrides it (tests, portable installs)."""
    override = os.environ.get("SEMI_IIN_DATA_DIR")
    return Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME))


def user_log_dir() -> Path:
    override = os.environ.get("SEMI_IIN_DATA_DIR")
    return Path(override) / "logs" if override else Path(platformdirs.user_log_dir(APP_NAME))
