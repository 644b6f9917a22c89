"""The main window: player and timeline in the centre, transcript, clips, attention and model in docks.

The window owns one ProjectSession (the open project) and one JobRunner (the
worker process). Widgets talk to each other only through the session's signals
and the slots below; nothing here computes features or runs the model.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget, QFileDialog, QInputDialog, QLabel, QMainWindow, QMenu, QMessageBox, QSplitter, QVBoxLayout, QWidget,
)

from app.ui.clip_table import ClipTable
from app.ui.dialogs import AppSettings, BulkAcceptDialog, SettingsDialog, ShortcutsDialog
from app.ui.errors import show_error
from app.ui.job_runner import JobProgressDialog, JobRunner
from app.ui.model_panel import ModelPanel
from app.ui.player import VideoPlayer
from app.ui.session import ProjectSession
from app.ui.shortcuts import EDIT_SHORTCUTS, PLAYER_SHORTCUTS, REVIEW_SHORTCUTS, Shortcut, all_shortcuts
from app.ui.transcript import TranscriptPanel

logger = logging.getLogger(__name__)

# Menu text and file-dialog filter of each import and export format.
IMPORT_FORMATS = {
    "label_csv": ("Labels: label.csv (MMSA / M-SENA)", "label.csv (*.csv)"),
    "eaf": ("Transcript of current video: ELAN .eaf", "ELAN (*.eaf)"),
    "subtitles": ("Transcript of current video: SRT / VTT", "Subtitles (*.srt *.vtt)"),
}
EXPORT_FORMATS = {
    "label_csv": ("Labels: label.csv (MMSA / M-SENA)", "label.csv (*.csv)"),
    "eaf": ("Current video: ELAN .eaf", "ELAN (*.eaf)"),
    "srt": ("Current video: SRT subtitles", "SubRip (*.srt)"),
    "vtt": ("Current video: WebVTT subtitles", "WebVTT (*.vtt)"),
    "csv": ("All clips: CSV", "CSV (*.csv)"),
    "json": ("All clips: JSON", "JSON (*.json)"),
}
# Seconds between two playhead moves on the timeline during playback.
PLAYHEAD_INTERVAL_S = 0.1
# Intensity step of the fine label keys.
SMALL_STEP = 0.1
LARGE_STEP = 0.5


class MainWindow(QMainWindow):
    """Semi-IIN Studio's main window. ``projectOpened(folder)`` after a project loads."""

    projectOpened = Signal(str)

    def __init__(self, settings: AppSettings | None = None, parent: QWidget | None = None,
                 defer_plots: bool = False):
        """Build the window; with ``defer_plots`` the pyqtgraph panels are built after it shows.

        pyqtgraph takes most of the import time, so ``main.py`` defers the
        timeline and attention plots to get the window on screen first.
        """
        super().__init__(parent)
        self.setWindowTitle("Semi-IIN Studio")
        self.resize(1400, 900)
        self.settings = settings or AppSettings()
        self.session: ProjectSession | None = None
        self.runner = JobRunner(self)
        self.actions: dict[str, QAction] = {}
        self.last_error = None
        self._timeline_video: int | None = None
        self._failed_paths: set[str] = set()
        self._timeline = None
        self._attention = None

        self.player = VideoPlayer(self)
        self.timeline_host = self._placeholder("Loading the timeline...")
        self.attention_host = self._placeholder("Loading the attention view...")
        self.transcript = TranscriptPanel(self)
        self.model_panel = ModelPanel(self)
        self.clip_table: ClipTable | None = None

        centre = QSplitter(Qt.Orientation.Vertical, self)
        centre.addWidget(self.player)
        centre.addWidget(self.timeline_host)
        centre.setStretchFactor(0, 3)
        centre.setStretchFactor(1, 2)
        centre.setSizes([480, 320])
        self.setCentralWidget(centre)
        self.transcript_dock = self._dock("Transcript", self.transcript, Qt.DockWidgetArea.RightDockWidgetArea)
        self.attention_dock = self._dock("Attention", self.attention_host, Qt.DockWidgetArea.RightDockWidgetArea)
        self.model_dock = self._dock("Model", self.model_panel, Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.attention_dock, self.model_dock)
        self.clips_dock = self._dock("Clips", QLabel("Open a project (File > Open project...)"),
                                     Qt.DockWidgetArea.BottomDockWidgetArea)
        self.resizeDocks([self.clips_dock], [190], Qt.Orientation.Vertical)
        self.resizeDocks([self.transcript_dock], [380], Qt.Orientation.Horizontal)
        self.status_label = QLabel("", self)
        self.statusBar().addPermanentWidget(self.status_label)

        self._build_menus()
        self.player.positionChanged.connect(self._on_position)
        self.player.mediaFailed.connect(self._on_media_failed)
        self.transcript.seekRequested.connect(self.player.seek)
        self.transcript.editRequested.connect(self.edit_transcript)
        self.model_panel.activateRequested.connect(self.activate_model)
        self.runner.failed.connect(self._on_job_failed)
        if not defer_plots:
            self.build_deferred_widgets()

    def _placeholder(self, text: str) -> QWidget:
        host = QWidget(self)
        layout = QVBoxLayout(host)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel(text, host))
        return host

    @staticmethod
    def _fill_host(host: QWidget, widget: QWidget) -> None:
        layout = host.layout()
        while layout.count():
            layout.takeAt(0).widget().deleteLater()
        layout.addWidget(widget)

    def build_deferred_widgets(self) -> None:
        """Build the timeline and attention plots now (they import pyqtgraph)."""
        _ = self.timeline, self.attention

    @property
    def timeline(self):
        """The Timeline widget, built on first use."""
        if self._timeline is None:
            from app.ui.timeline import Timeline

            self._timeline = Timeline(self.timeline_host)
            self._fill_host(self.timeline_host, self._timeline)
            self._timeline.seekRequested.connect(self.player.seek)
            self._timeline.clipClicked.connect(lambda clip_id: self.select_clip(clip_id, seek=False))
            if self.session is not None and self._timeline_video is not None:
                self._timeline.set_data(self.session.timeline_data(self._timeline_video))
        return self._timeline

    @property
    def attention(self):
        """The AttentionView widget, built on first use."""
        if self._attention is None:
            from app.ui.attention import AttentionView

            self._attention = AttentionView(self.attention_host)
            self._fill_host(self.attention_host, self._attention)
        return self._attention

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"{title.lower()}Dock")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    # Menus -------------------------------------------------------------------

    def _action(self, menu: QMenu, name: str, text: str, slot, keys: tuple[str, ...] = ()) -> QAction:
        action = QAction(text, self)
        if keys:
            action.setShortcuts([QKeySequence(k) for k in keys])
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(lambda _checked=False: self._guard(text, slot))
        menu.addAction(action)
        self.actions[name] = action
        return action

    def _shortcut_action(self, menu: QMenu, shortcut: Shortcut, slot) -> QAction:
        return self._action(menu, shortcut.name, shortcut.text, slot, shortcut.keys)

    def _guard(self, command: str, slot) -> None:
        """Run a user command. An error from the layers below becomes a dialog naming the command."""
        try:
            slot()
        except Exception as exc:  # noqa: BLE001 - every failed command is shown, the app stays usable
            self.last_error = show_error(self, command.rstrip("."), exc)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self._action(file_menu, "new_project", "New project...", self.new_project_dialog, ("Ctrl+N",))
        self._action(file_menu, "open_project", "Open project...", self.open_project_dialog, ("Ctrl+O",))
        self.recent_menu = file_menu.addMenu("Open recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addSeparator()
        self._action(file_menu, "add_videos", "Add videos...", self.add_videos_dialog, ("Ctrl+I",))
        self._action(file_menu, "add_folder", "Add folder of videos...", self.add_folder_dialog)
        file_menu.addSeparator()
        import_menu = file_menu.addMenu("Import")
        for kind, (label, pattern) in IMPORT_FORMATS.items():
            self._action(import_menu, f"import_{kind}", f"{label}...",
                         lambda k=kind, p=pattern: self.import_dialog(k, p))
        export_menu = file_menu.addMenu("Export")
        for kind, (label, pattern) in EXPORT_FORMATS.items():
            self._action(export_menu, f"export_{kind}", f"{label}...",
                         lambda k=kind, p=pattern: self.export_dialog(k, p))
        file_menu.addSeparator()
        self._action(file_menu, "settings", "Settings...", self.settings_dialog, ("Ctrl+,",))
        self._action(file_menu, "quit", "Quit", self.close, ("Ctrl+Q",))

        edit_menu = bar.addMenu("&Edit")
        edit_slots = {"undo": self.undo, "redo": self.redo, "edit_text": self.edit_current_transcript,
                      "bulk_accept": self.bulk_accept_dialog}
        for shortcut in EDIT_SHORTCUTS:
            self._shortcut_action(edit_menu, shortcut, edit_slots[shortcut.name])
        edit_menu.aboutToShow.connect(self._update_undo_texts)

        review_menu = bar.addMenu("&Review")
        for shortcut in REVIEW_SHORTCUTS:
            self._shortcut_action(review_menu, shortcut, self._review_slot(shortcut.name))
            if shortcut.name in ("label_+3", "nudge_down_large", "flag", "next_least_confident"):
                review_menu.addSeparator()

        player_menu = bar.addMenu("&Player")
        player_slots = {"play_pause": self.player.toggle_play, "frame_forward": lambda: self.player.step_frame(1),
                        "frame_back": lambda: self.player.step_frame(-1),
                        "second_forward": lambda: self.player.step_seconds(1.0),
                        "second_back": lambda: self.player.step_seconds(-1.0)}
        for shortcut in PLAYER_SHORTCUTS:
            self._shortcut_action(player_menu, shortcut, player_slots[shortcut.name])
        loop = QAction("Loop current clip", self, checkable=True)
        loop.toggled.connect(self.player.loop_box.setChecked)
        self.player.loop_box.toggled.connect(loop.setChecked)
        player_menu.addAction(loop)

        view_menu = bar.addMenu("&View")
        for dock in (self.transcript_dock, self.clips_dock, self.attention_dock, self.model_dock):
            view_menu.addAction(dock.toggleViewAction())
        view_menu.addSeparator()
        self._action(view_menu, "least_confident_first", "Sort clips least confident first",
                     lambda: self.clip_table and self.clip_table.sort_least_confident_first())
        self._action(view_menu, "fit_timeline", "Show whole video in timeline", self._fit_timeline)

        self.model_menu = bar.addMenu("&Model")
        self._action(self.model_menu, "analyze", "Analyze videos (clips, words, features, predictions)",
                     lambda: self.analyze(), ("Ctrl+R",))
        self._action(self.model_menu, "retrain", "Retrain...", self.retrain_dialog)
        self._action(self.model_menu, "evaluate", "Evaluate on annotated clips", self.evaluate)
        self._action(self.model_menu, "attention", "Show attention of current clip", self.show_attention,
                     ("Ctrl+T",))
        self._action(self.model_menu, "refresh_models", "Refresh model versions", self.refresh_model_panel)
        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "shortcuts", "Keyboard shortcuts", self.show_shortcuts, ("F1",))
        self._action(help_menu, "log_file", "Where is the log file?", self._show_log_path)
        self._action(help_menu, "about", "About Semi-IIN Studio", self._about)

    def _review_slot(self, name: str):
        if name.startswith("label_"):
            value = int(name[len("label_"):])
            return lambda: self._session().set_label(value)
        slots = {
            "nudge_up_small": lambda: self._session().nudge_label(SMALL_STEP),
            "nudge_down_small": lambda: self._session().nudge_label(-SMALL_STEP),
            "nudge_up_large": lambda: self._session().nudge_label(LARGE_STEP),
            "nudge_down_large": lambda: self._session().nudge_label(-LARGE_STEP),
            "accept": lambda: self._session().accept(),
            "reject": lambda: self._session().reject(),
            "flag": lambda: self._session().flag(),
            "next_clip": lambda: self._go(self._session().neighbour_clip(1), "This is the last clip."),
            "previous_clip": lambda: self._go(self._session().neighbour_clip(-1), "This is the first clip."),
            "next_unreviewed": lambda: self._go(self._session().next_unreviewed(), "Every clip is reviewed."),
            "next_least_confident": lambda: self._go(self._session().least_confident_unreviewed(),
                                                     "No unreviewed clip has a prediction."),
            "play_clip": self.player.play_clip,
        }
        return slots[name]

    # Project -----------------------------------------------------------------

    def _session(self) -> ProjectSession:
        if self.session is None:
            raise LookupError("no project is open; open or create one from the File menu")
        return self.session

    def open_project(self, folder: str | Path, create: bool = False) -> ProjectSession:
        """Open (or create) the project in ``folder`` and show its clips."""
        from app.project import Project

        project = Project.create(folder) if create else Project.open(folder)
        return self.set_project(project)

    def set_project(self, project) -> ProjectSession:
        """Show an already open Project. The window closes it when another one is opened."""
        if self.session is not None:
            self.session.project.close()
            self.session.deleteLater()
        session = ProjectSession(project, self)
        self.session = session
        self._timeline_video = None
        self._failed_paths.clear()
        previous_table = self.clips_dock.widget()
        self.clip_table = ClipTable(session.model, self)
        self.clips_dock.setWidget(self.clip_table)
        if previous_table is not None:
            previous_table.deleteLater()
        self.clip_table.clipActivated.connect(lambda clip_id: self.select_clip(clip_id, seek=True))
        self.clip_table.clipSelected.connect(lambda clip_id: self.select_clip(clip_id, seek=True))
        session.currentClipChanged.connect(self._on_current_clip)
        session.clipChanged.connect(self._on_clip_changed)
        session.clipsReset.connect(self._on_clips_reset)
        session.reload()
        self.refresh_model_panel()
        self.settings.add_recent_project(str(Path(project.folder).resolve()))
        self.setWindowTitle(f"Semi-IIN Studio - {Path(project.folder).name}")
        self.projectOpened.emit(str(project.folder))
        return session

    def refresh_model_panel(self) -> None:
        project = self._session().project
        self.model_panel.set_versions(project.model_versions(), project.active_model_version())

    def select_clip(self, clip_id: int, seek: bool = True) -> None:
        """Make ``clip_id`` current. With ``seek`` the player moves to its start."""
        session = self._session()
        self._seek_on_select = seek
        try:
            if clip_id == session.current_clip_id:
                if seek:
                    self._show_clip(session.clip(clip_id), seek=True)
                return
            session.set_current(clip_id)
        finally:
            self._seek_on_select = True

    def _go(self, clip_id: int | None, none_message: str) -> None:
        if clip_id is None:
            self.statusBar().showMessage(none_message, 4000)
            return
        self.select_clip(clip_id, seek=True)

    # Reactions to the session --------------------------------------------------

    _seek_on_select = True
    _following_playback = False
    _playhead_updated_at = 0.0

    def _on_current_clip(self, clip_id: int) -> None:
        session = self._session()
        row = session.clip(clip_id)
        self._show_clip(row, seek=self._seek_on_select and not self._following_playback)
        if self.clip_table is not None:
            self.clip_table.select_clip(clip_id)
        self.attention.clear(f"Clip {clip_id}: choose Model > Show attention to compute its attention maps.")

    def _show_clip(self, row, seek: bool) -> None:
        session = self._session()
        video = session.video(row.video_id)
        if video is not None and video.path is not None and str(video.path) not in self._failed_paths:
            self.player.load(video.path)
        if row.start_s is not None and row.end_s is not None:
            self.player.set_clip_range(row.start_s, row.end_s)
            if seek:
                self.player.seek(row.start_s)
        if self._timeline_video != row.video_id:
            self._timeline_video = row.video_id
            self.timeline.set_data(session.timeline_data(row.video_id))
        self.transcript.set_segments(session.transcript_segments(row.id))
        self.transcript.set_position(self.player.position_s)
        self._update_status(row)

    def _update_status(self, row) -> None:
        prediction = "no prediction" if row.predicted_intensity is None else (
            f"predicted {row.predicted_intensity:+.2f} (confidence {row.confidence or 0:.2f})")
        label = "" if row.label_intensity is None else f", label {row.label_intensity:+.1f}"
        missing = f", missing: {', '.join(row.missing)}" if row.missing else ""
        self.status_label.setText(f"clip {row.id}: {row.status}, {prediction}{label}{missing}")

    def _on_clip_changed(self, clip_id: int) -> None:
        session = self._session()
        row = session.clip(clip_id)
        if row.video_id == self._timeline_video:
            self.timeline.set_data_keep_view(session.timeline_data(row.video_id))
        if clip_id == session.current_clip_id:
            self._update_status(row)
            if row.text != (self.transcript.current_segment().text if self.transcript.current_segment() else ""):
                self.transcript.set_segments(session.transcript_segments(clip_id))

    def _on_clips_reset(self) -> None:
        session = self._session()
        self._timeline_video = None
        current = session.current_clip()
        if current is not None:
            self._show_clip(current, seek=False)
        elif not session.rows():
            from app.ui.timeline_data import TimelineData

            self.timeline.set_data(TimelineData.empty())
            self.transcript.set_segments([])
            self.status_label.setText("The project has no clips yet: add videos from the File menu.")

    def _on_position(self, seconds: float) -> None:
        # A timeline repaint costs about 10-15 ms, so during playback the playhead moves at
        # most every PLAYHEAD_INTERVAL_S; seeks while paused always move it.
        now = time.monotonic()
        if not self.player.is_playing() or now - self._playhead_updated_at >= PLAYHEAD_INTERVAL_S:
            self._playhead_updated_at = now
            self.timeline.set_position(seconds)
        self.transcript.set_position(seconds)
        if self.session is None or not self.player.is_playing() or self.player.loop_box.isChecked():
            return
        # While playing past the current clip, the clip under the playhead becomes current.
        current = self.session.current_clip()
        if current is not None and current.start_s is not None and current.start_s <= seconds <= (current.end_s or 0):
            return
        clip_id = self.timeline.clip_at(seconds)
        if clip_id is not None and clip_id != self.session.current_clip_id:
            self._following_playback = True
            try:
                self.session.set_current(clip_id)
            finally:
                self._following_playback = False

    def _on_media_failed(self, path: str, message: str) -> None:
        self._failed_paths.add(path)
        self.statusBar().showMessage(f"Cannot play {Path(path).name}; the rest of the project stays usable.", 8000)
        self.last_error = show_error(self, f"Playing {Path(path).name}", OSError(message))

    def _on_job_failed(self, error) -> None:
        if error.cancelled:
            self.statusBar().showMessage(f"{self.runner.job_name or 'Job'} cancelled.", 5000)
            return
        self.last_error = show_error(self, "The background job", RuntimeError(error.summary()))

    # Commands ------------------------------------------------------------------

    def _update_undo_texts(self) -> None:
        """Name the action that Undo and Redo would change, as the store describes it."""
        project = self.session.project if self.session is not None else None
        undo_text = project.undo_description() if project is not None else None
        redo_text = project.redo_description() if project is not None else None
        self.actions["undo"].setText(f"Undo {undo_text}" if undo_text else "Undo")
        self.actions["redo"].setText(f"Redo {redo_text}" if redo_text else "Redo")

    def undo(self) -> None:
        description = self._session().undo()
        self.statusBar().showMessage(f"Undid: {description}" if description else "Nothing to undo.", 4000)

    def redo(self) -> None:
        description = self._session().redo()
        self.statusBar().showMessage(f"Redid: {description}" if description else "Nothing to redo.", 4000)

    def edit_current_transcript(self) -> None:
        row = self._session().current_clip()
        if row is None:
            raise LookupError("no clip is selected; select a clip first")
        self.edit_transcript(row.id, row.text)

    def edit_transcript(self, clip_id: int, text: str) -> None:
        new_text, ok = QInputDialog.getMultiLineText(self, "Edit transcript", f"Text of clip {clip_id}:", text)
        if ok and new_text.strip() != text.strip():
            self._guard("Saving the transcript", lambda: self._session().edit_text(clip_id, new_text.strip()))

    def bulk_accept_dialog(self) -> BulkAcceptDialog:
        session = self._session()
        dialog = BulkAcceptDialog(session.count_bulk_accept, self)
        dialog.accepted.connect(lambda: self._guard("Bulk accept", lambda: self._bulk_accept(dialog)))
        dialog.open()
        return dialog

    def _bulk_accept(self, dialog: BulkAcceptDialog) -> None:
        count = self._session().bulk_accept(dialog.threshold.value())
        self.statusBar().showMessage(f"Accepted {count} predictions (one undo step).", 5000)

    def show_shortcuts(self) -> ShortcutsDialog:
        dialog = ShortcutsDialog(all_shortcuts(), self)
        dialog.open()
        return dialog

    def settings_dialog(self) -> SettingsDialog:
        dialog = SettingsDialog(self.settings, self)
        dialog.open()
        return dialog

    def new_project_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder for the new project")
        if folder:
            self.open_project(folder, create=True)

    def open_project_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open project folder")
        if folder:
            self.open_project(folder)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for folder in self.settings.recent_projects():
            action = self.recent_menu.addAction(folder)
            action.triggered.connect(lambda _checked=False, f=folder: self._guard(
                f"Opening {f}", lambda: self.open_project(f)))
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("(none)").setEnabled(False)

    def add_videos_dialog(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add videos", "", "Media (*.mp4 *.mkv *.mov *.avi *.webm "
                                                "*.m4v *.mp3 *.wav *.flac *.m4a);;All files (*)")
        if files:
            self.add_videos(files)

    def add_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add every video under a folder")
        if folder:
            self.add_videos(folder)

    def add_videos(self, paths, analyze: bool = True) -> list:
        """Add media files (or every media file under a folder) and analyze them in the worker."""
        session = self._session()
        videos = session.project.add_videos(paths)
        session.reload()
        self.statusBar().showMessage(f"Added {len(videos)} video(s).", 6000)
        if analyze and videos:
            self.analyze([video.id for video in videos])
        return videos

    def import_dialog(self, kind: str, pattern: str) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import", "", pattern)
        if path:
            self.import_file(kind, path)

    def export_dialog(self, kind: str, pattern: str) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export", str(self._session().folder / "exports"), pattern)
        if path:
            self.export_file(kind, path)

    def _current_video_id(self) -> int:
        row = self._session().current_clip()
        if row is None:
            raise LookupError("no clip is selected; select a clip of the video the file belongs to")
        return row.video_id

    def import_file(self, kind: str, path: str) -> str:
        """Import ``path`` as ``kind`` (a key of IMPORT_FORMATS) and return a summary for the status bar."""
        session = self._session()
        project = session.project
        if kind == "label_csv":
            from app.project.io_mmsa import import_label_csv

            report = import_label_csv(project, path, annotator=session.annotator)
            summary = (f"{report.labels} labels from {report.rows} rows of {path} ({report.matched_clips} clips "
                       f"matched, {report.created_clips} created)")
        elif kind == "eaf":
            from app.project.io_eaf import import_eaf_transcript

            summary = f"{len(import_eaf_transcript(project, self._current_video_id(), path))} clips from {path}"
        elif kind == "subtitles":
            from app.project.io_subtitles import import_subtitles

            summary = f"{len(import_subtitles(project, self._current_video_id(), path))} clips from {path}"
        else:
            raise ValueError(f"import format {kind!r} is unknown; use one of {sorted(IMPORT_FORMATS)}")
        session.reload()
        self.statusBar().showMessage(f"Imported {summary}", 6000)
        return summary

    def export_file(self, kind: str, path: str) -> None:
        """Write the project (or the current video, for EAF and subtitles) to ``path`` as ``kind``."""
        project = self._session().project
        if kind == "label_csv":
            from app.project.io_mmsa import export_label_csv

            export_label_csv(project, path)
        elif kind == "eaf":
            from app.project.io_eaf import export_eaf

            export_eaf(project, self._current_video_id(), path)
        elif kind in ("srt", "vtt"):
            from app.project import io_subtitles

            getattr(io_subtitles, f"export_{kind}")(project, self._current_video_id(), path)
        elif kind in ("csv", "json"):
            from app.project import io_tables

            getattr(io_tables, f"export_{kind}")(project, path)
        else:
            raise ValueError(f"export format {kind!r} is unknown; use one of {sorted(EXPORT_FORMATS)}")
        self.statusBar().showMessage(f"Exported {kind} to {path}", 6000)

    def activate_model(self, version: str) -> None:
        """Make ``version`` active and re-predict every clip in the worker."""
        self.run_service(f"Activating model {version}", "app.services.retrain:activate_version",
                         str(self._session().folder), version, on_done=lambda _summary: self._after_activation(version))

    def _after_activation(self, version: str) -> None:
        self._session().reload()
        self.refresh_model_panel()
        self.statusBar().showMessage(f"Model {version} is active; predictions are updated.", 6000)

    def run_service(self, title: str, target: str, *args, on_done=None, **kwargs) -> JobProgressDialog:
        """Run the service function ``target`` ("module:function") in the worker with a progress dialog.

        ``on_done(result)`` runs on the GUI thread when the job finishes; a
        failure becomes an error dialog through the runner's ``failed`` signal.
        """
        from app.services.jobs import call_by_name

        def finished(result) -> None:
            if on_done is not None:
                self._guard(title, lambda: on_done(result))

        def disconnect() -> None:
            self.runner.finished.disconnect(finished)
            self.runner.ended.disconnect(disconnect)

        dialog = self.start_job(title, call_by_name, target, *args, **kwargs)
        self.runner.finished.connect(finished)
        self.runner.ended.connect(disconnect)
        return dialog

    def analyze(self, video_ids: list[int] | None = None) -> None:
        """Analyze ``video_ids`` (default: every video) with the preset, models folder and downloads of Settings."""
        self.run_service("Analyzing videos", "app.services.analysis:analyze_project", str(self._session().folder),
                         video_ids, preset_name=self.settings.feature_preset,
                         models_folder=self.settings.models_folder or None,
                         allow_download=self.settings.allow_downloads, on_done=self._after_analysis)

    def _after_analysis(self, summary: dict) -> None:
        self._session().reload()
        self.refresh_model_panel()
        errors = dict(summary.get("errors") or {})
        if errors:
            lines = "\n".join(f"{name}: {message}" for name, message in errors.items())
            self.last_error = show_error(self, f"Analyzing {len(errors)} video(s)", RuntimeError(lines))
        clips = sum(int(count) if isinstance(count, int) else 0 for count in (summary.get("videos") or {}).values())
        self.statusBar().showMessage(f"Analysis finished: {clips} clips.", 6000)

    def retrain_dialog(self):
        from app.ui.retrain_dialog import RetrainDialog

        dialog = RetrainDialog(str(self._session().folder), self.runner, self, device=self.settings.device)
        dialog.activated.connect(self._after_activation)
        dialog.open()
        return dialog

    def evaluate(self) -> None:
        self.run_service("Evaluating the active model", "app.services.evaluation:evaluate_project",
                         str(self._session().folder), on_done=self._show_evaluation)

    def _show_evaluation(self, result: dict):
        from app.ui.evaluate_dialog import EvaluateDialog

        dialog = EvaluateDialog(result, self)
        dialog.open()
        self.last_dialog = dialog
        return dialog

    def show_attention(self) -> None:
        row = self._session().current_clip()
        if row is None:
            raise LookupError("no clip is selected; select a clip first")
        self.run_service(f"Computing attention of clip {row.id}", "app.services.attention:clip_attention",
                         str(self._session().folder), row.id, on_done=self._show_attention_result)

    def _show_attention_result(self, result: dict) -> None:
        from app.ui.attention import ClipAttention

        self.attention.set_attention(ClipAttention(
            clip_id=result["clip_id"], weights=result["weights"], token_spans=result["token_spans"],
            token_lengths=result["token_lengths"], words=tuple(result["words"])))
        self.attention_dock.raise_()

    def start_job(self, title: str, fn, *args, **kwargs) -> JobProgressDialog:
        """Run ``fn`` in the worker process with a delayed progress dialog; return the dialog."""
        self.runner.start(fn, *args, name=title, **kwargs)
        return JobProgressDialog(self.runner, title, self)

    def _fit_timeline(self) -> None:
        data = self.timeline.data
        if len(data.start):
            self.timeline.show_range(float(data.start.min()), float(data.end.max()))

    def _show_log_path(self) -> None:
        from app.ui.errors import log_file_path

        QMessageBox.information(self, "Log file", f"Semi-IIN Studio writes its log to\n{log_file_path()}")

    def _about(self) -> None:
        QMessageBox.about(self, "About Semi-IIN Studio",
                          "Semi-IIN Studio: multimodal sentiment analysis with a video player, an aligned "
                          "transcript and a pseudo-label review loop.")

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        if self.runner.busy:
            self.runner.cancel()
        self.player.pause()
        if self.session is not None:
            self.session.project.close()
        super().closeEvent(event)
