"""Measure tables (`measures NAME { ... }`, docs/language.md "Measure tables"): each measure's
weight, direction, group and treatment stated once, and `measures NAME group G` aggregating a
group with its weights. tests/golden/valid_checked/measures.tier run from the CLI on generated
data, against an independent pandas oracle; the store records every component."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from dsl import check_file, parse
from tierlang.cli import main

ROOT = Path(__file__).resolve().parents[1]
MEASURES = ROOT / "tests/golden/valid_checked/measures.tier"
W_SAFETY = 0.4


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(13)
    n = 30
    frame = pd.DataFrame({
        "provider_id": [f"H{i:02d}" for i in range(n)],
        "mort_ami": rng.uniform(-10, 110, n).round(1),  # outside 0..100 too: the clip matters
        "mort_hf": rng.uniform(0, 100, n).round(1),
        "mort_copd": rng.uniform(0, 100, n).round(1),
        "readm_hf": rng.uniform(0, 120, n).round(1),
        "readm_copd": rng.uniform(0, 1, n).round(3),
        "safety_psi": rng.uniform(0, 5, n).round(2),
    })
    frame.to_csv("d.csv", index=False)
    return frame


def oracle(f: pd.DataFrame) -> pd.DataFrame:
    def standardised(x):  # zscore (sample sd) of the column clipped to 0..100
        c = x.clip(0, 100)
        return (c - c.mean()) / c.std(ddof=1)

    mortality = 0.5 * standardised(f["mort_ami"]) - 0.25 * standardised(f["mort_hf"]) \
        - 0.25 * standardised(f["mort_copd"])
    readmission = (2 * -standardised(f["readm_hf"]) + 1 * -f["readm_copd"]) / 3  # normalise: / (2 + 1)
    safety = W_SAFETY * f["safety_psi"]
    summary = 0.5 * mortality + 0.5 * readmission
    tier = np.where(summary >= 0.25, "above", np.where(summary >= -0.25, "same", "below"))
    return pd.DataFrame({"mortality": mortality.to_numpy(), "readmission": readmission.to_numpy(),
                         "safety": safety.to_numpy(), "summary": summary.to_numpy(), "rating": tier},
                        index=f["provider_id"])


def test_measure_groups_aggregate_with_their_weights_directions_and_treatments(data):
    result = CliRunner().invoke(main, ["run", str(MEASURES), "--data", "d.csv", "--audit", "a.db", "--out", "o.csv"])
    assert result.exit_code == 0, result.output
    got = pd.read_csv("o.csv").set_index("key")
    want = oracle(data)
    for column in ("mortality", "readmission", "safety", "summary"):
        assert got[column].tolist() == pytest.approx(want[column].tolist(), abs=1e-9), column
    assert got["rating"].tolist() == want["rating"].tolist()
    assert len(set(want["rating"])) > 1  # the data reaches more than one tier


def test_the_store_records_the_expanded_aggregation_and_every_component(data):
    runner = CliRunner()
    assert runner.invoke(main, ["run", str(MEASURES), "--data", "d.csv", "--audit", "a.db"]).exit_code == 0
    from audit import open_store

    store = open_store("a.db")
    try:
        expressions = {n.name: n.expression for n in store.nodes(1)}
    finally:
        store.close()
    assert expressions["mortality"] == ("weighted_mean(zscore(clip(mort_ami, 0, 100)): 0.5, "
                                        "-zscore(clip(mort_hf, 0, 100)): 0.25, -zscore(clip(mort_copd, 0, 100)): 0.25)")
    assert expressions["safety"] == "sum(safety_psi: w_safety)"


def test_a_measure_table_is_formatted_and_parses_back_to_the_same_tree():
    from dsl.formatter import format_module

    tree = parse(MEASURES.read_text(encoding="utf-8"))
    assert parse(format_module(tree)) == tree
    assert "measures outcomes group mortality" in format_module(tree)


def test_weights_of_a_group_must_sum_to_100_percent_where_the_aggregation_needs_it():
    text = MEASURES.read_text(encoding="utf-8").replace("mort_copd:  weight 0.25", "mort_copd:  weight 0.5")
    report = check_file("m.tier", text)
    assert [d.code for d in report.diagnostics if d.is_error] == ["weights-sum"]
    assert "(mort_ami: 50%, mort_hf: 25%, mort_copd: 50%)" in report.diagnostics[0].message
    # `normalise` divides by the group's sum: any positive weights do
    assert not [d for d in check_file("m.tier", text.replace("group mortality)", "group mortality, normalise)"))
                .diagnostics if d.is_error]
