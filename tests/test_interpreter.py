"""The evaluator: expressions, missing values and reasons, params, tracing, order independence,
evaluate_expression and the methodology test runner."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from interp_helpers import (
    BOOL,
    LEVEL,
    NUM,
    RATING,
    SNUM,
    TEXT,
    b,
    c,
    call,
    check,
    frame,
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
    tier,
    values,
)

from dsl import model as M
from dsl import types as T
from interpreter import ParamError, evaluate, evaluate_expression, run_tests
from interpreter.trace import NodeTrace

X, Y = r("x"), r("y")


def single(expr, data, extra=()):
    types = dict(extra)
    m = methodology(*(inp(n, types.get(n, NUM)) for n in data), let("z", expr))
    return run(m, data)


# ---------------------------------------------------------------- inputs and arithmetic


def test_input_missing_cells_have_reason_input_missing():
    m = methodology(inp("x"), let("z", b("+", X, c(1))))
    res = run(m, {"x": [1.0, None]})
    assert reasons(res, "x") == [None, "input_missing"]
    assert values(res, "z") == [2.0, None]
    assert reasons(res, "z") == [None, "component_missing"]
    assert res.values("x").dtype == "float64"


def test_arithmetic():
    data = {"x": [6.0, -2.0, 0.5], "y": [3.0, 4.0, 2.0]}
    assert values(single(b("+", X, Y), data), "z") == [9.0, 2.0, 2.5]
    assert values(single(b("-", X, Y), data), "z") == [3.0, -6.0, -1.5]
    assert values(single(b("*", X, Y), data), "z") == [18.0, -8.0, 1.0]
    assert values(single(b("/", X, Y), data), "z") == [2.0, -0.5, 0.25]
    assert values(single(b("^", X, Y), data), "z") == [216.0, 16.0, 0.25]
    neg = M.Unary("-", X, NUM)
    assert values(single(neg, data), "z") == [-6.0, 2.0, -0.5]


def test_division_by_zero_and_reason_propagation_within_a_node():
    data = {"x": [1.0, 1.0, None, 0.0], "y": [0.0, 2.0, 1.0, 0.0]}
    res = single(b("+", b("/", X, Y), c(1)), data)
    assert values(res, "z") == [None, 1.5, None, None]
    assert reasons(res, "z") == ["division_by_zero", None, "component_missing", "division_by_zero"]


def test_reference_to_a_node_missing_by_division_is_component_missing():
    m = methodology(inp("x"), inp("y"), let("q", b("/", X, Y)), let("z", b("*", r("q"), c(2))))
    res = run(m, {"x": [1.0], "y": [0.0]})
    assert reasons(res, "q") == ["division_by_zero"]
    assert reasons(res, "z") == ["component_missing"]


def test_power_domain():
    res = single(b("^", X, Y), {"x": [0.0, -8.0, -2.0], "y": [-1.0, 1 / 3, 2.0]})
    assert values(res, "z") == [None, None, 4.0]
    assert reasons(res, "z") == ["division_by_zero", "out_of_domain", None]


def test_power_of_a_missing_operand_is_missing():
    # numpy gives nan ** 0 = 1 and 1 ** nan = 1; a missing operand still passes on its reason
    res = single(b("^", X, Y), {"x": [None, 1.0, 2.0], "y": [0.0, None, 0.0]})
    assert values(res, "z") == [None, None, 1.0]
    assert reasons(res, "z") == ["component_missing", "component_missing", None]


# ---------------------------------------------------------------- logic and comparisons


def test_three_valued_logic():
    p = [True, True, True, False, False, False, None, None, None]
    q = [True, False, None, True, False, None, True, False, None]
    extra = {"p": BOOL, "q": BOOL}
    P, Q = r("p", BOOL), r("q", BOOL)
    data = {"p": p, "q": q}
    assert values(single(b("and", P, Q), data, extra), "z") == [True, False, None, False, False, False, None, False,
                                                                 None]
    assert values(single(b("or", P, Q), data, extra), "z") == [True, True, True, True, False, None, True, None, None]
    assert values(single(M.Unary("not", P, BOOL), data, extra), "z") == [False] * 3 + [True] * 3 + [None] * 3
    res = single(b("and", P, Q), data, extra)
    assert reasons(res, "z") == [None, None, "component_missing", None, None, None, "component_missing", None,
                                 "component_missing"]
    assert str(res.values("z").dtype) == "boolean"


def test_decimal_safe_comparisons():
    data = {"x": [0.8000000000000002, 0.7999999999999999, 0.8, 0.79, None]}
    assert values(single(b(">=", X, c(0.8)), data), "z") == [True, True, True, False, None]
    assert values(single(b("==", X, c(0.8)), data), "z") == [True, True, True, False, None]
    assert values(single(b(">", X, c(0.8)), data), "z") == [False, False, False, False, None]
    assert values(single(b("!=", X, c(0.8)), data), "z") == [False, False, False, True, None]
    gap = b("-", c(1), X)
    assert values(single(b("<=", gap, c(0.025)), {"x": [0.975, 0.97]}), "z") == [True, False]


def test_level_and_text_comparisons():
    data = {"q": ["good", "inadequate", "outstanding", None]}
    extra = {"q": LEVEL}
    Q = r("q", LEVEL)
    assert values(single(b("<=", Q, lab("requires improvement")), data, extra), "z") == [False, True, False, None]
    assert values(single(b("==", Q, lab("good")), data, extra), "z") == [True, False, False, None]
    res = single(b("==", r("t", TEXT), c("North")), {"t": ["North", "South", None]}, {"t": TEXT})
    assert values(res, "z") == [True, False, None]


def test_list_comparison_is_element_wise():
    qs = listof(r("a", LEVEL), r("b", LEVEL))
    res = single(b("==", qs, lab("good")), {"a": ["good", None], "b": ["inadequate", "good"]},
                 {"a": LEVEL, "b": LEVEL})
    assert res.values("z").tolist() == [(True, False), (None, True)]
    assert reasons(res, "z") == [None, None]
    lists = single(qs, {"a": ["good", None], "b": ["inadequate", "good"]}, {"a": LEVEL, "b": LEVEL})
    assert lists.values("z").tolist() == [("good", "inadequate"), (None, "good")]


# ---------------------------------------------------------------- if, is missing, pick


def test_if_then_else():
    cond = b(">", X, c(0))
    expr = M.IfElse(cond, b("/", c(1), X), c(-1), NUM)
    res = single(expr, {"x": [2.0, -3.0, None, 0.0]})
    assert values(res, "z") == [0.5, -1.0, None, -1.0]
    assert reasons(res, "z") == [None, None, "component_missing", None]


def test_is_missing_is_never_missing():
    res = single(M.IsMissing(X, False, BOOL), {"x": [1.0, None]})
    assert values(res, "z") == [False, True]
    res = single(M.IsMissing(X, True, BOOL), {"x": [1.0, None]})
    assert values(res, "z") == [True, False]


def test_pick_a_keyed_value():
    m = methodology(inp("x"), let("p", M.Pick(X, "B", SNUM)), let("q", M.Pick(X, "ZZ", SNUM)),
                    let("z", b("-", X, r("p", SNUM))))
    res = run(m, {"x": [1.0, 5.0, None]}, keys=["A", "B", "C"])
    assert values(res, "p") == [5.0] * 3
    assert res.traces["p"].scalars == {"value": 5.0}
    assert values(res, "q") == [None] * 3 and reasons(res, "q") == ["key_not_in_data"] * 3
    assert math.isnan(res.traces["q"].scalars["value"])
    assert values(res, "z") == [-4.0, 0.0, None]


# ---------------------------------------------------------------- map and band


def test_map_over_levels_with_and_without_otherwise():
    keys = ("inadequate", "good")
    full = M.MapOf(r("q", LEVEL), keys, (c(1), c(3)), c(0), NUM)
    partial = M.MapOf(r("q", LEVEL), keys, (c(1), c(3)), None, NUM)
    data = {"q": ["good", "inadequate", "outstanding", None]}
    assert values(single(full, data, {"q": LEVEL}), "z") == [3.0, 1.0, 0.0, None]
    res = single(partial, data, {"q": LEVEL})
    assert values(res, "z") == [3.0, 1.0, None, None]
    assert reasons(res, "z") == [None, None, "no_rule_held", "component_missing"]


def test_map_over_numbers_text_and_to_labels():
    by_number = M.MapOf(X, (1.0, 2.0), (c("one"), c("two")), c("many"), TEXT)
    assert values(single(by_number, {"x": [1.0, 2.0000000000000004, 7.0]}), "z") == ["one", "two", "many"]
    to_level = M.MapOf(r("t", TEXT), ("a", "b"), (lab("good"), lab("inadequate")), None, LEVEL)
    res = single(to_level, {"t": ["a", "b", "c"]}, {"t": TEXT})
    assert values(res, "z") == ["good", "inadequate", None]
    assert reasons(res, "z")[2] == "no_rule_held"


def test_band_first_case_wins_and_is_decimal_safe():
    expr = M.BandOf(X, (">=", ">=", ">="), (c(0.01), c(0.0), c(-0.02)), (c(4), c(3), c(2)), c(1), NUM)
    data = {"x": [0.05, 0.01 - 1e-17, 0.0, -0.02, -0.021, None]}
    res = single(expr, data)
    assert values(res, "z") == [4.0, 4.0, 3.0, 2.0, 1.0, None]
    no_otherwise = M.BandOf(X, (">=",), (c(0),), (c(1),), None, NUM)
    res = single(no_otherwise, {"x": [1.0, -1.0]})
    assert values(res, "z") == [1.0, None] and reasons(res, "z") == [None, "no_rule_held"]


def test_map_and_band_in_tier_text():
    res = run_text("""
