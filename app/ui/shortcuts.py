"""The keyboard map of the review workflow, shown in the menus and in Help > Shortcuts."""

from __future__ import annotations

import logging
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Shortcut:
    """One review command: its action name, key sequence(s) and menu text."""

    name: str
    keys: tuple[str, ...]
    text: str


# Keys 1..7 form a 7-point scale: 1 = -3 (strongly negative), 4 = 0, 7 = +3.
LABEL_SHORTCUTS = tuple(
    Shortcut(f"label_{value:+d}", (str(value + 4),), f"Label {value:+d}") for value in range(-3, 4)
)

REVIEW_SHORTCUTS = LABEL_SHORTCUTS + (
    Shortcut("nudge_up_small", ("]",), "Label +0.1"),
    Shortcut("nudge_down_small", ("[",), "Label -0.1"),
    Shortcut("nudge_up_large", ("}",), "Label +0.5"),
    Shortcut("nudge_down_large", ("{",), "Label -0.5"),
    Shortcut("accept", ("A", "Return"), "Accept prediction"),
    Shortcut("reject", ("X",), "Reject clip"),
    Shortcut("flag", ("F",), "Flag for discussion"),
    Shortcut("next_clip", ("J",), "Next clip"),
    Shortcut("previous_clip", ("K",), "Previous clip"),
    Shortcut("next_unreviewed", ("U",), "Next unreviewed clip"),
    Shortcut("next_least_confident", ("L",), "Next least-confident clip"),
    Shortcut("play_clip", ("P",), "Play current clip"),
)

PLAYER_SHORTCUTS = (
    Shortcut("play_pause", ("Space",), "Play / pause"),
    Shortcut("frame_forward", (".",), "Forward one frame"),
    Shortcut("frame_back", (",",), "Back one frame"),
    Shortcut("second_forward", ("Shift+Right",), "Forward one second"),
    Shortcut("second_back", ("Shift+Left",), "Back one second"),
)

EDIT_SHORTCUTS = (
    Shortcut("undo", ("Ctrl+Z",), "Undo"),
    Shortcut("redo", ("Ctrl+Shift+Z", "Ctrl+Y"), "Redo"),
    Shortcut("edit_text", ("Ctrl+E",), "Edit transcript of current clip..."),
    Shortcut("bulk_accept", ("Ctrl+B",), "Bulk accept..."),
)


def all_shortcuts() -> tuple[Shortcut, ...]:
    return REVIEW_SHORTCUTS + PLAYER_SHORTCUTS + EDIT_SHORTCUTS
