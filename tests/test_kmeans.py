"""`kmeans_band` against an independent oracle (plain Python loops and pandas, written from the
algorithm's description in docs/language.md), its statistics, explain's sentence, and the
hospital star rating methodology against a pandas re-implementation of the whole method."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from interp_helpers import check, run_text, values
from test_sensitivity import assert_blocks_equal_single_runs, inputs_of, table

from audit.explain import format_number
from tierlang.cli import main

ROOT = Path(__file__).resolve().parents[1]
HOSPITALS = ROOT / "examples/hospital_stars/hospitals.csv"
STARS = ROOT / "methodologies/hospital_star_rating.tier"


def oracle_kmeans(x: list[float], k: int, strict: float) -> tuple[list[int], dict]:
    """Bands 1..k (k = highest centroid) by the documented algorithm, one value at a time."""
    ranks = pd.Series(x).rank(method="average")  # PROC RANK TIES=MEAN
    groups = [math.floor(r * k / (len(x) + 1)) for r in ranks]
    seeds = [float(np.median([v for v, g in zip(x, groups) if g == j])) for j in range(k)]

    def nearest(v, centroids):
        best = 0
        for j in range(1, k):
            if abs(v - centroids[j]) < abs(v - centroids[best]):
                best = j
        return best

    def run(centroids, limit):
        passes = 0
        while True:
            passes += 1
            sums, counts = [0.0] * k, [0] * k
            for v in sorted(x):
                j = nearest(v, centroids)
                if limit is None or abs(v - centroids[j]) <= limit:
                    sums[j] += v
                    counts[j] += 1
            updated = [sums[j] / counts[j] if counts[j] else centroids[j] for j in range(k)]
            if updated == centroids:
                return centroids, passes
            centroids = updated

    first, passes_1 = run(seeds, None)
    final, passes_2 = run(first, strict)
    order = sorted(range(k), key=lambda j: final[j])
    band_of = {j: order.index(j) + 1 for j in range(k)}
    stats = {f"centroid_{b}": final[order[b - 1]] for b in range(1, k + 1)}
    stats.update({f"seed_{b}": sorted(seeds)[b - 1] for b in range(1, k + 1)})
    stats.update(iterations_1=passes_1, iterations_2=passes_2)
    return [band_of[nearest(v, final)] for v in x], stats


def sample(n: int, seed: int) -> list[float]:
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(0, 1, n), rng.normal(4, 0.5, n // 4), [11.0, -7.5]])  # two outliers
    return list(np.round(x, 3))


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("k, strict", [(5, 1.0), (3, 0.5), (4, 100.0)])
def test_bands_and_statistics_match_the_oracle(seed, k, strict):
    x = sample(60, seed)
    result = run_text(f"input x: number\nindicator c = kmeans_band(x, {k}, {strict})\n", {"x": x})
    bands, stats = oracle_kmeans(x, k, strict)
    assert values(result, "c") == bands
    recorded = result.traces["c"].scalars
    for name, value in stats.items():
        assert recorded[name] == pytest.approx(value, rel=1e-12, abs=1e-15), name
    assert recorded["n"] == len(x)


def test_lower_is_better_reverses_the_bands_and_their_statistics():
    x = sample(40, 7)
    higher = run_text("input x: number\nindicator c = kmeans_band(x, 5, 1)\n", {"x": x})
    lower = run_text("input x: number\nindicator c = kmeans_band(x, 5, 1, lower is better)\n", {"x": x})
    assert values(lower, "c") == [6 - b for b in values(higher, "c")]
    assert lower.traces["c"].scalars["centroid_1"] == higher.traces["c"].scalars["centroid_5"]


def test_clusters_are_formed_within_each_computed_peer_group():
    rng = np.random.default_rng(4)
    x = list(np.round(rng.normal(size=50), 3))
    g = [1.0 if i % 3 else 2.0 for i in range(50)]
    body = "input x: number\ninput g: number\nlet peer = g * 2\nindicator c = kmeans_band(x, 3, 1, within peer)\n"
    result = run_text(body, {"x": x, "g": g})
    got = values(result, "c")
    for group in (1.0, 2.0):
        members = [i for i in range(50) if g[i] == group]
        bands, stats = oracle_kmeans([x[i] for i in members], 3, 1.0)
        assert [got[i] for i in members] == bands
        assert result.traces["c"].scalars[f"centroid_3[{group * 2:g}]"] == pytest.approx(stats["centroid_3"])


def test_too_few_values_or_tied_quantile_groups_are_out_of_domain():
    result = run_text("input x: number\ninput g: text\nindicator c = kmeans_band(x, 3, 1, within g)\n",
                      {"x": [1, 2, 3, 4, 5, 1, 2, None], "g": ["a"] * 5 + ["b"] * 3})
    assert values(result, "c")[5:] == [None, None, None]
    assert result.traces["c"].reasons.tolist()[5:] == ["out_of_domain", "out_of_domain", "component_missing"]
    tied = run_text("input x: number\nindicator c = kmeans_band(x, 3, 1)\n", {"x": [1, 1, 1, 1, 2]})
    assert set(tied.traces["c"].reasons.tolist()) == {"out_of_domain"}


def test_a_sampled_strict_distance_equals_single_runs():
    m = check("input x: number\nparam s = 1\nparam k = 4\nindicator c = kmeans_band(x, k, s)\n")
    inputs = inputs_of(m, table(x=np.array(sample(30, 9))))
    assert_blocks_equal_single_runs(m, inputs, {"s": np.array([0.2, 1.0, 5.0]), "k": np.array([3.0, 4.0, 4.0])},
                                    True)


# ---------------------------------------------------------------- the hospital star rating


def oracle_stars(path: Path) -> pd.DataFrame:
    """The methodology's steps in pandas (docs/methodologies.md), with oracle_kmeans."""
    d = pd.read_csv(path, dtype={"hospital_id": str}).set_index("hospital_id")
    lower = {"mortality": True, "safety": True, "readmission": True, "experience": False}

    def z(s: pd.Series, low: bool) -> pd.Series:
        out = (s - s.mean()) / s.std()
        return -out if low else out

    groups = {
        "mortality": ["mort_ami", "mort_hf", "mort_pn", "mort_stroke"],
        "safety": ["hai_clabsi", "hai_cauti", "hai_mrsa", "psi_90"],
        "readmission": ["readm_hf", "readm_pn", "readm_copd", "readm_hospital"],
        "experience": ["hcahps_nurse", "hcahps_doctor", "hcahps_clean", "hcahps_overall"],
        "process": ["sep_1", "imm_3", "op_10", "op_18b"],
    }
    weights = {"mortality": 0.22, "safety": 0.22, "readmission": 0.22, "experience": 0.22, "process": 0.12}
    scores = pd.DataFrame(index=d.index)
    for name, measures in groups.items():
        directions = [lower.get(name, m in ("op_10", "op_18b")) for m in measures]
        standard = pd.concat([z(d[m], low) for m, low in zip(measures, directions)], axis=1)
        mean = standard.mean(axis=1).where(standard.notna().sum(axis=1) >= 3)
        scores[name] = z(mean, False)
    reported = scores.notna().sum(axis=1)
    rated = (reported >= 3) & (scores["mortality"].notna() | scores["safety"].notna())
    w = pd.DataFrame({g: np.where(scores[g].notna(), weights[g], 0.0) for g in groups}, index=d.index)
    summary = (scores.fillna(0) * w).sum(axis=1) / w.sum(axis=1)
    out = pd.DataFrame({"rated": rated, "peer": reported.where(rated), "summary": summary.where(rated)})
    out["stars"] = None
    for _, members in out[out.rated].groupby("peer"):
        bands, _ = oracle_kmeans(list(members["summary"]), 5, 1.0)
        out.loc[members.index, "stars"] = bands
    return out


