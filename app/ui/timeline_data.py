"""Per-clip arrays behind the timeline, kept free of pyqtgraph so the session can build them cheaply."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TimelineData:
    """Per-clip arrays of one video, all of shape (N,) and sorted by ``start``.

    Missing values are NaN: ``intensity``/``band`` without a prediction, ``label``
    without a human label, ``gate_val``/``gate_cls`` without gate values.
    ``band`` is the half-width of the confidence band in intensity units.
    """

    clip_ids: np.ndarray
    start: np.ndarray
    end: np.ndarray
    intensity: np.ndarray
    band: np.ndarray
    label: np.ndarray
    gate_val: np.ndarray
    gate_cls: np.ndarray
    status: np.ndarray  # (N,) object array of status names

    @classmethod
    def empty(cls) -> "TimelineData":
        nothing = np.zeros(0)
        return cls(np.zeros(0, dtype=np.int64), nothing, nothing, nothing, nothing, nothing, nothing, nothing,
                   np.zeros(0, dtype=object))


def step_xy(start: np.ndarray, end: np.ndarray, value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return x, y of a step curve whose value is ``value[i]`` over [start[i], end[i]], NaN between clips.

    Shapes: inputs (N,), outputs (3N,) as (start, end, gap) triples.
    """
    count = len(start)
    x = np.empty(3 * count)
    y = np.empty(3 * count)
    x[0::3] = start
    x[1::3] = end
    x[2::3] = end
    y[0::3] = value
    y[1::3] = value
    y[2::3] = np.nan
    return x, y
