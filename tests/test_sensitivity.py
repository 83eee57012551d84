"""Sensitivity analysis (docs/sensitivity.md): the samples axis of the interpreter, the range
forms of params, the estimators on methodologies whose answer is known analytically,
reproducibility, the nominal run, drop-one and weight perturbation, the audit record."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import dsl
from dsl import model as M
from dsl.errors import TierError
from dsl.formatter import format_source
from interpreter.data import dataset_from_frame, prepare_inputs, read_dataset
from interpreter.param_errors import ParamError
from interpreter.values import from_series
from tierlang import api
from tierlang.sensitivity import analyse, drop_candidates, sample_ranks, weight_choices, without

E = importlib.import_module("interpreter.evaluate")
F = importlib.import_module("interpreter.functions")
S = importlib.import_module("tierlang.sensitivity.summary")

ROOT = Path(__file__).resolve().parents[1]
STP_FILE = ROOT / "methodologies" / "stp_dashboard_2017.tier"
STP_CSV = ROOT / "examples" / "stp_2017" / "stp_2017.csv"
STP_ORGS = ROOT / "examples" / "stp_2017" / "organisations.csv"
# the STPs, and their member organisations for the finance indicator
STP_DATA = api.Tables(str(STP_CSV), {"organisation": str(STP_ORGS)})
HEADER = 'methodology "test"\nentity org key id\n'


def stp_prepared(m: M.Methodology):
    return prepare_inputs(m, read_dataset(STP_CSV), {"organisation": read_dataset(STP_ORGS)})


def check(body: str) -> M.Methodology:
    return dsl.check_source(HEADER + body, "test.tier")


def table(**columns) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    return pd.DataFrame({"id": [f"E{i}" for i in range(n)], **columns})


def inputs_of(m: M.Methodology, frame: pd.DataFrame) -> pd.DataFrame:
    return prepare_inputs(m, dataset_from_frame(frame)).frame


# ================================================================ range forms


RANGE_FORMS = """type rating = level bad < ok < good
input x: number
param u = 50% range 40%..60%
param w = 50% range normal(50%, 5%)
param v = 0.5 one of [0.4, 0.5, 60%]
param c = true one of [true, false]
param l = good one of [good, ok]
param t = "a" one of ["a", "b"]
param n = -1 range normal(-1, 0.5)
let y = x * w
"""


def test_range_forms_parse_check_and_round_trip():
    m = check(RANGE_FORMS)
    d = {p.name: p.distribution for p in m.params}
    assert d["u"] == M.Distribution(M.UNIFORM, (0.4, 0.6))
    assert m.node("u").range == (0.4, 0.6)
    assert d["w"] == M.Distribution(M.NORMAL, (0.5, 0.05))
    assert m.node("w").range is None
    assert d["v"] == M.Distribution(M.ONE_OF, (0.4, 0.5, 0.6))
    assert d["c"] == M.Distribution(M.ONE_OF, (True, False))
    assert d["l"] == M.Distribution(M.ONE_OF, ("good", "ok"))
    assert d["t"] == M.Distribution(M.ONE_OF, ("a", "b"))
    assert d["n"] == M.Distribution(M.NORMAL, (-1.0, 0.5))
    assert d["w"].text == "normal(50%, 5%)"
    source = HEADER + RANGE_FORMS
    formatted = format_source(source, "test.tier")
    assert "param w = 50% range normal(50%, 5%)" in formatted
    assert "param v = 0.5 one of [0.4, 0.5, 60%]" in formatted
    assert 'param t = "a" one of ["a", "b"]' in formatted
    assert dsl.parse(formatted) == dsl.parse(source)
    assert format_source(formatted, "test.tier") == formatted


def test_range_words_stay_usable_as_names():
    m = check("param one = 1 one of [1, 2]\nlet normal = one + 1\nlet of = normal * 2\n")
    assert m.node("one").distribution.values == (1.0, 2.0)


@pytest.mark.parametrize(("body", "code"), [
    ("param w = 0.5 range normal(0.5, 0)", "bad-sd"),
    ("param w = 0.5 range normal(0.5, -1)", "bad-sd"),
    ("param w = 0.5 one of [0.4, 0.6]", "param-not-an-option"),
    ("param w = 0.5 one of [0.5, true]", "type-error"),
    ("param w = 0.5 one of [0.5, 0.5]", "duplicate-option"),
    ("param w = true range normal(1, 1)", "range-not-number"),
    ("type r = level a < b\nparam w = a one of [a, c]", "unknown-label"),
])
def test_range_forms_are_checked(body, code):
    with pytest.raises(TierError) as error:
        check(body)
    assert code in [d.code for d in error.value.diagnostics]


def test_a_value_far_from_its_normal_mean_is_a_warning():
    report = dsl.check_file("test.tier", HEADER + "param w = 0.9 range normal(0.5, 0.1)\n")
    assert not report.errors
    assert [d.code for d in report.warnings] == ["param-far-from-mean"]


def test_overrides_must_be_among_the_options():
    m = check("param v = 0.5 one of [0.4, 0.5]\n")
    assert E.resolve_params(m, {"v": 0.4})["v"] == 0.4
    with pytest.raises(ParamError, match="not one of its options"):
        E.resolve_params(m, {"v": 0.45})


# ================================================================ the samples axis


def assert_blocks_equal_single_runs(m, inputs, samples, share_invariant, members=None):
    """Every node of every sample, stacked, equals a single run with that sample's params."""
    evaluator = E.SampleEvaluator(m, inputs, sampled=list(samples), share_invariant=share_invariant,
                                  members=members)
    stacked = evaluator.run(samples)
    count = len(next(iter(samples.values())))
    for s in range(count):
        params = {k: (v[s].item() if hasattr(v[s], "item") else v[s]) for k, v in samples.items()}
        single = E.evaluate(m, inputs, params=params, members=members)
        for name, trace in single.traces.items():
            value = stacked[name]
            if value.is_list:
                continue
            got = value.data.reshape(count, -1)[s]
            want = from_series(trace.values, trace.node.type, inputs.index).data
            if want.dtype == object:
                assert list(got) == list(want), (name, s)
            else:
                assert np.array_equal(got, want, equal_nan=True), (name, s, got, want)
            assert list(value.reasons.reshape(count, -1)[s]) == list(trace.reasons), (name, s)


