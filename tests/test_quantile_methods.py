"""`method:` of population quantiles: R / Hyndman & Fan types 1..9, numpy's method names and
SAS PCTLDEF 1..5, against an oracle written from Hyndman & Fan (1996) directly (not numpy)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from interp_helpers import run_text, values

from dsl.builtins import QUANTILE_METHODS

# Hyndman & Fan's m for the continuous types: Q(p) = (1 - g) x_j + g x_{j+1}, j = floor(np + m)
_M = {4: lambda p: 0.0, 5: lambda p: 0.5, 6: lambda p: p, 7: lambda p: 1.0 - p,
      8: lambda p: (p + 1.0) / 3.0, 9: lambda p: p / 4.0 + 3.0 / 8.0}


def hyndman_fan(x: list[float], p: float, kind: int) -> float:
    """The sample quantile of type `kind` (Hyndman & Fan 1996, section 2)."""
    s = sorted(x)
    n = len(s)

    def order(j: int) -> float:  # x_(j), 1-based, clamped to the sample
        return s[min(max(j, 1), n) - 1]

    if kind in (1, 2, 3):
        m = -0.5 if kind == 3 else 0.0
        j = math.floor(n * p + m)
        g = n * p + m - j
        if kind == 1:
            gamma = 1.0 if g > 0 else 0.0
        elif kind == 2:
            gamma = 1.0 if g > 0 else 0.5
        else:
            gamma = 0.0 if g == 0 and j % 2 == 0 else 1.0
        return (1 - gamma) * order(j) + gamma * order(j + 1)
    m = _M[kind](p)
    j = math.floor(n * p + m)
    g = n * p + m - j
    return (1 - g) * order(j) + g * order(j + 1)


SAMPLE = [3.1, 0.4, 2.2, 9.5, 4.4, 4.4, 7.0, 1.3, 5.8, 6.6, 0.9]


@pytest.mark.parametrize("kind", range(1, 10))
@pytest.mark.parametrize("p", [0.1, 0.25, 0.5, 0.8])
def test_each_type_matches_hyndman_and_fan(kind, p):
    body = f"input x: number\nlet q = population_quantile(x, {p}, method: {kind})\n"
    result = run_text(body, {"x": SAMPLE})
    assert result.traces["q"].scalars["value"] == pytest.approx(hyndman_fan(SAMPLE, p, kind), rel=1e-12)


@pytest.mark.parametrize("r_type, sas", [(4, "sas1"), (3, "sas2"), (1, "sas3"), (6, "sas4"), (2, "sas5")])
def test_sas_definitions_are_their_hyndman_fan_types(r_type, sas):
    assert QUANTILE_METHODS[sas] == QUANTILE_METHODS[str(r_type)]
    body = f'input x: number\nlet q = population_quantile(x, 30%, method: "{sas}")\n'
    result = run_text(body, {"x": SAMPLE[:7]})
    assert result.traces["q"].scalars["value"] == pytest.approx(hyndman_fan(SAMPLE[:7], 0.3, r_type), rel=1e-12)


def test_without_method_the_quantile_is_type_7_and_names_are_case_blind():
    plain = run_text("input x: number\nlet q = population_quantile(x, 0.3)\n", {"x": SAMPLE})
    named = run_text('input x: number\nlet q = population_quantile(x, 0.3, method: "Linear")\n', {"x": SAMPLE})
    assert plain.traces["q"].scalars["value"] == named.traces["q"].scalars["value"]
    assert plain.traces["q"].scalars["value"] == pytest.approx(hyndman_fan(SAMPLE, 0.3, 7), rel=1e-12)


def test_quantile_bands_and_winsorize_use_the_method_for_their_cut_points():
    body = ("input x: number\ninput g: text\n"
            "indicator b = quantile_band(x, 4, method: 6, within g)\n"
            "indicator w = winsorize(x, 10%, 90%, method: 1)\n")
    groups = ["p"] * 6 + ["q"] * 5
    result = run_text(body, {"x": SAMPLE, "g": groups})
    stats = result.traces["b"].scalars
    p_values = SAMPLE[:6]
    for k in (1, 2, 3):
        assert stats[f"cut_{k}[p]"] == pytest.approx(hyndman_fan(p_values, k / 4, 6), rel=1e-12)
    cuts = [hyndman_fan(p_values, k / 4, 6) for k in (1, 2, 3)]
    want = [1 + sum(v > c for c in cuts) for v in p_values]
    assert values(result, "b")[:6] == want
    low, high = hyndman_fan(SAMPLE, 0.1, 1), hyndman_fan(SAMPLE, 0.9, 1)
    assert values(result, "w") == [min(max(v, low), high) for v in SAMPLE]


def test_a_method_sampled_in_blocks_equals_single_runs():
    from interp_helpers import check
    from test_sensitivity import assert_blocks_equal_single_runs, inputs_of, table

    m = check("input x: number\nparam q = 0.3\nlet p = population_quantile(x, q, method: 8)\n"
              "indicator w = winsorize(x, q, 0.9, method: 2)\n")
    inputs = inputs_of(m, table(x=np.array(SAMPLE)))
    assert_blocks_equal_single_runs(m, inputs, {"q": np.array([0.1, 0.3, 0.3, 0.45])}, True)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.sampled_from([0.0, 1.0, 2.5, -3.0, 1e15]), st.floats(-1e6, 1e6)), min_size=1, max_size=60),
       st.sampled_from(sorted(set(QUANTILE_METHODS.values()))))
def test_quantile_bands_cut_the_values_as_they_are_where_a_sort_would(values, method):
    """interpreter.functions.ranks computes a band's cuts from the values unsorted: numpy's
    quantiles of a partition are bit for bit those of the sorted values, but for which of
    -0.0 and 0.0 (equal) comes first: a cut of zero is made 0.0 (+ 0.0)."""
    levels = [0.25, 0.5, 0.75, 0.1, 0.9]
    unsorted = np.quantile(np.array(values), levels, method=method) + 0.0
    ordered = np.quantile(np.sort(np.array(values)), levels, method=method) + 0.0
    assert unsorted.view(np.uint64).tolist() == ordered.view(np.uint64).tolist()
