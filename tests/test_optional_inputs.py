"""`optional` inputs (the data may lack the column: every value missing, reason
`column_absent`, reproduced by verify) and level types' "not rated" spellings (cells read as
missing), end to end from the CLI, checked against pandas reading the same file."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

from tierlang.cli import main

METHODOLOGY = '''methodology "CQC-style key questions"
entity location key location_id

type rating = level inadequate < "requires improvement" < good < outstanding
  missing "Inspected but not rated", "Insufficient evidence to rate"

input safe: rating
input caring: rating optional
input beds: number optional
let good_or_better = count([safe >= good, caring >= good], skip missing)
tier overall from good_or_better {
  good:  >= 1
  other: otherwise
  missing: "Not rated"
}
'''

DATA = ("location_id,safe\n"
        "L1,Good\n"
        "L2,Inspected but not rated\n"
        "L3,  insufficient EVIDENCE to rate \n"
        "L4,Requires improvement\n")


@pytest.fixture
def files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.tier").write_text(METHODOLOGY, encoding="utf-8")
    (tmp_path / "d.csv").write_text(DATA, encoding="utf-8")
    return tmp_path


def test_absent_optional_columns_and_not_rated_cells_are_missing(files):
    runner = CliRunner()
    result = runner.invoke(main, ["run", "m.tier", "--data", "d.csv", "--audit", "a.db", "--out", "out.csv"])
    assert result.exit_code == 0, result.output
    out = pd.read_csv("out.csv", dtype=str, keep_default_na=False).set_index("key")
    # oracle: pandas reads the file; the labels of `safe` compare case-blind, the two spellings
    # are missing, and neither optional column exists in it
    raw = pd.read_csv("d.csv", dtype=str).set_index("location_id")
    assert "caring" not in raw.columns and "beds" not in raw.columns
    spellings = {"inspected but not rated", "insufficient evidence to rate"}
    not_rated = raw["safe"].str.strip().str.casefold().isin(spellings)
    assert list(out["safe"] == "") == list(not_rated)
    assert list(out["caring"]) == [""] * 4 and list(out["beds"]) == [""] * 4
    assert list(out["tier"]) == ["good", "Not rated", "Not rated", "other"]
    explained = runner.invoke(main, ["explain", "L2", "--audit", "a.db"]).output
    assert "caring (input) = missing (column_absent)" in explained
    assert "safe (input) = missing (input_missing)" in explained
    verified = runner.invoke(main, ["verify", "1", "--audit", "a.db"])
    assert verified.exit_code == 0, verified.output
    assert "ok: 1 run reproduced" in verified.output


def test_a_present_optional_column_is_read_as_usual(files):
    (files / "d.csv").write_text("location_id,safe,caring,beds\nL1,Good,Outstanding,12\nL2,Inadequate,,\n",
                                 encoding="utf-8")
    result = CliRunner().invoke(main, ["run", "m.tier", "--data", "d.csv", "--no-audit", "--out", "out.csv"])
    assert result.exit_code == 0, result.output
    out = pd.read_csv("out.csv", dtype=str, keep_default_na=False)
    assert list(out["caring"]) == ["outstanding", ""] and list(out["beds"]) == ["12.0", ""]


def test_a_missing_column_that_is_not_optional_is_still_a_data_error(files):
    (files / "d.csv").write_text("location_id,caring\nL1,Good\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["run", "m.tier", "--data", "d.csv", "--no-audit"])
    assert result.exit_code != 0
    assert 'column "safe": not found in the data (needed by input safe)' in result.output
    assert "nothing was run or recorded" in result.output


def test_other_unknown_spellings_are_still_errors_and_required_refuses_not_rated(files):
    text = METHODOLOGY.replace("input safe: rating", "input safe: rating required")
    (files / "m.tier").write_text(text, encoding="utf-8")
    (files / "d.csv").write_text("location_id,safe\nL1,Inspected but not rated\nL2,Goood\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["run", "m.tier", "--data", "d.csv", "--no-audit"])
    assert result.exit_code != 0
    assert 'column "safe": required, but empty in row 2' in result.output  # rows count the header
    assert '"Goood" is not a label of rating' in result.output


def test_the_golden_file_parses_and_checks_optional_inputs_and_spellings():
    from pathlib import Path

    from dsl import load
    from dsl import syntax as S
    from dsl.parser import parse

    path = Path(__file__).resolve().parent / "golden/valid/optional_inputs.tier"
    module = parse(path.read_text(encoding="utf-8"), str(path))
    decls = {s.name: s for s in module.statements if isinstance(s, (S.InputDecl, S.TypeDecl))}
    assert decls["caring"].optional and decls["beds"].optional and not decls["safe"].optional
    assert [x.text for x in decls["rating"].level.not_rated] == ["Inspected but not rated", "Insufficient evidence"]
    m = load(str(path).replace("/valid/", "/valid_checked/"))
    assert m.node("beds").optional and m.node("beds").column == "BEDS"
    assert m.node("effective").type.level.not_rated == ("n/a",)


def test_diff_shows_an_input_made_optional(files):
    (files / "new.tier").write_text(METHODOLOGY.replace("input safe: rating", "input safe: rating optional"),
                                    encoding="utf-8")
    result = CliRunner().invoke(main, ["diff", "m.tier", "new.tier", "--data", "d.csv", "--audit", "a.db"])
    assert result.exit_code == 0, result.output
    assert "~ input safe: optional false → true" in result.output