@pytest.mark.parametrize("share_invariant", [True, False])
def test_stacked_samples_equal_single_runs_for_stp(share_invariant):
    m = dsl.load(STP_FILE)
    prepared = stp_prepared(m)
    rng = np.random.default_rng(7)
    samples = {"transformation_weight": np.r_[0.5, 0.4, 0.6, rng.uniform(0.4, 0.6, 4)],
               "advanced_cutoff": np.r_[2.5, 2.25, 2.75, rng.uniform(2.25, 2.75, 4)]}
    assert_blocks_equal_single_runs(m, prepared.frame, samples, share_invariant, prepared.members)


EVERY_POPULATION_FUNCTION = """type rating = level poor < fair < good < great
input x: number
input y: number
input region: text
input grade: rating
param w = 0.5 range 0..1
param q = 0.25 range 0..1
param q2 = 0.75 range 0.5..1
param d = 1 one of [0, 1, 2]
param nb = 4 one of [3, 4, 5]
param cap = true one of [true, false]
param lab = fair one of [poor, fair, good]
let z = x * w + y * (1 - w)
let zr = round(z, d)
let sq = sqrt(z - w + 1)
indicator r1 = rank(z)
indicator r2 = rank(z, lower is better, within region)
indicator r3 = rank(sq)
indicator p1 = percentile(zr)
indicator p2 = percentile(z, lower is better)
indicator qb = quantile_band(z, nb)
indicator qt = quartile(z, within region)
indicator q3 = quartile(sq)
indicator zs = zscore(z)
indicator zs2 = zscore(zr, lower is better, within region)
indicator zs3 = zscore(sq)
indicator mm = minmax(z)
indicator mm2 = minmax(zr, lower is better)
indicator mm3 = minmax(sq)
indicator ws = winsorize(z, q, q2)
indicator ws2 = winsorize(z, 0.1, 0.9, within region)
indicator ws3 = winsorize(sq, q, q2, within region)
let pm = population_mean(z)
let pmr = population_mean(z, within region)
let pmed = population_median(zr)
let pm3 = population_median(sq)
let psd = population_sd(z)
let psd2 = population_sd(zr, within region)
let ps3 = population_sd(sq)
let pq = population_quantile(z, q)
let pq2 = population_quantile(z, 0.3, within region)
let pq3 = population_quantile(sq, q)
let cnt = count(z > pm)
let c3 = count(sq > 1)
let pk = z for "E3"
let pk2 = z for "NOPE"
let lvl = if grade >= lab then 1 else 0
score total = mean(r1, p1, qb, zs, mm, ws, skip missing) + cnt / 10 + lvl
tier t: rating from total {
  great: top 10%
  poor: bottom 3
  good: >= pm + w
  fair: otherwise
}
limit t to at most fair when cap and grade == poor
"""


