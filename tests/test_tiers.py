"""Tiers: thresholds, top/bottom N and P% with ties, rule-based tiers, missing labels, limits."""

from __future__ import annotations

import pandas as pd
from interp_helpers import (
    LEVEL,
    RATING,
    b,
    c,
    call,
    inp,
    lab,
    listof,
    methodology,
    r,
    reasons,
    run,
    run_text,
    tier,
    values,
)

from dsl import model as M
from dsl import types as T

BAND = T.LevelType("band", ("low", "medium", "high", "very high"))


def display(result, name):
    return result.traces[name].tier.display.tolist()


def rule_index(result, name):
    return result.traces[name].tier.rule_index.tolist()


# ---------------------------------------------------------------- thresholds


HDI = """
input hdi: number
tier hdi_group "HDI group" from round(hdi, 3) {
  "Very high": >= 0.800
  "High":      >= 0.700
  "Medium":    >= 0.550
  "Low":       otherwise
  missing: "Not rated"
}
tier raw_group from hdi {
  "Very high": >= 0.800
  "Other":     otherwise
}
"""


def test_hdi_boundary_at_0800():
    hdi = [0.7995, 0.79949, 0.8, 0.8000000000000002, 0.7999999999999999, 0.7, 0.5499, 0.1, None]
    res = run_text(HDI, {"hdi": hdi})
    assert values(res, "hdi_group") == [
        "Very high", "High", "Very high", "Very high", "Very high", "High", "Medium", "Low", None]
    assert display(res, "hdi_group")[-1] == "Not rated"
    assert reasons(res, "hdi_group")[-1] == "component_missing"
    assert rule_index(res, "hdi_group") == [0, 1, 0, 0, 0, 1, 2, 3, -1]
    from_values = res.traces["hdi_group"].tier.from_values.tolist()
    assert from_values[:2] == [0.8, 0.799]
    # without rounding, binary noise below 0.8 is still "Very high": decimal-safe thresholds
    assert values(res, "raw_group")[2:5] == ["Very high"] * 3
    assert values(res, "raw_group")[0:2] == ["Other", "Other"]
    assert display(res, "raw_group")[-1] is None


def test_tier_values_are_an_ordered_categorical_over_the_scale():
    res = run_text(HDI, {"hdi": [0.9, 0.3]})
    v = res.values("hdi_group")
    assert isinstance(v.dtype, pd.CategoricalDtype) and v.dtype.ordered
    assert list(v.dtype.categories) == ["Low", "Medium", "High", "Very high"]  # worst first
    assert res.traces["hdi_group"].scalars["Very high.threshold"] == 0.8


def test_one_minus_0975_is_within_two_and_a_half_percent():
    res = run_text("""
input x: number
let gap = 1 - x
tier t from gap {
  small: <= 2.5%
  large: otherwise
}
""", {"x": [0.975, 0.97]})
    assert values(res, "t") == ["small", "large"]


# ---------------------------------------------------------------- top / bottom


def _ranked(rules, xs, missing_label=None):
    m = methodology(inp("x"), tier("t", BAND, r("x"), rules, missing_label))
    return run(m, {"x": xs})


def rule(label, condition):
    return M.TierRule(label, condition)


def test_top_n_includes_ties_at_the_edge():
    xs = [9.0, 8.0, 7.0, 6.0, 5.0, 5.0, 4.0, 3.0, 2.0, 1.0, None]
    res = _ranked([rule("very high", M.RankRule("top", 5, False)), rule("low", M.OtherwiseRule())], xs)
    assert values(res, "t") == ["very high"] * 6 + ["low"] * 4 + [None]
    scalars = res.traces["t"].scalars
    assert scalars["very high.edge"] == 5.0 and scalars["very high.count"] == 5 and scalars["n"] == 10


def test_top_n_ties_are_decimal_safe():
    xs = [3.0, 0.1 + 0.2, 0.3, 0.1]
    res = _ranked([rule("high", M.RankRule("top", 2, False)), rule("low", M.OtherwiseRule())], xs)
    assert values(res, "t") == ["high", "high", "high", "low"]


def test_bottom_n_and_rank_rules_look_at_every_entity():
    xs = [9.0, 8.0, 7.0, 6.0, 5.0, 2.0, 1.0, 1.0]
    rules = [rule("very high", M.RankRule("top", 2, False)),
             rule("low", M.RankRule("bottom", 2, False)),
             rule("high", M.ThresholdRule(">=", c(6))),
             rule("medium", M.OtherwiseRule())]
    res = _ranked(rules, xs)
    assert values(res, "t") == ["very high", "very high", "high", "high", "medium", "medium", "low", "low"]
    # bottom 2 with a tie at 1.0: exactly the two 1.0s; top N larger than n takes everyone
    res = _ranked([rule("high", M.RankRule("top", 50, False)), rule("low", M.OtherwiseRule())], [1.0, None])
    assert values(res, "t") == ["high", None]


