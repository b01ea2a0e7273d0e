"""Streaming metrics: histogram quantiles close to exact ones, merging, Little's law bookkeeping."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.metrics import Histogram, bin_of


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(min_value=0.01, max_value=5000.0, allow_nan=False), min_size=50, max_size=2000),
)
def test_quantiles_are_within_two_percent(values):
    h = Histogram()
    for v in values:
        h.add(v, bin_of(v))
    for q in (0.5, 0.9, 0.95):
        exact = float(np.quantile(values, q, method="inverted_cdf"))
        assert h.quantile(q) == pytest.approx(exact, rel=0.02)
    assert h.summary()["mean"] == pytest.approx(float(np.mean(values)))


def test_merge_adds_counts():
    a, b = Histogram(), Histogram()
    for v in (1.0, 2.0):
        a.add(v, bin_of(v))
    b.add(3.0, bin_of(3.0))
    a.merge(b)
    assert a.n == 3 and a.total == 6.0
    assert Histogram().quantile(0.5) is None


def test_zero_and_tiny_durations_land_in_the_first_bin():
    assert bin_of(0.0) == 0 and bin_of(1e-9) == 0
    h = Histogram()
    h.add(0.0, 0)
    assert h.quantile(0.5) == 0.0
