"""Rich tables get their text escaped before rich measures it (tierlang/report.py EscapedTable).

Rich measures a control character as zero columns wide and drops it (with the text of an escape
sequence it starts), so a label holding one came out shortened and its row misaligned. Escaped
first, each control is its one-column stand-in (dsl/escaping.py), measured as shown.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from tierlang.cli import main

BAD_INPUTS = Path(__file__).resolve().parent / "bad_inputs"


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(BAD_INPUTS / "base.tier", tmp_path / "base.tier")
    return tmp_path


def invoke(*args) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_run_table_with_control_characters_in_labels_is_aligned(project):
    (project / "ctl.csv").write_text(
        "code,name,score,safe,flagged,region\n"
        "A1,Al\x1b[31mpha,90,good,false,North\n"
        "B2,Beta\x07x,40,inadequate,true,South\n"
        "C3,Gamma,75.5,outstanding,no,North\n", encoding="utf-8", newline="")
    assert invoke("run", "base.tier", "--data", "ctl.csv", "--no-audit") == (
        "run not recorded (--no-audit)\n"
        "Bad inputs: base, version 1\n"
        "3 entities (Trust) from ctl.csv\n"
        "\n"
        "rank   code   name         score   overall\n"
        "───────────────────────────────────────────\n"
        "   1   C3     Gamma         6.02   top_band\n"
        "   2   A1     Al␛[31mpha     5.6   top_band\n"
        "   3   B2     Beta␇x         1.6   bottom\n"
        "\n"
        "overall: top_band 2, middle 0, bottom 1\n")


def test_runs_table_with_a_control_character_in_the_data_path_is_aligned(project):
    shutil.copy(BAD_INPUTS / "good.csv", project / "d\x1b[2Jx.csv")
    invoke("run", "base.tier", "--data", "d\x1b[2Jx.csv", "--audit", "r.db")
    shown = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", "YYYY-MM-DD hh:mm:ss", invoke("runs", "--audit", "r.db"))
    header, rule, row = shown.splitlines()  # the last column is the user running the tests
    assert header.startswith("run   started (UTC)         methodology            entities   data         status     by")
    assert row.startswith("  1   YYYY-MM-DD hh:mm:ss   Bad inputs: base (1)          3   d␛[2Jx.csv   complete   ")
    assert header.index("status") == row.index("complete") and set(rule) == {"─"}
