"""Worker-process jobs: run one picklable function in a child process and relay its events.

A job function has the signature ``fn(*args, progress, cancel, **kwargs)`` and may
also accept ``on_event``:

- ``progress(step, total, message)`` reports how far the job is.
- ``cancel`` is a ``multiprocessing.Event``. The job checks ``cancel.is_set()``
  between steps and stops (raising ``TrainingCancelled`` or returning early).
- ``on_event(mapping)`` reports anything else, such as the named losses of a
  training step (``{"kind": "losses", "epoch": 3, "loss_total": 0.41}``).

The parent reads events with :meth:`Job.poll`, which does not wait for the job
to make progress (it waits at most 0.2 s for the last messages of a worker that
has just ended). Nothing here
imports Qt: ``app.ui.job_runner`` turns the events into Qt signals, and a CLI can
drive tqdm from the same events.
"""

from __future__ import annotations

import inspect
import logging
import multiprocessing
import queue
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable

logger = logging.getLogger(__name__)

# Seconds a job gets to stop on its own after cancel is set, before terminate().
DEFAULT_GRACE_S = 2.0
# Seconds between SIGTERM and SIGKILL when a job ignores terminate().
KILL_AFTER_S = 1.0


@dataclass(frozen=True)
class ProgressEvent:
    """How far a job is: ``step`` of ``total`` (``total`` 0 means unknown)."""

    step: int
    total: int
    message: str


@dataclass(frozen=True)
class JobEvent:
    """A free-form event from the job, such as named losses or metrics."""

    data: dict


@dataclass(frozen=True)
class JobResult:
    """The value the job function returned."""

    value: Any


@dataclass(frozen=True)
class JobError:
    """Why a job failed: the exception raised in the worker, or the worker's death.

    ``exit_code`` is set when the process ended without reporting a result, such
    as a native crash in a decoder (negative values are signal numbers).
    """

    type_name: str
    message: str
    traceback_text: str = ""
    exit_code: int | None = None
    cancelled: bool = False

    def summary(self) -> str:
        """Return a one-line description for dialogs and logs."""
        if self.cancelled:
            return "cancelled by the user"
        return f"{self.type_name}: {self.message}"


@dataclass
class _JobState:
    finished: bool = False
    outcome: JobResult | JobError | None = None
    cancel_requested_at: float | None = None
    terminated: bool = False


def _accepts_keyword(fn: Callable, name: str) -> bool:
    try:
        parameters = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    if name in parameters:
        return True
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


def _worker_main(fn: Callable, args: tuple, kwargs: dict, events, cancel) -> None:
    """Run ``fn`` in the child process and put its events on ``events``."""

    def progress(step: int, total: int, message: str = "") -> None:
        events.put(("progress", int(step), int(total), str(message)))

    def on_event(data: dict) -> None:
        events.put(("event", dict(data)))

    call_kwargs = dict(kwargs)
    call_kwargs["progress"] = progress
    call_kwargs["cancel"] = cancel
    if _accepts_keyword(fn, "on_event"):
        call_kwargs["on_event"] = on_event
    try:
        value = fn(*args, **call_kwargs)
    except BaseException as exc:  # noqa: BLE001 - every failure must reach the parent
        events.put(("error", type(exc).__name__, str(exc), traceback.format_exc(), cancel.is_set()))
    else:
        try:
            events.put(("result", value))
        except Exception as exc:  # noqa: BLE001 - an unpicklable result is a job error
            events.put(("error", type(exc).__name__, f"the job's result cannot be sent to the GUI: {exc}",
                        traceback.format_exc(), False))
    events.close()
    events.join_thread()