@pytest.mark.parametrize("share_invariant", [True, False])
def test_stacked_samples_equal_single_runs_for_every_population_function(share_invariant):
    m = check(EVERY_POPULATION_FUNCTION)
    rng = np.random.default_rng(3)
    n = 40
    x = rng.normal(size=n).round(1)
    x[[2, 7]] = np.nan
    y = rng.normal(size=n).round(1)
    y[5] = np.nan
    region = rng.choice(["a", "b", "c"], n).astype(object)
    region[4] = None
    inputs = inputs_of(m, table(x=x, y=y, region=region, grade=rng.choice(["poor", "fair", "good", "great"], n)))
    count = 9
    samples = {"w": np.r_[0.0, 1.0, rng.uniform(0, 1, count - 2)], "q": rng.uniform(0, 0.5, count),
               "q2": rng.uniform(0.5, 1, count), "d": rng.choice([0.0, 1.0, 2.0], count),
               "nb": rng.choice([3.0, 4.0, 5.0], count), "cap": rng.choice([True, False], count),
               "lab": rng.choice(["poor", "fair", "good"], count).astype(object)}
    evaluator = E.SampleEvaluator(m, inputs, sampled=list(samples))
    missing = np.isnan(evaluator.matrix(evaluator.run(samples)["sq"])).sum(axis=1)
    assert len(set(missing)) > 3  # populations of different sizes in different samples
    assert_blocks_equal_single_runs(m, inputs, samples, share_invariant)


def test_invariant_nodes_are_evaluated_once():
    m = dsl.load(STP_FILE)
    prepared = stp_prepared(m)
    evaluator = E.SampleEvaluator(m, prepared.frame, sampled=["advanced_cutoff"], wanted=["overall_rating"],
                                  members=prepared.members)
    assert [n.name for n in evaluator.order] == ["advanced_cutoff", "overall_rating"]


def test_samples_are_checked_like_overrides():
    m = dsl.load(STP_FILE)
    prepared = stp_prepared(m)
    evaluator = E.SampleEvaluator(m, prepared.frame, sampled=["transformation_weight"], members=prepared.members)
    with pytest.raises(ParamError, match="outside its range"):
        evaluator.run({"transformation_weight": np.array([0.5, 0.7])})
    with pytest.raises(ParamError, match="unknown param"):
        E.SampleEvaluator(m, prepared.frame, sampled=["nope"], members=prepared.members)


