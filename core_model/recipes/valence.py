"""The mapping from acted emotion classes to sentiment intensity (valence).

RAVDESS and FER2013 label emotions, not sentiment, so this mapping is a
design choice, not a measurement: joy counts as clearly positive, calm and
surprise as mildly positive, neutral as zero and the four negative emotions
as clearly negative. RAVDESS's "normal" intensity scales the value by 0.75
and "strong" keeps it whole. The model cards print this table.
"""

from __future__ import annotations

import numpy as np

RAVDESS_CLASSES: tuple[str, ...] = (
    "neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised",
)
RAVDESS_VALENCE: dict[str, float] = {
    "neutral": 0.0, "calm": 0.5, "happy": 2.0, "sad": -2.0,
    "angry": -2.0, "fearful": -2.0, "disgust": -2.0, "surprised": 0.5,
}
RAVDESS_INTENSITY_SCALE: dict[str, float] = {"normal": 0.75, "strong": 1.0}

FER_VALENCE: dict[str, float] = {
    "angry": -2.0, "disgust": -2.0, "fear": -2.0, "happy": 2.0,
    "sad": -2.0, "surprise": 0.5, "neutral": 0.0,
}


def class_valence(classes: tuple[str, ...], table: dict[str, float]) -> np.ndarray:
    """Return the valence of each class index, in ``classes`` order."""
    return np.array([table[name] for name in classes], dtype=np.float32)


def valence_sign_accuracy(true_classes: np.ndarray, predicted_classes: np.ndarray, valence: np.ndarray) -> float:
    """Return the share of samples whose predicted class has the same valence sign (-, 0 or +) as the true class."""
    true_sign = np.sign(valence[np.asarray(true_classes)])
    predicted_sign = np.sign(valence[np.asarray(predicted_classes)])
    return float(np.mean(true_sign == predicted_sign)) if len(true_sign) else float("nan")
