"""Transcript panel: words of the current clip and its neighbours, the spoken word highlighted.

Each word is a link (``w:<index>``); clicking it emits ``seekRequested`` with the
word's start time. Machine-draft transcripts (ASR output) are marked and can be
edited through ``editRequested``.
"""

from __future__ import annotations

import bisect
import html
import logging
from dataclasses import dataclass

from PySide6.QtCore import QUrl, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QTextBrowser, QVBoxLayout, QWidget

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Word:
    """One transcript word with its start and end in seconds of media time (None when not aligned)."""

    text: str
    start_s: float | None
    end_s: float | None


@dataclass(frozen=True)
class TranscriptSegment:
    """The words of one clip, in order, as shown in the panel."""

    clip_id: int
    start_s: float | None
    end_s: float | None
    text: str
    words: tuple[Word, ...]
    is_machine_draft: bool
    is_current: bool


def words_from_store(words: list[dict], text: str) -> tuple[Word, ...]:
    """Convert the store's word dictionaries to Words.

    When the clip has no words, or its text was edited so the timed words no
    longer spell it, the text is split into untimed words instead.
    """
    result = []
    for item in words or []:
        word = item.get("word", item.get("text", ""))
        start = item.get("start_s", item.get("start"))
        end = item.get("end_s", item.get("end"))
        result.append(Word(str(word), None if start is None else float(start), None if end is None else float(end)))
    tokens = text.split() if text else []
    if tokens and [w.text.lower() for w in result] != [t.lower() for t in tokens]:
        result = [Word(token, None, None) for token in tokens]
    return tuple(result)


class TranscriptPanel(QWidget):
    """Shows transcript segments and follows the playback position word by word."""

    seekRequested = Signal(float)
    editRequested = Signal(int, str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.browser = QTextBrowser(self)
        self.browser.setOpenLinks(False)
        self.browser.setOpenExternalLinks(False)
        self.browser.anchorClicked.connect(self._on_anchor)
        self.draft_label = QLabel("", self)
        self.edit_button = QPushButton("Edit transcript...", self)
        self.edit_button.setToolTip("Correct the text of the current clip (Ctrl+E)")
        self.edit_button.clicked.connect(self._request_edit)
        header = QHBoxLayout()
        header.addWidget(self.draft_label, 1)
        header.addWidget(self.edit_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.browser, 1)

        self.segments: tuple[TranscriptSegment, ...] = ()
        # Flat list of (segment index, word) over all segments, in display order.
        self._words: list[tuple[int, Word]] = []
        self._starts: list[float] = []
        self._timed_indices: list[int] = []
        self.current_word: int | None = None

    def set_segments(self, segments: list[TranscriptSegment]) -> None:
        """Show ``segments`` (the current clip marked ``is_current``) and clear the highlight."""
        self.segments = tuple(segments)
        self._words = [(i, word) for i, segment in enumerate(self.segments) for word in segment.words]
        timed = [(word.start_s, index) for index, (_, word) in enumerate(self._words) if word.start_s is not None]
        timed.sort()
        self._starts = [start for start, _ in timed]
        self._timed_indices = [index for _, index in timed]
        self.current_word = None
        current = self.current_segment()
        if current is not None and current.is_machine_draft:
            self.draft_label.setText("Machine draft (speech recognition): check and correct the text")
        else:
            self.draft_label.setText("")
        self.edit_button.setEnabled(current is not None)
        self._render()

    def current_segment(self) -> TranscriptSegment | None:
        return next((segment for segment in self.segments if segment.is_current), None)

    def word(self, index: int) -> Word:
        return self._words[index][1]

    def word_count(self) -> int:
        return len(self._words)

    def word_index_at(self, seconds: float) -> int | None:
        """Return the index of the word spoken at ``seconds``, or None between words."""
        position = bisect.bisect_right(self._starts, seconds) - 1
        if position < 0:
            return None
        index = self._timed_indices[position]
        word = self._words[index][1]
        if word.end_s is not None and seconds > word.end_s:
            return None
        return index

    def set_position(self, seconds: float) -> None:
        """Highlight the word at ``seconds``, redrawing only when the word changes."""
        index = self.word_index_at(seconds)
        if index != self.current_word:
            self.current_word = index
            self._render()

    def _render(self) -> None:
        parts = []
        for segment_index, segment in enumerate(self.segments):
            style = "color:#000;" if segment.is_current else "color:#777;"
            marker = " <i>[draft]</i>" if segment.is_machine_draft else ""
            parts.append(f'<p style="{style}">')
            for index, (owner, word) in enumerate(self._words):
                if owner != segment_index:
                    continue
                text = html.escape(word.text)
                if index == self.current_word:
                    text = f'<span style="background-color:#ffd54f;">{text}</span>'
                if word.start_s is not None:
                    text = f'<a href="w:{index}" style="color:inherit;text-decoration:none;">{text}</a>'
                parts.append(text + " ")
            parts.append(f"{marker}</p>")
        scroll = self.browser.verticalScrollBar().value()
        self.browser.setHtml("".join(parts))
        self.browser.verticalScrollBar().setValue(scroll)

    def _on_anchor(self, url: QUrl) -> None:
        target = url.toString()
        if not target.startswith("w:"):
            return
        index = int(target[2:])
        word = self._words[index][1]
        if word.start_s is not None:
            logger.debug("seek to word %r at %.3f s", word.text, word.start_s)
            self.seekRequested.emit(word.start_s)

    def _request_edit(self) -> None:
        segment = self.current_segment()
        if segment is not None:
            self.editRequested.emit(segment.clip_id, segment.text)
