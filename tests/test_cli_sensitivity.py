"""`tierlang sensitivity` through the command line (click's CliRunner)."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from click.testing import CliRunner

from tierlang.cli import main

SMALL = '''methodology "Small"
entity org key id label name
input x: number
input y: number
indicator ix "X score" = x
indicator iy = y
param wx = 50% range 40%..60%
param cut = 1 range 0.9..1.1
score s "Score" = weighted_mean(ix: wx, iy: 1 - wx)
tier rating "Rating" from s {
  high: >= cut
  low: otherwise
}
'''
DATA = "id,name,x,y\nA,Alpha,0.5,0.5\nB,Beta,1.2,0.8\nC,Gamma,2,2\nD,Delta,0.9,1.3\n"

# The text with every sampled number masked (P: a percentage, I: an index, M: a choice name)
# and runs of spaces collapsed; the numbers themselves are checked against the JSON output.
EXPECTED = """\
sensitivity of Rating (rating) to 2 choices
Small
4 entities (org) from small.csv
not recorded (--no-audit)
400 samples, seed 7: 1,200 evaluations in T s

choices sampled
choice kind distribution declared
────────────────────────────────────────────
cut param uniform 0.9..1.1 1
wx param uniform 40%..60% 0.5

per entity (nominal rank order; held: share of samples with the nominal tier)
rank id name nominal tier held tier probabilities median rank 90% rank interval stable most sensitive to
───────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────
 1 C Gamma high P high P 1 1-1 yes -
 2 D Delta high P high P, low P 2 2-2 S M
 3 B Beta high P high P, low P 3 3-3 no M
 4 A Alpha low P low P 4 4-4 yes -

overall
 stable (nominal tier held in >= 90% of samples): N of 4 entities (P)
 mean absolute rank shift: 0.00

which choice matters most (first-order and total-order sensitivity indices of the score `s` and of the tier; tier changes when the choice alone varies)
rank choice score: first score: total tier: first tier: total tier changes alone
────────────────────────────────────────────────────────────────────────────────────────────
 1 M I I I I P
 2 M I I I I P
