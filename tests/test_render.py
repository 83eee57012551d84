"""Rendering (tierlang/render/): every number shown through the one number formatter
(dsl.numbers.format_number), so that the same value reads the same in every output. Each test
below failed before the renderer it checks used that formatter."""

from __future__ import annotations

import base64
import csv
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from dsl.numbers import format_number
from tierlang.cli import main
from tierlang.render.run import stable_order_ends

# scores with more than four significant digits, as an index of real data has
INDEX = '''methodology "An index"
entity org key id
input x: number
param w = 50% range 40%..60%
score index "Index" = x * w * 2
'''
DATA = "id,x\nA,1234.5678\nB,0.123456789\nC,98765.4321\n"


@pytest.fixture
def files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "i.tier").write_text(INDEX, encoding="utf-8")
    (tmp_path / "i.csv").write_text(DATA, encoding="utf-8")
    return tmp_path


def _run_scores() -> dict[str, float]:
    result = CliRunner().invoke(main, ["run", "i.tier", "--data", "i.csv", "--no-audit", "--format", "json"])
    assert result.exit_code == 0, result.output
    return {e["key"]: e["score"] for e in json.loads(result.output)["entities"]}


def test_sensitivity_csv_keeps_every_digit_of_the_nominal_scores(files):
    # was f"{x:g}": six significant digits, 98765.4321 written as 98765.4
    result = CliRunner().invoke(main, ["sensitivity", "i.tier", "--data", "i.csv", "--no-audit", "--samples", "20",
                                       "--seed", "1", "-q", "--out", "s.csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO((files / "s.csv").read_text(encoding="utf-8"))))
    assert {r["key"]: float(r["nominal_score"]) for r in rows} == _run_scores()


def test_sensitivity_text_shows_the_nominal_scores_as_run_does(files):
    # was f"{x:.4g}": 98765.4321 shown as 9.877e+04, where `tierlang run` shows 98765.4321
    result = CliRunner().invoke(main, ["sensitivity", "i.tier", "--data", "i.csv", "--no-audit", "--samples", "20",
                                       "--seed", "1", "-q"])
    assert result.exit_code == 0, result.output
    table = CliRunner().invoke(main, ["run", "i.tier", "--data", "i.csv", "--no-audit"]).output
    for key, score in _run_scores().items():
        shown = format_number(score)
        assert any(line.split()[1:3] == [key, shown] for line in result.output.splitlines() if len(line.split()) > 2)
        assert any(line.split()[1:3] == [key, shown] for line in table.splitlines() if len(line.split()) > 2)
    assert "98765.4321" in result.output and "9.877e+04" not in result.output


def test_the_contributions_chart_labels_bars_as_the_report_tables_show_numbers():
    from tierlang import charts

    uri = charts.contributions(["a", "b"], [12.345, -1234.5678], "score")
    svg = base64.b64decode(uri.removeprefix(charts.SVG_MIME)).decode("utf-8")
    assert "12.345" in svg and "-1234.5678" in svg  # was f"{x:.4g}": 12.35 and -1235
    assert "12.35<" not in svg


WEIGHTED = '''methodology "Weighted"
entity org key id
input x: number
input y: number
indicator ix = x
indicator iy = y
param w = 50%
score s = weighted_mean(ix: w, iy: 1 - w)
tier t from s {
  high: >= 1000
  low: otherwise
}
'''


def test_the_movers_frame_attributes_moves_as_the_movers_csv_does(tmp_path, monkeypatch):
    # the workbook's and DataFrame's attribution was f"{x:+.4g}" (+360.0134 shown +360), the
    # text's and the CSV's format_number (+360.0134)
    import tierlang
    from tierlang.render.compare import movers_csv

    monkeypatch.chdir(tmp_path)
    Path("old.tier").write_text(WEIGHTED, encoding="utf-8")
    Path("new.tier").write_text(WEIGHTED.replace("w = 50%", "w = 80%"), encoding="utf-8")
    Path("d.csv").write_text("id,x,y\nA,1500.12345,300.0789\nB,10.5,20.25\n", encoding="utf-8")
    outcome = tierlang.diff("old.tier", "new.tier", "d.csv", audit="d.db")
    written = {r["key"]: r["attribution"] for r in csv.DictReader(io.StringIO(movers_csv(outcome.comparison)))}
    assert list(written) == ["A"] and "+360.0134" in written["A"]
    assert {k: outcome.frame.loc[k, "attribution"] for k in written} == written


def test_cells_show_numbers_with_the_one_formatter():
    from tierlang.render import cells

    assert cells.number(2 / 3) == format_number(2 / 3) == "0.6667"
    assert cells.number(None) == cells.number(float("nan")) == "-"
    assert cells.signed(0.25) == "+0.25" and cells.signed(-1.5) == "-1.5" and cells.signed(0.0) == "0"
    assert [cells.percent(x) for x in (0.0, 0.001, 0.5, 0.999, 1.0)] == ["0%", "<1%", "50%", ">99%", "100%"]
    assert cells.exact(98765.4321) == "98765.4321" and cells.exact(3.0) == "3" and cells.exact(None) == ""


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from([1.0, 2.0, 2.0, 5.0]), st.just(float("nan")), st.integers(1, 50).map(float)),
                min_size=1, max_size=60), st.integers(0, 30), st.integers(0, 30))
def test_a_screenful_shows_the_ends_of_the_stable_sort_by_rank(ranks, first, last):
    ranks = np.array(ranks)
    order = pd.Series(ranks).sort_values(kind="stable", na_position="last").index.to_numpy()
    head, tail = stable_order_ends(ranks, first, last)
    assert head.tolist() == order[:first].tolist()
    assert tail.tolist() == order[len(order) - min(last, len(order)):].tolist()