def test_a_population_function_without_a_block_kernel_is_computed_block_by_block(monkeypatch):
    numeric = importlib.import_module("interpreter.numeric")

    def rank_1d(ev, call):
        def kernel(s, v):
            return 1.0 + (len(s) - numeric.count_at_most(s, v)), None, {"n": float(len(s))}

        return F._population(ev, call, kernel, scalar_result=False)

    def mean_1d(ev, call):
        def kernel(s, v):
            return (None, "component_missing", {}) if len(s) == 0 else (float(np.mean(s)), None, {})

        return F._population(ev, call, kernel, scalar_result=True)

    monkeypatch.setitem(F.FUNCTIONS, "rank", rank_1d)
    monkeypatch.setitem(F.FUNCTIONS, "population_mean", mean_1d)
    m = check("input x: number\ninput g: text\nparam w = 1 range 0..4\nlet y = sqrt(x - w)\n"
              "indicator r = rank(y, within g)\nlet pm = population_mean(y)\n")
    inputs = inputs_of(m, table(x=[0.5, 1.0, 2.0, 3.0, None, 1.5], g=["a", "b", "a", "a", "b", None]))
    assert_blocks_equal_single_runs(m, inputs, {"w": np.array([0.0, 1.0, 2.0, 4.0, 0.7])}, True)


def test_rank_statistics_match_numpy():
    rng = np.random.default_rng(1)
    ranks = rng.integers(1, 9, size=(41, 6)).astype(float)
    ranks[rng.random(ranks.shape) < 0.3] = np.nan
    ranks[:, 5] = np.nan
    median, low, high = S._rank_statistics(ranks, 6)
    for e in range(5):
        column = ranks[:, e][~np.isnan(ranks[:, e])]
        assert median[e] == np.median(column)
        assert low[e] == np.quantile(column, 0.05, method="lower")
        assert high[e] == np.quantile(column, 0.95, method="higher")
    assert (median[5], low[5], high[5]) == (None, None, None)


def test_row_searchsorted_and_quantiles_match_numpy():
    rng = np.random.default_rng(0)
    for m in (1, 2, 5, 17):
        s = np.sort(rng.integers(0, 6, size=(30, m)).astype(float) / 2, axis=1)
        q = rng.integers(-1, 8, size=(30, 11)).astype(float) / 2
        for side in ("left", "right"):
            want = np.array([np.searchsorted(s[r], q[r], side=side) for r in range(30)])
            assert np.array_equal(F._count_rows(s, q, side), want)
        levels = rng.uniform(0, 1, 30)
        levels[:3] = [0.0, 1.0, 0.5]
        want = np.array([np.quantile(s[r], levels[r], method="linear") for r in range(30)])
        assert np.array_equal(F._quantile_rows(s, levels), want)


# ================================================================ estimators, analytically


ONE_PARAM = """input x: number
param a = 0.5 range 0..1
param b = 0.5 range 0..1
param c = 1 range 1..1
score s = x * a
tier t from s {
  high: >= c
  low: otherwise
}
"""


def test_a_score_of_one_param_has_index_one_for_it_and_zero_for_the_others():
    m = check(ONE_PARAM)
    analysis = analyse(m, table(x=np.arange(1, 11) / 4), samples=4000, seed=3)
    a, b, c = (analysis.choice(n) for n in "abc")
    assert a.first_order == pytest.approx(1.0, abs=0.05)
    assert a.total_order == pytest.approx(1.0, abs=0.05)
    assert (b.first_order, b.total_order, c.first_order, c.total_order) == (0.0, 0.0, 0.0, 0.0)
    assert (b.first_order_tier, b.total_order_tier) == (0.0, 0.0)
    assert a.first_order_tier == pytest.approx(1.0, abs=0.05)
    assert analysis.choices[0].name == "a"
    assert a.tier_change_share > 0
    # a zero-width range never changes a tier (nor does a param the score does not read)
    assert c.tier_change_share == 0.0 and b.tier_change_share == 0.0


def test_additive_score_has_the_analytic_indices():
    # s = a + 2b with a, b uniform on 0..1: V(a) = 1/12, V(2b) = 4/12, so S_a = 0.2, S_b = 0.8
    m = check("input x: number\nparam a = 0.5 range 0..1\nparam b = 0.5 range 0..1\n"
              "score s = x + a + 2 * b\ntier t from s {\n  high: >= 2.5\n  low: otherwise\n}\n")
    analysis = analyse(m, table(x=[0.0, 0.5, 1.0]), samples=20000, seed=11)
    a, b = analysis.choice("a"), analysis.choice("b")
    assert a.first_order == pytest.approx(0.2, abs=0.04)
    assert b.first_order == pytest.approx(0.8, abs=0.04)
    assert a.total_order == pytest.approx(0.2, abs=0.04)
    assert b.total_order == pytest.approx(0.8, abs=0.04)
    assert analysis.choices[0].name == "b"