input leadership: level limited < emerging < developing < established
input finance_pct: number
indicator lead_score = map leadership { limited: 1, emerging: 2, developing: 3, established: 4 }
indicator finance_score = band finance_pct { >= 1%: 4, >= 0: 3, >= -2%: 2, otherwise: 1 }
""", {"leadership": ["limited", "established", None], "finance_pct": [0.01, -0.02, -0.5]})
    assert values(res, "lead_score") == [1.0, 4.0, None]
    assert values(res, "finance_score") == [4.0, 2.0, 1.0]


# ---------------------------------------------------------------- params


def _param_methodology():
    return methodology(inp("x"), param("w", 0.5, range=(0.4, 0.6)), param("flag", True, T.boolean(scalar=True)),
                       let("z", b("*", X, r("w", SNUM))))


def test_params_broadcast_and_override():
    m = _param_methodology()
    res = run(m, {"x": [2.0, 4.0]})
    assert values(res, "w") == [0.5, 0.5] and res.traces["w"].scalars == {"value": 0.5}
    assert values(res, "z") == [1.0, 2.0]
    assert values(res, "flag") == [True, True]
    res = run(m, {"x": [2.0, 4.0]}, params={"w": 0.6})
    assert values(res, "z") == [2.0 * 0.6, 4.0 * 0.6]
    assert res.params == {"w": 0.6, "flag": True}


def test_param_errors():
    m = _param_methodology()
    with pytest.raises(ParamError, match=r"unknown param 'ww'.*did you mean 'w'.*w \(range 0.4..0.6\)"):
        run(m, {"x": [1.0]}, params={"ww": 0.5})
    with pytest.raises(ParamError, match=r"outside its range 0.4..0.6"):
        run(m, {"x": [1.0]}, params={"w": 0.7})
    with pytest.raises(ParamError, match="needs a number"):
        run(m, {"x": [1.0]}, params={"w": "high"})
    with pytest.raises(ParamError, match="true or false"):
        run(m, {"x": [1.0]}, params={"flag": 1.0})
    # the range is inclusive and decimal-safe
    assert run(m, {"x": [1.0]}, params={"w": 0.1 + 0.2 + 0.1}).params["w"] == 0.1 + 0.2 + 0.1


# ---------------------------------------------------------------- tracing and results


def test_tracer_receives_every_node_in_order():
    seen: list[NodeTrace] = []

    class Recorder:
        def on_node(self, trace):
            seen.append(trace)

    m = _param_methodology()
    res = run(m, {"x": [1.0]}, tracer=Recorder())
    assert [t.node.name for t in seen] == [n.name for n in m.nodes] == list(res.traces)
    assert all(seen[i] is res.traces[n.name] for i, n in enumerate(m.nodes))


def test_result_keys_and_labels():
    m = methodology(inp("x"))
    labels = pd.Series(["Alpha", "Beta"], index=["A", "B"])
    res = evaluate(m, frame(m, {"x": [1.0, 2.0]}, keys=["A", "B"]), labels=labels)
    assert list(res.keys) == ["A", "B"]
    assert res.labels is labels
    assert list(res.values("x").index) == ["A", "B"]


def test_missing_input_column_is_all_missing():
    m = methodology(inp("x"), inp("y"), let("z", b("+", X, Y)))
    res = evaluate(m, frame(m, {"x": [1.0]}))
    assert values(res, "y") == [None] and reasons(res, "y") == ["input_missing"]


def test_no_entities():
    m = methodology(inp("x"), param("w", 0.5), let("z", call("quartile", X)), let("m", call("population_mean", X)))
    res = evaluate(m, pd.DataFrame({"x": pd.Series([], dtype="float64")}, index=pd.Index([], dtype=object)))
    assert len(res.values("z")) == 0
    assert res.traces["w"].scalars == {"value": 0.5}


# ---------------------------------------------------------------- order independence

BODY = """
type rating = level inadequate < "requires improvement" < good < outstanding
input x: number
input y: number
input q: rating
input region: text
let total = sum(x, y, skip missing)
indicator qx = quartile(x)
indicator rx = rank(y, lower is better, within region)
indicator zx = zscore(x)
let m = population_mean(y, within region)
let sd = population_sd(x)
let ratio = x / y
let qs = map q { inadequate: 1, "requires improvement": 2, good: 3, outstanding: 4 }
tier t from total {
  high: top 3
  low: bottom 20%
  mid: >= 0.5
  other: otherwise
  missing: "n/a"
}
tier cq: rating {
  outstanding: qs >= 4 and x > 0
  good: qs >= 3
  inadequate: otherwise
}
limit t to at most mid when q == inadequate
"""

value_st = st.one_of(st.none(), st.sampled_from([0.0, 0.5, 1.0, 1.0, 2.5]),
                     st.floats(min_value=-100, max_value=100, allow_nan=False))
row_st = st.tuples(value_st, value_st,
                   st.one_of(st.none(), st.sampled_from(list(RATING.labels))),
                   st.one_of(st.none(), st.sampled_from(["N", "S", "E"])))


@settings(max_examples=60, deadline=None)
@given(st.lists(row_st, min_size=1, max_size=25), st.randoms(use_true_random=False))
def test_reordering_rows_changes_no_entity_value(rows, rnd):
    m = check(BODY)
    keys = [f"K{i}" for i in range(len(rows))]
    data = {name: [row[i] for row in rows] for i, name in enumerate(["x", "y", "q", "region"])}
    inputs = frame(m, data, keys)
    order = list(range(len(rows)))
    rnd.shuffle(order)
    shuffled = inputs.iloc[order]
    first = evaluate(m, inputs)
    second = evaluate(m, shuffled)
    for name, trace in first.traces.items():
        other = second.traces[name]
        a = trace.values.astype(object)
        b2 = other.values.reindex(trace.values.index).astype(object)
        assert [_plain(v) for v in a] == [_plain(v) for v in b2], name
        assert trace.reasons.tolist() == other.reasons.reindex(trace.reasons.index).tolist(), name
        assert _plain_dict(trace.scalars) == _plain_dict(other.scalars), name
        if trace.tier is not None:
            assert trace.tier.display.tolist() == other.tier.display.reindex(trace.values.index).tolist()


def _plain(v):
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    return v


def _plain_dict(d):
    return {k: _plain(v) for k, v in d.items()}


# ---------------------------------------------------------------- evaluate_expression


def test_evaluate_expression_against_a_run():
    m = check(BODY)
    data = {"x": [1.0, 2.0, 3.0], "y": [1.0, None, 2.0], "q": ["good", "good", "inadequate"],
            "region": ["N", "N", "S"]}
    res = evaluate(m, frame(m, data, keys=["a", "b", "c"]))
    total = m.node("total")
    expr = b(">", M.Ref("total", total.type), c(3))
    got = evaluate_expression(res, expr)
    assert got.tolist() == [False, False, True]
    assert list(got.index) == ["a", "b", "c"]
    tier_ref = M.Ref("cq", m.node("cq").type)
    cq = evaluate_expression(res, b("==", tier_ref, M.LabelConst(m.types["rating"], "good", T.level(m.types["rating"], True))))
    assert cq.tolist() == [True, True, False]


# ---------------------------------------------------------------- methodology tests


TESTED = """
type rating = level inadequate < "requires improvement" < good < outstanding
input safe: rating
input effective: rating
input breach: boolean
input score: number
param cutoff = 2 range 1..3
let key_questions = [safe, effective]
let n_inadequate = count(key_questions == inadequate)
tier overall: rating {
  inadequate: n_inadequate >= 2
  good: otherwise
}
limit overall to at most "requires improvement" when breach
tier grade from score {
  high: >= cutoff
  low: otherwise
}
test "two inadequate" {
  given safe = inadequate, effective = inadequate, breach = false
  expect overall == inadequate
  expect n_inadequate == 2
}
test "a breach caps" {
  given safe = good, effective = good, breach = true
  expect overall == "requires improvement"
}
test "wrong on purpose" {
  given safe = good, effective = good, breach = false, score = 1.5
  expect overall == inadequate
  expect grade == low
  expect score > 2
}
test "param given" {
  given score = 1.5, cutoff = 1
  expect grade == high
}
test "missing input fails an expectation" {
  given safe = good, breach = false
  expect overall == good
}
"""


def test_run_tests_with_given_values():
    m = check(TESTED)
    outcomes = run_tests(m)
    assert [o.name for o in outcomes] == ["two inadequate", "a breach caps", "wrong on purpose", "param given",
                                          "missing input fails an expectation"]
    assert [o.passed for o in outcomes] == [True, True, False, True, False]
    wrong = outcomes[2]
    assert len(wrong.failures) == 2
    first, second = wrong.failures
    assert first.expect == "overall == inadequate"
    assert first.keys == ("test",) and first.actual == ("good",) and first.expected == ("inadequate",)
    assert second.expect == "score > 2" and second.actual == (1.5,)
    assert "failed for 1 entity" in first.describe()
    assert outcomes[3].result.params["cutoff"] == 1.0
    missing = outcomes[4].failures[0]
    assert missing.actual == (None,)
    assert "missing" in missing.describe()


def test_run_tests_with_data_and_scalar_expect():
    m = check("""