def test_top_percent():
    rules = [rule("very high", M.RankRule("top", 0.1, True)), rule("low", M.OtherwiseRule())]
    for n, taken in [(20, 2), (21, 3), (30, 3), (5, 1)]:
        xs = [float(v) for v in range(n)]
        res = _ranked(rules, xs)
        assert values(res, "t").count("very high") == taken, n
    res = _ranked(rules, [float(v) for v in range(30)])
    assert res.traces["t"].scalars["very high.count"] == 3.0  # 10% of 30 is 3, not ceil(3.0000000000000004)


def test_top_and_bottom_in_tier_text():
    res = run_text("""
type category = level needs_most_improvement < making_progress < advanced < outstanding
input overall: number
tier rating: category from overall {
  outstanding:            top 2
  needs_most_improvement: bottom 2
  advanced:               >= 2.5
  making_progress:        otherwise
  missing: "Not rated"
}
""", {"overall": [3.5, 3.2, 3.2, 2.6, 2.4, 1.0, 1.5, None]})
    assert values(res, "rating") == ["outstanding", "outstanding", "outstanding", "advanced", "making_progress",
                                      "needs_most_improvement", "needs_most_improvement", None]
    assert display(res, "rating")[-1] == "Not rated"


# ---------------------------------------------------------------- rule-based


CQC = """
type rating = level inadequate < "requires improvement" < good < outstanding
input safe: rating
input effective: rating
input caring: rating
input responsive: rating
input well_led: rating
input breach: boolean
let key_questions = [safe, effective, caring, responsive, well_led]
tier cqc_overall: rating {
  inadequate:             count(key_questions == inadequate) >= 2
  "requires improvement": count(key_questions == "requires improvement") >= 2
  outstanding:            count(key_questions == outstanding) >= 2 and count(key_questions <= "requires improvement") == 0
  good:                   otherwise
  missing: "Not rated"
}
limit cqc_overall to at most "requires improvement" when breach
"""


def _cqc(rows):
    names = ["safe", "effective", "caring", "responsive", "well_led", "breach"]
    return run_text(CQC, {n: [row[i] for row in rows] for i, n in enumerate(names)})


I, RI, G, O = "inadequate", "requires improvement", "good", "outstanding"  # noqa: E741


def test_cqc_rules():
    res = _cqc([
        (I, I, G, G, G, False),
        (RI, RI, G, G, G, False),
        (O, O, G, G, G, False),
        (O, O, G, G, RI, False),
        (O, G, G, G, G, False),
        (O, O, G, G, G, True),
        (I, I, RI, RI, G, False),
    ])
    assert values(res, "cqc_overall") == [I, RI, O, G, G, RI, I]
    trace = res.traces["cqc_overall"].tier
    assert trace.before_limits.tolist() == [I, RI, O, G, G, O, I]
    assert trace.rule_index.tolist() == [0, 1, 2, 3, 3, 2, 0]
    assert trace.from_values is None
    (limit,) = trace.limits
    assert limit.index == 0
    assert limit.acted.tolist() == [False, False, False, False, False, True, False]
    assert limit.after.tolist() == [I, RI, O, G, G, RI, I]


def test_missing_condition_makes_a_rule_based_tier_missing():
    res = _cqc([
        (G, G, G, G, None, False),   # count(...) is missing: unknown, not "good" by otherwise
        (I, I, G, G, None, False),   # still missing: no falling through an unknown condition
        (G, G, G, G, G, None),       # a missing limit condition does not act
    ])
    assert values(res, "cqc_overall") == [None, None, G]
    assert reasons(res, "cqc_overall") == ["component_missing", "component_missing", None]
    assert display(res, "cqc_overall") == ["Not rated", "Not rated", G]
    assert rule_index(res, "cqc_overall") == [-1, -1, 3]


def test_a_condition_that_holds_before_a_missing_one_assigns():
    m = methodology(
        inp("x"), inp("y"),
        tier("t", BAND, None, [
            rule("very high", M.ConditionRule(b(">", r("x"), c(5)))),
            rule("high", M.ConditionRule(b(">", r("y"), c(5)))),
            rule("low", M.OtherwiseRule()),
        ]),
    )
    res = run(m, {"x": [9.0, 1.0, 1.0, None], "y": [None, 9.0, None, 9.0]})
    assert values(res, "t") == ["very high", "high", None, None]
    assert reasons(res, "t") == [None, None, "component_missing", "component_missing"]