class Job:
    """One function running in a spawned worker process.

    Create it with :func:`start_job` and call :meth:`poll` regularly, as the Qt
    runner does from a timer. Each call returns the events that arrived since the
    last one. After the worker ends, the last event is a :class:`JobResult` or a
    :class:`JobError`.
    """

    def __init__(self, fn: Callable, args: tuple = (), kwargs: dict | None = None,
                 grace_s: float = DEFAULT_GRACE_S, name: str | None = None):
        self.name = name or getattr(fn, "__qualname__", repr(fn))
        self.grace_s = float(grace_s)
        context = multiprocessing.get_context("spawn")
        self._events = context.Queue()
        self._cancel = context.Event()
        self._process = context.Process(
            target=_worker_main, args=(fn, tuple(args), dict(kwargs or {}), self._events, self._cancel),
            name=f"job:{self.name}", daemon=True,
        )
        self._state = _JobState()
        self._started_at: float | None = None

    def start(self) -> None:
        """Start the worker process."""
        self._started_at = time.monotonic()
        self._process.start()
        logger.info("job %s started in process %s", self.name, self._process.pid)

    @property
    def pid(self) -> int | None:
        return self._process.pid

    @property
    def finished(self) -> bool:
        return self._state.finished

    @property
    def outcome(self) -> JobResult | JobError | None:
        """The final result or error, or None while the job runs."""
        return self._state.outcome

    def cancel(self) -> None:
        """Ask the job to stop now. :meth:`poll` terminates the worker after ``grace_s``."""
        if self._state.finished or self._state.cancel_requested_at is not None:
            return
        self._cancel.set()
        self._state.cancel_requested_at = time.monotonic()
        logger.info("job %s: cancel requested", self.name)

    def poll(self) -> list[ProgressEvent | JobEvent | JobResult | JobError]:
        """Return the events that arrived since the last call, without blocking."""
        if self._state.finished:
            return []
        out: list = []
        self._drain(out)
        if self._state.outcome is None:
            self._check_cancel_deadline()
            if not self._process.is_alive():
                # The worker may have put its last message just before exiting.
                self._drain(out, wait_s=0.2)
                if self._state.outcome is None:
                    self._state.outcome = self._death_error()
                    out.append(self._state.outcome)
        if self._state.outcome is not None:
            self._finish()
        return out

    def wait(self, timeout_s: float | None = None, poll_interval_s: float = 0.02) -> JobResult | JobError:
        """Block until the job ends and return its outcome (for CLI and tests without Qt)."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while not self._state.finished:
            self.poll()
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {self.name} did not finish within {timeout_s} s")
            time.sleep(poll_interval_s)
        return self._state.outcome

    def _drain(self, out: list, wait_s: float = 0.0) -> None:
        deadline = time.monotonic() + wait_s
        while self._state.outcome is None:
            try:
                timeout = max(0.0, deadline - time.monotonic())
                message = self._events.get(timeout=timeout) if timeout > 0 else self._events.get_nowait()
            except queue.Empty:
                return
            except (EOFError, OSError) as exc:
                logger.warning("job %s: event queue closed: %s", self.name, exc)
                return
            out.append(self._decode(message))

    def _decode(self, message: tuple):
        kind = message[0]
        if kind == "progress":
            return ProgressEvent(message[1], message[2], message[3])
        if kind == "event":
            return JobEvent(message[1])
        if kind == "result":
            self._state.outcome = JobResult(message[1])
            return self._state.outcome
        _, type_name, text, tb, cancelled = message
        # An exception raised after cancel was set (TrainingCancelled or otherwise) counts as a cancel.
        self._state.outcome = JobError(type_name, text, tb, cancelled=bool(cancelled))
        return self._state.outcome

    def _check_cancel_deadline(self) -> None:
        requested = self._state.cancel_requested_at
        if requested is None or self._state.terminated or not self._process.is_alive():
            return
        if time.monotonic() - requested >= self.grace_s:
            logger.warning("job %s ignored cancel for %.1f s; terminating process %s",
                           self.name, self.grace_s, self._process.pid)
            self._process.terminate()
            self._process.join(KILL_AFTER_S)
            if self._process.is_alive():
                self._process.kill()
                self._process.join(KILL_AFTER_S)
            self._state.terminated = True

    def _death_error(self) -> JobError:
        code = self._process.exitcode
        if self._state.cancel_requested_at is not None:
            return JobError("Cancelled", "the job was stopped after cancel", exit_code=code, cancelled=True)
        return JobError("WorkerDied", f"the worker process ended with exit code {code} without a result "
                        "(a native crash, for example in a decoder); see the log for details",
                        exit_code=code)

    def _finish(self) -> None:
        self._state.finished = True
        self._process.join(KILL_AFTER_S)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(KILL_AFTER_S)
        self._events.close()
        outcome = self._state.outcome
        elapsed = time.monotonic() - (self._started_at or time.monotonic())
        if isinstance(outcome, JobError):
            logger.info("job %s ended after %.2f s: %s", self.name, elapsed, outcome.summary())
        else:
            logger.info("job %s finished after %.2f s", self.name, elapsed)


def call_by_name(target: str, *args, progress, cancel, on_event=None, **kwargs):
    """Import ``"package.module:function"`` in the worker and call it with the job keywords it accepts.

    The GUI starts service jobs through this function, so heavy modules (torch)
    are imported only by the worker process, never by the GUI.
    """
    import importlib

    module_name, _, function_name = target.partition(":")
    if not module_name or not function_name:
        raise ValueError(f"job target {target!r} is invalid; expected 'package.module:function'")
    fn = getattr(importlib.import_module(module_name), function_name)
    call_kwargs = dict(kwargs)
    # Quick look-ups such as a retraining plan take no progress or cancel arguments.
    for name, value in (("progress", progress), ("cancel", cancel), ("on_event", on_event)):
        if value is not None and _accepts_keyword(fn, name):
            call_kwargs[name] = value
    return fn(*args, **call_kwargs)


def start_job(fn: Callable, *args, grace_s: float = DEFAULT_GRACE_S, name: str | None = None, **kwargs) -> Job:
    """Start ``fn(*args, progress=..., cancel=..., **kwargs)`` in a spawned process and return its Job."""
    job = Job(fn, args, kwargs, grace_s=grace_s, name=name)
    job.start()
    return job
