"""Small real job functions for the job runner tests (no Qt, importable by a spawned worker)."""

from __future__ import annotations

import os
import time


def count_to(n, *, progress, cancel, on_event, delay_s=0.0):
    """Count to ``n``, reporting each step and a fake loss curve, and return the sum."""
    total = 0
    for step in range(1, n + 1):
        if cancel.is_set():
            raise RuntimeError(f"stopped at step {step}")
        total += step
        progress(step, n, f"step {step}")
        on_event({"kind": "losses", "step": step, "loss_total": 1.0 / step})
        if delay_s:
            cancel.wait(delay_s)
    return {"sum": total, "pid": os.getpid()}


def fail_with_value_error(path, *, progress, cancel):
    """Raise the kind of error a service raises on bad input."""
    progress(0, 1, "opening")
    raise ValueError(f"{path}: not a video file")


def ignore_cancel(*, progress, cancel):
    """Loop without looking at ``cancel`` so the runner has to terminate the process."""
    progress(0, 0, "busy")
    while True:
        time.sleep(0.05)


def die_natively(*, progress, cancel):
    """End the process without a result, as a crash inside a native decoder would."""
    progress(1, 2, "about to crash")
    os._exit(3)


def wait_for_cancel(*, progress, cancel):
    """Report progress, then wait until cancelled and stop cleanly."""
    progress(1, 10, "waiting")
    cancel.wait(60)
    return "stopped" if cancel.is_set() else "timed out"
