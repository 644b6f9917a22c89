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


def plan_like(project_folder, options, *, progress, cancel):
    """Return a plan shaped like the retrain service's, with counts derived from the options."""
    progress(1, 1, "counted")
    return {"parent": "v1-test", "train": 3, "valid": 1, "unlabeled": int(options["epochs"]),
            "without_features": 0, "valid_is_train": False}


def train_like(project_folder, options, *, progress, cancel, on_event):
    """Emit training events shaped like the retrain service's and return a retrain-style result.

    Each epoch's numbers are computed from the epoch index, so the dialog's
    curves and metric table have known values to check. Runs longer than 100
    epochs wait 50 ms per epoch, so a test can cancel them.
    """
    epochs = int(options["epochs"])
    delay_s = 0.05 if epochs > 100 else 0.0
    for epoch in range(1, epochs + 1):
        if cancel.is_set():
            raise RuntimeError(f"training stopped at epoch {epoch}")
        progress(epoch, epochs, f"train: epoch {epoch}/{epochs}")
        on_event({"kind": "step", "phase": "train", "epoch": epoch, "epochs": epochs, "step": epoch,
                  "total_steps": epochs, "losses": {"total": 2.0 / epoch}, "metrics": {}, "best_epoch": None})
        on_event({"kind": "epoch", "phase": "train", "epoch": epoch, "epochs": epochs, "step": epoch,
                  "total_steps": epochs, "losses": {"total": 1.0 / epoch, "mse": 0.5 / epoch},
                  "metrics": {"mae": 1.0 / epoch, "corr": 0.1 * epoch}, "best_epoch": epoch})
        if delay_s:
            cancel.wait(delay_s)
    return {"version": "v2-test", "parent": "v1-test", "metrics": {"mae": 1.0 / epochs, "corr": 0.1 * epochs},
            "parent_metrics": {"mae": 1.5, "corr": 0.05}, "summary": {}}


def add_numbers(a, b):
    """Return ``a + b``; takes no job keywords, like a quick look-up service."""
    return a + b