def test_the_hospital_star_rating_matches_a_pandas_reimplementation(tmp_path):
    outcome_csv = tmp_path / "out.csv"
    result = CliRunner().invoke(main, ["run", str(STARS), "--data", str(HOSPITALS), "--no-audit",
                                       "--out", str(outcome_csv)])
    assert result.exit_code == 0, result.output
    got = pd.read_csv(outcome_csv, dtype={"key": str}).set_index("key")
    want = oracle_stars(HOSPITALS)
    assert got["rated"].tolist() == want["rated"].tolist()
    assert np.allclose(got["summary"], want["summary"].astype(float), equal_nan=True, rtol=1e-9)
    labels = {5: "5 stars", 4: "4 stars", 3: "3 stars", 2: "2 stars", 1: "1 star", None: "Not rated"}
    assert got["tier"].tolist() == [labels[s] for s in want["stars"]]
    assert set(want["peer"].dropna()) == {3.0, 4.0, 5.0}


def test_explain_shows_the_cluster_centroids_and_seeds(tmp_path):
    db = tmp_path / "a.db"
    runner = CliRunner()
    assert runner.invoke(main, ["run", str(STARS), "--data", str(HOSPITALS), "--audit", str(db)]).exit_code == 0
    result = runner.invoke(main, ["explain", "H0002", "--audit", str(db)])
    assert result.exit_code == 0, result.output
    want = oracle_stars(HOSPITALS)
    peer = want.loc["H0002", "peer"]
    members = want[want.peer == peer]
    bands, stats = oracle_kmeans(list(members["summary"]), 5, 1.0)
    band = bands[list(members.index).index("H0002")]
    line = next(x for x in result.output.splitlines() if "nearest centroid" in x).strip()
    assert line.startswith(f"cluster {band} of 5: nearest centroid {format_number(stats[f'centroid_{band}'])}; next ")
    assert "seeds (quantile-group medians) " + " / ".join(format_number(stats[f"seed_{b}"]) for b in range(1, 6)) \
        in line
    assert f"iterations {stats['iterations_1']} + {stats['iterations_2']}" in line
    assert line.endswith(f"(n = {len(members)}) within peer_group {peer:g}")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-100, 100, allow_nan=False).map(lambda v: round(v, 2)), min_size=5, max_size=40),
       st.integers(2, 5), st.randoms(use_true_random=False))
def test_bands_are_monotone_and_do_not_depend_on_row_order(x, k, rnd):
    body = f"input x: number\nindicator c = kmeans_band(x, {k}, 1)\n"
    bands = values(run_text(body, {"x": x}), "c")
    if None in bands:  # too few distinct values for k quantile groups: every band missing
        assert set(bands) == {None}
        return
    by_value = [b for _, b in sorted(zip(x, bands))]
    assert by_value == sorted(by_value)  # a higher value is never in a lower cluster
    order = list(range(len(x)))
    rnd.shuffle(order)
    shuffled = values(run_text(body, {"x": [x[i] for i in order]}), "c")
    assert shuffled == [bands[i] for i in order]
