"""`tierlang reconcile`: a recorded run compared with a published table (audit/reconcile.py)."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from tierlang.cli import main

ROOT = Path(__file__).resolve().parents[1]

SMALL = '''methodology "Small"
entity Org key code label name

input x: number

score total = x * 2

tier grade from total {
  top:        >= 10
  middle:     >= 5
  "low band": otherwise
}
'''
DATA = "code,name,x\nA,Alpha,6\nB,Beta,3\nC,Gamma,1\nD,Delta,\nE,Epsilon,2\n"
PUBLISHED = [
    ("org", "grade", "total"),
    ("A", "Top", "12"),
    ("B", "low band", "6.5"),
    ("C", "LOW_BAND", "2"),
    ("D", "middle", ""),
    ("E", "", "4"),
    ("Z", "middle", "1"),
]

TIER_REPORT = """reconcile run 1 (Small), node grade (tier), with published.csv
  published key 'org', column 'grade'
agreement: 2 of 4 (50.0%)
published labels read as: 'LOW_BAND' = low band, 'Top' = top

published (rows) x computed (columns):
           top  middle  low band  (no tier)
top          1       0         0          0
middle       0       0         0          1
low band     0       1         1          0

mismatches (2):
  B Beta: published low band, computed middle: rule 2 of 3 (middle: >= 5); total = 6
  D Delta: published middle, computed (no tier): total is missing

only in the published table (1): Z
only in the run (0): -
published blank, not compared (1): E
"""


def invoke(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TIERLANG_AUDIT", raising=False)
    (tmp_path / "small.tier").write_text(SMALL)
    (tmp_path / "data.csv").write_text(DATA)
    (tmp_path / "published.csv").write_text("\n".join(",".join(row) for row in PUBLISHED) + "\n")
    result = invoke("run", "small.tier", "--data", "data.csv", "--audit", "a.db")
    assert result.exit_code == 0, result.output
    return tmp_path


def test_tier_report_is_exact(workdir):
    result = invoke("reconcile", "1", "--audit", "a.db", "--expected", "published.csv", "--key", "org",
                    "--column", "grade")
    assert result.exit_code == 0
    assert result.output == TIER_REPORT


def test_xlsx_gives_the_same_comparison(workdir):
    book = openpyxl.Workbook()
    sheet = book.active
    for row in PUBLISHED:
        sheet.append([cell or None for cell in row])
    book.save(workdir / "published.xlsx")
    result = invoke("reconcile", "latest", "--audit", "a.db", "--expected", "published.xlsx", "--key", "org",
                    "--column", "grade")
    assert result.exit_code == 0
    assert result.output == TIER_REPORT.replace("published.csv", "published.xlsx")


def test_json_lists_blanks_and_one_sided_entities(workdir):
    result = invoke("reconcile", "1", "--audit", "a.db", "--expected", "published.csv", "--key", "org",
                    "--column", "grade", "--format", "json")
    data = json.loads(result.output)
    assert (data["compared"], data["agreed"], data["rate"]) == (4, 2, 0.5)
    assert data["blank"] == ["E"] and data["only_published"] == ["Z"] and data["only_run"] == []
    assert data["scale"] == ["top", "middle", "low band", "(no tier)"]
    assert {"published": "low band", "computed": "middle", "count": 1} in data["matrix"]
    assert [m["key"] for m in data["mismatches"]] == ["B", "D"]


def test_numeric_node_with_and_without_tolerance(workdir):
    args = ["reconcile", "1", "--audit", "a.db", "--expected", "published.csv", "--key", "org",
            "--column", "total", "--node", "total"]
    exact = invoke(*args)
    assert exact.output == (
        "reconcile run 1 (Small), node total (number), with published.csv\n"
        "  published key 'org', column 'total'\n"
        "agreement: 3 of 4 (75.0%), tolerance 0\n"
        "\n"
        "largest differences (1):\n"
        "  B Beta: published 6.5, computed 6: difference -0.5\n"
        "\n"
        "only in the published table (1): Z\n"
        "only in the run (0): -\n"
        "published blank, not compared (1): D\n"
    )
    tolerant = invoke(*args, "--tolerance", "0.5")
    assert "agreement: 4 of 4 (100.0%), tolerance 0.5\n" in tolerant.output
    assert "largest differences" not in tolerant.output


def test_fail_under(workdir):
    args = ["reconcile", "1", "--audit", "a.db", "--expected", "published.csv", "--key", "org", "--column", "grade"]
    assert invoke(*args, "--fail-under", "0.5").exit_code == 0
    below = CliRunner().invoke(main, args + ["--fail-under", "0.75"])
    assert below.exit_code == 1
    assert "agreement 50.0% is below --fail-under 75%" in below.output


def test_bad_published_tables_exit_4_with_a_message(workdir):
    base = ["reconcile", "1", "--audit", "a.db", "--expected", "published.csv", "--key", "org"]
    missing_column = CliRunner().invoke(main, base + ["--column", "nope"])
    assert missing_column.exit_code == 4  # the data stage: the published table
    assert "error: published.csv has no column 'nope' (its columns: org, grade, total)" in missing_column.output
    (workdir / "bad.csv").write_text("org,grade\nA,excellent\n")
    unknown = CliRunner().invoke(main, ["reconcile", "1", "--audit", "a.db", "--expected", "bad.csv", "--key", "org",
                                        "--column", "grade"])
    assert unknown.exit_code == 4
    assert "'excellent' match no label of grade (top, middle, low band)" in unknown.output
    no_run = CliRunner().invoke(main, base + ["--column", "grade", "--node", "nope"])
    assert no_run.exit_code == 5 and "no node 'nope'" in no_run.output


def test_stp_example_reconciles_honestly_against_the_published_ratings(tmp_path, monkeypatch):
    """The STP data are illustrative, so agreement is not expected: the test checks the report."""
    monkeypatch.delenv("TIERLANG_AUDIT", raising=False)
    db = str(tmp_path / "stp.db")
    ran = invoke("run", str(ROOT / "methodologies/stp_dashboard_2017.tier"), "--data",
                 str(ROOT / "examples/stp_2017/stp_2017.csv"), "--data",
                 "organisation=" + str(ROOT / "examples/stp_2017/organisations.csv"), "--audit", db)
    assert ran.exit_code == 0, ran.output
    result = invoke("reconcile", "latest", "--audit", db, "--expected",
                    str(ROOT / "examples/stp_2017/published_ratings.csv"), "--key", "footprint_no",
                    "--column", "overall_category_label", "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["node"] == "overall_rating"
    assert data["compared"] == 14 and len(data["blank"]) == 30  # 14 of 44 ratings are published
    assert data["only_published"] == [] and data["only_run"] == []
    assert sum(m["count"] for m in data["matrix"]) == 14
    assert data["agreed"] + len(data["mismatches"]) == 14
    assert all(m["summary"].startswith("rule ") for m in data["mismatches"])
