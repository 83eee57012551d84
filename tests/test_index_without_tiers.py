"""A methodology without tiers (an index): `tierlang run` ranks entities by its last `score`
(highest first, ties share the best rank) and `tierlang diff` compares two such runs by rank,
checked against pandas."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from tierlang.cli import main

INDEX = '''methodology "A composite index"
entity country key iso3

input a: number
input b: number
param wa = 50%
indicator za = zscore(a)
indicator zb = zscore(b)
score index "Index" = weighted_mean(za: wa, zb: 1 - wa)
'''


@pytest.fixture
def files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(8)
    n = 30
    frame = pd.DataFrame({"iso3": [f"C{i:02d}" for i in range(n)], "a": rng.normal(size=n).round(1),
                          "b": rng.normal(size=n).round(1)})
    frame.loc[4, "a"] = np.nan
    frame.to_csv("d.csv", index=False)
    (tmp_path / "old.tier").write_text(INDEX, encoding="utf-8")
    (tmp_path / "new.tier").write_text(INDEX.replace("param wa = 50%", "param wa = 80%"), encoding="utf-8")
    return frame


def oracle(frame: pd.DataFrame, wa: float) -> pd.DataFrame:
    z = (frame[["a", "b"]] - frame[["a", "b"]].mean()) / frame[["a", "b"]].std()
    index = (wa * z["a"] + (1 - wa) * z["b"]).round(12)  # weighted_mean with both components present
    out = pd.DataFrame({"index": index.to_numpy()}, index=frame["iso3"])
    out["rank"] = out["index"].rank(method="min", ascending=False)
    return out


def test_run_ranks_an_index_by_its_score(files):
    result = CliRunner().invoke(main, ["run", "old.tier", "--data", "d.csv", "--no-audit", "--format", "json"])
    assert result.exit_code == 0, result.output
    got = json.loads(result.output)
    assert got["tier"] is None and got["ranked_by"] == "index"
    want = oracle(files, 0.5)
    ranks = {e["key"]: e["rank"] for e in got["entities"]}
    assert ranks == {k: (None if np.isnan(r) else int(r)) for k, r in want["rank"].items()}
    table = CliRunner().invoke(main, ["run", "old.tier", "--data", "d.csv", "--no-audit"]).output
    assert "no tiers: ranked by index, highest first; 29 ranked" in table
    assert "not ranked (1, index missing): C04" in table


def test_diff_compares_two_indices_by_rank(files):
    result = CliRunner().invoke(main, ["diff", "old.tier", "new.tier", "--data", "d.csv", "--audit", "a.db"])
    assert result.exit_code == 0, result.output
    old, new = oracle(files, 0.5), oracle(files, 0.8)
    moved = (old["rank"] != new["rank"]) & old["rank"].notna()
    up = int((new["rank"] < old["rank"]).sum())
    down = int((new["rank"] > old["rank"]).sum())
    assert "no tiers: entities ranked by index, highest first; a move is a change of rank" in result.output
    assert f"moved up {up} (" in result.output and f"down {down} (" in result.output
    assert f"movers ({int(moved.sum())}), largest move first" in result.output
    biggest = (old["rank"] - new["rank"]).abs().idxmax()
    line = next(x for x in result.output.splitlines() if x.strip().startswith(f"{biggest}: rank "))
    change = new["index"][biggest] - old["index"][biggest]
    assert line.strip() == (f"{biggest}: rank {int(old['rank'][biggest])} → {int(new['rank'][biggest])}: "
                            f"wa 50% → 80% ({change:+.4g})")


TWO_WEIGHTED = INDEX.replace("param wa = 50%", "param wa = 50% range 30%..70%\nparam noise = 1 range 0..2") + \
    "score other = weighted_mean(za: 30%, zb: 70%) * noise\n"


def test_sensitivity_of_an_index_gives_its_rank_intervals_and_score_indices(files, tmp_path):
    (tmp_path / "s.tier").write_text(TWO_WEIGHTED, encoding="utf-8")
    result = CliRunner().invoke(main, ["sensitivity", "s.tier", "--data", "d.csv", "--no-audit", "--samples", "400",
                                       "--seed", "3", "--format", "json"])
    assert result.exit_code == 0, result.output
    got = json.loads(result.output)
    # the last score, `other`, is the index: `wa` does not reach it, `noise` scales it (ranks unchanged)
    assert got["score"] == "other"
    by_name = {c["name"]: c for c in got["choices"]}
    assert by_name["wa"]["first_order_index"] in (None, 0.0)
    assert by_name["noise"]["first_order_index"] > 0.9
    ranks = (0.3 * ((files["a"] - files["a"].mean()) / files["a"].std())
             + 0.7 * ((files["b"] - files["b"].mean()) / files["b"].std())).round(12)
    nominal = ranks.rank(method="min", ascending=False)
    for e in got["entities"]:
        i = int(e["key"][1:])
        if np.isnan(nominal[i]):
            assert e["nominal_rank"] is None
            continue
        assert e["nominal_rank"] == int(nominal[i])
        # scaling the index by a positive number never changes a rank
        assert e["median_rank"] == e["rank_interval"][0] == e["rank_interval"][1] == e["nominal_rank"]


def test_weights_of_limits_the_perturbed_aggregations(files, tmp_path):
    (tmp_path / "s.tier").write_text(TWO_WEIGHTED, encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(main, ["sensitivity", "s.tier", "--data", "d.csv", "--no-audit", "--samples", "50",
                                  "--seed", "1", "--weights", "dirichlet(50)", "--weights-of", "index",
                                  "--format", "json"])
    assert result.exit_code == 0, result.output
    names = [c["name"] for c in json.loads(result.output)["choices"]]
    assert sorted(names) == ["noise", "wa", "weights:index"]
    bad = runner.invoke(main, ["sensitivity", "s.tier", "--data", "d.csv", "--no-audit", "--weights", "dirichlet(5)",
                               "--weights-of", "nope"])
    assert bad.exit_code != 0
    assert "--weights-of nope: no weighted aggregation of that name" in bad.output
    assert "(there are: index, other)" in bad.output
    alone = runner.invoke(main, ["sensitivity", "s.tier", "--data", "d.csv", "--no-audit", "--weights-of", "index"])
    assert alone.exit_code != 0 and "give --weights too" in alone.output


def test_the_renderer_and_the_analysis_agree_on_the_index_marker():
    from tierlang import sensitivity
    from tierlang.render import sensitivity as rendered

    assert rendered.INDEX_TIER == sensitivity.INDEX_TIER