def test_tier_indices_of_a_threshold_have_the_analytic_values():
    # tier = [2a >= cut], a uniform 0.4..0.6, cut uniform 0.9..1.1: E[tier | a] is 0 (a quarter of
    # the time), 1 (a quarter) or uniform on 0..1, so S_a = (1/4 + 1/6 - 1/4) / (1/4) = 2/3;
    # E[tier | cut] is uniform on 1/4..3/4, so S_cut = (1/48) / (1/4) = 1/12; no other term
    # but their interaction: ST_a = 1 - S_cut, ST_cut = 1 - S_a.
    m = check("input x: number\nparam a = 0.5 range 0.4..0.6\nparam cut = 1 range 0.9..1.1\n"
              "score s = x * a * 2\ntier t from s {\n  high: >= cut\n  low: otherwise\n}\n")
    analysis = analyse(m, table(x=[1.0]), samples=60000, seed=4)
    a, cut = analysis.choice("a"), analysis.choice("cut")
    assert a.first_order_tier == pytest.approx(2 / 3, abs=0.03)
    assert cut.first_order_tier == pytest.approx(1 / 12, abs=0.03)
    assert a.total_order_tier == pytest.approx(11 / 12, abs=0.03)
    assert cut.total_order_tier == pytest.approx(1 / 3, abs=0.03)
    assert a.first_order == pytest.approx(1.0, abs=0.03) and cut.first_order == 0.0
    # varied alone, each changes the tier whenever it crosses the other's declared value: a
    # below 0.5 (half the time), cut above 1 (half the time)
    assert a.tier_change_share == pytest.approx(0.5, abs=0.02)
    assert cut.tier_change_share == pytest.approx(0.5, abs=0.02)


def test_zero_width_ranges_only_keep_every_tier():
    m = check("input x: number\nparam a = 0.5 range 0.5..0.5\nscore s = x * a\n"
              "tier t from s {\n  high: top 2\n  low: otherwise\n}\n")
    analysis = analyse(m, table(x=[1.0, 2.0, 3.0, 4.0]), samples=100, seed=1)
    (a,) = analysis.choices
    assert a.tier_change_share == 0.0
    assert a.first_order is None  # nothing varied: no index
    assert all(e.held == 1.0 and e.stable and e.rank_low == e.rank_high == e.nominal_rank
               for e in analysis.entities)
    assert analysis.mean_abs_rank_shift == 0.0


def test_discrete_and_normal_choices():
    m = check("input x: number\nparam cap = false one of [true, false]\nparam a = 1 range normal(1, 0.1)\n"
              "score s = x * a\ntier t from s {\n  low: s <= 0 or (cap and s >= 2)\n  high: >= 2\n"
              "  low: otherwise\n}\n")
    analysis = analyse(m, table(x=[1.0, 3.0]), samples=4000, seed=5)
    high = analysis.entity("E1")
    assert high.nominal_tier == "high"
    assert high.probabilities["low"] == pytest.approx(0.5, abs=0.05)  # cap is true half the time
    assert analysis.choice("cap").tier_change_share == pytest.approx(0.25, abs=0.03)
    assert high.most_sensitive == "cap"


def test_same_seed_same_analysis_other_seed_other():
    m = dsl.load(STP_FILE)
    one = analyse(m, STP_DATA, samples=400, seed=42)
    two = analyse(m, STP_DATA, samples=400, seed=42)
    three = analyse(m, STP_DATA, samples=400, seed=43)
    assert one.choices == two.choices
    assert one.entities == two.entities
    assert one.choices != three.choices


