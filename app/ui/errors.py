"""The one route from errors to the user: dialogs for expected errors, a logged hook for the rest."""

from __future__ import annotations

import logging
import sys
import traceback
from logging.handlers import RotatingFileHandler
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from core_model.errors import SemiIINError

logger = logging.getLogger(__name__)

LOG_FILE_NAME = "semi-iin-studio.log"


def log_file_path() -> Path:
    """Return the log file in the app's user log folder (platformdirs, or ``SEMI_IIN_DATA_DIR``/logs)."""
    from app.services.paths import user_log_dir

    return user_log_dir() / LOG_FILE_NAME


def setup_file_logging(path: Path | None = None) -> Path:
    """Send log records of level INFO and above to a rotating log file and return its path."""
    path = path or log_file_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    if not any(isinstance(h, RotatingFileHandler) and Path(h.baseFilename) == path for h in root.handlers):
        handler = RotatingFileHandler(path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.setLevel(logging.INFO)
        root.addHandler(handler)
        if root.level > logging.INFO or root.level == logging.NOTSET:
            root.setLevel(logging.INFO)
    return path


def error_text(exc: BaseException) -> str:
    """Return the message a user reads: the error's own text, which names the file and the fix."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, (SemiIINError, OSError, ValueError, LookupError)):
        return text
    return f"{type(exc).__name__}: {text}"


def show_error(parent: QWidget | None, action: str, exc: BaseException) -> QMessageBox:
    """Show a non-blocking dialog saying which action failed and why, and return it."""
    logger.warning("%s failed: %s", action, exc)
    box = QMessageBox(QMessageBox.Icon.Warning, "Semi-IIN Studio", f"{action} failed.", QMessageBox.StandardButton.Ok,
                      parent)
    box.setInformativeText(error_text(exc))
    box.setObjectName("errorDialog")
    box.open()
    return box


class ExceptionHook(QObject):
    """A ``sys.excepthook`` that logs the traceback and shows a short message on the GUI thread."""

    raised = Signal(str, str)

    def __init__(self, parent: QWidget | None = None, show_dialog: bool = True):
        super().__init__(parent)
        self.show_dialog = show_dialog
        self.last_message: str | None = None
        self._previous = sys.excepthook
        self.raised.connect(self._show)

    def install(self) -> None:
        sys.excepthook = self

    def uninstall(self) -> None:
        if sys.excepthook is self:
            sys.excepthook = self._previous

    def __call__(self, exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            self._previous(exc_type, exc, tb)
            return
        text = "".join(traceback.format_exception(exc_type, exc, tb))
        logger.error("unexpected error:\n%s", text)
        self.raised.emit(error_text(exc), str(log_file_path()))

    def _show(self, message: str, log_path: str) -> None:
        self.last_message = message
        if not self.show_dialog:
            return
        box = QMessageBox(QMessageBox.Icon.Critical, "Semi-IIN Studio",
                          "An unexpected error occurred. Your annotations are saved.", QMessageBox.StandardButton.Ok,
                          self.parent() if isinstance(self.parent(), QWidget) else None)
        box.setInformativeText(f"{message}\n\nThe details are in {log_path}.")
        box.setObjectName("unexpectedErrorDialog")
        box.open()
        QTimer.singleShot(0, box.raise_)