input x: number
tier t from x {
  top1: top 1
  rest: otherwise
}
test "data" {
  given data "whatever.csv"
  expect count(t == top1) == 2
  expect t for "B" == top1
  expect x > 0
}
""")
    inputs = frame(m, {"x": [1.0, 5.0, 5.0, -1.0]}, keys=["A", "B", "C", "D"])
    seen = []

    def loader(path):
        seen.append(path)
        return inputs, None

    (outcome,) = run_tests(m, loader)
    assert seen == ["whatever.csv"]
    assert not outcome.passed
    (failure,) = outcome.failures
    assert failure.expect == "x > 0" and failure.keys == ("D",) and failure.actual == (-1.0,)
    assert not failure.is_scalar
    # a failing scalar expectation reports the actual scalar
    m2 = check("""
input x: number
test "count" {
  given data "whatever.csv"
  expect count(x > 0) == 4
}
""")
    (outcome,) = run_tests(m2, loader)
    (failure,) = outcome.failures
    assert failure.is_scalar and failure.scalar == 3.0
    assert "actual 3.0" in failure.describe()


def test_run_tests_reports_loader_errors():
    m = check("""
input x: number
test "data" {
  given data "nowhere.csv"
  expect x > 0
}
""")

    def broken(path):
        raise OSError(f"cannot read {path}")

    (outcome,) = run_tests(m, broken)
    assert not outcome.passed and outcome.result is None
    assert "cannot read nowhere.csv" in outcome.failures[0].message


def test_run_tests_hand_built():
    given = (M.TestGiven("x", c(3)),)
    case = M.TestCase("double", given, None, (b("==", r("z"), c(6)),), ("z == 6",))
    m = methodology(inp("x"), let("z", b("*", X, c(2))), tests=(case,))
    (outcome,) = run_tests(m)
    assert outcome.passed and outcome.failures == ()
    assert list(outcome.result.keys) == ["test"]


def test_scalar_values_recorded():
    res = run_text("""