def test_nominal_run_equals_tierlang_run():
    m = dsl.load(STP_FILE)
    analysis = analyse(m, STP_DATA, samples=200, seed=1)
    run = api.run(m, STP_DATA)
    expected = run.table.set_index("key")
    for e in analysis.entities:
        row = expected.loc[e.key]
        assert e.nominal_tier == row["tier"]
        assert e.nominal_score == row["score"]
        assert e.nominal_rank == row["rank"]
    assert sorted(e.key for e in analysis.entities) == sorted(expected.index)
    assert analysis.outcome.table.equals(run.table)


def test_sample_ranks_rank_like_tierlang_run():
    m = dsl.load(STP_FILE)
    run = api.run(m, STP_DATA)
    trace = run.result.traces["overall_rating"]
    codes = trace.values.cat.codes.to_numpy().astype(float)
    ranks = sample_ranks(codes[None, :], trace.tier.from_values.to_numpy()[None, :])[0]
    assert ranks.tolist() == run.table["rank"].astype(float).tolist()
    with_gaps = sample_ranks(np.array([[1.0, np.nan, 1.0, 0.0]]), np.array([[2.0, 9.0, 2.0, 5.0]]))
    assert with_gaps[0, [0, 2, 3]].tolist() == [1.0, 1.0, 3.0] and np.isnan(with_gaps[0, 1])


def test_stp_analysis_is_coherent():
    m = dsl.load(STP_FILE)
    analysis = analyse(m, STP_DATA, samples=2000, seed=1)
    assert analysis.samples == 2000 and analysis.evaluations == 1000 * 6
    for e in analysis.entities:
        assert sum(e.probabilities.values()) == pytest.approx(1.0)
        assert e.held == pytest.approx(e.probabilities[e.nominal_tier])
        assert e.rank_low <= e.median_rank <= e.rank_high
    # the cut-off moves no score; the transformation weight is the score's only choice
    cutoff, weight = analysis.choice("advanced_cutoff"), analysis.choice("transformation_weight")
    assert cutoff.first_order == 0.0 and cutoff.first_order_tier > 0
    assert weight.first_order == pytest.approx(1.0, abs=0.05)


def test_nothing_to_sample_is_a_usage_error():
    m = check("input x: number\nscore s = x\ntier t from s {\n  high: >= 1\n  low: otherwise\n}\n")
    with pytest.raises(api.UsageError, match="nothing to sample"):
        analyse(m, table(x=[1.0]), samples=10)


# ================================================================ weights and drop-one


WEIGHTED = """input a: number
input b: number
input c: number
indicator sa = a
indicator sb = b
indicator sc = c
domain d1 = mean(sa, skip missing)
domain d2 = mean(sb, sc)
param w = 25% range 20%..30%
score total = weighted_mean(d1: w, d2: 1 - w)
score points = sum(sa: 2, sb: 1, sc: 1)
tier t from total {
  high: >= 2
  low: otherwise
}
"""


def test_perturbed_weights_are_dirichlet_around_the_declared_ones():
    m = check(WEIGHTED)
    frame = table(a=[1.0, 2.0, 3.0], b=[3.0, 1.0, 2.0], c=[1.0, 1.0, 4.0])
    nominal = api.run(m, frame).result
    rewritten, choices, notes = weight_choices(m, nominal, 100.0)
    assert [c.name for c in choices] == ["weights:total", "weights:points"]
    assert choices[0].shares == (0.25, 0.75)
    assert notes == []
    inputs = inputs_of(m, frame)
    params = [p for c in choices for p in c.params]
    evaluator = E.SampleEvaluator(rewritten, inputs, sampled=params, wanted=["total", "points"])
    ones = {p: np.ones(1) for p in params}
    values = evaluator.run(ones)
    assert np.allclose(evaluator.matrix(values["total"])[0], nominal.values("total"), rtol=1e-12)
    assert np.allclose(evaluator.matrix(values["points"])[0], nominal.values("points"), rtol=1e-12)
    # multipliers 2 and 2/3 turn the weights 25% / 75% into 50% / 50% (their sum is kept)
    moved = evaluator.run({**ones, "weights:total:1": np.array([2.0]), "weights:total:2": np.array([2 / 3])})
    d1, d2 = nominal.values("d1").to_numpy(), nominal.values("d2").to_numpy()
    assert np.allclose(evaluator.matrix(moved["total"])[0], 0.5 * d1 + 0.5 * d2, rtol=1e-12)
    draws = choices[0].draw(np.random.default_rng(0), 20000)
    weights = np.column_stack([draws[p] * s for p, s in zip(choices[0].params, choices[0].shares)])
    assert np.allclose(weights.sum(axis=1), 1.0)
    assert weights.mean(axis=0) == pytest.approx([0.25, 0.75], abs=0.005)
    analysis = analyse(m, frame, samples=200, seed=2, weights=100)
    assert {c.name for c in analysis.choices} == {"w", "weights:total", "weights:points"}


