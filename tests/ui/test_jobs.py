"""The worker-process job protocol, without Qt."""

from __future__ import annotations

import os
import time

from app.services.jobs import JobError, JobEvent, JobResult, ProgressEvent, call_by_name, start_job
from sample_jobs import count_to, die_natively, fail_with_value_error, ignore_cancel, wait_for_cancel


def collect(job, timeout_s=30.0):
    events = []
    deadline = time.monotonic() + timeout_s
    while not job.finished:
        events.extend(job.poll())
        assert time.monotonic() < deadline, f"job {job.name} did not finish in {timeout_s} s"
        time.sleep(0.01)
    return events


def test_job_reports_progress_events_and_result():
    job = start_job(count_to, 5)
    events = collect(job)
    progress = [e for e in events if isinstance(e, ProgressEvent)]
    losses = [e.data for e in events if isinstance(e, JobEvent)]
    assert [p.step for p in progress] == [1, 2, 3, 4, 5]
    assert all(p.total == 5 for p in progress)
    assert losses[-1] == {"kind": "losses", "step": 5, "loss_total": 0.2}
    assert isinstance(events[-1], JobResult)
    assert events[-1].value["sum"] == 15
    assert events[-1].value["pid"] != os.getpid()


def test_job_error_carries_type_message_traceback():
    job = start_job(fail_with_value_error, "/tmp/broken.mp4")
    outcome = job.wait(30)
    assert isinstance(outcome, JobError)
    assert outcome.type_name == "ValueError"
    assert "/tmp/broken.mp4: not a video file" in outcome.message
    assert "fail_with_value_error" in outcome.traceback_text
    assert not outcome.cancelled


def test_cancel_stops_cooperative_job_quickly():
    job = start_job(wait_for_cancel)
    while not any(isinstance(e, ProgressEvent) for e in job.poll()):
        time.sleep(0.01)
    cancelled_at = time.monotonic()
    job.cancel()
    outcome = job.wait(10)
    assert isinstance(outcome, JobResult)
    assert outcome.value == "stopped"
    assert time.monotonic() - cancelled_at < 2.0


def test_cancel_terminates_job_that_ignores_it():
    job = start_job(ignore_cancel, grace_s=0.3)
    while not any(isinstance(e, ProgressEvent) for e in job.poll()):
        time.sleep(0.01)
    job.cancel()
    outcome = job.wait(10)
    assert isinstance(outcome, JobError)
    assert outcome.cancelled
    assert outcome.exit_code is not None and outcome.exit_code != 0


def test_native_death_is_reported_with_exit_code():
    job = start_job(die_natively)
    outcome = job.wait(30)
    assert isinstance(outcome, JobError)
    assert outcome.type_name == "WorkerDied"
    assert outcome.exit_code == 3
    assert not outcome.cancelled


def test_call_by_name_imports_in_worker():
    job = start_job(call_by_name, "sample_jobs:count_to", 3)
    events = collect(job)
    assert [e.data["step"] for e in events if isinstance(e, JobEvent)] == [1, 2, 3]
    assert events[-1].value["sum"] == 6


def test_call_by_name_passes_only_accepted_keywords():
    job = start_job(call_by_name, "sample_jobs:add_numbers", 2, 3)
    outcome = job.wait(30)
    assert isinstance(outcome, JobResult), outcome
    assert outcome.value == 5
