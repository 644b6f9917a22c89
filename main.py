"""Start Semi-IIN Studio: ``python main.py [PROJECT_FOLDER] [--sample] [--offscreen --screenshot PATH]``.

Without a display on Linux (no DISPLAY or WAYLAND_DISPLAY) the app runs
offscreen: it analyzes the project if it has no predictions yet, prints a
per-clip table and saves a screenshot of the main window. Heavy modules
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
SAMPLE_SERVICE = "app.services.sample"
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
    """Return the Project named by the arguments, or None when none was requested."""
    from app.project import Project

    if args.sample:
        import importlib
        import importlib.util

        if importlib.util.find_spec(SAMPLE_SERVICE) is None:
            raise SystemExit("main.py: --sample needs app.services.sample, which this build lacks; "
                             "pass a project folder instead")
        return importlib.import_module(SAMPLE_SERVICE).open_or_create_sample_project()
    if args.project:
        folder = Path(args.project)
        if args.create and not (folder / "project.sqlite").exists():
            return Project.create(folder)
        return Project.open(folder)
    return None


def print_clip_table(project) -> None:
    """Print one line per clip: id, transcript, prediction, 7-class bin, gate balance and human label."""
    from app.ui.clip_table import BIN_LABELS, predicted_bin

    print(f"{'clip':>5}  {'predicted':>9}  {'bin':>3}  {'gate val/cls':>12}  {'label':>6}  transcript")
    for row in project.list_clips():
        predicted = "" if row.predicted_intensity is None else f"{row.predicted_intensity:+.2f}"
        bin_index = predicted_bin(row)
        gates = "" if row.gate_val is None else f"{row.gate_val:.2f}/{row.gate_cls or 0:.2f}"
        label = "" if row.label_intensity is None else f"{row.label_intensity:+.1f}"
        text = row.text if len(row.text) <= 60 else row.text[:57] + "..."
        bin_text = "" if bin_index is None else BIN_LABELS[bin_index]
        print(f"{row.id:>5}  {predicted:>9}  {bin_text:>3}  {gates:>12}  {label:>6}  {text}")


def run_offscreen(app, window, args: argparse.Namespace) -> int:
    """Analyze (when needed), print the clip table and save a screenshot; return the exit code."""
    from PySide6.QtCore import QEventLoop, QTimer

    session = window.session
    if session is None:
        print("main.py: offscreen mode needs a project: pass a folder or --sample", file=sys.stderr)
        return 2
    needs_analysis = any(row.predicted_intensity is None for row in session.rows()) or not session.rows()
    if needs_analysis and not args.no_analysis:
        import importlib.util

        from app.services.jobs import call_by_name

        module_name = ANALYSIS_TARGET.partition(":")[0]
        if importlib.util.find_spec(module_name) is None:
            print(f"main.py: {module_name} is not available, so clips are shown without new predictions")
        else:
            loop = QEventLoop()
            outcome: dict = {}
            window.runner.progress.connect(lambda step, total, message: print(f"  [{step}/{total}] {message}"))
            window.runner.finished.connect(lambda value: (outcome.setdefault("value", value), loop.quit()))
            window.runner.failed.connect(lambda error: (outcome.setdefault("error", error), loop.quit()))
            window.runner.start(call_by_name, ANALYSIS_TARGET, str(session.folder), name="analysis")
            loop.exec()
            if "error" in outcome:
                print(f"main.py: analysis failed: {outcome['error'].summary()}", file=sys.stderr)
                return 1
            session.reload()
    print_clip_table(session.project)

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

    try:
        project = open_project(args)
    except Exception as exc:  # noqa: BLE001 - a failed open is reported and the app starts empty
        if offscreen:
            print(f"main.py: opening the project failed: {exc}", file=sys.stderr)
            return 1
        from app.ui.errors import show_error

        show_error(window, "Opening the project", exc)
        project = None
    if project is not None:
        window.set_project(project)

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
