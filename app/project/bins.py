"""Sentiment intensity helpers: validation and the 7-class bins of the model."""

from __future__ import annotations

import math

from app.project.errors import InvalidValueError

MIN_INTENSITY = -3.0
MAX_INTENSITY = 3.0
NUM_BINS = 7
BIN_NAMES = (
    "strongly negative",
    "negative",
    "weakly negative",
    "neutral",
    "weakly positive",
    "positive",
    "strongly positive",
)


def validate_intensity(value: float, *, subject: str = "intensity") -> float:
    """Return ``value`` as a float in [-3, 3]; raise InvalidValueError for NaN, inf or out of range."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidValueError(f"{subject} {value!r} is not a number; expected a value in [-3, 3]") from None
    if not math.isfinite(number):
        raise InvalidValueError(f"{subject} {value!r} is not finite; expected a value in [-3, 3]")
    if not MIN_INTENSITY <= number <= MAX_INTENSITY:
        raise InvalidValueError(f"{subject} {number} is outside [-3, 3]")
    return number


def intensity_to_bin(value: float) -> int:
    """Map an intensity in [-3, 3] to its class 0..6.

    Bins are [-3,-2.5) -> 0, [-2.5,-1.5) -> 1, [-1.5,-0.5) -> 2, [-0.5,0.5) -> 3,
    [0.5,1.5) -> 4, [1.5,2.5) -> 5, [2.5,3] -> 6, so 0.0 is neutral (3).
    """
    number = validate_intensity(value)
    if number >= 2.5:
        return 6
    return int(math.floor(number + 0.5)) + 3


def sentiment_word(value: float) -> str:
    """Return the MMSA ``annotation`` word: Positive, Negative, or Neutral for exactly 0.0."""
    if value > 0:
        return "Positive"
    if value < 0:
        return "Negative"
    return "Neutral"
