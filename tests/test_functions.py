"""Every built-in function, against values computed independently (by hand or with plain
numpy/pandas in the test)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from interp_helpers import (
    BOOL,
    LEVEL,
    NUM,
    TEXT,
    b,
    c,
    call,
    inp,
    lab,
    let,
    listof,
    methodology,
    param,
    r,
    reasons,
    run,
    run_text,
    values,
)

from dsl.builtins import BUILTINS
from interpreter.functions import FUNCTIONS
from interpreter.param_errors import ParamError


def test_every_builtin_is_implemented_under_its_name():
    assert set(FUNCTIONS) == set(BUILTINS)


def one(expr, data: dict, extra=(), **kwargs):
    """Evaluate `expr` as node y over inputs named in data (numbers unless typed in extra)."""
    types = dict(extra)
    nodes = [inp(name, types.get(name, NUM)) for name in data]
    m = methodology(*nodes, let("y", expr))
    return run(m, data, **kwargs)


X = r("x")

# ---------------------------------------------------------------- row-wise arithmetic


def test_abs_exp_floor_ceil():
    data = {"x": [-2.5, 0.0, 1.25, None]}
    assert values(one(call("abs", X), data), "y") == [2.5, 0.0, 1.25, None]
    assert values(one(call("exp", X), data), "y") == [math.exp(-2.5), 1.0, math.exp(1.25), None]
    assert values(one(call("floor", X), data), "y") == [-3.0, 0.0, 1.0, None]
    assert values(one(call("ceil", X), data), "y") == [-2.0, 0.0, 2.0, None]
    assert reasons(one(call("abs", X), data), "y") == [None, None, None, "component_missing"]


def test_log_and_sqrt_out_of_domain():
    data = {"x": [math.e, 1.0, 0.0, -1.0, None]}
    res = one(call("log", X), data)
    assert values(res, "y") == [1.0, 0.0, None, None, None]
    assert reasons(res, "y") == [None, None, "out_of_domain", "out_of_domain", "component_missing"]
    res = one(call("log10", X), {"x": [1000.0, 0.0]})
    assert values(res, "y") == [3.0, None]
    res = one(call("sqrt", X), {"x": [4.0, 0.0, -1e-300]})
    assert values(res, "y") == [2.0, 0.0, None]
    assert reasons(res, "y") == [None, None, "out_of_domain"]


def test_clip():
    res = one(call("clip", X, c(0), c(10)), {"x": [-5.0, 5.0, 15.0, None]})
    assert values(res, "y") == [0.0, 5.0, 10.0, None]


def test_round_is_spreadsheet_rounding():
    res = one(call("round", X, c(2)), {"x": [2.675, 0.125, 1.005, -2.675, None]})
    assert values(res, "y") == [2.68, 0.13, 1.01, -2.68, None]
    res = one(call("round", X, c(0)), {"x": [-2.5, 2.5, 0.49999999999999994]})
    # 0.49999999999999994 is 0.500000000000000 to 15 significant digits: it rounds up
    assert values(res, "y") == [-3.0, 3.0, 1.0]


def test_round_digits_from_a_param():
    m = methodology(inp("x"), param("d", 1.0), let("y", call("round", X, r("d", NUM.as_scalar()))))
    assert values(run(m, {"x": [0.25, 0.35]}), "y") == [0.3, 0.4]


def test_goalpost():
    data = {"x": [0.0, 25.0, 50.0, 150.0, None]}
    assert values(one(call("goalpost", X, c(0), c(100)), data), "y") == [0.0, 0.25, 0.5, 1.0, None]
    lower = call("goalpost", X, c(0), c(100), polarity="lower")
    assert values(one(lower, data), "y") == [1.0, 0.75, 0.5, 0.0, None]
    flat = one(call("goalpost", X, c(5), c(5)), {"x": [1.0]})
    assert values(flat, "y") == [None] and reasons(flat, "y") == ["division_by_zero"]


def test_coalesce_first_present():
    expr = call("coalesce", r("a"), r("b"), c(0))
    res = one(expr, {"a": [1.0, None, None], "b": [2.0, 3.0, None]})
    assert values(res, "y") == [1.0, 3.0, 0.0]
    res = one(call("coalesce", r("a"), r("b")), {"a": [None], "b": [None]})
    assert values(res, "y") == [None] and reasons(res, "y") == ["component_missing"]


def test_coalesce_of_text_and_levels():
    res = one(call("coalesce", r("a", TEXT), c("none")), {"a": ["x", None]}, extra={"a": TEXT})
    assert values(res, "y") == ["x", "none"]
    res = one(call("coalesce", r("a", LEVEL), lab("good")), {"a": ["outstanding", None]}, extra={"a": LEVEL})
    assert values(res, "y") == ["outstanding", "good"]


# ---------------------------------------------------------------- aggregations

ABC = {"a": [1.0, 2.0, None, None], "b": [3.0, None, 5.0, None], "c": [5.0, 8.0, 6.0, None]}
A, B_, C = r("a"), r("b"), r("c")


def test_mean_sum_min_max_propagate_missing():
    assert values(one(call("mean", A, B_, C), ABC), "y") == [3.0, None, None, None]
    assert values(one(call("sum", A, B_, C), ABC), "y") == [9.0, None, None, None]
    assert values(one(call("min", A, B_, C), ABC), "y") == [1.0, None, None, None]
    assert values(one(call("max", A, B_, C), ABC), "y") == [5.0, None, None, None]
    assert reasons(one(call("mean", A, B_, C), ABC), "y") == [None] + ["component_missing"] * 3


def test_skip_missing_drops_components():
    opts = {"skip_missing": True}
    assert values(one(call("mean", A, B_, C, **opts), ABC), "y") == [3.0, 5.0, 5.5, None]
    assert values(one(call("sum", A, B_, C, **opts), ABC), "y") == [9.0, 10.0, 11.0, None]
    assert values(one(call("min", A, B_, C, **opts), ABC), "y") == [1.0, 2.0, 5.0, None]
    assert values(one(call("max", A, B_, C, **opts), ABC), "y") == [5.0, 8.0, 6.0, None]
    assert reasons(one(call("mean", A, B_, C, **opts), ABC), "y")[3] == "component_missing"


def test_require_counts_present_components():
    data = {"a": [1.0, 2.0, None], "b": [3.0, None, None], "c": [5.0, 8.0, 6.0]}
    res = one(call("mean", A, B_, C, skip_missing=True, require=2), data)
    assert values(res, "y") == [3.0, 5.0, None]
    assert reasons(res, "y") == [None, None, "below_require"]
    res = one(call("mean", A, B_, C, skip_missing=True, require=3), data)
    assert values(res, "y") == [3.0, None, None]
    assert reasons(res, "y") == [None, "below_require", "below_require"]


def test_require_without_skip_missing_also_drops_missing_components():
    """Decision: `require N` alone means `skip missing, require N`."""
    data = {"a": [1.0, 2.0, None], "b": [3.0, None, None], "c": [5.0, 8.0, 6.0]}
    res = one(call("sum", A, B_, C, require=2), data)
    assert values(res, "y") == [9.0, 10.0, None]
    assert reasons(res, "y") == [None, None, "below_require"]


def test_weighted_mean_renormalises_weights_over_present_components():
    expr = call("weighted_mean", A, B_, C, weights=(c(0.25), c(0.25), c(0.5)), skip_missing=True)
    res = one(expr, ABC)
    expected = [
        0.25 * 1 + 0.25 * 3 + 0.5 * 5,
        (0.25 * 2 + 0.5 * 8) / 0.75,
        (0.25 * 5 + 0.5 * 6) / 0.75,
        None,
    ]
    got = values(res, "y")
    assert got[:3] == pytest.approx(expected[:3], rel=1e-15) and got[3] is None
    strict = one(call("weighted_mean", A, B_, C, weights=(c(0.25), c(0.25), c(0.5))), ABC)
    assert values(strict, "y")[1:] == [None, None, None]


def test_weighted_mean_with_param_weight_and_require():
    m = methodology(inp("a"), inp("b"), inp("c"), param("w", 0.5, range=(0.4, 0.6)),
                    let("y", call("weighted_mean", A, B_, C, weights=(c(0.25), c(0.25), r("w", NUM.as_scalar())),
                                  skip_missing=True, require=2)))
    data = {"a": [4.0, None, None], "b": [8.0, 8.0, None], "c": [2.0, 2.0, 2.0]}
    assert values(run(m, data), "y") == [0.25 * 4 + 0.25 * 8 + 0.5 * 2, (0.25 * 8 + 0.5 * 2) / 0.75, None]
    # an override that makes the weights sum to 90% is refused, as the checker refuses it written
    with pytest.raises(ParamError, match=r"the weights sum to 90%, not 100% \(a: 25%, b: 25%, c: w 40%\)"):
        run(m, data, params={"w": 0.4})


def test_normalise_divides_by_the_sum_of_weights():
    expr = call("weighted_mean", A, C, weights=(c(1), c(3)), normalise=True)
    assert values(one(expr, ABC), "y")[:2] == [(1 + 15) / 4, (2 + 24) / 4]
    weighted_mean = call("mean", A, C, weights=(c(1), c(3)))  # weighted mean always normalises
    assert values(one(weighted_mean, ABC), "y")[:2] == [(1 + 15) / 4, (2 + 24) / 4]


def test_weighted_sum():
    expr = call("sum", A, C, weights=(c(2), c(10)))
    assert values(one(expr, ABC), "y")[:2] == [2 + 50, 4 + 80]
    skipping = call("sum", A, B_, weights=(c(1), c(3)), skip_missing=True)
    # b missing for the second entity: 1 * 2 re-normalised by (1 + 3) / 1
    assert values(one(skipping, ABC), "y")[:3] == [1 + 9, 8.0, 20.0]


def test_zero_weights_present_is_division_by_zero():
    expr = call("weighted_mean", A, B_, weights=(c(0), c(1)), skip_missing=True)
    res = one(expr, {"a": [1.0], "b": [None]})
    assert values(res, "y") == [None] and reasons(res, "y") == ["division_by_zero"]


def test_geometric_mean():
    res = one(call("geometric_mean", A, C), {"a": [2.0, 0.0, -1.0], "c": [8.0, 4.0, 4.0]})
    assert values(res, "y")[0] == pytest.approx(4.0, rel=1e-15)
    assert values(res, "y")[1:] == [None, None]
    assert reasons(res, "y") == [None, "out_of_domain", "out_of_domain"]
    weighted = call("geometric_mean", A, C, weights=(c(0.25), c(0.75)))
    assert values(one(weighted, {"a": [16.0], "c": [1.0]}), "y")[0] == pytest.approx(2.0, rel=1e-15)


def test_mean_spreads_lists():
    expr = call("mean", listof(A, B_), C)
    assert values(one(expr, {"a": [1.0], "b": [2.0], "c": [6.0]}), "y") == [3.0]


def test_count_any_all_row_wise():
    data = {"p": [True, True, False, None], "q": [True, False, False, True]}
    extra = {"p": BOOL, "q": BOOL}
    P, Q = r("p", BOOL), r("q", BOOL)
    assert values(one(call("count", P, Q), data, extra), "y") == [2.0, 1.0, 0.0, None]
    assert values(one(call("count", P, Q, skip_missing=True), data, extra), "y") == [2.0, 1.0, 0.0, 1.0]
    assert values(one(call("any", P, Q), data, extra), "y") == [True, True, False, None]
    assert values(one(call("all", P, Q), data, extra), "y") == [True, False, False, None]
    assert values(one(call("any", P, Q, skip_missing=True), data, extra), "y") == [True, True, False, True]
    assert values(one(call("all", P, Q, skip_missing=True), data, extra), "y") == [True, False, False, True]


def test_count_of_a_list_comparison_is_row_wise():
    qs = listof(*(r(n, LEVEL) for n in ("s", "e", "w")))
    data = {"s": ["good", "inadequate", "good"], "e": ["inadequate", "inadequate", None],
            "w": ["good", "outstanding", "good"]}
    extra = {n: LEVEL for n in data}
    res = one(call("count", b("==", qs, lab("inadequate"))), data, extra)
    assert values(res, "y") == [1.0, 2.0, None]
    res = one(call("count", b("<=", qs, lab("good")), skip_missing=True), data, extra)
    assert values(res, "y") == [3.0, 2.0, 2.0]


def test_population_count_counts_entities():
    expr = call("count", b(">", X, c(2)), population_count=True)
    res = one(expr, {"x": [1.0, 3.0, 5.0, None]})
    assert values(res, "y") == [2.0] * 4
    assert res.traces["y"].scalars == {"value": 2.0, "n": 3}


# ---------------------------------------------------------------- population functions

RNG = np.random.default_rng(7)
SAMPLE = [float(v) for v in np.round(RNG.normal(50, 10, 23), 1)] + [None, None]


def test_rank_ties_share_the_best_rank():
    data = {"x": [10.0, 20.0, 20.0, 30.0, None]}
    res = one(call("rank", X), data)
    assert values(res, "y") == [4.0, 2.0, 2.0, 1.0, None]
    assert res.traces["y"].scalars == {"n": 4}
    lower = one(call("rank", X, polarity="lower"), data)
    assert values(lower, "y") == [1.0, 2.0, 2.0, 4.0, None]


def test_rank_is_competition_ranking_1224_and_decimal_safe():
    res = one(call("rank", X), {"x": [5.0, 4.0, 0.1 + 0.2, 0.3, 1.0]})
    assert values(res, "y") == [1.0, 2.0, 4.0, 4.0, 3.0]


def test_rank_matches_pandas_min_rank():
    res = one(call("rank", X), {"x": SAMPLE})
    expected = pd.Series(SAMPLE, dtype=float).rank(method="min", ascending=False)
    assert values(res, "y") == [None if math.isnan(v) else v for v in expected]


def test_percentile():
    data = {"x": [10.0, 20.0, 20.0, 40.0, None]}
    res = one(call("percentile", X), data)
    assert values(res, "y") == [25.0, 75.0, 75.0, 100.0, None]
    lower = one(call("percentile", X, polarity="lower"), data)
    assert values(lower, "y") == [100.0, 75.0, 75.0, 25.0, None]


def test_quartile_cut_points_are_numpy_linear_quantiles():
    res = one(call("quartile", X), {"x": SAMPLE})
    present = np.array([v for v in SAMPLE if v is not None])
    cuts = np.quantile(present, [0.25, 0.5, 0.75], method="linear")
    scalars = res.traces["y"].scalars
    assert [scalars["cut_1"], scalars["cut_2"], scalars["cut_3"]] == cuts.tolist()
    assert scalars["n"] == len(present)
    expected = [None if v is None else 1.0 + sum(v > k for k in cuts) for v in SAMPLE]
    assert values(res, "y") == expected


def test_quartile_boundaries_and_polarity():
    data = {"x": [1.0, 2.0, 3.0, 4.0, 5.0]}  # cuts 2, 3, 4: a value on a cut is not better than it
    assert values(one(call("quartile", X), data), "y") == [1.0, 1.0, 2.0, 3.0, 4.0]
    assert values(one(call("quartile", X, polarity="lower"), data), "y") == [4.0, 3.0, 2.0, 1.0, 1.0]


def test_quantile_band_with_five_bands():
    data = {"x": [float(v) for v in range(1, 11)]}
    res = one(call("quantile_band", X, c(5)), data)
    cuts = np.quantile(np.arange(1, 11, dtype=float), [0.2, 0.4, 0.6, 0.8], method="linear")
    assert [res.traces["y"].scalars[f"cut_{k}"] for k in range(1, 5)] == cuts.tolist()
    assert values(res, "y") == [1.0 + sum(v > k for k in cuts) for v in range(1, 11)]


def test_zscore_uses_the_sample_sd():
    res = one(call("zscore", X), {"x": SAMPLE})
    s = pd.Series(SAMPLE, dtype=float)
    expected = (s - s.mean()) / s.std(ddof=1)
    got = values(res, "y")
    for g, e in zip(got, expected):
        assert (g is None and math.isnan(e)) or g == pytest.approx(e, rel=1e-12, abs=1e-12)
    scalars = res.traces["y"].scalars
    assert scalars["mean"] == pytest.approx(s.mean(), rel=1e-14)
    assert scalars["sd"] == pytest.approx(s.std(ddof=1), rel=1e-14)
    assert scalars["n"] == 23
    lower = one(call("zscore", X, polarity="lower"), {"x": [1.0, 2.0, 3.0]})
    assert values(lower, "y") == [1.0, 0.0, -1.0]


def test_zscore_of_equal_values_is_division_by_zero():
    res = one(call("zscore", X), {"x": [2.0, 2.0, None]})
    assert values(res, "y") == [None, None, None]
    assert reasons(res, "y") == ["division_by_zero", "division_by_zero", "component_missing"]


def test_minmax():
    data = {"x": [10.0, 20.0, 50.0, None]}
    res = one(call("minmax", X), data)
    assert values(res, "y") == [0.0, 0.25, 1.0, None]
    assert res.traces["y"].scalars == {"min": 10.0, "max": 50.0, "n": 3}
    assert values(one(call("minmax", X, polarity="lower"), data), "y") == [1.0, 0.75, 0.0, None]


def test_winsorize():
    data = {"x": [float(v) for v in range(1, 11)]}
    res = one(call("winsorize", X, c(0.1), c(0.9)), data)
    low, high = np.quantile(np.arange(1.0, 11.0), [0.1, 0.9], method="linear")
    assert res.traces["y"].scalars == {"low": low, "high": high, "n": 10}
    assert values(res, "y") == np.clip(np.arange(1.0, 11.0), low, high).tolist()


def test_population_statistics_are_scalars():
    data = {"x": [1.0, 2.0, 4.0, 9.0, None]}
    present = np.array([1.0, 2.0, 4.0, 9.0])
    for function, expected in [("population_mean", present.mean()), ("population_median", np.median(present)),
                               ("population_sd", present.std(ddof=1))]:
        res = one(call(function, X), data)
        assert values(res, "y") == [expected] * 5, function
        assert res.traces["y"].scalars == {"value": expected, "n": 4}
        assert reasons(res, "y") == [None] * 5
    res = one(call("population_quantile", X, c(0.9)), data)
    q = np.quantile(present, 0.9, method="linear")
    assert values(res, "y") == [q] * 5
    assert res.traces["y"].scalars == {"value": q, "n": 4}


def test_population_sd_of_one_value_is_missing():
    res = one(call("population_sd", X), {"x": [3.0, None]})
    assert values(res, "y") == [None, None]
    assert reasons(res, "y") == ["division_by_zero"] * 2


GROUPED = {
    "x": [1.0, 2.0, 3.0, 10.0, 20.0, None, 5.0],
    "region": ["North", "North", "North", "South", "South", "South", None],
}


def test_population_mean_within_groups():
    expr = call("population_mean", X, within="region")
    res = one(expr, GROUPED, extra={"region": TEXT})
    assert values(res, "y") == [2.0, 2.0, 2.0, 15.0, 15.0, 15.0, None]
    assert reasons(res, "y")[-1] == "component_missing"
    assert res.traces["y"].scalars == {"value[North]": 2.0, "n[North]": 3, "value[South]": 15.0, "n[South]": 2}
    frame = pd.DataFrame(GROUPED)
    oracle = frame.groupby("region")["x"].transform("mean")
    assert values(res, "y")[:6] == oracle.iloc[:6].tolist()


def test_rank_and_quartile_within_groups():
    res = one(call("rank", X, within="region"), GROUPED, extra={"region": TEXT})
    assert values(res, "y") == [3.0, 2.0, 1.0, 2.0, 1.0, None, None]
    res = one(call("quartile", X, within="region"), GROUPED, extra={"region": TEXT})
    north = np.quantile([1.0, 2.0, 3.0], [0.25, 0.5, 0.75], method="linear")
    south = np.quantile([10.0, 20.0], [0.25, 0.5, 0.75], method="linear")
    scalars = res.traces["y"].scalars
    assert [scalars[f"cut_{k}[North]"] for k in (1, 2, 3)] == north.tolist()
    assert [scalars[f"cut_{k}[South]"] for k in (1, 2, 3)] == south.tolist()
    assert values(res, "y") == [1.0, 2.0, 4.0, 1.0, 4.0, None, None]


def test_within_a_level_group():
    data = {"x": [1.0, 3.0, 10.0], "g": ["good", "good", "outstanding"]}
    res = one(call("population_mean", X, within="g"), data, extra={"g": LEVEL})
    assert values(res, "y") == [2.0, 2.0, 10.0]
    assert res.traces["y"].scalars["value[outstanding]"] == 10.0


# ---------------------------------------------------------------- statistics naming


def test_nested_population_call_records_unprefixed_statistics():
    expr = b("*", call("quartile", X), c(25))
    res = one(expr, {"x": [1.0, 2.0, 3.0, 4.0, 5.0]})
    assert res.traces["y"].scalars == {"cut_1": 2.0, "cut_2": 3.0, "cut_3": 4.0, "n": 5}
    assert values(res, "y") == [25.0, 25.0, 50.0, 75.0, 100.0]


def test_several_population_calls_are_prefixed_by_function():
    expr = b("+", call("quartile", X), call("zscore", X))
    res = one(expr, {"x": [1.0, 2.0, 3.0]})
    scalars = res.traces["y"].scalars
    assert set(scalars) == {"quartile.cut_1", "quartile.cut_2", "quartile.cut_3", "quartile.n",
                            "zscore.mean", "zscore.sd", "zscore.n"}
    twice = b("-", call("zscore", X), call("zscore", r("w")))
    res = one(twice, {"x": [1.0, 2.0, 3.0], "w": [2.0, 4.0, 6.0]})
    scalars = res.traces["y"].scalars
    assert scalars["zscore#1.sd"] == 1.0 and scalars["zscore#2.sd"] == 2.0


def test_scalar_node_keeps_its_own_value():
    expr = b("*", call("population_mean", X), c(2))
    res = one(expr, {"x": [1.0, 3.0]})
    assert res.traces["y"].scalars == {"population_mean.value": 2.0, "population_mean.n": 2, "value": 4.0}


# ---------------------------------------------------------------- end to end (Tier text)


def test_functions_in_tier_text():
    res = run_text(
        """
input x: number
input region: text
let r = rank(x, lower is better, within region)
let z = round(zscore(x), 3)
let m = population_mean(x)
let share = x / m
""",
        {"x": [1.0, 2.0, 3.0, 4.0], "region": ["a", "a", "b", "b"]},
    )
    assert values(res, "r") == [1.0, 2.0, 1.0, 2.0]
    s = pd.Series([1.0, 2.0, 3.0, 4.0])
    assert values(res, "z") == [round(v, 3) for v in ((s - 2.5) / s.std()).tolist()]
    assert res.traces["m"].scalars == {"value": 2.5, "n": 4}
    assert values(res, "share") == [0.4, 0.8, 1.2, 1.6]
