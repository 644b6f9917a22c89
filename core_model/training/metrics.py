"""Regression metrics compatible with MMSA, plus accuracy on the model's 7 bins.

All functions take 1-D arrays of predicted and true intensities. MMSA casts
both to float32 before it computes anything, and :func:`regression_metrics`
does the same by default so that results match MMSA's to the last digit.
"""

from __future__ import annotations

import logging
import math
from typing import Mapping

import numpy as np
from sklearn.metrics import f1_score

from core_model.errors import DataError
from core_model.training.labels import intensity_to_class, mmsa_class5, mmsa_class7

log = logging.getLogger(__name__)

# Metric keys in the column order of the results table of the Semi-IIN paper
# (Lin et al., AAAI 2025, Table 1), then the extra ones. ``bin7_acc`` compares the model's 7 bins of prediction and label;
# ``cls7_acc`` compares the classification head's argmax with the label's bin.
METRIC_ORDER: tuple[str, ...] = (
    "mae", "corr", "acc2_has0", "acc2_non0", "f1_has0", "f1_non0", "acc7", "acc5", "bin7_acc", "cls7_acc",
)
METRIC_TITLES: Mapping[str, str] = {
    "mae": "MAE", "corr": "Corr", "acc2_has0": "Acc-2 has0", "acc2_non0": "Acc-2 non0",
    "f1_has0": "F1 has0", "f1_non0": "F1 non0", "acc7": "Acc-7", "acc5": "Acc-5",
    "bin7_acc": "Acc-7 bins", "cls7_acc": "Acc-7 head",
}
# MMSA's key for each metric, for comparing with MMSA result files.
MMSA_KEYS: Mapping[str, str] = {
    "mae": "MAE", "corr": "Corr", "acc2_has0": "Has0_acc_2", "acc2_non0": "Non0_acc_2",
    "f1_has0": "Has0_F1_score", "f1_non0": "Non0_F1_score", "acc7": "Mult_acc_7", "acc5": "Mult_acc_5",
}
# Metrics where a smaller value is better; every other metric is better larger.
LOWER_IS_BETTER = frozenset({"mae"})


def is_better(metric: str, candidate: float, best: float | None) -> bool:
    """Return True when ``candidate`` improves on ``best`` for ``metric`` (NaN never does)."""
    if candidate is None or math.isnan(candidate):
        return False
    if best is None or math.isnan(best):
        return True
    return candidate < best if metric in LOWER_IS_BETTER else candidate > best


def pearson(predictions: np.ndarray, labels: np.ndarray) -> float:
    """Pearson correlation; NaN when either side is constant."""
    if predictions.std() == 0 or labels.std() == 0:
        log.warning("correlation is undefined for a constant prediction or label vector; reporting NaN")
        return float("nan")
    return float(np.corrcoef(predictions, labels)[0][1])


def _accuracy(predicted: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean(predicted == truth)) if len(truth) else float("nan")


def _weighted_f1(truth: np.ndarray, predicted: np.ndarray) -> float:
    if len(truth) == 0:
        return float("nan")
    return float(f1_score(truth, predicted, average="weighted", zero_division=0))


def regression_metrics(
    predictions: np.ndarray,
    labels: np.ndarray,
    class_predictions: np.ndarray | None = None,
    dtype: type = np.float32,
) -> dict[str, float]:
    """Compute every metric of :data:`METRIC_ORDER` for one set of clips.

    ``predictions`` and ``labels`` are (B,) intensities; ``class_predictions``
    is the optional (B,) argmax of the 7-class head. Acc-2/F1 "has-0" compare
    ``>= 0`` over all clips; "non-0" drop clips whose label is exactly 0 and
    compare ``> 0``. Values are fractions in [0, 1] (not percentages).
    Raises DataError on empty, mismatched or non-finite input.
    """
    predictions = np.asarray(predictions, dtype=dtype).reshape(-1)
    labels = np.asarray(labels, dtype=dtype).reshape(-1)
    if predictions.shape != labels.shape:
        raise DataError(f"{len(predictions)} predictions but {len(labels)} labels")
    if len(labels) == 0:
        raise DataError("cannot compute metrics on zero clips")
    for name, values in (("predictions", predictions), ("labels", labels)):
        bad = int((~np.isfinite(values)).sum())
        if bad:
            raise DataError(f"{bad} of {len(values)} {name} are NaN or Inf; metrics would be meaningless")

    non_zero = labels != 0
    result = {
        "mae": float(np.mean(np.abs(predictions - labels)).astype(np.float64)),
        "corr": pearson(predictions, labels),
        "acc2_has0": _accuracy(predictions >= 0, labels >= 0),
        "acc2_non0": _accuracy(predictions[non_zero] > 0, labels[non_zero] > 0),
        "f1_has0": _weighted_f1(labels >= 0, predictions >= 0),
        "f1_non0": _weighted_f1(labels[non_zero] > 0, predictions[non_zero] > 0),
        "acc7": _accuracy(mmsa_class7(predictions), mmsa_class7(labels)),
        "acc5": _accuracy(mmsa_class5(predictions), mmsa_class5(labels)),
        "bin7_acc": _accuracy(intensity_to_class(predictions), intensity_to_class(labels)),
    }
    if class_predictions is not None:
        classes = np.asarray(class_predictions).reshape(-1)
        if classes.shape != labels.shape:
            raise DataError(f"{len(classes)} class predictions but {len(labels)} labels")
        result["cls7_acc"] = _accuracy(classes, intensity_to_class(labels))
    return result


def to_mmsa(metrics: Mapping[str, float], decimals: int | None = 4) -> dict[str, float]:
    """Rename metrics to MMSA's keys, rounded to ``decimals`` as MMSA reports them."""
    renamed = {}
    for key, mmsa_key in MMSA_KEYS.items():
        if key in metrics:
            value = float(metrics[key])
            renamed[mmsa_key] = round(value, decimals) if decimals is not None else value
    return renamed


def format_table(metrics: Mapping[str, float], percent: bool = True) -> str:
    """Format metrics as a two-line text table in :data:`METRIC_ORDER`.

    MAE and Corr are printed as they are. Accuracies and F1 are printed as
    percentages when ``percent`` is set, as the Semi-IIN paper reports them.
    """
    keys = [k for k in METRIC_ORDER if k in metrics]
    cells = []
    for key in keys:
        value = float(metrics[key])
        if key not in ("mae", "corr") and percent:
            value *= 100
            cells.append(f"{value:.2f}")
        else:
            cells.append(f"{value:.4f}")
    titles = [METRIC_TITLES[k] for k in keys]
    widths = [max(len(t), len(c)) for t, c in zip(titles, cells)]
    header = "  ".join(t.rjust(w) for t, w in zip(titles, widths))
    row = "  ".join(c.rjust(w) for c, w in zip(cells, widths))
    return f"{header}\n{row}"
