"""Decimal-safe comparisons and spreadsheet rounding (interpreter.numeric)."""

from __future__ import annotations

import decimal
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from interpreter import numeric

# ---------------------------------------------------------------- comparisons


def test_binary_noise_compares_equal():
    assert 0.1 + 0.2 != 0.3
    assert numeric.close(0.1 + 0.2, 0.3)
    assert numeric.close(0.8, 0.8000000000000002)
    assert numeric.compare(">=", 0.7999999999999999, 0.8)
    assert not numeric.compare("<", 0.7999999999999999, 0.8)
    assert numeric.compare("==", 0.8000000000000002, 0.8)
    assert not numeric.compare("!=", 0.8000000000000002, 0.8)


def test_one_minus_0975_is_at_most_two_and_a_half_percent():
    x = 1 - 0.975
    assert x > 0.025  # binary float says no...
    assert numeric.compare("<=", x, 0.025)  # ...decimal-safe says yes
    assert not numeric.compare(">", x, 0.025)


def test_relative_tolerance_is_one_part_in_ten_to_the_twelve():
    big = 1e12
    assert numeric.close(big, big + 0.5)  # 0.5 <= 1e-12 * 1e12 = 1
    assert not numeric.close(big, big + 2.0)
    assert numeric.compare(">", big + 2.0, big)
    assert numeric.close(1.0, 1.0 + 9e-13)
    assert not numeric.close(1.0, 1.0 + 2e-12)
    assert numeric.compare("<", 1.0, 1.0 + 2e-12)


def test_absolute_tolerance_near_zero():
    assert numeric.close(0.0, 1e-13)
    assert numeric.close(-5e-13, 5e-13)
    assert not numeric.close(0.0, 1e-11)
    assert numeric.compare("<", 0.0, 1e-11)


def test_infinities_and_nan():
    assert numeric.close(np.inf, np.inf)
    assert not numeric.close(np.inf, 1e308)
    assert not numeric.close(np.inf, -np.inf)
    for op in numeric.COMPARISONS:
        assert not numeric.compare(op, np.nan, 1.0)
        assert not numeric.compare(op, 1.0, np.nan)


@pytest.mark.parametrize(("op", "expected"), [
    ("==", [False, True, False]), ("!=", [True, False, True]), ("<", [True, False, False]),
    ("<=", [True, True, False]), (">", [False, False, True]), (">=", [False, True, True]),
])
def test_compare_is_vectorised(op, expected):
    a = np.array([1.0, 2.0000000000000004, 3.5])
    b = np.array([2.0, 2.0, 3.0])
    assert numeric.compare(op, a, b).tolist() == expected


def test_counting_in_sorted_values():
    s = np.array([1.0, 2.0, 2.0, 3.0])
    assert numeric.count_at_most(s, np.array([2.0000000000000004, 0.5, 3.0])).tolist() == [3, 0, 4]
    assert numeric.count_below(s, np.array([1.9999999999999998, 3.0, 10.0])).tolist() == [1, 3, 4]


def test_floor_and_ceil_are_decimal_safe():
    x = (0.7 + 0.1) * 10  # 7.999999999999999
    assert np.floor(x) == 7.0
    assert numeric.floor(x) == 8.0
    y = 0.1 * 3 * 10  # 3.0000000000000004
    assert np.ceil(y) == 4.0
    assert numeric.ceil(y) == 3.0
    assert numeric.floor(np.array([2.5, -2.5])).tolist() == [2.0, -3.0]
    assert numeric.ceil(np.array([2.5, -2.5])).tolist() == [3.0, -2.0]


# ---------------------------------------------------------------- rounding


@pytest.mark.parametrize(("x", "digits", "expected"), [
    (2.675, 2, 2.68),
    (-2.5, 0, -3.0),
    (2.5, 0, 3.0),
    (0.5, 0, 1.0),
    (-0.5, 0, -1.0),
    (0.125, 2, 0.13),
    (1.005, 2, 1.01),
    (-1.005, 2, -1.01),
    (1.0049999, 2, 1.0),
    (0.30000000000000004, 2, 0.3),
    (1234.5, -1, 1230.0),
    (1235.0, -1, 1240.0),
    (0.0, 2, 0.0),
    (0.7999999999999999, 3, 0.8),
    (123.456, 10, 123.456),
    (1e20, 2, 1e20),
])
def test_spreadsheet_rounding(x, digits, expected):
    assert numeric.round_half_away(np.array([x]), digits)[0] == expected


def test_rounding_keeps_missing_and_infinite_values():
    out = numeric.round_half_away(np.array([np.nan, np.inf, -np.inf]), 2)
    assert np.isnan(out[0]) and out[1] == np.inf and out[2] == -np.inf


def test_rounding_gives_no_negative_zero():
    out = numeric.round_half_away(np.array([-0.001]), 2)
    assert out[0] == 0.0 and not np.signbit(out[0])


def _reference_round(x: float, digits: int) -> float:
    """An independent oracle: Python's decimal module on the 15-significant-digit text."""
    with decimal.localcontext() as ctx:
        ctx.prec = 400
        shown = Decimal(f"{x:.15g}")
        return float(shown.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)) + 0.0


@settings(max_examples=400, deadline=None)
@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False),
       st.integers(min_value=-3, max_value=8))
def test_rounding_matches_decimal_oracle(x, digits):
    if x != 0 and abs(x) < 1e-8:
        x = 0.0  # far below the rounding position; covered separately
    assert numeric.round_half_away(np.array([x]), digits)[0] == _reference_round(x, digits)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=-10**9, max_value=10**9), st.integers(min_value=0, max_value=6))
def test_rounding_of_written_halves(n, digits):
    """Decimals written with a trailing 5 (the spreadsheet case) round away from zero."""
    text = f"{n}5e-{digits + 1}"
    x = float(Decimal(text))
    assert numeric.round_half_away(np.array([x]), digits)[0] == _reference_round(x, digits)
