"""Population min/max, skewness and kurtosis (sample and population forms), weighted variance,
sd and quantile, and winsorize_count, against oracles written from their textbook formulas
(pandas and plain Python, not scipy)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from interp_helpers import check, run_text, values
from test_sensitivity import assert_blocks_equal_single_runs, inputs_of, table

X = [2.5, 7.1, 3.3, 9.8, 0.4, 5.5, 5.5, 12.0, 1.9, 4.2]
W = [1.0, 2.0, 0.5, 1.0, 3.0, 1.0, 0.0, 2.5, 1.0, 1.5]
G = ["a", "b"] * 5


def moments(x: list[float]) -> tuple[float, float, float, float]:
    n = len(x)
    mean = sum(x) / n
    m2 = sum((v - mean) ** 2 for v in x) / n
    m3 = sum((v - mean) ** 3 for v in x) / n
    m4 = sum((v - mean) ** 4 for v in x) / n
    return n, m2, m3, m4


def skew_p(x):  # g1 (Excel SKEW.P)
    n, m2, m3, _ = moments(x)
    return m3 / m2 ** 1.5


def skew_sample(x):  # G1 (Excel SKEW)
    n = len(x)
    return skew_p(x) * math.sqrt(n * (n - 1)) / (n - 2)


def kurt_p(x):  # g2, excess
    n, m2, _, m4 = moments(x)
    return m4 / m2 ** 2 - 3


def kurt_sample(x):  # G2 (Excel KURT)
    n = len(x)
    return ((n + 1) * kurt_p(x) + 6) * (n - 1) / ((n - 2) * (n - 3))


BODY = """input x: number
input w: number
input g: text
let mn = population_min(x, within g)
let mx = population_max(x, within g)
let sk = population_skewness(x)
let skp = population_skewness_p(x)
let ku = population_kurtosis(x)
let kup = population_kurtosis_p(x)
let wv = population_weighted_variance(x, w)
let wsd = population_weighted_sd(x, w, within g)
let wq = population_weighted_quantile(x, w, 40%)
indicator wc = winsorize_count(x, 2, 1, within g)
"""


def test_scalar_statistics_match_their_formulas():
    result = run_text(BODY, {"x": X, "w": W, "g": G})
    scalars = {name: result.traces[name].scalars for name in ("sk", "skp", "ku", "kup", "wv", "wq")}
    assert scalars["sk"]["value"] == pytest.approx(skew_sample(X), rel=1e-12)
    assert scalars["skp"]["value"] == pytest.approx(skew_p(X), rel=1e-12)
    assert scalars["ku"]["value"] == pytest.approx(kurt_sample(X), rel=1e-12)
    assert scalars["kup"]["value"] == pytest.approx(kurt_p(X), rel=1e-12)
    frame = pd.DataFrame({"x": X, "g": G})
    assert values(result, "mn") == list(frame.groupby("g")["x"].transform("min"))
    assert values(result, "mx") == list(frame.groupby("g")["x"].transform("max"))
    mean = sum(w * x for x, w in zip(X, W)) / sum(W)
    variance = sum(w * (x - mean) ** 2 for x, w in zip(X, W)) / sum(W)
    assert scalars["wv"]["value"] == pytest.approx(variance, rel=1e-12)
    # weighted quantile: the smallest x whose cumulative weight reaches 40% of the total
    cumulative, want = 0.0, None
    for x, w in sorted(zip(X, W)):
        cumulative += w
        if cumulative >= 0.4 * sum(W):
            want = x
            break
    assert scalars["wq"]["value"] == want


def test_weighted_sd_and_winsorize_count_within_groups():
    result = run_text(BODY, {"x": X, "w": W, "g": G})
    for group in ("a", "b"):
        xs = [x for x, g in zip(X, G) if g == group]
        ws = [w for w, g in zip(W, G) if g == group]
        mean = sum(w * x for x, w in zip(xs, ws)) / sum(ws)
        sd = math.sqrt(sum(w * (x - mean) ** 2 for x, w in zip(xs, ws)) / sum(ws))
        got = [v for v, g in zip(values(result, "wsd"), G) if g == group]
        assert got == pytest.approx([sd] * len(xs), rel=1e-12)
        ordered = sorted(xs)
        low, high = ordered[2], ordered[-2]  # 2 lowest raised, 1 highest lowered
        assert [v for v, g in zip(values(result, "wc"), G) if g == group] == [min(max(x, low), high) for x in xs]
        assert result.traces["wc"].scalars[f"low[{group}]"] == low


def test_too_few_values_equal_values_and_bad_weights_are_missing_with_a_reason():
    result = run_text(BODY, {"x": [1.0, 1.0, 1.0, 1.0], "w": [1.0, -1.0, 1.0, 1.0], "g": ["a"] * 4})
    for name in ("sk", "skp", "ku", "kup"):
        assert set(result.traces[name].reasons) == {"division_by_zero"}, name
    assert set(result.traces["wv"].reasons) == {"out_of_domain"}
    assert values(result, "wc") == [1.0] * 4  # 2 + 1 of 4 values: one is left unchanged
    short = run_text(BODY, {"x": [1.0, 2.0, 4.0], "w": [0.0, 0.0, 0.0], "g": ["a"] * 3})
    assert set(short.traces["ku"].reasons) == {"division_by_zero"}  # G2 needs 4 values
    assert short.traces["sk"].scalars["value"] == pytest.approx(skew_sample([1.0, 2.0, 4.0]), rel=1e-12)
    assert set(short.traces["wv"].reasons) == {"division_by_zero"}  # weights sum to 0
    assert set(short.traces["wc"].reasons) == {"out_of_domain"}  # 2 + 1 of 3 values: none would be left


def test_sampled_counts_and_levels_equal_single_runs():
    m = check("input x: number\ninput w: number\nparam n = 1\nparam q = 0.5\n"
              "indicator wc = winsorize_count(x, n, n)\nlet wq = population_weighted_quantile(x, w, q)\n"
              "let sk = population_skewness(x * q)\n")
    inputs = inputs_of(m, table(x=np.array(X), w=np.array(W)))
    assert_blocks_equal_single_runs(m, inputs, {"n": np.array([0.0, 1.0, 3.0]), "q": np.array([0.1, 0.5, 0.9])},
                                    True)
