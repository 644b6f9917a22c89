"""Sentiment labels: the model's 7 intensity bins and MMSA's rounded classes.

The model's classification head uses 7 bins of the intensity v in [-3, 3]:
[-3,-2.5) -> 0, [-2.5,-1.5) -> 1, [-1.5,-0.5) -> 2, [-0.5,0.5) -> 3,
[0.5,1.5) -> 4, [1.5,2.5) -> 5, [2.5,3] -> 6. Half points go up.

MMSA's Acc-7 and Acc-5 instead round the clipped intensity with numpy's
round-half-to-even, so the two schemes differ at half points. For example,
-1.5 is bin 2 here (class -1) but MMSA rounds it to -2.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

log = logging.getLogger(__name__)

NUM_CLASSES = 7
INTENSITY_MIN = -3.0
INTENSITY_MAX = 3.0


def intensity_to_class(values: np.ndarray | float) -> np.ndarray:
    """Map intensities to the model's 7 bins (int64, same shape as ``values``).

    Values outside [-3, 3] are clipped first.
    """
    clipped = np.clip(np.asarray(values, dtype=np.float64), INTENSITY_MIN, INTENSITY_MAX)
    return (np.clip(np.floor(clipped + 0.5), -3, 3) + 3).astype(np.int64)


def intensity_to_class_tensor(values: torch.Tensor) -> torch.Tensor:
    """Torch version of :func:`intensity_to_class`; returns int64 on the same device."""
    clipped = values.to(torch.float64).clamp(INTENSITY_MIN, INTENSITY_MAX)
    return (torch.floor(clipped + 0.5).clamp(-3, 3) + 3).to(torch.int64)


def class_to_intensity(classes: np.ndarray | int) -> np.ndarray:
    """Return the centre intensity of each bin (class 0 -> -3.0, class 6 -> +3.0)."""
    return np.asarray(classes, dtype=np.float64) - 3.0


def mmsa_class7(values: np.ndarray) -> np.ndarray:
    """Round clip(v, -3, 3) half-to-even, as MMSA's Acc-7 does (values -3..3)."""
    return np.round(np.clip(np.asarray(values), -3.0, 3.0))


def mmsa_class5(values: np.ndarray) -> np.ndarray:
    """Round clip(v, -2, 2) half-to-even, as MMSA's Acc-5 does (values -2..2)."""
    return np.round(np.clip(np.asarray(values), -2.0, 2.0))
