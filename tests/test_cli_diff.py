"""`tierlang diff` and `tierlang explain --against`: exact output.

The fixtures are in tests/golden/diff/cli/: two versions of a small methodology (version B
extends version A) and eight trusts. Each test copies them into a temporary directory and runs
the command there with relative paths, so the output is the same on every machine. The
expected outputs are `tests/golden/diff/cli/*.expected`; regenerate them after a deliberate
change with
    TIERLANG_REGENERATE=1 .venv/bin/pytest tests/test_cli_diff.py
and review the diff.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from tierlang.cli import main

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "golden" / "diff" / "cli"
REGENERATE = os.environ.get("TIERLANG_REGENERATE") == "1"
DIFF = ["diff", "version_a.tier", "version_b.tier", "--data", "trusts.csv", "--audit", "audit.db"]


@pytest.fixture()
def workdir(tmp_path, monkeypatch):
    for name in ("version_a.tier", "version_b.tier", "trusts.csv"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TIERLANG_AUDIT", raising=False)
    return tmp_path


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def check_golden(name: str, actual: str) -> None:
    path = FIXTURES / name
    if REGENERATE:
        path.write_text(actual, encoding="utf-8")
    assert actual == path.read_text(encoding="utf-8")


def test_diff_text(workdir):
    result = run(*DIFF)
    assert result.exit_code == 0, result.output
    check_golden("diff_text.expected", result.output)


def test_diff_csv_is_the_movers_table(workdir):
    result = run(*DIFF, "--format", "csv")
    assert result.exit_code == 0, result.output
    check_golden("diff_csv.expected", result.output)
    assert result.output.splitlines()[0] == (
        "key,label,old_tier,new_tier,move,old_score,new_score,score_change,old_rank,new_rank,attribution")


def test_diff_json_is_stable(workdir):
    result = run(*DIFF, "--format", "json")
    assert result.exit_code == 0, result.output
    check_golden("diff_json.expected", result.output)
    data = json.loads(result.output)
    assert data["schema"] == "tierlang.diff/1"
    assert list(data) == ["schema", "kind", "comparison", "audit", "structural", "structural_note", "outcome"]
    assert list(data["outcome"]) == ["old", "new", "tier", "entities", "transitions", "moved",
                                     "rank_correlation", "params", "movers"]
    mover = data["outcome"]["movers"][0]
    assert list(mover) == ["key", "label", "old", "new", "move", "score_change", "summary", "attribution"]
    parts = mover["attribution"]["parts"]
    assert sum(p["amount"] for p in parts) == pytest.approx(mover["score_change"], abs=1e-12)


def test_diff_out_file_takes_its_format_from_the_extension(workdir):
    result = run(*DIFF, "--out", "movers.csv")
    assert result.exit_code == 0, result.output
    assert result.output == "comparison 1 (csv) written to movers.csv\n"
    assert (workdir / "movers.csv").read_text(encoding="utf-8").startswith("key,label,old_tier")
    result = run(*DIFF, "--out", "diff.txt", "--format", "json")
    assert result.output == "comparison 2 (json) written to diff.txt\n"
    assert json.loads((workdir / "diff.txt").read_text(encoding="utf-8"))["comparison"] == 2


def test_diff_runs_compares_recorded_runs(workdir):
    assert run(*DIFF).exit_code == 0
    result = run("diff", "--runs", "1", "2", "--audit", "audit.db")
    assert result.exit_code == 0, result.output
    expected = (FIXTURES / "diff_text.expected").read_text(encoding="utf-8")
    assert result.output == expected.replace("as comparison 1;", "as comparison 2;")


def test_diff_params_apply_to_both_methodologies(workdir):
    result = run(*DIFF, "--param", "access_weight=45%")
    assert result.exit_code == 0, result.output
    assert "  param access_weight set to 0.45 in both runs (declared 0.5 → 0.4)\n" in result.output
    assert "access_weight 50% → 40% (" not in result.output  # no weight effect when both use 45%
    result = run(*DIFF, "--param", "acces_weight=45%")
    assert result.exit_code == 2
    assert result.output == "error: --param acces_weight: neither methodology has such a param; " \
                            "did you mean 'access_weight'?\n"


def test_diff_refuses_runs_on_different_entities_unless_allowed(workdir):
    assert run("run", "version_a.tier", "--data", "trusts.csv", "--audit", "audit.db").exit_code == 0
    lines = (workdir / "trusts.csv").read_text(encoding="utf-8").splitlines()
    (workdir / "fewer.csv").write_text("\n".join(lines[:-2] + ["T9,Newtown,90,3,0,no"]) + "\n", encoding="utf-8")
    assert run("run", "version_b.tier", "--data", "fewer.csv", "--audit", "audit.db").exit_code == 0
    result = run("diff", "--runs", "1", "2", "--audit", "audit.db")
    assert result.exit_code == 5
    assert result.output == (
        "error: runs 1 and 2 are on different sets of Trust entities (2 only in run 1: T7, T8, 1 only "
        "in run 2: T9); compare them anyway with --allow-different-entities (the comparison then "
        "covers the entities in both)\n")
    result = run("diff", "--runs", "1", "2", "--audit", "audit.db", "--allow-different-entities")
    assert result.exit_code == 0, result.output
    assert "outcome: run 1 → run 2, 6 Trust entities in both runs\n" \
           "  only in run 1 (2): T7, T8\n  only in run 2 (1): T9\n" in result.output


@pytest.mark.parametrize("args, message, code", [
    (["diff", "version_a.tier"], "error: give two methodology files, OLD NEW (or --runs A B)\n", 2),
    (["diff", "version_a.tier", "version_b.tier"],
     "error: --data PATH is required to run OLD and NEW (or compare recorded runs with --runs A B)\n", 2),
    (["diff", "version_a.tier", "version_b.tier", "--runs", "1", "2"],
     "error: give either OLD NEW --data PATH, or --runs A B (not both)\n", 2),
    (["diff", "--runs", "1", "2", "--audit", "none.db"],
     "error: no audit store at none.db: record a run first (tierlang run METHODOLOGY --data DATA "
     "--audit none.db)\n", 5),
])
def test_diff_usage_errors(workdir, args, message, code):
    result = run(*args)
    assert result.exit_code == code
    assert result.output == message


def test_diff_unknown_run(workdir):
    assert run(*DIFF).exit_code == 0
    result = run("diff", "--runs", "1", "7", "--audit", "audit.db")
    assert result.exit_code == 5
    assert result.output == "error: no run 7 in the audit store audit.db (runs recorded: 1-2)\n"


def test_explain_against_side_by_side(workdir):
    assert run(*DIFF).exit_code == 0
    result = run("explain", "Riverside", "--run", "1", "--against", "2", "--audit", "audit.db")
    assert result.exit_code == 0, result.output
    text = re.sub(r"started \S+Z", "started TIME", result.output)
    check_golden("explain_against.expected", text)
    result = run("explain", "T7", "--run", "1", "--against", "2", "--audit", "audit.db", "--format", "json")
    data = json.loads(result.output)
    assert data["runs"] == [1, 2]
    marks = {r["name"]: r["mark"] for r in data["rows"] if not r["see_above"]}
    assert marks["rated"] == "~" and marks["finance_score"] == "!" and marks["access_score"] == " "


def test_the_done_when_command_runs(monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    result = run("diff", "methodologies/stp_dashboard_2017.tier", "methodologies/stp_dashboard_2018_draft.tier",
                 "--data", "examples/stp_2017/stp_2017.csv",
                 "--data", "organisation=examples/stp_2017/organisations.csv", "--audit", str(tmp_path / "a.db"))
    assert result.exit_code == 0, result.output
    out = result.output
    assert "structural changes: methodologies/stp_dashboard_2017.tier → " \
           "methodologies/stp_dashboard_2018_draft.tier" in out
    assert "tier transitions (rows: run 1 overall_rating, columns: run 2 overall_rating)" in out
    assert "movers (8), largest move first" in out
    assert "  Herefordshire and Worcestershire (19): needs_most_improvement → making_progress: " \
           "finance_score redefined (+0.15)" in out
