"""Lookup tables (`table`: a value for every combination of its keys, checked complete) and
thresholds that differ by entity, in bands and tier rules: tests/golden/valid_checked/tables.tier
run from the CLI on generated data, against a pandas oracle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from dsl import load
from tierlang.cli import main

ROOT = Path(__file__).resolve().parents[1]
TABLES = ROOT / "tests/golden/valid_checked/tables.tier"
REWARD = {(1, "low"): 0, (1, "high"): 0, (2, "low"): 0.5, (2, "high"): 0.25, (3, "low"): 1, (3, "high"): 0.75}
FLAGGED = {("poor", True): "escalate", ("poor", False): "review", ("good", True): "review",
           ("good", False): "none"}


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(5)
    n = 40
    frame = pd.DataFrame({
        "trust_code": [f"T{i:02d}" for i in range(n)],
        "mean_score": rng.uniform(80, 100, n).round(1),
        "variance": rng.uniform(0, 3, n).round(2),
        "region": rng.choice(["North", "South"], n),
        "safe": rng.choice(["poor", "good"], n),
    })
    frame.to_csv("d.csv", index=False)
    return frame


def oracle(f: pd.DataFrame) -> pd.DataFrame:
    cuts = f["mean_score"].quantile([1 / 3, 2 / 3]).to_numpy()  # linear interpolation, as numpy's default
    band = 1 + (f["mean_score"].to_numpy()[:, None] > cuts[None, :]).sum(axis=1)
    spread = np.where(f["variance"] > 1, "high", "low")
    target = np.where(f["region"] == "North", 90.0, 95.0)
    return pd.DataFrame({
        "r": [REWARD[(int(b), s)] for b, s in zip(band, spread)],
        "action": [FLAGGED[(s, bool(v > 2))] for s, v in zip(f["safe"], f["variance"])],
        "met": (f["mean_score"].to_numpy() >= target).astype(float),
        "tier": np.where(f["mean_score"].to_numpy() >= target, "yes", "no"),
    }, index=f["trust_code"])


def test_tables_and_per_entity_thresholds_match_pandas(data):
    result = CliRunner().invoke(main, ["run", str(TABLES), "--data", "d.csv", "--audit", "a.db", "--out", "o.csv"])
    assert result.exit_code == 0, result.output
    got = pd.read_csv("o.csv").set_index("key")
    want = oracle(data)
    assert got["r"].tolist() == pytest.approx(want["r"].tolist())
    assert got["action"].tolist() == want["action"].tolist()
    assert got["met"].tolist() == want["met"].tolist()
    assert got["tier"].tolist() == want["tier"].tolist()


def test_explain_shows_the_entity_threshold_and_the_store_the_table_as_its_map(data):
    runner = CliRunner()
    assert runner.invoke(main, ["run", str(TABLES), "--data", "d.csv", "--audit", "a.db"]).exit_code == 0
    target = np.where(data["region"] == "North", 90, 95)
    on = data[data["mean_score"].to_numpy() >= target].iloc[0]
    text = runner.invoke(main, ["explain", on["trust_code"], "--audit", "a.db"]).output
    expected_target = 90 if on["region"] == "North" else 95
    assert (f"rule 1 of 2 (>= regional_target) assigned yes: mean_score {on['mean_score']:g} >= "
            f"regional_target {expected_target}") in text
    from audit import open_store

    store = open_store("a.db")
    try:
        expression = {n.name: n.expression for n in store.nodes(1)}["r"]
    finally:
        store.close()
    assert expression.startswith("map mean_band { 1: map spread_band { low: 0, high: 0 }")


def test_a_table_is_called_like_a_function_of_its_keys():
    m = load(str(TABLES))
    r = m.node("r")
    assert type(r.expr).__name__ == "MapOf" and r.expr.keys == (1.0, 2.0, 3.0)
    assert set(r.deps) == {"mean_band", "spread_band"}
    assert m.node("on_target").tier.rules[0].condition.value.name == "regional_target"
