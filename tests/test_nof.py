"""NHS Oversight Framework 2025/26 support: `scaled_rank`, `only`, tests giving a definition, and
the methodology itself (methodologies/nhs_oversight_framework_2025_26.tier)."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import dsl
from interpreter import evaluate, run_tests

ROOT = Path(__file__).resolve().parents[1]
NOF = ROOT / "methodologies" / "nhs_oversight_framework_2025_26.tier"

HEADER = 'methodology "t"\nentity T key k\ninput x: number\ninput ok: boolean\ninput region: text\n'


def run(body: str, rows: dict) -> dict:
    methodology = dsl.check_source(HEADER + body)
    keys = list(rows["k"])
    frame = pd.DataFrame(index=pd.Index(keys))
    frame["x"] = pd.Series(rows.get("x", [np.nan] * len(keys)), index=frame.index, dtype="float64")
    frame["ok"] = pd.Series(pd.array(rows.get("ok", [True] * len(keys)), dtype="boolean"), index=frame.index)
    frame["region"] = pd.Series(rows.get("region", ["r"] * len(keys)), index=frame.index, dtype=object)
    return evaluate(methodology, frame).traces


def values(trace) -> list:
    return [None if isinstance(v, float) and math.isnan(v) else v for v in trace.values]


def test_scaled_rank_spreads_ranks_evenly_between_best_and_worst_with_ties_at_the_best_rank():
    traces = run("let s = scaled_rank(x, 2, 4)\nlet t = scaled_rank(x, 1, 4, lower is better)\n",
                 {"k": list("abcdef"), "x": [1, 2, 2, 5, np.nan, 9]})
    # higher is better: 9 r=1, 5 r=2, 2 and 2 r=3 (tie: best rank), 1 r=5; M = 5
    assert values(traces["s"]) == [4.0, 3.0, 3.0, 2.5, None, 2.0]
    assert values(traces["t"]) == [1.0, 1.75, 1.75, 3.25, None, 4.0]
    assert traces["s"].scalars["n"] == 5
    assert list(traces["s"].reasons)[4] == "component_missing"


def test_scaled_rank_of_one_entity_is_best_and_works_within_groups():
    traces = run("let s = scaled_rank(x, 1, 3, within region)\n",
                 {"k": list("abcd"), "x": [5, 7, 1, 3], "region": ["n", "n", "n", "s"]})
    assert values(traces["s"]) == [2.0, 1.0, 3.0, 1.0]
    assert traces["s"].scalars == {"n[n]": 3.0, "n[s]": 1.0}


def test_only_restricts_the_population_and_records_statistics_over_the_subset():
    traces = run("let sub = only(x, ok)\nlet s = scaled_rank(only(x, ok), 1, 4)\n",
                 {"k": list("abcde"), "x": [1, 2, 3, 4, np.nan], "ok": [True, False, True, None, True]})
    assert values(traces["sub"]) == [1.0, None, 3.0, None, None]
    assert list(traces["sub"].reasons) == [None, "excluded", None, "excluded", "component_missing"]
    assert values(traces["s"]) == [4.0, None, 1.0, None, None]
    assert traces["s"].scalars["n"] == 2


@pytest.mark.parametrize("body, code", [
    ("let s = scaled_rank(x, ok, 4)\n", "not-constant"),
    ("let s = scaled_rank(x, 1)\n", "wrong-arity"),
    ("let s = only(x, 3)\n", "type-error"),
    ("let s = only(x, ok, skip missing)\n", "bad-option"),
])
def test_the_checker_rejects_bad_calls(body, code):
    report = dsl.check_file("<string>", HEADER + body)
    assert code in [d.code for d in report.diagnostics if d.severity == "error"]


def test_a_test_may_give_a_definition_replacing_its_computation():
    methodology = dsl.check_source(HEADER + """let doubled = x * 2
let plus_one = doubled + 1
test "given a definition" {
  given doubled = 10, x = 1
  expect plus_one == 11
  expect x == 1
}
""")
    outcomes = run_tests(methodology)
    assert [o.passed for o in outcomes] == [True]


def test_a_tier_cannot_be_given():
    report = dsl.check_file("<string>", HEADER + 'tier t from x {\n  a: >= 1\n  b: otherwise\n}\n'
                            'test "x" {\n  given t = a\n  expect t == a\n}\n')
    assert [d.code for d in report.diagnostics if d.severity == "error"] == ["given-not-input"]


def test_the_nof_methodology_checks_formats_and_passes_its_tests():
    methodology = dsl.load(NOF)
    outcomes = run_tests(methodology)
    assert [o.name for o in outcomes if not o.passed] == []
    assert len(outcomes) == 4
    fmt = subprocess.run([sys.executable, "-m", "tierlang.cli", "fmt", "--check", str(NOF)],
                         capture_output=True, text=True)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_the_worked_example_reproduces_the_published_sum_and_average():
    methodology = dsl.load(NOF)
    worked = next(o for o in run_tests(methodology) if o.name.startswith("the manual's worked example"))
    traces = worked.result.traces
    assert traces["metric_sum"].values.iloc[0] == pytest.approx(16.83)
    assert traces["metrics_scored"].values.iloc[0] == 11
    assert traces["average_score"].values.iloc[0] == 1.53


def test_the_financial_override_and_league_order_on_the_illustrative_trusts():
    from tierlang import api

    outcome = api.run(NOF, ROOT / "examples" / "nof" / "trusts.csv")
    traces = outcome.result.traces
    segment = traces["segment"].values.astype(str)
    in_deficit = traces["in_deficit"].values.fillna(False).astype(bool)
    assert not segment[in_deficit].isin(["1", "2"]).any()
    table = outcome.table.dropna(subset=["rank"]).sort_values("rank", kind="stable")
    # the rank orders by segment, then by average metric score, lowest first
    order = list(zip(table["tier"].astype(int), -table["score"]))
    assert order == sorted(order)


def test_example_generator_is_reproducible(tmp_path):
    before = (ROOT / "examples/nof/trusts.csv").read_bytes()
    subprocess.run([sys.executable, str(ROOT / "examples/nof/make_data.py")], check=True)
    assert (ROOT / "examples/nof/trusts.csv").read_bytes() == before
