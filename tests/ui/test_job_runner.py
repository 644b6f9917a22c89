"""The Qt job runner relays worker events as signals and its dialog offers Cancel."""

from __future__ import annotations

from app.services.jobs import JobError
from app.ui.job_runner import JobBusyError, JobProgressDialog, JobRunner
from sample_jobs import count_to, fail_with_value_error, wait_for_cancel

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton


def test_runner_emits_progress_events_and_finished(qtbot):
    runner = JobRunner()
    progress, events = [], []
    runner.progress.connect(lambda step, total, message: progress.append((step, total, message)))
    runner.event.connect(events.append)
    with qtbot.waitSignal(runner.finished, timeout=30000) as finished:
        runner.start(count_to, 4)
    assert finished.args[0]["sum"] == 10
    assert progress == [(1, 4, "step 1"), (2, 4, "step 2"), (3, 4, "step 3"), (4, 4, "step 4")]
    assert [e["step"] for e in events] == [1, 2, 3, 4]
    assert not runner.busy


def test_runner_relays_job_exception(qtbot):
    runner = JobRunner()
    with qtbot.waitSignal(runner.failed, timeout=30000) as failed:
        runner.start(fail_with_value_error, "clip.mp4")
    error = failed.args[0]
    assert isinstance(error, JobError)
    assert error.type_name == "ValueError"
    assert "clip.mp4" in error.message


def test_runner_rejects_second_job(qtbot):
    runner = JobRunner()
    with qtbot.waitSignal(runner.progress, timeout=30000):
        runner.start(wait_for_cancel)
    with pytest.raises(JobBusyError, match="still running"):
        runner.start(count_to, 2)
    with qtbot.waitSignal(runner.finished, timeout=10000) as finished:
        runner.cancel()
    assert finished.args[0] == "stopped"


def test_progress_dialog_shows_late_and_cancels(qtbot):
    runner = JobRunner()
    with qtbot.waitSignal(runner.progress, timeout=30000):
        runner.start(count_to, 1000, delay_s=0.05)
    dialog = JobProgressDialog(runner, "Counting", delay_ms=200)
    assert not dialog.isVisible()
    qtbot.waitUntil(dialog.isVisible, timeout=5000)
    assert dialog.labelText().startswith("step ")
    cancel_button = dialog.findChild(QPushButton)
    assert cancel_button.text() == "Cancel"
    with qtbot.waitSignal(runner.failed, timeout=10000) as failed:
        qtbot.mouseClick(cancel_button, Qt.MouseButton.LeftButton)
    assert failed.args[0].cancelled
    assert "stopped at step" in failed.args[0].message
