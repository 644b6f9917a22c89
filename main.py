"""Start Semi-IIN Studio: ``python main.py [PROJECT_FOLDER] [--sample] [--offscreen --screenshot PATH]``.

Without a display on Linux (no DISPLAY or WAYLAND_DISPLAY) the app runs
offscreen: it analyzes the project (the sample project when no folder is
given) if it has no predictions yet, prints a per-clip table and saves a
screenshot of the main window. Heavy modules
(torch, the encoders) are imported only by the worker process, so the window
appears before any model loads.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

logger = logging.getLogger("semi_iin.main")

START_TIME = time.perf_counter()
SAMPLE_TARGET = "app.services.sample:open_or_create_sample_project"
ANALYSIS_TARGET = "app.services.analysis:analyze_project"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="main.py", description="Semi-IIN Studio desktop app.")
    parser.add_argument("project", nargs="?", help="project folder to open (created when --create is given)")
    parser.add_argument("--sample", action="store_true",
                        help="open the bundled sample project in the user's data folder, creating it on first run")
    parser.add_argument("--create", action="store_true", help="create a new project in PROJECT if there is none")
    parser.add_argument("--offscreen", action="store_true",
                        help="run without a display: analyze, print the clip table and save a screenshot")
    parser.add_argument("--screenshot", metavar="PATH", help="PNG path of the offscreen screenshot")
    parser.add_argument("--no-analysis", action="store_true", help="offscreen: skip analysis of unpredicted clips")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    return parser.parse_args(argv)


def has_display() -> bool:
    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def open_project(args: argparse.Namespace):
    """Return the Project named by PROJECT, or None when none was given."""
    from app.project import Project

    if not args.project:
        return None
    folder = Path(args.project)
    if args.create and not (folder / "project.sqlite").exists():
        return Project.create(folder)
    return Project.open(folder)


def run_job_and_wait(window, title: str, target: str, *args):
    """Run a service job with the window's runner and progress dialog; return (result, error)."""
    from PySide6.QtCore import QEventLoop

    loop = QEventLoop()
    outcome: dict = {}

    def finished(value) -> None:
        outcome["value"] = value
        loop.quit()

    def failed(error) -> None:
        outcome["error"] = error
        loop.quit()

    def report(step: int, total: int, message: str) -> None:
        print(f"  [{step}/{total}] {message}", flush=True)

    window.runner.finished.connect(finished)
    window.runner.failed.connect(failed)
    window.runner.progress.connect(report)
    window.run_service(title, target, *args)
    loop.exec()
    for signal, slot in ((window.runner.finished, finished), (window.runner.failed, failed),
                         (window.runner.progress, report)):
        signal.disconnect(slot)
    return outcome.get("value"), outcome.get("error")


def run_offscreen(app, window, args: argparse.Namespace) -> int:
    """Analyze (when needed), print the clip table and save a screenshot; return the exit code."""
    from PySide6.QtCore import QTimer

    from app.services.sample import clip_table, format_clip_table

    session = window.session
    if session is None:
        print("main.py: offscreen mode needs a project: pass a folder or --sample", file=sys.stderr)
        return 2
    needs_analysis = not session.rows() or any(row.predicted_intensity is None for row in session.rows())
    if needs_analysis and not args.no_analysis:
        print(f"analyzing {session.folder} in a worker process")
        _result, error = run_job_and_wait(window, "Analyzing videos", ANALYSIS_TARGET, str(session.folder))
        if error is not None:
            print(f"main.py: analysis failed: {error.summary()}", file=sys.stderr)
            return 1
        session.reload()
    print(format_clip_table(clip_table(session.folder)))

    screenshot = Path(args.screenshot or (session.folder / "exports" / "screenshot.png")).resolve()
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    wait_for_video_frame(app, window)
    image = window.grab()
    if not image.save(str(screenshot)):
        print(f"main.py: saving the screenshot to {screenshot} failed", file=sys.stderr)
        return 1
    print(f"screenshot saved to {screenshot}")
    QTimer.singleShot(0, app.quit)
    return 0


def wait_for_video_frame(app, window, timeout_ms: int = 5000) -> bool:
    """Play the current clip until the video item has a frame, then pause; return whether one arrived."""
    from PySide6.QtCore import QEventLoop, QTimer

    current = window.session.current_clip() if window.session else None
    if current is None or window.player.path is None:
        return False
    loop = QEventLoop()
    sink = window.player.video_item.videoSink()
    frames = []
    sink.videoFrameChanged.connect(lambda frame: (frames.append(frame), loop.quit()) if frame.isValid() else None)
    QTimer.singleShot(timeout_ms, loop.quit)
    window.player.audio.setMuted(True)
    window.player.play()
    loop.exec()
    start = current.start_s or 0.0
    window.player.pause()
    window.player.seek(start + min(0.5, ((current.end_s or start) - start) / 2))
    # Let the paused frame reach the video item before grabbing.
    QTimer.singleShot(300, loop.quit)
    loop.exec()
    return bool(frames)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = logging.StreamHandler()
    console.setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    console.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, handlers=[console])
    offscreen = args.offscreen
    if not offscreen and not has_display():
        print("main.py: no display found (DISPLAY and WAYLAND_DISPLAY are unset); running offscreen")
        offscreen = True
    if offscreen:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"

    from PySide6.QtWidgets import QApplication

    from app.ui.errors import ExceptionHook, setup_file_logging
    from app.ui.main_window import MainWindow

    app = QApplication(sys.argv[:1])
    app.setApplicationName("Semi-IIN Studio")
    log_path = setup_file_logging()
    window = MainWindow(defer_plots=True)
    hook = ExceptionHook(window, show_dialog=not offscreen)
    hook.install()
    window.show()
    app.processEvents()
    shown_s = time.perf_counter() - START_TIME
    logger.info("window shown %.3f s after start", shown_s)
    if offscreen:
        print(f"window shown {shown_s:.3f} s after start; log file {log_path}")
    window.build_deferred_widgets()

    if offscreen and not args.project and not args.sample:
        print("main.py: no project folder given, so the sample project is used")
        args.sample = True
    try:
        if args.sample:
            result, error = run_job_and_wait(window, "Preparing the sample project", SAMPLE_TARGET)
            if error is not None:
                raise RuntimeError(f"preparing the sample project failed: {error.summary()}")
            window.open_project(result["folder"])
        else:
            project = open_project(args)
            if project is not None:
                window.set_project(project)
    except Exception as exc:  # noqa: BLE001 - a failed open is reported and the app starts empty
        if offscreen:
            print(f"main.py: opening the project failed: {exc}", file=sys.stderr)
            return 1
        from app.ui.errors import show_error

        show_error(window, "Opening the project", exc)

    if offscreen:
        code = run_offscreen(app, window, args)
        window.close()
        hook.uninstall()
        return code
    code = app.exec()
    hook.uninstall()
    return code


if __name__ == "__main__":
    sys.exit(main())
