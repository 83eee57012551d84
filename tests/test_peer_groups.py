"""`within` a computed peer group (any per-entity input or definition), in population
functions and in `top`/`bottom` tier rules, checked against independent pandas oracles; and
the same under sensitivity blocks, where a computed group may differ from sample to sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from interp_helpers import check, run_text, values
from test_sensitivity import assert_blocks_equal_single_runs, inputs_of, table

from dsl import check_file
from dsl import model as M
from dsl import syntax as S
from dsl.parser import parse

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests/golden/valid/peer_groups.tier"

BODY = """input a: number
input b: number
input mort: number
input region: text
param cut = 3
let reported = count([a is not missing, b is not missing, mort is not missing])
let peer = if reported >= cut then "full" else "partial"
indicator r = rank(mort, lower is better, within reported)
indicator z = zscore(mort, within peer)
let peer_mean = population_mean(mort, within peer)
tier best from mort {
  top: top 1 within peer
  low: bottom 25% within reported
  rest: otherwise
}
"""


def data(n: int = 40, seed: int = 13) -> dict:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n).round(2).astype(object)
    b = rng.normal(size=n).round(2).astype(object)
    a[rng.random(n) < 0.3] = None
    b[rng.random(n) < 0.3] = None
    mort = rng.normal(size=n).round(1).astype(object)  # rounded: ties within groups
    mort[3] = None
    return {"a": list(a), "b": list(b), "mort": list(mort), "region": list(rng.choice(["x", "y"], n))}


def frame_of(d: dict) -> pd.DataFrame:
    f = pd.DataFrame(d).astype({"a": float, "b": float, "mort": float})
    f["reported"] = f[["a", "b", "mort"]].notna().sum(axis=1).astype(float)
    f["peer"] = np.where(f["reported"] >= 3, "full", "partial")
    return f


def test_the_golden_file_parses_computed_groups_methods_and_rank_rules_within():
    module = parse(GOLDEN.read_text(encoding="utf-8"), str(GOLDEN))
    calls = {s.name: s.expr for s in module.statements if isinstance(s, S.Definition)}
    assert S.Within("groups_reported") in calls["rank_in_peer"].arguments
    assert S.Method("6") in calls["q1"].arguments
    assert S.Method("median_unbiased") in calls["q1_named"].arguments
    tier = next(s for s in module.statements if isinstance(s, S.TierDecl))
    assert [r.condition.within for r in tier.rules[:2]] == ["peer", "region"]


def test_the_checker_resolves_a_definition_as_group_and_depends_on_it():
    m = check_file(ROOT / "tests/golden/valid_checked/peer_groups.tier").methodology
    rank = m.node("rank_in_peer")
    assert rank.expr.within == "groups_reported" and "groups_reported" in rank.deps
    assert m.node("q1").expr.method == "weibull"  # R type 6
    assert m.node("q1_sas").expr.method == "averaged_inverted_cdf"  # SAS PCTLDEF=5 = R type 2
    assert m.node("q1_named").expr.method == "median_unbiased"
    best = m.node("best")
    assert best.tier.rules[0].condition == M.RankRule("bottom", 1.0, False, "peer")
    assert "peer" in best.deps and "region" in best.deps
    names = [n.name for n in m.nodes]
    assert names.index("groups_reported") < names.index("rank_in_peer")


def test_population_functions_within_a_computed_group_match_pandas():
    d = data()
    result = run_text(BODY, d)
    f = frame_of(d)
    # oracle: pandas groupby, competition ranks ("min"), sample sd
    want_rank = f.groupby("reported")["mort"].rank(method="min", ascending=True)
    assert values(result, "r") == [None if np.isnan(v) else v for v in want_rank]
    grouped = f.groupby("peer")["mort"]
    want_z = (f["mort"] - grouped.transform("mean")) / grouped.transform("std")
    got_z = np.array([np.nan if v is None else v for v in values(result, "z")], dtype=float)
    assert np.allclose(got_z, want_z, equal_nan=True, rtol=1e-12)
    assert np.allclose(values(result, "peer_mean"), grouped.transform("mean"), rtol=1e-12)
    stats = result.traces["peer_mean"].scalars
    assert stats["value[full]"] == pytest.approx(f.loc[f.peer == "full", "mort"].mean(), rel=1e-12)
    assert stats["n[partial]"] == f.loc[f.peer == "partial", "mort"].notna().sum()


def test_rank_rules_within_a_computed_group_match_pandas():
    d = data()
    result = run_text(BODY, d)
    f = frame_of(d)
    # oracle: `top 1 within peer` takes each peer group's highest values (ties included), then
    # `bottom 25% within reported` ceil(25% of the group's present values) lowest, ties included
    top = f["mort"] >= f.groupby("peer")["mort"].transform("max")

    def bottom_edge(group: pd.Series) -> float:
        present = group.dropna().sort_values()
        return present.iloc[int(np.ceil(0.25 * len(present))) - 1]

    low = f["mort"] <= f.groupby("reported")["mort"].transform(bottom_edge)
    want = np.where(f["mort"].isna(), None, np.where(top, "top", np.where(low, "low", "rest")))
    assert values(result, "best") == list(want)
    stats = result.traces["best"].scalars
    assert stats["top.edge[full]"] == f.loc[f.peer == "full", "mort"].max()
    assert stats["low.count[2]"] == np.ceil(0.25 * f.loc[f.reported == 2, "mort"].count())


def test_a_number_input_groups_entities():
    result = run_text("input x: number\ninput g: number\nindicator r = rank(x, within g)\n",
                      {"x": [1, 2, 3, 4], "g": [1, 1, 2, None]})
    assert values(result, "r") == [2.0, 1.0, 1.0, None]
    assert result.traces["r"].reasons.tolist()[3] == "component_missing"


def test_a_group_that_depends_on_a_sampled_param_is_formed_in_each_sample():
    m = check(BODY)
    d = data(30, seed=5)
    inputs = inputs_of(m, table(**{k: [np.nan if v is None else v for v in col] if k != "region" else col
                                   for k, col in d.items()}))
    samples = {"cut": np.array([1.0, 2.0, 3.0, 2.0])}  # the peer groups differ between samples
    for share_invariant in (True, False):
        assert_blocks_equal_single_runs(m, inputs, samples, share_invariant)