def test_no_rule_held():
    m = methodology(inp("x"), tier("t", BAND, r("x"), [rule("high", M.ThresholdRule(">=", c(5)))], "n/a"))
    res = run(m, {"x": [7.0, 1.0, None]})
    assert values(res, "t") == ["high", None, None]
    assert reasons(res, "t") == [None, "no_rule_held", "component_missing"]
    assert display(res, "t") == ["high", None, "n/a"]  # the missing label is for missing data only


# ---------------------------------------------------------------- limits


def test_limits_at_most_and_at_least_in_order():
    limits = (
        M.Limit("at most", "medium", b("==", r("flag", LEVEL), lab("inadequate"))),
        M.Limit("at least", "high", b("==", r("flag", LEVEL), lab("outstanding"))),
        M.Limit("at most", "low", b(">", r("x"), c(100))),
    )
    m = methodology(
        inp("x"), inp("flag", LEVEL),
        tier("t", BAND, r("x"), [
            rule("very high", M.ThresholdRule(">=", c(90))),
            rule("high", M.ThresholdRule(">=", c(50))),
            rule("medium", M.ThresholdRule(">=", c(20))),
            rule("low", M.OtherwiseRule()),
        ], limits=limits),
    )
    data = {"x": [95.0, 30.0, 10.0, 95.0, 150.0, 10.0, None],
            "flag": ["inadequate", "inadequate", "outstanding", "outstanding", "outstanding", None, "outstanding"]}
    res = run(m, data)
    trace = res.traces["t"].tier
    assert trace.before_limits.tolist()[:6] == ["very high", "medium", "low", "very high", "very high", "low"]
    first, second, third = trace.limits
    assert first.acted.tolist() == [True, False, False, False, False, False, False]
    assert first.after.tolist()[:6] == ["medium", "medium", "low", "very high", "very high", "low"]
    assert second.acted.tolist() == [False, False, True, False, False, False, False]
    assert second.after.tolist()[:6] == ["medium", "medium", "high", "very high", "very high", "low"]
    assert third.acted.tolist() == [False, False, False, False, True, False, False]
    assert values(res, "t") == ["medium", "medium", "high", "very high", "low", "low", None]
    assert trace.display.tolist() == ["medium", "medium", "high", "very high", "low", "low", None]
    assert pd.isna(trace.before_limits.iloc[-1])


def test_limit_in_tier_text():
    res = run_text("""
type category = level needs_most_improvement < making_progress < advanced < outstanding
input overall: number
input leadership: level limited < emerging < developing < established
tier rating: category from overall {
  advanced:        >= 2.5
  making_progress: otherwise
}
limit rating to at most making_progress when leadership == limited
""", {"overall": [3.0, 3.0, 2.0], "leadership": ["limited", "emerging", "limited"]})
    assert values(res, "rating") == ["making_progress", "advanced", "making_progress"]
    assert res.traces["rating"].tier.limits[0].acted.tolist() == [True, False, False]


def test_tier_from_a_population_expression_records_its_statistics():
    m = methodology(inp("x"), tier("t", BAND, call("quartile", r("x")), [
        rule("very high", M.ThresholdRule(">=", c(4))), rule("low", M.OtherwiseRule())]))
    res = run(m, {"x": [1.0, 2.0, 3.0, 4.0, 5.0]})
    assert values(res, "t") == ["low"] * 4 + ["very high"]
    assert res.traces["t"].scalars["cut_2"] == 3.0


def test_rule_with_list_condition_count():
    qs = listof(r("a", LEVEL), r("b", LEVEL))
    cond = b(">=", call("count", b("==", qs, lab("good"))), c(2))
    m = methodology(inp("a", LEVEL), inp("b", LEVEL),
                    tier("t", RATING, None, [rule("good", M.ConditionRule(cond)), rule("inadequate", M.OtherwiseRule())]))
    res = run(m, {"a": ["good", "good"], "b": ["good", "outstanding"]})
    assert values(res, "t") == ["good", "inadequate"]


def test_top_5_with_ties_at_the_edge_in_tier_text():
    overall = [3.9, 3.8, 3.7, 3.6, 3.5, 3.5, 3.5, 3.0, 2.0, 1.0, 1.0, None]
    res = run_text("""
type category = level needs_most_improvement < making_progress < advanced < outstanding
input overall: number
tier rating: category from overall {
  outstanding:            top 5
  needs_most_improvement: bottom 1
  advanced:               >= 2.5
  making_progress:        otherwise
}
""", {"overall": overall})
    assert values(res, "rating") == ["outstanding"] * 7 + ["advanced", "making_progress"] + \
        ["needs_most_improvement"] * 2 + [None]
    scalars = res.traces["rating"].scalars
    assert scalars["outstanding.edge"] == 3.5 and scalars["outstanding.count"] == 5.0
    assert scalars["needs_most_improvement.edge"] == 1.0 and scalars["n"] == 11.0
