"""Metrics against MMSA's reference values on 19,050 real CMU-MOSEI predictions."""

import csv
import json

import numpy as np
import pytest

from core_model.errors import DataError
from core_model.training.metrics import (
    METRIC_ORDER,
    format_table,
    is_better,
    regression_metrics,
    to_mmsa,
)


@pytest.fixture(scope="module")
def golden(data_dir):
    folder = data_dir / "metrics"
    with open(folder / "mosei_labels_and_predictions.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    labels = np.array([float(r["label"]) for r in rows])
    predictions = np.array([float(r["pred"]) for r in rows])
    expected = json.loads((folder / "expected_metrics.json").read_text(encoding="utf-8"))
    return predictions, labels, expected


def test_golden_row_count(golden):
    predictions, labels, _ = golden
    assert len(labels) == 19050
    assert len(predictions) == 19050


@pytest.mark.parametrize("key", ["MAE", "Corr", "Has0_acc_2", "Has0_F1_score", "Non0_acc_2", "Non0_F1_score",
                                 "Mult_acc_5", "Mult_acc_7"])
def test_golden_metric_matches_mmsa(golden, key):
    predictions, labels, expected = golden
    ours = to_mmsa(regression_metrics(predictions, labels), decimals=4)
    # The JSON stores MMSA's 4-decimal rounding, so equality is exact.
    assert ours[key] == expected[key], f"{key}: ours {ours[key]!r}, MMSA {expected[key]!r}"


def test_golden_unrounded_close(golden):
    predictions, labels, expected = golden
    ours = to_mmsa(regression_metrics(predictions, labels), decimals=None)
    for key, value in ours.items():
        assert abs(value - expected[key]) <= 5e-5 + 1e-9, f"{key}: {value} vs {expected[key]}"


def test_hand_computed_small_case():
    predictions = np.array([0.5, -1.0, 0.0, 2.6, -2.5])
    labels = np.array([1.0, -1.2, 0.0, 2.4, 1.0])
    result = regression_metrics(predictions, labels, dtype=np.float64)
    assert result["mae"] == pytest.approx((0.5 + 0.2 + 0.0 + 0.2 + 3.5) / 5)
    # has-0: pred>=0 [T,F,T,T,F] vs label>=0 [T,F,T,T,T] -> 4/5
    assert result["acc2_has0"] == pytest.approx(0.8)
    # non-0 drops the zero label: pred>0 [T,F,T,F] vs label>0 [T,F,T,T] -> 3/4
    assert result["acc2_non0"] == pytest.approx(0.75)
    # Acc-7 rounds half to even: 0.5 -> 0 (label 1), 2.6 -> 3 (label 2.4 -> 2),
    # -2.5 -> -2 (label 1), so only -1.0 and 0.0 match.
    assert result["acc7"] == pytest.approx(2 / 5)
    # Acc-5 clips to +-2 first, so 2.6 and 2.4 both become 2 and agree.
    assert result["acc5"] == pytest.approx(3 / 5)


def test_class_head_accuracy():
    result = regression_metrics(np.array([0.1, 2.0]), np.array([0.2, -3.0]), class_predictions=np.array([3, 0]))
    assert result["cls7_acc"] == 1.0
    assert result["bin7_acc"] == 0.5


def test_constant_prediction_corr_is_nan():
    result = regression_metrics(np.zeros(4), np.array([1.0, -1.0, 2.0, 0.5]))
    assert np.isnan(result["corr"])
    assert result["mae"] == pytest.approx(1.125)


def test_non_finite_rejected():
    with pytest.raises(DataError, match="NaN or Inf"):
        regression_metrics(np.array([0.0, np.nan]), np.array([1.0, 2.0]))


def test_length_mismatch_rejected():
    with pytest.raises(DataError, match="2 predictions but 3 labels"):
        regression_metrics(np.zeros(2), np.zeros(3))


def test_is_better_direction():
    assert is_better("mae", 0.5, 0.6)
    assert not is_better("mae", 0.7, 0.6)
    assert is_better("acc7", 0.7, 0.6)
    assert not is_better("corr", float("nan"), None)
    assert is_better("corr", 0.1, None)


def test_table_column_order(golden):
    predictions, labels, _ = golden
    table = format_table(regression_metrics(predictions[:100], labels[:100]))
    header = table.splitlines()[0].split()
    assert header[:3] == ["MAE", "Corr", "Acc-2"]
    assert table.index("Acc-2 has0") < table.index("Acc-2 non0") < table.index("F1 has0") < table.index("Acc-7")
    assert set(METRIC_ORDER) >= {"mae", "acc5"}
