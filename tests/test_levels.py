"""Entities at several levels, end to end: values at every level against hand-computed ones,
the semantics of `over` (missing members, entities without members), broadcast down, the two
data forms giving the same values, row order, samples evaluated at once, the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import tierlang
from interpreter.evaluate import SampleEvaluator, evaluate
from tierlang.api import Tables
from tierlang.cli import main

HERE = Path(__file__).parent / "data" / "levels"
METHODOLOGY = HERE / "trusts.tier"
BY_LEVEL = Tables(HERE / "trusts.csv", {"location": HERE / "locations.csv", "service": HERE / "services.csv"})


@pytest.fixture(scope="module")
def outcome():
    return tierlang.run(METHODOLOGY, BY_LEVEL)


def values(outcome, name: str) -> dict:
    result = outcome.result
    trace = result.traces.get(name) or next(m.traces[name] for m in result.members.values() if name in m.traces)
    return {k: (None if pd.isna(v) else v) for k, v in trace.values.items()}


def reasons(outcome, name: str) -> dict:
    result = outcome.result
    trace = result.traces.get(name) or next(m.traces[name] for m in result.members.values() if name in m.traces)
    return {k: v for k, v in trace.reasons.items() if v is not None}


def test_levels_and_where_each_node_is_evaluated(outcome):
    m = outcome.methodology
    assert [(lv.name, lv.key, lv.parent) for lv in m.levels] == [
        ("trust", "trust_code", None), ("location", "location_id", "trust"), ("service", "service_id", "location")]
    level = {n.name: n.level for n in m.nodes}
    assert level["safe"] == level["share_of_trust"] == level["beds_rank"] == "service"
    assert level["outstanding_services"] == level["location_rating"] == "location"
    assert level["trust_rating"] is level["fewest_beds"] is level["total_services"] is None
    assert m.node("total_services").context == "service"  # a scalar counted over the services
    assert list(outcome.result.members) == ["location", "service"]
    assert list(outcome.result.members["service"].parents.items()) == [
        ("S1", "L1"), ("S2", "L1"), ("S3", "L2"), ("S4", "L3"), ("S5", "L3"), ("S6", "L4")]


def test_counts_and_sums_over_members(outcome):
    assert values(outcome, "outstanding_services") == {"L1": 2, "L2": 0, "L3": 0, "L4": 0, "L5": 0}
    assert values(outcome, "services_in_trust") == {"T1": 3, "T2": 2, "T3": 1, "T4": 0}
    assert values(outcome, "trust_total_beds") == {"T1": 50, "T2": 50, "T3": 5, "T4": 0}


def test_missing_members_and_entities_without_members(outcome):
    # skip missing: over present members; all members missing: missing; no members: sum 0, mean missing
    assert values(outcome, "beds_known") == {"L1": 50, "L2": None, "L3": 50, "L4": 5, "L5": 0}
    assert reasons(outcome, "beds_known") == {"L2": "component_missing"}
    assert values(outcome, "mean_beds") == {"L1": 25, "L2": None, "L3": 25, "L4": 5, "L5": None}
    assert reasons(outcome, "mean_beds") == {"L2": "component_missing", "L5": "no_members"}
    assert values(outcome, "fewest_beds") == {"T1": 20, "T2": 10, "T3": 5, "T4": None}
    assert reasons(outcome, "fewest_beds") == {"T4": "no_members"}
    # without skip missing, one missing member (L2) makes T1 missing
    assert values(outcome, "trust_beds") == {"T1": None, "T2": 50, "T3": 5, "T4": 0}
    assert reasons(outcome, "trust_beds") == {"T1": "component_missing"}
    assert values(outcome, "any_inadequate") == {"T1": False, "T2": False, "T3": True, "T4": False}
    assert values(outcome, "all_good") == {"T1": True, "T2": True, "T3": False, "T4": True}


def test_an_upper_value_read_by_each_member(outcome):
    share = values(outcome, "share_of_trust")
    assert share.pop("S3") is None and reasons(outcome, "share_of_trust") == {"S3": "component_missing"}
    assert share == pytest.approx({"S1": 0.6, "S2": 0.4, "S4": 0.2, "S5": 0.8, "S6": 1.0})


def test_population_functions_and_scalars_at_a_lower_level(outcome):
    assert values(outcome, "beds_rank") == {"S1": 2, "S2": 3, "S3": None, "S4": 4, "S5": 1, "S6": 5}
    assert outcome.result.traces["total_services"].scalars["value"] == 6


def test_tiers_and_limits_at_each_level(outcome):
    assert values(outcome, "location_rating") == {
        "L1": "outstanding", "L2": "requires improvement", "L3": "requires improvement",
        "L4": "requires improvement", "L5": "requires improvement"}
    assert values(outcome, "trust_rating") == {
        "T1": "outstanding", "T2": "requires improvement", "T3": "requires improvement", "T4": "good"}
    assert outcome.result.traces["trust_rating"].tier.limits[0].acted.to_dict()["T2"]
    assert list(outcome.table["tier"]) == ["outstanding", "requires improvement", "requires improvement", "good"]
    assert list(outcome.table["rank"]) == [1, 3, 3, 2]


def test_one_long_table_gives_the_same_values_as_one_table_per_level(outcome):
    long = tierlang.run(METHODOLOGY, HERE / "long.csv")
    for name in ("trust_rating", "location_rating", "share_of_trust", "mean_beds", "fewest_beds"):
        expected = {k: v for k, v in values(outcome, name).items() if k not in ("T4", "L5")}
        got = values(long, name)
        assert got.keys() == expected.keys()
        for key in got:
            assert got[key] == expected[key] or (got[key] is None and expected[key] is None), (name, key)


def test_row_order_changes_nothing(tmp_path):
    services = pd.read_csv(HERE / "services.csv", dtype=str, keep_default_na=False)
    locations = pd.read_csv(HERE / "locations.csv", dtype=str)
    shuffled = Tables(HERE / "trusts.csv", {"location": locations.iloc[::-1].reset_index(drop=True),
                                            "service": services.sample(frac=1, random_state=3).reset_index(drop=True)})
    a = tierlang.run(METHODOLOGY, BY_LEVEL).result
    b = tierlang.run(METHODOLOGY, shuffled).result
    for level, lower in a.members.items():
        for name, trace in lower.traces.items():
            other = b.members[level].traces[name].values.reindex(trace.values.index)
            pd.testing.assert_series_equal(trace.values, other, check_names=False)
    for name, trace in a.traces.items():
        pd.testing.assert_series_equal(trace.values, b.traces[name].values.reindex(trace.values.index))


def test_samples_at_once_equal_single_runs():
    m = tierlang.load(METHODOLOGY)
    prepared = tierlang.api.prepare(m, tierlang.api.read_data(BY_LEVEL))
    weights = np.array([0.5, 1.0, 1.7, 2.0])
    ev = SampleEvaluator(m, prepared.frame, sampled=["bed_weight"], wanted=["trust_beds", "trust_rating"],
                         members=prepared.members)
    at_once = ev.run({"bed_weight": weights})
    for i, w in enumerate(weights):
        single = evaluate(m, prepared.frame, params={"bed_weight": w}, members=prepared.members)
        expected = single.traces["trust_beds"].values.to_numpy()
        got = ev.matrix(at_once["trust_beds"])[i]
        assert np.array_equal(np.isnan(got), np.isnan(expected))
        assert np.array_equal(got[~np.isnan(got)], expected[~np.isnan(expected)])


def test_cli_run_with_one_table_per_level(tmp_path):
    store = tmp_path / "audit.db"
    result = CliRunner().invoke(main, [
        "run", str(METHODOLOGY), "--data", str(HERE / "trusts.csv"), "--data", f"location={HERE / 'locations.csv'}",
        "--data", f"service={HERE / 'services.csv'}", "--audit", str(store), "--format", "csv"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "key,label,score,tier,rank"
    assert lines[1:] == ["T1,First trust,,outstanding,1", "T2,Second trust,,requires improvement,3",
                         "T3,Third trust,,requires improvement,3", "T4,Fourth trust,,good,2"]


def test_cli_names_a_level_without_data(tmp_path):
    result = CliRunner().invoke(main, [
        "run", str(METHODOLOGY), "--data", str(HERE / "trusts.csv"), "--data", f"service={HERE / 'services.csv'}",
        "--audit", str(tmp_path / "audit.db")])
    assert result.exit_code == 4
    assert "Traceback" not in result.output
    assert "location" in result.output and "nothing was run or recorded" in result.output
    assert not (tmp_path / "audit.db").exists()


def test_cli_test_reads_the_long_table():
    result = CliRunner().invoke(main, ["test", str(METHODOLOGY)])
    assert result.exit_code == 0, result.output
    assert "PASS" in result.output


def test_cli_run_shows_a_lower_level(tmp_path):
    out = tmp_path / "locations.json"
    result = CliRunner().invoke(main, [
        "run", str(METHODOLOGY), "--data", str(HERE / "long.csv"), "--no-audit", "--level", "location",
        "--format", "csv", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "key,label,within,score,tier,rank", "L1,,T1,,outstanding,1", "L2,,T1,,requires improvement,2",
        "L3,,T2,,requires improvement,2", "L4,,T3,,requires improvement,2"]
    import json

    written = json.loads(out.read_text(encoding="utf-8"))
    assert written["level"] == "location" and written["tier"] == "location_rating"
    assert [row["outstanding_services"] for row in written["values"]] == [2, 0, 0, 0]


def test_cli_run_refuses_an_unknown_level_before_recording(tmp_path):
    store = tmp_path / "audit.db"
    result = CliRunner().invoke(main, [
        "run", str(METHODOLOGY), "--data", str(HERE / "long.csv"), "--audit", str(store), "--level", "locaton"])
    assert result.exit_code == 2
    assert result.output == "error: --level locaton: no such entity level; did you mean 'location'?\n"
    assert not store.exists()
