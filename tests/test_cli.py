"""The `tierlang` command line, through click's CliRunner, on exact output."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from tierlang.cli import main

CLI_DATA = Path(__file__).parent / "data" / "cli"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A scratch folder holding copies of the small methodology and data, as the cwd."""
    for name in ("small.tier", "small.csv", "bad.csv"):
        shutil.copy(CLI_DATA / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TIERLANG_AUDIT", raising=False)
    return tmp_path


def invoke(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_check_prints_a_summary_for_a_clean_file(workdir):
    result = invoke("check", "small.tier")
    assert result.exit_code == 0
    assert result.output == "small.tier: ok: 2 inputs, 1 param, 1 definition, 1 tier, 1 test\n"


def test_check_reports_every_error_and_exits_1(workdir):
    Path("broken.tier").write_text(
        'methodology "B"\nentity org key code\ninput a: number\nscore s = mean(a, bb)\nlet t = s +\n',
        encoding="utf-8")
    result = invoke("check", "broken.tier")
    assert result.exit_code == 3
    assert "broken.tier:5:12: error: unexpected end of file" in result.output
    assert "broken.tier:4:19: error: unknown name 'bb'" in result.output
    assert result.output.endswith("broken.tier: 2 errors, 0 warnings\n")


def test_run_without_audit_prints_the_table_counts_and_unrated(workdir):
    result = invoke("run", "small.tier", "--data", "small.csv", "--no-audit")
    assert result.exit_code == 0
    assert result.output == (
        "run not recorded (--no-audit)\n"
        "Small, version 1\n"
        "3 entities (org) from small.csv\n"
        "\n"
        "rank   code   name    score   grade\n"
        "───────────────────────────────────\n"
        "   1   A      Alpha       7   high\n"
        "   2   B      Beta      2.5   low\n"
        "   -   C      Gamma       -   -\n"
        "\n"
        "grade: high 1, low 1, (no tier) 1\n"
        "unrated (1): C (see `tierlang explain KEY`)\n"
    )
    assert not Path("tierlang.db").exists()


def test_run_records_in_the_default_store_and_explain_reads_it(workdir):
    result = invoke("run", "small.tier", "--data", "small.csv")
    assert result.exit_code == 0
    assert result.output.startswith("run 1 recorded in tierlang.db\n")
    explained = invoke("explain", "Alpha")
    assert explained.exit_code == 0
    assert "grade = high" in explained.output
    assert "s 7 >= 5" in explained.output


def test_tierlang_audit_environment_variable_names_the_store(workdir, monkeypatch):
    monkeypatch.setenv("TIERLANG_AUDIT", "elsewhere.db")
    assert invoke("run", "small.tier", "--data", "small.csv").output.startswith(
        "run 1 recorded in elsewhere.db\n")
    assert Path("elsewhere.db").exists()


def test_param_override_changes_the_outcome_and_is_checked(workdir):
    result = invoke("run", "small.tier", "--data", "small.csv", "--no-audit", "--param", "wa=25%",
                    "--format", "csv")
    assert result.exit_code == 0
    assert result.output.splitlines()[1:3] == ["A,Alpha,6.5,high,1", "B,Beta,2.75,low,2"]
    out_of_range = invoke("run", "small.tier", "--data", "small.csv", "--no-audit", "--param", "wa=0.9")
    assert out_of_range.exit_code == 2
    assert "outside its range" in out_of_range.output
    unknown = invoke("run", "small.tier", "--data", "small.csv", "--no-audit", "--param", "w=0.5")
    assert unknown.output == "error: --param w: no such param; did you mean 'wa'?\n"


def test_run_json_format(workdir):
    import json

    result = invoke("run", "small.tier", "--data", "small.csv", "--no-audit", "--format", "json")
    data = json.loads(result.output)
    assert data["counts"] == {"high": 1, "low": 1, "(no tier)": 1}
    assert data["entities"][0] == {"key": "A", "label": "Alpha", "score": 7.0, "tier": "high", "rank": 1}
    assert data["entities"][2] == {"key": "C", "label": "Gamma", "score": None, "tier": None, "rank": None}


def test_out_writes_every_node_for_every_entity(workdir):
    import pandas as pd

    for name in ("results.csv", "results.xlsx", "results.json"):
        assert invoke("run", "small.tier", "--data", "small.csv", "--no-audit", "--out", name).exit_code == 0
    table = pd.read_csv("results.csv")
    assert list(table.columns) == ["key", "label", "score", "tier", "rank", "a", "b", "wa", "s", "grade"]
    assert table["s"].tolist()[:2] == [7.0, 2.5]
    assert pd.read_excel("results.xlsx")["grade"].tolist()[:2] == ["high", "low"]


def test_bad_data_gives_every_problem_and_leaves_the_store_byte_identical(workdir):
    assert invoke("run", "small.tier", "--data", "small.csv").exit_code == 0
    before = digest(Path("tierlang.db"))
    result = invoke("run", "small.tier", "--data", "bad.csv")
    assert result.exit_code == 4
    assert result.output == (
        "bad.csv: 3 problems in the data:\n"
        '  column "code": key "B" appears in rows 3 and 4\n'
        '  row 3, column "a": "n/a" is not a number\n'
        "    help: leave the cell empty for a missing value\n"
        '  row 4, column "a": 50 is outside the range 0 to 10\n'
        "\n"
        "nothing was run or recorded.\n"
    )
    assert digest(Path("tierlang.db")) == before
    assert "Traceback" not in result.output


def test_bad_methodology_records_nothing(workdir):
    assert invoke("run", "small.tier", "--data", "small.csv").exit_code == 0
    before = digest(Path("tierlang.db"))
    Path("typo.tier").write_text(Path("small.tier").read_text().replace("a: wa", "aa: wa"), encoding="utf-8")
    result = invoke("run", "typo.tier", "--data", "small.csv")
    assert result.exit_code == 3
    assert "typo.tier:9:25: error: unknown name 'aa'" in result.output
    assert result.output.endswith("1 error: nothing was run.\n")
    assert digest(Path("tierlang.db")) == before


def test_a_run_that_fails_while_recording_leaves_no_trace(workdir, monkeypatch):
    import tierlang
    from audit import open_store
    from audit.write import transaction

    assert invoke("run", "small.tier", "--data", "small.csv").exit_code == 0

    def explode(self, *args, **kwargs):
        raise RuntimeError("disk on fire")

    with monkeypatch.context() as patch:
        patch.setattr(transaction, "_write_scalars", explode)
        with pytest.raises(RuntimeError):
            tierlang.run("small.tier", "small.csv", audit="tierlang.db")
    with open_store("tierlang.db") as store:
        assert [r.id for r in store.runs()] == [1]
        counts = {t: store.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608 - fixed names
                  for t in ("entities", "nodes", "node_values", "scalars", "tier_steps")}
    assert counts["entities"] == 3 and counts["nodes"] == 5


def test_runs_lists_newest_first(workdir):
    invoke("run", "small.tier", "--data", "small.csv")
    invoke("run", "small.tier", "--data", "small.csv", "--param", "wa=30%")
    lines = invoke("runs").output.splitlines()
    assert lines[0].split()[:4] == ["run", "started", "(UTC)", "methodology"]
    assert [line.split()[0] for line in lines[2:]] == ["2", "1"]


def test_explain_without_a_store_says_so(workdir):
    result = invoke("explain", "Alpha")
    assert result.exit_code == 5
    assert result.output.startswith("error: ")
    assert "Traceback" not in result.output


def test_explain_unknown_entity_suggests(workdir):
    invoke("run", "small.tier", "--data", "small.csv")
    result = invoke("explain", "Alpah")
    assert result.exit_code == 5
    assert "Alpha" in result.output


def test_test_command_passes_and_fails_with_expected_vs_actual(workdir):
    passed = invoke("test", "small.tier")
    assert passed.exit_code == 0
    assert passed.output == "PASS  small.tier: a high pair is high\n\n1 passed, 0 failed\n"
    Path("wrong.tier").write_text(Path("small.tier").read_text().replace("expect grade == high",
                                                                         "expect grade == low"), encoding="utf-8")
    failed = invoke("test", "wrong.tier")
    assert failed.exit_code == 1
    assert failed.output.startswith("FAIL  wrong.tier: a high pair is high\n")
    assert "grade == low" in failed.output and "high" in failed.output
    assert "why test has these values:" in failed.output
    assert failed.output.endswith("0 passed, 1 failed\n")


def test_real_methodologies_check_clean_and_their_tests_pass():
    files = sorted(str(p) for p in (ROOT / "methodologies").glob("*.tier"))
    checked = invoke("check", *files)
    assert checked.exit_code == 0, checked.output
    assert "error" not in checked.output
    tested = invoke("test", *files)
    assert tested.exit_code == 0, tested.output


# ---------------------------------------------------------------- run: a screenful

MANY = '''methodology "Many"
entity org key code

input x: number

tier grade from x {
  high: >= 50
  low:  otherwise
}
'''


@pytest.fixture
def many(tmp_path, monkeypatch):
    """25 entities x = 0, 4, ..., 96 (ranks 1..25 from the highest x) and one without x."""
    (tmp_path / "many.tier").write_text(MANY, encoding="utf-8")
    rows = [f"E{i:02d},{4 * i}" for i in range(25)] + ["NONE,"]
    (tmp_path / "many.csv").write_text("code,x\n" + "\n".join(rows) + "\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


PIPE_OUTPUT = """run not recorded (--no-audit)
Many
26 entities (org) from many.csv

rank   code   score   grade
───────────────────────────
   1   E24       96   high
   2   E23       92   high
   3   E22       88   high
   4   E21       84   high
   5   E20       80   high
   6   E19       76   high
   7   E18       72   high
   8   E17       68   high
   9   E16       64   high
  10   E15       60   high
 ...   ...      ...   ...
  17   E08       32   low
  18   E07       28   low
  19   E06       24   low
  20   E05       20   low
  21   E04       16   low
  22   E03       12   low
  23   E02        8   low
  24   E01        4   low
  25   E00        0   low
   -   NONE       -   -
... 6 more rows: use --out FILE or --all

grade: high 12, low 13, (no tier) 1
unrated (1): NONE (see `tierlang explain KEY`)
"""


def test_run_in_a_pipe_shows_the_first_and_last_rows_and_counts_the_rest(many):
    result = invoke("run", "many.tier", "--data", "many.csv", "--no-audit")
    assert result.exit_code == 0
    assert result.output == PIPE_OUTPUT


def test_run_all_shows_every_row(many):
    result = invoke("run", "many.tier", "--data", "many.csv", "--no-audit", "--all")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert [line.split()[1] for line in lines[6:32]] == [f"E{i:02d}" for i in range(24, -1, -1)] + ["NONE"]
    assert "more rows" not in result.output and "..." not in result.output


def test_run_with_out_shows_a_screenful_and_says_where_the_rest_went(many):
    result = invoke("run", "many.tier", "--data", "many.csv", "--no-audit", "--out", "all.csv")
    assert result.exit_code == 0
    assert result.output == PIPE_OUTPUT.replace("use --out FILE or --all", "written to all.csv") + (
        "results written to all.csv\n")
    assert len(Path("all.csv").read_text(encoding="utf-8").splitlines()) == 27  # header + every entity


def test_run_on_a_terminal_fits_the_screen(many, monkeypatch):
    import os
    import sys

    from tierlang.render import run as report

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(report.shutil, "get_terminal_size", lambda fallback=None: os.terminal_size((100, 30)))
    assert report.screen_rows() == 18
    monkeypatch.setattr(report.shutil, "get_terminal_size", lambda fallback=None: os.terminal_size((100, 5)))
    assert report.screen_rows() == 10
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False, raising=False)
    assert report.screen_rows() == report.PIPE_ROWS == 20


def test_run_csv_and_json_formats_hold_every_entity(many):
    csv_out = invoke("run", "many.tier", "--data", "many.csv", "--no-audit", "--format", "csv")
    assert len(csv_out.output.splitlines()) == 27
    import json

    json_out = invoke("run", "many.tier", "--data", "many.csv", "--no-audit", "--format", "json")
    assert len(json.loads(json_out.output)["entities"]) == 26
