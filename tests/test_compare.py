"""Outcome diff and attribution (audit.compare), from two runs recorded in an audit store.

Independent checks: the transition matrix against `pandas.crosstab` of the two runs' own
result tables (not read from the store), the rank correlations against brute-force
definitions, and (property tests) that diffing a methodology with itself changes nothing and
that for weighted-mean methodologies each entity's attributed parts sum to its score change.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import dsl
from audit import open_store
from audit.compare import _inversions, compare, comparisons, kendall_tau_b, spearman
from audit.explain_diff import explain_against
from audit.store import AuditError
from dsl.diff import diff
from tierlang import api, diffing

ROOT = Path(__file__).resolve().parents[1]
STP_2017 = ROOT / "methodologies" / "stp_dashboard_2017.tier"
STP_DRAFT = ROOT / "methodologies" / "stp_dashboard_2018_draft.tier"
STP_CSV = ROOT / "examples" / "stp_2017" / "stp_2017.csv"
STP_ORGS = ROOT / "examples" / "stp_2017" / "organisations.csv"
# the STPs, and their member organisations for the finance indicator
STP_DATA = api.Tables(str(STP_CSV), {"organisation": str(STP_ORGS)})


def _record(store, methodology, data, params=None):
    outcome = api.run(methodology, data, params=params)
    return store.record(outcome.result, dataset=outcome.dataset), outcome


def _compare(old_m, new_m, data, attribute="movers", old_data=None):
    store = open_store(":memory:")
    a, old_outcome = _record(store, old_m, old_data if old_data is not None else data)
    b, new_outcome = _record(store, new_m, data)
    comparison = compare(store, a, b, structural=diff(old_m, new_m), attribute=attribute)
    return store, comparison, old_outcome, new_outcome


# ---------------------------------------------------------------- the STP draft


@pytest.fixture(scope="module")
def stp(tmp_path_factory):
    path = tmp_path_factory.mktemp("stp") / "audit.db"
    outcome = diffing.diff_files(str(STP_2017), str(STP_DRAFT), STP_DATA, audit=str(path))
    return outcome, path


def test_stp_transition_matrix_against_pandas_crosstab():
    old_m, new_m = dsl.load(STP_2017), dsl.load(STP_DRAFT)
    _, c, old_outcome, new_outcome = _compare(old_m, new_m, STP_DATA)
    old_t = old_outcome.table.set_index("key")["tier"]
    new_t = new_outcome.table.set_index("key")["tier"]
    scale = ["outstanding", "advanced", "making_progress", "needs_most_improvement"]
    expected = pd.crosstab(pd.Categorical(old_t, categories=scale),
                           pd.Categorical(new_t.reindex(old_t.index), categories=scale), dropna=False)
    assert list(c.rows) == scale and list(c.columns) == scale
    assert [list(r) for r in c.counts] == expected.to_numpy().tolist()
    moved = old_t != new_t.reindex(old_t.index)
    assert len(c.movers) == int(moved.sum()) == c.up + c.down + c.other
    order = {label: i for i, label in enumerate(reversed(scale))}
    ups = sum(order[new_t[k]] > order[old_t[k]] for k in old_t.index)
    assert c.up == ups and c.same == int((~moved).sum())


def test_stp_correlations_against_pandas_ranks():
    old_m, new_m = dsl.load(STP_2017), dsl.load(STP_DRAFT)
    _, c, old_outcome, new_outcome = _compare(old_m, new_m, STP_DATA)
    x = old_outcome.table.set_index("key")["score"]
    y = new_outcome.table.set_index("key")["score"].reindex(x.index)
    assert c.spearman == pytest.approx(np.corrcoef(x.rank(), y.rank())[0, 1], abs=1e-12)
    assert c.kendall == pytest.approx(_brute_kendall(x.to_numpy(), y.to_numpy()), abs=1e-12)
    assert c.correlated == 44


def test_stp_draft_movers_and_attribution(stp):
    outcome, _ = stp
    c = outcome.comparison
    assert c.common == 44 and not c.only_old and not c.only_new
    assert len(c.movers) == 8
    by_key = {d.key: d for d in c.movers}
    hw = by_key["19"]  # Herefordshire and Worcestershire
    assert (hw.old_tier, hw.new_tier, hw.move) == ("needs_most_improvement", "making_progress", 1)
    causes = {x.text: x.amount for x in hw.attribution.causes}
    assert set(causes) == {"finance_score redefined", "cancer: + component cancer_survival_score",
                           "transformation_weight 50% → 40%"}
    assert causes["finance_score redefined"] == pytest.approx(0.15)
    assert causes["cancer: + component cancer_survival_score"] == pytest.approx(0.1375)
    assert hw.summary().startswith(
        "Herefordshire and Worcestershire (19): needs_most_improvement → making_progress: "
        "finance_score redefined (+0.15), cancer: + component cancer_survival_score (+0.1375), "
        "transformation_weight 50% → 40% (-0.04028)")
    for d in c.movers:
        assert math.isclose(d.attribution.total, d.score_change, abs_tol=1e-9)
    # sorted by size of move, then size of score change
    sizes = [(abs(d.move), abs(d.score_change)) for d in c.movers]
    assert sizes == sorted(sizes, reverse=True)


def test_stp_comparison_is_recorded_and_linked_to_both_runs(stp):
    outcome, path = stp
    store = open_store(path, create=False)
    try:
        (row,) = comparisons(store)
        assert (row["id"], row["kind"], row["old_run"], row["new_run"]) == (outcome.comparison_id,
                                                                            "methodologies", 1, 2)
        assert row["structural"]["extends"] is True
        assert len(row["outcome"]["movers"]) == 8
        assert [r.note for r in store.runs()] == ["tierlang diff: new", "tierlang diff: old"]
    finally:
        store.close()
    again = diffing.diff_runs(1, 2, audit=str(path))
    assert again.kind == "runs" and again.structural is not None
    assert [d.key for d in again.comparison.movers] == [d.key for d in outcome.comparison.movers]
    assert diffing.diff_runs(1, 2, audit=str(path)).comparison_id == again.comparison_id  # reused


def test_explain_against_marks_the_differing_nodes(stp):
    _, path = stp
    store = open_store(path, create=False)
    try:
        side = explain_against(store, "Herefordshire and Worcestershire", 1, 2)
    finally:
        store.close()
    status = {r.name: r.status for r in side.rows if not r.see_above}
    assert status["overall_rating"] == "value"
    assert status["cancer"] == "definition"
    assert status["finance_score"] == "definition"
    assert status["transformation_weight"] == "definition"
    assert status["cancer_survival_score"] == "added"
    assert status["ae_score"] == "same" and status["finance"] == "same"
    assert status["finance_domain"] == "value"
    cancer = next(r for r in side.rows if r.name == "cancer")
    assert cancer.notes == ("run 1: = mean(cancer_score, skip missing)",
                            "run 2: = mean(cancer_score, cancer_survival_score, skip missing)")


# ---------------------------------------------------------------- entity sets


BASE = """methodology "W"
entity E key id
input a: number
input b: number
score s = weighted_mean(a: {wa}, b: {wb})
tier t from s {{ high: >= 5  low: otherwise }}
"""


def _frame(keys, a, b):
    return pd.DataFrame({"id": keys, "a": a, "b": b})


def test_runs_on_different_entities_are_refused_unless_allowed():
    m = dsl.check_source(BASE.format(wa=0.5, wb=0.5), "w.tier")
    store = open_store(":memory:")
    one, _ = _record(store, m, _frame(["x", "y", "z"], [1, 9, 4], [2, 8, 7]))
    two, _ = _record(store, m, _frame(["y", "z", "w"], [9, 4, 3], [8, 7, 3]))
    with pytest.raises(AuditError) as error:
        compare(store, one, two)
    assert str(error.value) == (
        "runs 1 and 2 are on different sets of E entities (1 only in run 1: x, 1 only in run 2: w); "
        "compare them anyway with --allow-different-entities (the comparison then covers the "
        "entities in both)")
    c = compare(store, one, two, allow_different_entities=True)
    assert (c.common, c.only_old, c.only_new) == (2, ("x",), ("w",))


def test_data_changes_are_named_as_data():
    m = dsl.check_source(BASE.format(wa=0.5, wb=0.5), "w.tier")
    store = open_store(":memory:")
    one, _ = _record(store, m, _frame(["x", "y"], [1, 4], [2, 5]))
    two, _ = _record(store, m, _frame(["x", "y"], [9, 4], [2, 5]))
    c = compare(store, one, two, structural=diff(m, m))
    (mover,) = c.movers
    assert mover.key == "x"
    assert [(x.text, x.amount) for x in mover.attribution.causes] == [("data of input a differ", 4.0)]


def test_param_overrides_are_causes():
    text = BASE.replace("weighted_mean(a: {wa}, b: {wb})", "weighted_mean(a: w, b: 1 - w)")
    m = dsl.check_source("param w = 0.5\n".join(text.split("score s", 1)).replace(
        "param w = 0.5\n", "param w = 0.5\nscore s", 1).format(), "w.tier")
    store = open_store(":memory:")
    data = _frame(["x", "y"], [10, 1], [2, 1])
    one, _ = _record(store, m, data)
    two, _ = _record(store, m, data, params={"w": 0.2})
    c = compare(store, one, two, structural=diff(m, m))
    (p,) = c.params
    assert (p.name, p.old, p.new, p.overridden) == ("w", 0.5, 0.2, True)
    (mover,) = c.movers
    assert [(x.text, round(x.amount, 12)) for x in mover.attribution.causes] == [
        ("param w 0.5 → 0.2 (as run)", -2.4)]


# ---------------------------------------------------------------- rank correlations


def _brute_kendall(x, y):
    n0 = n1 = n2 = s = 0
    for i, j in itertools.combinations(range(len(x)), 2):
        dx, dy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
        n0 += 1
        n1 += dx == 0
        n2 += dy == 0
        s += dx * dy
    return s / math.sqrt((n0 - n1) * (n0 - n2))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), min_size=2, max_size=40))
def test_kendall_tau_b_and_spearman_against_definitions(pairs):
    x = np.array([p[0] for p in pairs], dtype=float)
    y = np.array([p[1] for p in pairs], dtype=float)
    tau = kendall_tau_b(x, y)
    rho = spearman(x, y)
    if len(set(x)) < 2 or len(set(y)) < 2:
        assert tau is None and rho is None
        return
    assert tau == pytest.approx(_brute_kendall(x, y), abs=1e-12)
    rx, ry = pd.Series(x).rank(), pd.Series(y).rank()
    assert rho == pytest.approx(np.corrcoef(rx, ry)[0, 1], abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 9), max_size=70))
def test_inversions_against_brute_force(values):
    a = np.array(values, dtype=np.int64)
    expected = sum(1 for i, j in itertools.combinations(range(len(a)), 2) if a[i] > a[j])
    assert _inversions(a) == expected


def test_kendall_of_a_large_sample_is_fast_and_right():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 50, 3000).astype(float)
    y = x + rng.normal(0, 10, 3000)
    sub = slice(0, 300)
    assert kendall_tau_b(x[sub], y[sub]) == pytest.approx(_brute_kendall(x[sub], y[sub]), abs=1e-12)
    assert -1 <= kendall_tau_b(x, y) <= 1


# ---------------------------------------------------------------- properties


@st.composite
def weighted_methodology(draw):
    """A methodology of weighted means over four inputs: weights as literals or a param,
    components chosen at random, `skip missing` or not, a quartile-scored component."""
    def weight():
        return draw(st.sampled_from([0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.75, 1, 2]))

    p = weight() if draw(st.booleans()) else 0.5
    skip = draw(st.booleans())
    option = ", skip missing" if skip else ""
    d1_parts = draw(st.lists(st.sampled_from(["x1", "x2", "q3"]), min_size=1, max_size=3, unique=True))
    d1 = ", ".join(f"{c}: {weight()}" for c in d1_parts)
    top = draw(st.lists(st.sampled_from(["d1", "d2", "x4"]), min_size=1, max_size=3, unique=True))
    top_weights = {"d1": f"{weight()}", "d2": "pw", "x4": f"{weight()}"}
    top_text = ", ".join(f"{c}: {top_weights[c]}" for c in top)
    function = draw(st.sampled_from(["weighted_mean", "mean"]))
    normalise = ", normalise" if function == "weighted_mean" else ""
    cutoffs = sorted(draw(st.lists(st.integers(1, 9), min_size=2, max_size=2, unique=True)), reverse=True)
    return f"""methodology "P"
