"""Video player: QMediaPlayer shown through a QGraphicsVideoItem, with frame-accurate stepping.

A QGraphicsVideoItem is used instead of QVideoWidget because it is painted by the
graphics view, so offscreen screenshots (``QWidget.grab``) contain the frame.
"""

from __future__ import annotations

import bisect
import logging
from pathlib import Path

from PySide6.QtCore import QSizeF, Qt, QUrl, Signal
from PySide6.QtGui import QPainter
from PySide6.QtMultimedia import QAudioOutput, QMediaMetaData, QMediaPlayer
from PySide6.QtMultimediaWidgets import QGraphicsVideoItem
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QGraphicsScene, QGraphicsView, QHBoxLayout, QLabel, QSlider, QToolButton,
    QVBoxLayout, QWidget,
)

logger = logging.getLogger(__name__)

PLAYBACK_RATES = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
# Frame step used when a file's frame timestamps cannot be read and Qt reports no frame rate.
FALLBACK_FRAME_S = 1.0 / 25.0


def format_time(seconds: float) -> str:
    """Format seconds as ``m:ss.mmm`` (or ``h:mm:ss.mmm`` past one hour)."""
    seconds = max(0.0, seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{int(hours)}:{int(minutes):02d}:{secs:06.3f}"
    return f"{int(minutes)}:{secs:06.3f}"


class _VideoView(QGraphicsView):
    """A graphics view that keeps the video item fitted to its size."""

    def __init__(self, item: QGraphicsVideoItem):
        super().__init__()
        # The scene is parented to the view: QGraphicsView does not take ownership of its scene.
        scene = QGraphicsScene(self)
        self.setScene(scene)
        self._item = item
        scene.addItem(item)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setBackgroundBrush(Qt.GlobalColor.black)
        self.setMinimumSize(320, 180)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        size = self.viewport().size()
        self._item.setSize(QSizeF(size.width(), size.height()))
        self.scene().setSceneRect(0, 0, size.width(), size.height())


class VideoPlayer(QWidget):
    """Player with play/pause, seek bar, +-1 frame, +-1 s, rate, clip loop, volume and time display.

    Positions in the public API are seconds from the media start. Signals:
    ``positionChanged(seconds)``, ``mediaLoaded(path)`` and ``mediaFailed(path, message)``.
    """

    positionChanged = Signal(float)
    mediaLoaded = Signal(str)
    mediaFailed = Signal(str, str)
    playingChanged = Signal(bool)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.player = QMediaPlayer(self)
        self.audio = QAudioOutput(self)
        self.player.setAudioOutput(self.audio)
        self.video_item = QGraphicsVideoItem()
        self.player.setVideoOutput(self.video_item)
        self.view = _VideoView(self.video_item)

        self.path: Path | None = None
        self._frame_times: list[float] | None = None
        self._clip_range: tuple[float, float] | None = None
        self._stop_at_clip_end = False
        self._slider_dragging = False

        self._build_controls()
        self.player.positionChanged.connect(self._on_position)
        self.player.durationChanged.connect(self._on_duration)
        self.player.mediaStatusChanged.connect(self._on_status)
        self.player.errorOccurred.connect(self._on_error)
        self.player.playbackStateChanged.connect(
            lambda state: self._set_playing(state == QMediaPlayer.PlaybackState.PlayingState))

    def _build_controls(self) -> None:
        def button(text: str, tip: str, slot) -> QToolButton:
            widget = QToolButton(self)
            widget.setText(text)
            widget.setToolTip(tip)
            widget.clicked.connect(slot)
            return widget

        self.play_button = button("Play", "Play or pause (Space)", self.toggle_play)
        self.back_second_button = button("-1 s", "Back one second (Shift+Left)", lambda: self.step_seconds(-1.0))
        self.back_frame_button = button("-1 f", "Back one frame (,)", lambda: self.step_frame(-1))
        self.forward_frame_button = button("+1 f", "Forward one frame (.)", lambda: self.step_frame(1))
        self.forward_second_button = button("+1 s", "Forward one second (Shift+Right)",
                                            lambda: self.step_seconds(1.0))
        self.seek_slider = QSlider(Qt.Orientation.Horizontal, self)
        self.seek_slider.setRange(0, 0)
        self.seek_slider.sliderPressed.connect(lambda: setattr(self, "_slider_dragging", True))
        self.seek_slider.sliderReleased.connect(self._on_slider_released)
        self.seek_slider.sliderMoved.connect(lambda ms: self.time_label.setText(self._time_text(ms / 1000)))
        self.time_label = QLabel(self._time_text(0.0), self)
        self.rate_box = QComboBox(self)
        for rate in PLAYBACK_RATES:
            self.rate_box.addItem(f"{rate:g}x", rate)
        self.rate_box.setCurrentIndex(PLAYBACK_RATES.index(1.0))
        self.rate_box.setToolTip("Playback rate")
        self.rate_box.currentIndexChanged.connect(lambda i: self.set_rate(self.rate_box.itemData(i)))
        self.loop_box = QCheckBox("Loop clip", self)
        self.loop_box.setToolTip("Repeat the current clip")
        self.volume_slider = QSlider(Qt.Orientation.Horizontal, self)
        self.volume_slider.setRange(0, 100)
        self.volume_slider.setValue(80)
        self.volume_slider.setMaximumWidth(90)
        self.volume_slider.setToolTip("Volume")
        self.volume_slider.valueChanged.connect(lambda v: self.audio.setVolume(v / 100))
        self.audio.setVolume(0.8)

        controls = QHBoxLayout()
        for widget in (self.play_button, self.back_second_button, self.back_frame_button,
                       self.forward_frame_button, self.forward_second_button):
            controls.addWidget(widget)
        controls.addWidget(self.seek_slider, 1)
        controls.addWidget(self.time_label)
        controls.addWidget(self.rate_box)
        controls.addWidget(self.loop_box)
        controls.addWidget(QLabel("Vol", self))
        controls.addWidget(self.volume_slider)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view, 1)
        layout.addLayout(controls)

    # Loading -----------------------------------------------------------------

    def load(self, path: str | Path) -> None:
        """Open ``path``. A file Qt cannot open emits ``mediaFailed`` and leaves the player empty."""
        path = Path(path)
        if self.path == path:
            return
        self.path = path
        self._frame_times = None
        self._clip_range = None
        if not path.is_file():
            self.player.setSource(QUrl())
            message = f"{path} was not found: relink the video or remove it from the project"
            logger.warning("cannot load video: %s", message)
            self.mediaFailed.emit(str(path), message)
            return
        self.player.setSource(QUrl.fromLocalFile(str(path)))

    def frame_times(self) -> list[float]:
        """Return the presentation time of every video frame of the loaded file, read once with PyAV."""
        if self._frame_times is None:
            self._frame_times = []
            if self.path is not None:
                try:
                    from core_model.media.decode import frame_timestamps

                    self._frame_times = [float(t) for t in frame_timestamps(self.path)]
                except Exception as exc:  # noqa: BLE001 - stepping falls back to the nominal rate
                    logger.warning("frame timestamps of %s unavailable, stepping by frame rate: %s",
                                   self.path, exc)
        return self._frame_times

    # Transport ---------------------------------------------------------------

    @property
    def position_s(self) -> float:
        return self.player.position() / 1000.0

    @property
    def duration_s(self) -> float:
        return self.player.duration() / 1000.0

    def is_playing(self) -> bool:
        return self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState

    def play(self) -> None:
        self.player.play()

    def pause(self) -> None:
        self.player.pause()

    def toggle_play(self) -> None:
        if self.is_playing():
            self.pause()
        else:
            self.play()

    def seek(self, seconds: float) -> None:
        """Move to ``seconds`` (clamped to the media) and report the new position at once."""
        seconds = max(0.0, seconds)
        if self.player.duration() > 0:
            seconds = min(seconds, self.duration_s)
        self.player.setPosition(round(seconds * 1000))
        self._on_position(self.player.position())

    def step_seconds(self, delta_s: float) -> None:
        self.seek(self.position_s + delta_s)

    def step_frame(self, direction: int) -> None:
        """Move to the next (+1) or previous (-1) frame by the file's real frame timestamps."""
        self.pause()
        times = self.frame_times()
        now = self.position_s
        if not times:
            rate = self.player.metaData().value(QMediaMetaData.Key.VideoFrameRate)
            frame_s = 1.0 / float(rate) if rate else FALLBACK_FRAME_S
            self.seek(now + direction * frame_s)
            return
        # Positions are whole milliseconds, so compare with half a millisecond of tolerance.
        current = bisect.bisect_right(times, now + 0.0005) - 1
        target = min(max(current + direction, 0), len(times) - 1)
        self.seek(times[target])

    def set_rate(self, rate: float) -> None:
        self.player.setPlaybackRate(float(rate))
        index = self.rate_box.findData(float(rate))
        if index >= 0 and index != self.rate_box.currentIndex():
            self.rate_box.setCurrentIndex(index)

    def set_clip_range(self, start_s: float, end_s: float) -> None:
        """Set the clip that ``play_clip`` and the loop option use."""
        self._clip_range = (float(start_s), float(end_s))

    def play_clip(self) -> None:
        """Play the current clip from its start and stop (or loop) at its end."""
        if self._clip_range is None:
            self.play()
            return
        self._stop_at_clip_end = True
        self.seek(self._clip_range[0])
        self.play()

    # Handlers ----------------------------------------------------------------

    def _time_text(self, seconds: float) -> str:
        return f"{format_time(seconds)} / {format_time(self.duration_s)}"

    def _set_playing(self, playing: bool) -> None:
        self.play_button.setText("Pause" if playing else "Play")
        self.playingChanged.emit(playing)

    def _on_position(self, ms: int) -> None:
        seconds = ms / 1000.0
        if self._clip_range is not None and self.is_playing() and seconds >= self._clip_range[1]:
            if self.loop_box.isChecked():
                self.player.setPosition(round(self._clip_range[0] * 1000))
                return
            if self._stop_at_clip_end:
                self._stop_at_clip_end = False
                self.pause()
        if not self._slider_dragging:
            self.seek_slider.setValue(ms)
        self.time_label.setText(self._time_text(seconds))
        self.positionChanged.emit(seconds)

    def _on_duration(self, ms: int) -> None:
        self.seek_slider.setRange(0, max(ms, 0))
        self.time_label.setText(self._time_text(self.position_s))

    def _on_slider_released(self) -> None:
        self._slider_dragging = False
        self.seek(self.seek_slider.value() / 1000.0)

    def _on_status(self, status: QMediaPlayer.MediaStatus) -> None:
        if status == QMediaPlayer.MediaStatus.LoadedMedia and self.path is not None:
            logger.info("loaded video %s (%.2f s)", self.path, self.duration_s)
            self.mediaLoaded.emit(str(self.path))

    def _on_error(self, error: QMediaPlayer.Error, text: str) -> None:
        if error == QMediaPlayer.Error.NoError:
            return
        path = str(self.path) if self.path else "(no file)"
        message = (f"{path} cannot be played: {text or error.name}. The file may be damaged or in an "
                   "unsupported format, so re-encode it (for example to H.264/AAC MP4) and add it again.")
        logger.warning("video playback failed: %s", message)
        self.mediaFailed.emit(path, message)
