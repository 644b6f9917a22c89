"""The Qt side of the job protocol: relay worker-process events as signals on the GUI thread."""

from __future__ import annotations

import logging
from typing import Callable

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

from app.services.jobs import DEFAULT_GRACE_S, Job, JobError, JobEvent, JobResult, ProgressEvent

logger = logging.getLogger(__name__)

# Milliseconds between two polls of the worker's event queue.
POLL_INTERVAL_MS = 30
# Milliseconds a job runs before its progress dialog appears.
DIALOG_DELAY_MS = 500


class JobBusyError(RuntimeError):
    """A job was started while another one still runs in the same runner."""


class JobRunner(QObject):
    """Run one job at a time in a worker process and emit its events on the GUI thread.

    Signals: ``started(name)``, ``progress(step, total, message)``, ``event(dict)``,
    ``finished(value)`` with the job function's return value, ``failed(JobError)``
    (``error.cancelled`` is True after a cancel), and ``ended()`` after either.
    A job never touches a widget; widgets react to these signals.
    """

    started = Signal(str)
    progress = Signal(int, int, str)
    event = Signal(dict)
    finished = Signal(object)
    failed = Signal(object)
    ended = Signal()

    def __init__(self, parent: QObject | None = None, poll_interval_ms: int = POLL_INTERVAL_MS):
        super().__init__(parent)
        self._job: Job | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(poll_interval_ms)
        self._timer.timeout.connect(self._poll)
        self.last_progress: ProgressEvent | None = None

    @property
    def busy(self) -> bool:
        return self._job is not None

    @property
    def job_name(self) -> str:
        return self._job.name if self._job else ""

    def start(self, fn: Callable, *args, name: str | None = None, grace_s: float = DEFAULT_GRACE_S,
              **kwargs) -> Job:
        """Start ``fn(*args, progress=..., cancel=..., **kwargs)`` in a worker process."""
        if self._job is not None:
            raise JobBusyError(f"cannot start {name or fn.__name__}: {self._job.name} is still running, so "
                               "wait for it or cancel it first")
        job = Job(fn, args, kwargs, grace_s=grace_s, name=name)
        job.start()
        self._job = job
        self.last_progress = None
        self._timer.start()
        self.started.emit(job.name)
        return job

    def cancel(self) -> None:
        """Ask the running job to stop. The worker is terminated if it does not stop in time."""
        if self._job is not None:
            self._job.cancel()

    def _poll(self) -> None:
        job = self._job
        if job is None:
            self._timer.stop()
            return
        for item in job.poll():
            if isinstance(item, ProgressEvent):
                self.last_progress = item
                self.progress.emit(item.step, item.total, item.message)
            elif isinstance(item, JobEvent):
                self.event.emit(item.data)
            elif isinstance(item, JobResult):
                self._end()
                self.finished.emit(item.value)
                self.ended.emit()
            elif isinstance(item, JobError):
                if not item.cancelled:
                    logger.error("job %s failed: %s\n%s", job.name, item.summary(), item.traceback_text)
                self._end()
                self.failed.emit(item)
                self.ended.emit()

    def _end(self) -> None:
        self._timer.stop()
        self._job = None


class JobProgressDialog(QProgressDialog):
    """A progress dialog that appears only when a job runs longer than ``delay_ms``, with Cancel."""

    def __init__(self, runner: JobRunner, title: str, parent: QWidget | None = None,
                 delay_ms: int = DIALOG_DELAY_MS):
        super().__init__(title, "Cancel", 0, 0, parent)
        self.setWindowTitle(title)
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setAutoClose(False)
        self.setAutoReset(False)
        # Showing is driven by our own timer, so QProgressDialog's estimate must never show it.
        self.setMinimumDuration(10**9)
        self._runner = runner
        self._show_timer = QTimer(self)
        self._show_timer.setSingleShot(True)
        self._show_timer.setInterval(delay_ms)
        self._show_timer.timeout.connect(self._show_if_running)
        self.canceled.connect(runner.cancel)
        runner.progress.connect(self._on_progress)
        runner.ended.connect(self._on_ended)
        self._show_timer.start()
        self.hide()

    def _show_if_running(self) -> None:
        if self._runner.busy:
            self.show()

    def _on_progress(self, step: int, total: int, message: str) -> None:
        self.setMaximum(max(total, 0))
        if total > 0:
            self.setValue(min(step, total))
        self.setLabelText(message)

    def _on_ended(self) -> None:
        self._show_timer.stop()
        self._runner.progress.disconnect(self._on_progress)
        self._runner.ended.disconnect(self._on_ended)
        self.hide()
        self.deleteLater()
