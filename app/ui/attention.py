"""Attention view: where the cls token of one clip looked, per head, in the intra and inter branches."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

logger = logging.getLogger(__name__)

MODALITY_ORDER = ("audio", "text", "visual")
MODALITY_NAMES = {"audio": "audio frames", "text": "words", "visual": "face frames"}


@dataclass(frozen=True)
class ClipAttention:
    """The cls token's attention weights of one clip.

    ``weights`` maps a branch name ("intra", "inter", or "global") to an array of
    shape (H, T): row h is head h's attention from the cls token over the T
    tokens. ``token_spans`` maps each modality to its [start, stop) token range,
    ``token_lengths`` to its real (unpadded) token count, and ``words`` contains the
    clip's words in text-token order.
    """

    clip_id: int
    weights: dict[str, np.ndarray]
    token_spans: dict[str, tuple[int, int]]
    token_lengths: dict[str, int]
    words: tuple[str, ...] = ()


def real_token_columns(attention: ClipAttention) -> tuple[np.ndarray, list[tuple[str, int, int]]]:
    """Return the token indices that are real (not padding) and the column range of each modality.

    The ranges are in the compacted column space, as (modality, first column, stop column).
    """
    columns: list[int] = []
    ranges = []
    for modality in MODALITY_ORDER:
        if modality not in attention.token_spans:
            continue
        start, stop = attention.token_spans[modality]
        length = min(int(attention.token_lengths.get(modality, stop - start)), stop - start)
        first = len(columns)
        columns.extend(range(start, start + length))
        ranges.append((modality, first, len(columns)))
    return np.asarray(columns, dtype=np.int64), ranges


class AttentionView(QWidget):
    """One heatmap per branch: rows are heads (plus their mean), columns the clip's real tokens."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.caption = QLabel("Select a clip and choose Model > Show attention to see what the model looked at.",
                              self)
        self.caption.setWordWrap(True)
        self.graphics = pg.GraphicsLayoutWidget(self)
        self.graphics.setBackground("w")
        self.attention: ClipAttention | None = None
        self.images: dict[str, pg.ImageItem] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(self.graphics, 1)

    def clear(self, message: str = "") -> None:
        self.attention = None
        self.graphics.clear()
        self.images = {}
        if message:
            self.caption.setText(message)

    def set_attention(self, attention: ClipAttention) -> None:
        """Draw ``attention``; padding tokens are left out and modalities are separated by lines."""
        self.clear()
        self.attention = attention
        columns, ranges = real_token_columns(attention)
        colormap = pg.colormap.get("viridis")
        for row, (branch, weights) in enumerate(sorted(attention.weights.items(), key=lambda kv: kv[0] != "intra")):
            weights = np.asarray(weights, dtype=np.float64)
            if weights.ndim != 2:
                raise ValueError(f"attention of branch {branch!r} has shape {weights.shape}; expected (heads, tokens)")
            shown = weights[:, columns]
            shown = np.vstack([shown, shown.mean(axis=0, keepdims=True)])  # (H + 1, T_real)
            plot = self.graphics.addPlot(row=row, col=0, title=f"{branch} branch: cls token attention")
            plot.setMouseEnabled(x=True, y=False)
            plot.setMenuEnabled(False)
            image = pg.ImageItem(shown.T)  # ImageItem takes (x, y) = (tokens, heads)
            image.setColorMap(colormap)
            plot.addItem(image)
            plot.invertY(True)
            heads = shown.shape[0] - 1
            plot.getAxis("left").setTicks([[(h + 0.5, f"head {h + 1}") for h in range(heads)]
                                           + [(heads + 0.5, "mean")]])
            ticks = []
            for modality, first, stop in ranges:
                if first < stop:
                    plot.addItem(pg.InfiniteLine(pos=first, angle=90, pen=pg.mkPen("w", width=2)))
                    ticks.append((first + (stop - first) / 2, MODALITY_NAMES[modality]))
            plot.getAxis("bottom").setTicks([ticks, self._word_ticks(attention, ranges)])
            self.images[branch] = image
        counts = ", ".join(f"{stop - first} {MODALITY_NAMES[m]}" for m, first, stop in ranges)
        self.caption.setText(f"Clip {attention.clip_id}: {counts}. Brighter = more attention.")
        logger.debug("attention view shows clip %d", attention.clip_id)

    @staticmethod
    def _word_ticks(attention: ClipAttention, ranges) -> list[tuple[float, str]]:
        for modality, first, stop in ranges:
            if modality == "text":
                return [(first + i + 0.5, word) for i, word in enumerate(attention.words[: stop - first])]
        return []