"""


def masked(text: str) -> str:
    text = re.sub(r"evaluations in \d+\.\d\d s", "evaluations in T s", text)
    text = re.sub(r"(?<![\w.])(\d+%|>99%|<1%)(?!\.\.| rank interval| of samples)", "P", text)
    text = re.sub(r"-?\d\.\d{3}\b", "I", text)
    text = re.sub(r"\b(wx|cut)$", "M", text, flags=re.MULTILINE)
    text = re.sub(r"^(\s+\d+\s+)(wx|cut)\b", r"\1M", text, flags=re.MULTILINE)
    return "\n".join(re.sub(r" {2,}", " ", line).rstrip() for line in text.splitlines()) + "\n"


@pytest.fixture
def files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "small.tier").write_text(SMALL, encoding="utf-8")
    (tmp_path / "small.csv").write_text(DATA, encoding="utf-8")
    return tmp_path


def invoke(*args):
    return CliRunner().invoke(main, ["sensitivity", "small.tier", "--data", "small.csv", *args])


def test_text_output_structure(files):
    result = invoke("--samples", "400", "--seed", "7", "--no-audit")
    assert result.exit_code == 0, result.output
    data = json.loads(invoke("--samples", "400", "--seed", "7", "--no-audit", "--format", "json").output)
    entities = {x["key"]: x for x in data["entities"]}
    expected = EXPECTED.replace(" 2-2 S M", " 2-2 " + ("yes" if entities["D"]["stable"] else "no") + " M")
    expected = expected.replace(": N of 4", f": {data['summary']['stable']} of 4")
    assert masked(result.output) == expected
    # the masked numbers are those of the analysis
    lines = result.output.splitlines()
    for key in ("D", "B"):
        e = entities[key]
        row = next(line for line in lines if re.match(rf"\s+\d+\s+{key}\s", line)).split()
        held = f"{round(100 * e['held'])}%"
        assert row[4] == held and row[-1] == e["most_sensitive"]
        assert row[6] == f"{held}," and row[8] == f"{round(100 * e['probabilities']['low'])}%"
    for choice, line in zip(data["choices"], lines[-2:]):
        cells = line.split()
        assert cells[:2] == [str(choice["rank"]), choice["name"]]
        assert cells[2:6] == [f"{choice[k]:.3f}" for k in ("first_order_index", "total_order_index",
                                                           "first_order_index_tier", "total_order_index_tier")]
        assert cells[6] == f"{round(100 * choice['tier_change_share'])}%"


def test_json_keys(files):
    result = invoke("--samples", "100", "--seed", "3", "--no-audit", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"analysis_id", "run_id", "audit", "methodology", "data", "tier", "score", "labels",
                         "samples", "base_samples", "evaluations", "seed", "seconds", "spec", "summary",
                         "choices", "entities", "drop_one", "notes"}
    assert data["tier"] == "rating" and data["score"] == "s" and data["labels"] == ["high", "low"]
    assert (data["samples"], data["base_samples"], data["evaluations"], data["seed"]) == (100, 50, 300, 3)
    assert set(data["summary"]) == {"entities", "stable", "stable_share", "mean_abs_rank_shift", "most_important"}
    assert set(data["choices"][0]) == {"rank", "name", "kind", "distribution", "declared", "first_order_index",
                                       "total_order_index", "first_order_index_tier", "total_order_index_tier",
                                       "tier_change_share"}
    assert set(data["entities"][0]) == {"key", "label", "nominal_tier", "nominal_rank", "nominal_score",
                                        "probabilities", "held", "stable", "median_rank", "rank_interval",
                                        "most_sensitive"}
    assert [x["key"] for x in data["entities"]] == ["C", "D", "B", "A"]
    assert data["spec"]["choices"] == [
        {"name": "wx", "kind": "param", "distribution": "uniform 40%..60%", "declared": "0.5"},
        {"name": "cut", "kind": "param", "distribution": "uniform 0.9..1.1", "declared": "1"},
    ]
    again = json.loads(invoke("--samples", "100", "--seed", "3", "--no-audit", "--format", "json").output)
    data.pop("seconds"), again.pop("seconds")
    assert data == again


def test_weights_and_drop_one(files):
    result = invoke("--samples", "100", "--seed", "1", "--no-audit", "--weights", "dirichlet(20)", "--drop-one",
                    "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {c["name"] for c in data["choices"]} == {"wx", "cut", "weights:s"}
    weights = next(c for c in data["choices"] if c["name"] == "weights:s")
    assert weights["kind"] == "weights" and weights["distribution"] == "dirichlet(20) around 0.5, 0.5"
    assert [d["indicator"] for d in data["drop_one"]] == ["ix", "iy"]
    text = invoke("--samples", "100", "--seed", "1", "--no-audit", "--weights", "dirichlet(20)", "--drop-one").output
    assert "dropping one indicator (weights re-normalised; nominal params)" in text
    assert "weights:s   weights   dirichlet(20) around 0.5, 0.5   0.5, 0.5" in text


def test_recorded_analysis_shows_in_explain(files):
    result = invoke("--samples", "200", "--seed", "5", "--audit", "a.db", "--quiet")
    assert result.exit_code == 0, result.output
    assert "nominal run 1 and analysis 1 recorded in a.db" in result.output
    explained = CliRunner().invoke(main, ["explain", "Beta", "--audit", "a.db"])
    assert explained.exit_code == 0, explained.output
    lines = explained.output.splitlines()
    assert lines[3] == "headline: Rating = high"
    assert re.fullmatch(r"robustness: tier held in \d+% of 200 samples; most sensitive to (wx|cut); "
                        r"median rank 3 \(90% interval 3-3\) \[analysis 1\]", lines[4])
    data = json.loads(CliRunner().invoke(main, ["explain", "Beta", "--audit", "a.db", "--format", "json"]).output)
    assert data["headline"]["robustness"] == lines[4][len("robustness: "):]


def test_out_files(files):
    assert invoke("--samples", "50", "--seed", "1", "--no-audit", "--out", "r.csv").exit_code == 0
    rows = list(csv.DictReader(io.StringIO((files / "r.csv").read_text(encoding="utf-8"))))
    assert [r["key"] for r in rows] == ["C", "D", "B", "A"]
    assert set(rows[0]) >= {"nominal_tier", "held", "p_high", "p_low", "p_(no tier)", "rank_low", "rank_high"}
    result = invoke("--samples", "50", "--seed", "1", "--no-audit", "--out", "r.json")
    assert result.output.endswith("report written to r.json\n")
    assert json.loads((files / "r.json").read_text(encoding="utf-8"))["seed"] == 1


def test_no_progress_bar_when_not_a_terminal(files):
    result = CliRunner().invoke(main, ["sensitivity", "small.tier", "--data", "small.csv", "--samples", "50",
                                       "--seed", "1", "--no-audit"])
    assert "evaluating samples" not in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["--weights", "dirichlet(0)"], "concentration C above 0"),
    (["--weights", "normal(3)"], "write dirichlet(C)"),
    (["--samples", "1"], "--samples"),
    (["--tier", "nope"], "no such tier"),
])
def test_bad_requests(files, args, message):
    result = invoke("--no-audit", *args)
    assert result.exit_code != 0
    assert message in result.output


def test_nothing_to_sample(files):
    (files / "plain.tier").write_text(SMALL.replace(" range 40%..60%", "").replace(" range 0.9..1.1", ""),
                                      encoding="utf-8")
    result = CliRunner().invoke(main, ["sensitivity", "plain.tier", "--data", "small.csv", "--no-audit"])
    assert result.exit_code == 2
    assert "error: nothing to sample" in result.output
    assert not (files / "tierlang.db").exists()