input x: number
let m = population_mean(x)
let doubled = m * 2
""", {"x": [1.0, 2.0, 6.0]})
    assert res.traces["m"].scalars == {"value": 3.0, "n": 3}
    assert res.traces["doubled"].scalars == {"value": 6.0}
    assert values(res, "doubled") == [6.0] * 3


def test_skip_missing_renormalises_weights_in_tier_text():
    res = run_text("""
input a: number
input b: number
input c: number
score overall = weighted_mean(a: 25%, b: 25%, c: 50%, skip missing, require 2)
""", {"a": [4.0, 4.0, None], "b": [2.0, None, None], "c": [1.0, 1.0, 1.0]})
    expected = [0.25 * 4 + 0.25 * 2 + 0.5 * 1, (0.25 * 4 + 0.5 * 1) / 0.75, None]
    assert values(res, "overall") == expected
    assert reasons(res, "overall") == [None, None, "below_require"]


def test_within_groups_in_tier_text():
    res = run_text("""
input x: number
input region: text
indicator q = quartile(x, within region)
let national = population_mean(x)
let regional = population_mean(x, within region)
""", {"x": [1.0, 2.0, 3.0, 4.0, 10.0, 30.0], "region": ["N", "N", "N", "N", "S", "S"]})
    n = np.quantile([1.0, 2.0, 3.0, 4.0], [0.25, 0.5, 0.75], method="linear")
    s = np.quantile([10.0, 30.0], [0.25, 0.5, 0.75], method="linear")
    scalars = res.traces["q"].scalars
    assert [scalars[f"cut_{k}[N]"] for k in (1, 2, 3)] == n.tolist()
    assert [scalars[f"cut_{k}[S]"] for k in (1, 2, 3)] == s.tolist()
    assert values(res, "q") == [1.0, 2.0, 3.0, 4.0, 1.0, 4.0]
    assert values(res, "national") == [50.0 / 6] * 6
    assert values(res, "regional") == [2.5] * 4 + [20.0] * 2
    assert res.traces["regional"].scalars == {"value[N]": 2.5, "n[N]": 4, "value[S]": 20.0, "n[S]": 2}


def test_hand_built_tier_reads_earlier_nodes():
    m = methodology(inp("x"), let("s", b("*", X, c(10))),
                    tier("t", RATING, r("s"), [M.TierRule("good", M.ThresholdRule(">=", c(5))),
                                                M.TierRule("inadequate", M.OtherwiseRule())]))
    res = run(m, {"x": [0.5, 0.49999999999999994]})
    assert values(res, "t") == ["good", "good"]


def test_evaluate_expression_reads_list_nodes_back():
    m = check("""
type rating = level inadequate < "requires improvement" < good < outstanding
input safe: rating
input caring: rating
let kq = [safe, caring]
""")
    res = evaluate(m, frame(m, {"safe": ["inadequate", None, "good"], "caring": ["inadequate", "good", "good"]}))
    assert res.values("kq").tolist() == [("inadequate", "inadequate"), (None, "good"), ("good", "good")]
    kq = M.Ref("kq", m.node("kq").type)
    inadequate = M.LabelConst(m.types["rating"], "inadequate", T.level(m.types["rating"], True))
    row_count = M.Call("count", (b("==", kq, inadequate),), NUM)
    got = evaluate_expression(res, row_count)
    assert got.iloc[0] == 2.0 and np.isnan(got.iloc[1]) and got.iloc[2] == 0.0


def test_given_negative_numbers_and_levels():
    m = check("""
type rating = level inadequate < good
input x: number
input q: rating
let y = if q == good then -x else x
test "negative" {
  given x = -2.5, q = good
  expect y == 2.5
}
""")
    (outcome,) = run_tests(m)
    assert outcome.passed, [f.describe() for f in outcome.failures]
