"""Benchmark of the desktop app: start-up, event-loop lateness during a worker job, 25,000-clip timeline.

Run from the repository root: ``python bench/bench_gui.py [--quick]``. It runs
offscreen and prints one table of measured values next to the targets:

- start-up: seconds from launching ``python main.py PROJECT --offscreen`` to
  the window being shown (as main.py reports it, and when the parent process
  receives that line);
- lateness: a 10 ms QTimer records how late each tick fires while a
  CPU-bound job runs in the worker process and the video plays (measured
  from the job's start, after the window has run for 1.5 s);
- timeline: building and repainting the timeline with 25,000 clips from a
  real project store, and zoom and pan repaint times.

Numbers depend on the machine and its load; the table prints the load average.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SAMPLE_MEDIA = REPO / "resources" / "samples" / "mosi"
TIMELINE_CLIPS = 25_000
TICK_MS = 10
# Milliseconds the window runs (video playing) before the lateness measurement starts.
SETTLE_MS = 1500


def busy_job(seconds: float, *, progress, cancel, on_event):
    """Keep one CPU busy with matrix products for ``seconds``, reporting progress every 20 ms."""
    import numpy as np

    rng = np.random.default_rng(0)
    matrix = rng.standard_normal((160, 160))
    started = time.perf_counter()
    step = 0
    last_report = 0.0
    while time.perf_counter() - started < seconds and not cancel.is_set():
        matrix = np.tanh(matrix @ matrix.T / 160.0)
        now = time.perf_counter() - started
        if now - last_report >= 0.02:
            step += 1
            last_report = now
            progress(step, 0, f"busy {now:.1f} s")
            on_event({"kind": "step", "losses": {"total": float(abs(matrix).mean())}})
    return step


def build_project(folder: Path, clip_count: int = 0):
    """Create a project with the four bundled sample clips and, optionally, ``clip_count`` extra clips."""
    from app.project import Project

    media = folder.parent / "media"
    media.mkdir(parents=True, exist_ok=True)
    project = Project.create(folder, backup_on_open=False)
    clip_ids = []
    for path in sorted(SAMPLE_MEDIA.glob("*.mp4")):
        shutil.copy(path, media / path.name)
        text_file = path.with_suffix(".txt")
        text = text_file.read_text(encoding="utf-8").strip() if text_file.exists() else path.stem
        video = project.add_video(media / path.name)
        clip_ids += project.add_clips(video.id, [{"start_s": 0.0, "end_s": 1.2, "text": text}])
    if clip_count:
        video = project.videos()[0]
        clip_ids += project.add_clips(video.id, [
            {"start_s": 3.0 * i, "end_s": 3.0 * i + 2.0, "text": f"clip {i}"} for i in range(clip_count)
        ], replace=False)
    # Benchmark input values, not model output: the timeline only needs numbers in range.
    project.save_predictions("bench", [
        {"clip_id": c, "intensity": ((c * 37) % 61) / 10.0 - 3.0, "probs": [1 / 7] * 7, "gate_val": 0.5,
         "gate_cls": 0.4, "confidence": ((c * 13) % 80) / 100.0 + 0.2} for c in clip_ids
    ])
    return project


def measure_startup(folder: Path, runs: int) -> dict[str, float]:
    """Launch main.py ``runs`` times and return the median and max start-up seconds."""
    reported, observed = [], []
    for _ in range(runs):
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "main.py", str(folder), "--offscreen", "--no-analysis",
             "--screenshot", str(folder.parent / "bench_shot.png")],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        for line in process.stdout:
            if line.startswith("window shown"):
                observed.append(time.perf_counter() - started)
                reported.append(float(line.split()[2]))
        process.wait(timeout=120)
    return {"reported_median": statistics.median(reported), "reported_max": max(reported),
            "observed_median": statistics.median(observed), "observed_max": max(observed)}


def measure_lateness(app, folder: Path, job_seconds: float) -> dict[str, float]:
    """Return lateness statistics (ms) of a 10 ms timer while a worker job runs and the video plays."""
    from PySide6.QtCore import QEventLoop, QTimer

    from app.services.jobs import call_by_name
    from app.ui.main_window import MainWindow

    window = MainWindow()
    window.open_project(folder)
    window.show()
    lateness: list[float] = []
    expected = [time.perf_counter() + TICK_MS / 1000]

    def tick() -> None:
        now = time.perf_counter()
        lateness.append(max(0.0, (now - expected[0]) * 1000))
        expected[0] = now + TICK_MS / 1000

    timer = QTimer()
    timer.setTimerType(timer.timerType().PreciseTimer)
    timer.setInterval(TICK_MS)
    timer.timeout.connect(tick)
    loop = QEventLoop()
    events = []
    window.runner.event.connect(events.append)
    window.runner.finished.connect(lambda _value: loop.quit())
    window.runner.failed.connect(lambda _error: loop.quit())
    window.player.audio.setMuted(True)
    window.player.loop_box.setChecked(True)
    window.player.play_clip()
    # Let the first paints and the video decoder start up before measuring, so the
    # numbers describe the loop while the job runs rather than window start-up.
    settle = QEventLoop()
    QTimer.singleShot(SETTLE_MS, settle.quit)
    settle.exec()
    expected[0] = time.perf_counter() + TICK_MS / 1000
    timer.start()
    started = time.perf_counter()
    window.start_job("bench job", call_by_name, "bench.bench_gui:busy_job", job_seconds)
    start_job_ms = (time.perf_counter() - started) * 1000
    loop.exec()
    timer.stop()
    window.player.pause()
    window.close()
    ordered = sorted(lateness)
    return {"ticks": len(ordered), "events": len(events), "start_job_ms": start_job_ms, "max_ms": ordered[-1],
            "p99_ms": ordered[int(0.99 * (len(ordered) - 1))], "median_ms": statistics.median(ordered)}


def measure_timeline(app, folder: Path, steps: int) -> dict[str, float]:
    """Return build and repaint times (s) of the timeline over a 25,000-clip video."""
    from app.project import Project
    from app.ui.session import ProjectSession
    from app.ui.timeline import Timeline

    project = Project.open(folder, backup_on_open=False)
    session = ProjectSession(project)
    session.reload()
    video_id = project.videos()[0].id
    started = time.perf_counter()
    data = session.timeline_data(video_id)
    arrays_s = time.perf_counter() - started
    timeline = Timeline()
    timeline.resize(1400, 320)
    timeline.show()
    started = time.perf_counter()
    timeline.set_data(data)
    timeline.graphics.grab()
    build_s = time.perf_counter() - started
    view = timeline.intensity_plot.vb
    zooms, pans = [], []
    for index in range(steps):
        started = time.perf_counter()
        view.scaleBy((0.6 if index < steps // 2 else 1 / 0.6, 1))
        timeline.graphics.grab()
        zooms.append(time.perf_counter() - started)
        started = time.perf_counter()
        low, high = view.viewRange()[0]
        view.translateBy(x=(high - low) * 0.25)
        timeline.graphics.grab()
        pans.append(time.perf_counter() - started)
    project.close()
    return {"clips": len(data.start), "arrays_s": arrays_s, "build_s": build_s,
            "zoom_median_s": statistics.median(zooms), "zoom_max_s": max(zooms),
            "pan_median_s": statistics.median(pans), "pan_max_s": max(pans)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs and a shorter job")
    args = parser.parse_args(argv)
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory(prefix="bench_gui_") as tmp:
        small = build_project(Path(tmp) / "small" / "project")
        small.close()
        large = build_project(Path(tmp) / "large" / "project", TIMELINE_CLIPS)
        large.close()
        startup = measure_startup(Path(tmp) / "small" / "project", 2 if args.quick else 5)
        lateness = measure_lateness(app, Path(tmp) / "small" / "project", 3.0 if args.quick else 10.0)
        timeline = measure_timeline(app, Path(tmp) / "large" / "project", 6 if args.quick else 20)

    load = os.getloadavg()
    print(f"bench_gui on {os.cpu_count()} CPUs, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")
    rows = [
        ("window shown after start (main.py clock, median)", f"{startup['reported_median']:.3f} s", "< 1 s"),
        ("window shown after start (main.py clock, max)", f"{startup['reported_max']:.3f} s", "< 1 s"),
        ("window shown after process launch (median)", f"{startup['observed_median']:.3f} s", ""),
        ("event-loop lateness during worker job, max", f"{lateness['max_ms']:.1f} ms", "< 100 ms"),
        ("event-loop lateness during worker job, p99", f"{lateness['p99_ms']:.1f} ms", "< 30 ms"),
        ("event-loop lateness during worker job, median", f"{lateness['median_ms']:.1f} ms", ""),
        ("timer ticks / job events relayed", f"{lateness['ticks']} / {lateness['events']}", ""),
        ("starting the worker process (GUI thread)", f"{lateness['start_job_ms']:.1f} ms", ""),
        (f"timeline arrays for {timeline['clips']} clips", f"{timeline['arrays_s']:.3f} s", ""),
        ("timeline build and first paint", f"{timeline['build_s']:.3f} s", ""),
        ("timeline zoom repaint, median / max", f"{timeline['zoom_median_s']:.3f} / {timeline['zoom_max_s']:.3f} s", ""),
        ("timeline pan repaint, median / max", f"{timeline['pan_median_s']:.3f} / {timeline['pan_max_s']:.3f} s", ""),
    ]
    width = max(len(name) for name, _, _ in rows)
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:>16}  {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
