"""Every `--out x.xlsx` writes a real workbook (tierlang/render/xlsx.py): typed cells, a bold frozen
header, an autofilter, number formats, one sheet per table, a "run" sheet of provenance, and
text that can never become a formula."""

from __future__ import annotations

import math

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from tests import stp_store
from tierlang.cli import main
from tierlang.render import xlsx

HOSTILE = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"]


@pytest.fixture(scope="module")
def stp(tmp_path_factory):
    return stp_store.build(tmp_path_factory.mktemp("xlsx"), samples=32)


def _check_sheet(sheet, header: list[str] | None = None) -> None:
    first = [c.value for c in sheet[1]]
    if header is not None:
        assert first[: len(header)] == header
    assert all(c.font.b for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref.startswith("A1:")


def _column(sheet, name: str) -> list:
    header = [c.value for c in sheet[1]]
    j = header.index(name)
    return [row[j].value for row in sheet.iter_rows(min_row=2)]


# ---------------------------------------------------------------- cells


def test_text_is_never_a_formula_and_keeps_its_value(tmp_path):
    path = tmp_path / "t.xlsx"
    frame = pd.DataFrame({"text": [*HOSTILE, "bell\x07here", "plain"]})
    xlsx.write_workbook(str(path), [("t", frame)], [("note", "=1+1")])
    sheet = openpyxl.load_workbook(path)["t"]
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    read_back = [
        text.replace("\r", "\n") for text in HOSTILE
    ]  # XML reads a carriage return as a newline
    assert [c.value for c in cells] == [*read_back, "bell\\x07here", "plain"]
    assert all(c.data_type == "s" for c in cells)
    assert [c.quotePrefix for c in cells] == [True] * len(HOSTILE) + [False, False]
    run = openpyxl.load_workbook(path)["run"]
    assert run["B2"].value == "=1+1" and run["B2"].data_type == "s" and run["B2"].quotePrefix


def test_cells_are_typed(tmp_path):
    path = tmp_path / "t.xlsx"
    frame = pd.DataFrame(
        {
            "score": [1.5, math.nan, math.inf],
            "rank": pd.array([1, None, 3], dtype="Int64"),
            "held": [0.5, 1.0, 0.25],
            "flag": [True, False, True],
            "tier": pd.Categorical(["low", None, "high"], categories=["low", "high"], ordered=True),
        },
        index=pd.Index(["a", "b", "c"], name="key"),
    )
    xlsx.write_workbook(str(path), [("t", frame)], [])
    sheet = openpyxl.load_workbook(path)["t"]
    _check_sheet(sheet, ["key", "score", "rank", "held", "flag", "tier"])
    assert [c.value for c in sheet[2]] == ["a", 1.5, 1, 0.5, True, "low"]
    assert [c.value for c in sheet[3]] == ["b", None, None, 1, False, None]
    assert sheet["B4"].value == "inf" and sheet["B4"].data_type == "s"
    assert (sheet["B2"].number_format, sheet["C2"].number_format, sheet["D2"].number_format) == (
        xlsx.DECIMAL,
        xlsx.INTEGER,
        xlsx.SHARE,
    )
    assert sheet.auto_filter.ref == "A1:F4"


def test_sheet_names_are_valid_and_unique():
    assert xlsx.sheet_title("a/b:c*d?[e]", []) == "a_b_c_d__e_"
    assert xlsx.sheet_title("run", ["Run"]) == "run (2)"
    assert len(xlsx.sheet_title("x" * 40, [])) == 31


# ---------------------------------------------------------------- every command


def test_run_out_xlsx(tmp_path):
    methodology = tmp_path / "m.tier"
    methodology.write_text(
        'methodology "Groups"\nentity country key iso3 label country\n'
        'input hdi: number "HDI" from "hdi" range 0..1\n'
        'tier g "Group" from hdi {\n  High: >= 0.7\n  Low: otherwise\n}\n',
        encoding="utf-8",
    )
    data = tmp_path / "d.csv"
    rows = "".join(
        f'K{i},"{text.replace(chr(34), chr(34) * 2)}",0.{5 + i}\n'
        for i, text in enumerate(HOSTILE[:4])
    )
    data.write_text("iso3,country,hdi\n" + rows, encoding="utf-8")
    out = tmp_path / "r.xlsx"
    db = str(tmp_path / "a.db")
    result = CliRunner().invoke(
        main,
        [
            "run",
            str(methodology),
            "--data",
            str(data),
            "--audit",
            db,
            "--out",
            str(out),
            "--note",
            "for the board",
        ],
    )
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["results", "counts", "run"]
    sheet = book["results"]
    _check_sheet(sheet, ["key", "label", "score", "tier", "rank", "hdi", "g"])
    assert _column(sheet, "label") == HOSTILE[:4]
    assert all(row[1].quotePrefix and row[1].data_type == "s" for row in sheet.iter_rows(min_row=2))
    assert _column(sheet, "score") == [0.5, 0.6, 0.7, 0.8] and _column(sheet, "rank") == [
        4,
        3,
        2,
        1,
    ]
    assert _column(sheet, "tier") == ["Low", "Low", "High", "High"]
    assert [[c.value for c in row] for row in book["counts"].iter_rows()] == [
        ["tier", "entities"],
        ["High", 2],
        ["Low", 2],
    ]
    fields = {row[0].value: row[1].value for row in book["run"].iter_rows(min_row=2)}
    assert (
        fields["run"] == 1 and fields["note"] == "for the board" and len(fields["chain hash"]) == 64
    )


def test_diff_out_xlsx(stp, tmp_path):
    out = tmp_path / "d.xlsx"
    result = CliRunner().invoke(
        main,
        [
            "diff",
            "--runs",
            str(stp.old_run),
            str(stp.new_run),
            "--audit",
            stp.path,
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["movers", "transitions", "params", "structural", "run"]
    movers = book["movers"]
    _check_sheet(movers, ["key", "label", "old_tier", "new_tier", "move"])
    assert len(_column(movers, "key")) == 8
    assert all(isinstance(v, int) for v in _column(movers, "move"))
    assert all(isinstance(v, float) for v in _column(movers, "score_change"))
    transitions = book["transitions"]
    assert (
        sum(v for row in transitions.iter_rows(min_row=2, min_col=2, values_only=True) for v in row)
        == 44
    )
    fields = {row[0].value: row[1].value for row in book["run"].iter_rows(min_row=2)}
    assert fields["old run"] == stp.old_run and fields["new run"] == stp.new_run


def test_sensitivity_out_xlsx(tmp_path):
    out = tmp_path / "s.xlsx"
    result = CliRunner().invoke(
        main,
        [
            "sensitivity",
            str(stp_store.STP_2017),
            "--data",
            str(stp_store.STP_DATA),
            "--data",
            f"organisation={stp_store.STP_ORGS}",
            "--samples",
            "16",
            "--seed",
            "3",
            "--drop-one",
            "--no-audit",
            "-q",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["entities", "choices", "drop one", "run"]
    entities = book["entities"]
    _check_sheet(
        entities,
        ["key", "label", "nominal_tier", "nominal_rank", "nominal_score", "held", "stable"],
    )
    assert all(isinstance(v, bool) for v in _column(entities, "stable"))
    assert all(0 <= float(v) <= 1 for v in _column(entities, "held"))
    assert entities["F2"].number_format == xlsx.SHARE
    assert sorted(_column(entities, "nominal_rank")) == _column(entities, "nominal_rank")
    assert len(_column(book["choices"], "choice")) == 2  # advanced_cutoff, transformation_weight


def test_reconcile_and_explain_out_xlsx(stp, tmp_path):
    out = tmp_path / "rc.xlsx"
    result = CliRunner().invoke(
        main,
        [
            "reconcile",
            str(stp.old_run),
            "--expected",
            str(stp_store.PUBLISHED),
            "--key",
            "footprint_no",
            "--column",
            "overall_category_label",
            "--audit",
            stp.path,
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["summary", "mismatches", "matrix", "not compared", "run"]
    summary = {row[0].value: row[1].value for row in book["summary"].iter_rows(min_row=2)}
    matrix = book["matrix"]
    assert (
        sum(v for row in matrix.iter_rows(min_row=2, min_col=2, values_only=True) for v in row)
        == summary["compared"]
    )
    assert len(_column(book["mismatches"], "key")) == summary["compared"] - summary["agreed"]

    out = tmp_path / "e.xlsx"
    result = CliRunner().invoke(
        main,
        ["explain", "Dorset", "--run", str(stp.old_run), "--audit", stp.path, "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["derivation", "components", "run"]
    derivation = book["derivation"]
    _check_sheet(derivation, ["depth", "node", "kind", "title"])
    assert (
        _column(derivation, "node")[0] == "overall_rating" and _column(derivation, "depth")[0] == 0
    )
    components = book["components"]
    first = {h.value: c.value for h, c in zip(components[1], components[2])}
    assert (
        first["aggregation"] == "overall"
        and first["weight"] == 0.25
        and first["contribution"] == 0.75
    )
