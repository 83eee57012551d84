"""dsl.rewrite: variants of a checked methodology for sensitivity analysis, on model trees alone
(no data): weights scaled by multiplier params, an indicator dropped."""

from __future__ import annotations

import dsl
from dsl import model as M
from dsl import rewrite
from dsl.constants import fold

SOURCE = """
methodology "m" version "1"
entity org key code
input a: number
input b: number
input c: number
indicator sa = a
indicator sb = b
indicator sc = c
domain d1 = mean(sa)
domain d2 = mean(sb, sc)
score total = weighted_mean(d1: 25%, d2: 75%)
score points = sum(sa: 2, sb: 1, sc: 1)
tier t from total {
  high: >= 2
  low: otherwise
}
"""


def _m() -> M.Methodology:
    return dsl.check_source(SOURCE)


def _call(m: M.Methodology, node: str) -> M.Call:
    (call,) = rewrite.weighted_calls(m.node(node))
    return call


def test_no_multipliers_is_the_same_methodology():
    m = _m()
    assert rewrite.with_weight_multipliers(m, {}) is m


def test_multipliers_scale_the_weights_and_keep_their_total():
    m = _m()
    params = ("r1", "r2")
    rewritten = rewrite.with_weight_multipliers(m, {("total", 0): params})
    # the multiplier params come first, declared 1, and the node now depends on them
    assert [(n.name, n.kind, n.value) for n in rewritten.nodes[:2]] == [("r1", M.PARAM, 1.0), ("r2", M.PARAM, 1.0)]
    assert set(params) <= set(rewritten.node("total").deps)
    weights = _call(rewritten, "total").weights
    assert [fold(w, {"r1": 1.0, "r2": 1.0}) for w in weights] == [0.25, 0.75]
    # r = (2, 2/3) turns 25% / 75% into 50% / 50%: each weight w r (sum w) / (sum w r)
    moved = [fold(w, {"r1": 2.0, "r2": 2 / 3}) for w in weights]
    assert moved == [0.5, 0.5]
    # every other node is the same object
    assert all(a is b for a, b in zip(rewritten.nodes[2:], m.nodes) if a.name != "total")


def test_dropping_an_indicator_renormalises_every_aggregation_it_feeds():
    m = _m()
    assert rewrite.drop_candidates(m) == ["sa", "sb", "sc"]
    no_b = rewrite.without(m, "sb")
    d2 = no_b.node("d2").expr
    assert [a.name for a in d2.args] == ["sc"]
    points = no_b.node("points").expr
    assert [a.name for a in points.args] == ["sa", "sc"]
    # a sum scales the weights left up to the total weight it had: (2 + 1 + 1) / (2 + 1)
    assert [fold(w, {}) for w in points.weights] == [2 * 4 / 3, 1 * 4 / 3]


def test_an_aggregation_left_with_nothing_makes_its_node_missing_and_is_dropped_in_turn():
    no_a = rewrite.without(_m(), "sa")
    assert isinstance(no_a.node("d1").expr, M.Const) and no_a.node("d1").expr.value is None
    total = no_a.node("total").expr
    assert [a.name for a in total.args] == ["d2"] and total.normalise


def test_reads_lists_references_and_within_groups_once():
    m = _m()
    assert rewrite.reads(m.node("points").expr) == ("sa", "sb", "sc")
