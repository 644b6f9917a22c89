"""The 7 intensity bins and MMSA's rounded classes, including every half point."""

import numpy as np
import pytest
import torch

from core_model.training.labels import (
    class_to_intensity,
    intensity_to_class,
    intensity_to_class_tensor,
    mmsa_class5,
    mmsa_class7,
)

# (intensity, bin) pairs at and around every bin edge.
BIN_CASES = [
    (-3.0, 0), (-2.51, 0), (-2.5, 1), (-1.51, 1), (-1.5, 2), (-0.51, 2), (-0.5, 3), (0.0, 3),
    (0.49, 3), (0.5, 4), (1.49, 4), (1.5, 5), (2.49, 5), (2.5, 6), (3.0, 6), (-4.0, 0), (5.0, 6),
]


@pytest.mark.parametrize("value,expected", BIN_CASES)
def test_bins_numpy(value, expected):
    assert int(intensity_to_class(value)) == expected


def test_bins_torch_match_numpy():
    values = np.array([v for v, _ in BIN_CASES], dtype=np.float32)
    from_torch = intensity_to_class_tensor(torch.from_numpy(values)).numpy()
    assert from_torch.tolist() == [c for _, c in BIN_CASES]
    assert from_torch.dtype == np.int64


def test_class_centres():
    assert class_to_intensity(np.arange(7)).tolist() == [-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0]


def test_mmsa_rounding_half_to_even():
    values = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.7, -3.2])
    assert mmsa_class7(values).tolist() == [-2.0, -2.0, -0.0, 0.0, 2.0, 2.0, 3.0, -3.0]
    assert mmsa_class5(values).tolist() == [-2.0, -2.0, -0.0, 0.0, 2.0, 2.0, 2.0, -2.0]


def test_bins_differ_from_mmsa_at_half_points():
    # -1.5 is bin 2 (class -1 after shifting) but MMSA rounds it to -2.
    assert int(intensity_to_class(-1.5)) - 3 == -1
    assert mmsa_class7(np.array([-1.5]))[0] == -2.0