entity E key id
input x1: number
input x2: number
input x3: number
input x4: number
param pw = {p}
indicator q3 = quartile(x3)
domain d1 = mean({d1}{option})
domain d2 = weighted_mean(x1: pw, x2: 1 - pw{option}, normalise)
score s = {function}({top_text}{option}{normalise})
tier t from s {{ high: >= {cutoffs[0]}  mid: >= {cutoffs[1]}  low: otherwise }}
"""


@st.composite
def frames(draw):
    n = draw(st.integers(3, 12))
    value = st.one_of(st.none(), st.integers(0, 10), st.floats(0, 10, allow_nan=False).map(lambda v: round(v, 2)))
    columns = {f"x{i}": draw(st.lists(value, min_size=n, max_size=n)) for i in range(1, 5)}
    return pd.DataFrame({"id": [f"e{i}" for i in range(n)], **columns})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(weighted_methodology(), weighted_methodology(), frames())
def test_attribution_sums_to_the_score_change(old_text, new_text, frame):
    old_m = dsl.check_source(old_text, "old.tier")
    new_m = dsl.check_source(new_text, "new.tier")
    _, c, old_outcome, new_outcome = _compare(old_m, new_m, frame, attribute="all")
    assert len(c.entities) == len(frame)
    for d in c.entities:
        if d.score_change is None:
            assert d.attribution.parts == ()
            continue
        total = d.attribution.total
        assert abs(total - d.score_change) <= 1e-9, (d.key, d.attribution.parts, d.score_change)
        # the score is decomposed as a weighted aggregation, not passed on whole
        assert all(p.node != "s" or p.effect in ("weight", "component") for p in d.attribution.parts)
        assert math.isclose(math.fsum(x.amount for x in d.attribution.causes), total, abs_tol=1e-12)
        if d.score_change == 0:
            assert d.attribution.parts == ()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(weighted_methodology(), frames())
def test_a_methodology_diffed_with_itself_changes_nothing(text, frame):
    m = dsl.check_source(text, "m.tier")
    again = dsl.check_source(text, "m.tier")
    _, c, outcome, _ = _compare(m, again, frame, attribute="all")
    assert diff(m, again).is_empty
    counts = np.array(c.counts)
    assert c.rows == c.columns
    assert (counts == np.diag(np.diag(counts))).all()
    assert counts.sum() == len(frame)
    assert c.movers == () and c.up == c.down == c.other == 0 and c.same == len(frame)
    assert all(d.attribution.parts == () for d in c.entities)
    scores = outcome.table["score"].dropna()
    assume(scores.nunique() > 1)
    assert c.spearman == pytest.approx(1.0) and c.kendall == pytest.approx(1.0)


# ---------------------------------------------------------------- tier causes

TIERED = """methodology "T"
entity E key id
input a: number
input b: number
input breach: boolean
param cutoff = {cutoff}
score s = {score}
tier t from s {{ high: >= cutoff  low: otherwise }}
limit t to at most low when breach
"""


def test_tier_causes_name_thresholds_limits_and_missing_scores():
    old_m = dsl.check_source(TIERED.format(cutoff=5, score="mean(a, b)"), "old.tier")
    new_m = dsl.check_source(TIERED.format(cutoff=6, score="mean(a, b, skip missing)"), "new.tier")
    frame = pd.DataFrame({"id": ["x", "y", "z"], "a": [5, 7, 8], "b": [6, None, 9],
                          "breach": ["no", "no", "no"]})
    _, c, _, _ = _compare(old_m, new_m, frame)
    movers = {d.key: d for d in c.movers}
    assert set(movers) == {"x", "y"}
    x = movers["x"].attribution
    assert x.parts == () and x.score_change == 0
    assert x.tier_causes == ("rule high (>= cutoff) → low (otherwise)", "cutoff 5 → 6")
    y = movers["y"]
    assert (y.old_tier, y.new_tier, y.old_score, y.new_score) == (None, "high", None, 7.0)
    assert y.attribution.tier_causes == (
        "rule (none) → high (>= cutoff)", "cutoff 5 → 6", "no score in run 1 (s: + skip missing)")