def test_drop_one_removes_an_indicator_and_renormalises():
    m = check(WEIGHTED)
    frame = table(a=[1.0, 2.0, 3.0], b=[3.0, 1.0, 2.0], c=[1.0, 1.0, 4.0])
    assert drop_candidates(m) == ["sa", "sb", "sc"]
    inputs = inputs_of(m, frame)
    # sa was d1's only component: d1 goes, and total is d2 alone (weights re-normalised)
    no_a = E.evaluate(without(m, "sa"), inputs)
    assert no_a.values("d1").isna().all()
    assert no_a.values("total").tolist() == no_a.values("d2").tolist() == [2.0, 1.0, 3.0]
    assert no_a.values("points").tolist() == pytest.approx([8.0, 4.0, 12.0])  # 2 (b + c)
    # sb leaves sc in d2; the sum scales the weights left up to the total weight (4 / 3)
    no_b = E.evaluate(without(m, "sb"), inputs)
    assert no_b.values("d2").tolist() == [1.0, 1.0, 4.0]
    assert no_b.values("points").tolist() == pytest.approx([(2 * 1 + 1) * 4 / 3, (4 + 1) * 4 / 3, (6 + 4) * 4 / 3])
    analysis = analyse(m, frame, samples=20, seed=1, drop_one=True)
    assert [d.indicator for d in analysis.drop_one] == ["sa", "sb", "sc"]
    assert all(0 <= d.tier_change_share <= 1 for d in analysis.drop_one)


# ================================================================ the audit record


def test_analysis_is_recorded_with_its_nominal_run(tmp_path):
    from audit import open_store
    from audit.analyses import analyses, choice_rows, entity_rows, robustness_line
    from audit.explain import explain
    from tierlang.render.explain import render_text

    db = tmp_path / "audit.db"
    m = dsl.load(STP_FILE)
    analysis = analyse(m, STP_DATA, samples=300, seed=9, audit=db, drop_one=True)
    store = open_store(db)
    try:
        (info,) = analyses(store)
        assert info.id == analysis.analysis_id and info.run == analysis.outcome.run_id
        assert info.seed == 9 and info.samples == 300 and info.tier == "overall_rating"
        assert info.methodology_sha256 == store.run(info.run).methodology_sha256
        assert info.dataset_sha256 == store.run(info.run).dataset_sha256
        assert [c["name"] for c in info.spec["choices"]] == ["transformation_weight", "advanced_cutoff"]
        rows = entity_rows(store, info.id)
        assert [r["key"] for r in rows] == [e.key for e in analysis.entities]
        dorset = next(r for r in rows if r["key"] == "41")
        assert dorset["held"] == analysis.entity("41").held
        choices = choice_rows(store, info.id)
        assert [c["choice"] for c in choices[:2]] == [c.name for c in analysis.choices]
        assert sum(c["kind"] == "drop" for c in choices) == 12
        line = robustness_line(store, info.run, "41")
        assert line.startswith("tier held in ") and "of 300 samples" in line
        text = render_text(explain(store, "Dorset"))
        assert text.splitlines()[4] == f"robustness: {line}"
        assert store.verify() == []
    finally:
        store.close()
