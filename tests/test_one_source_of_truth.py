"""Issue 11: explain, diff and reconcile state what the run computed, never a re-derivation.

Each reproducer of the issue, at the CLI: the run and its explanation must agree.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from tierlang.cli import main

ROOT = Path(__file__).resolve().parents[1]
STP = ROOT / "methodologies" / "stp_dashboard_2017.tier"
STP_DATA = ROOT / "examples" / "stp_2017"


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TIERLANG_AUDIT", raising=False)
    return tmp_path


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def write(name: str, text: str) -> str:
    Path(name).write_text(text, encoding="utf-8")
    return name


HEAD = 'methodology "R"\nentity org key code\n'


def test_skip_missing_weighted_sum_explains_the_renormalised_contribution(workdir):
    write("m.tier", HEAD + "input a: number\ninput b: number\nparam wa = 2\n"
          "score s = sum(a: wa, b: 3, skip missing)\n"
          "tier t: level low < high from s { high: >= 3  low: otherwise }\n")
    write("d.csv", "code,a,b\nX,1,\n")
    assert invoke("run", "m.tier", "--data", "d.csv", "--audit", "a.db").exit_code == 0
    out = invoke("explain", "X", "--audit", "a.db").output
    # the run gives 1 x 2 x (5 / 2) = 5; the contribution is that, with the coefficient 5
    assert "* s (score) = 5\n" in out
    assert "a: value 1, weight 2, coefficient 5, contribution 5" in out
    assert "b: missing (input_missing), weight 3, not counted" in out
    assert "weights re-normalised over the components present" in out


def test_tolerance_tie_ranks_both_first_in_run_and_explain(workdir):
    write("m.tier", HEAD + "input a: number\ninput b: number\nscore s = a + b\n"
          "tier t: level other < best from s { best: top 1  other: otherwise }\n")
    write("d.csv", "code,a,b\nX,0.1,0.2\nY,0.3,0\n")
    run = invoke("run", "m.tier", "--data", "d.csv", "--audit", "a.db")
    assert re.search(r"^\s+1\s+X\s+0\.3\s+best$", run.output, re.M), run.output
    assert re.search(r"^\s+1\s+Y\s+0\.3\s+best$", run.output, re.M), run.output
    for key in ("X", "Y"):
        out = invoke("explain", key, "--audit", "a.db").output
        assert "ranks 1 of 2 from the top, in the top 1" in out, out
        assert "rank 1 of 2 in this run" in out


def stp_run(*extra):
    return invoke("run", STP, "--data", STP_DATA / "stp_2017.csv",
                  "--data", f"organisation={STP_DATA / 'organisations.csv'}", "--audit", "a.db", *extra)


def test_stp_override_rank_in_explain_is_the_runs(workdir):
    run = stp_run("--param", "transformation_weight=60%", "--format", "json")
    assert run.exit_code == 0, run.output
    rows = {r["key"]: r for r in json.loads(run.output)["entities"]}
    nwl = rows["27"]
    assert nwl["rank"] == 5 and nwl["tier"] == "outstanding"
    out = invoke("explain", "North West London", "--audit", "a.db").output
    assert "ranks 5 of 44 from the top, in the top 5" in out
    assert "rank 5 of 44 in this run" in out


WEIGHTS_120 = HEAD + ("input a: number\ninput b: number\nparam w = 60%\nlet other = 1 - w + 20%\n"
                      "score s = weighted_mean(a: w, b: other)\n")


def test_check_refuses_weights_summing_to_120_percent_through_a_let(workdir):
    write("m.tier", WEIGHTS_120)
    result = invoke("check", "m.tier")
    assert result.exit_code == 3
    assert ("m.tier:7:11: error: the weights sum to 120%, not 100% (a: w 60%, b: other 60%)"
            in result.output)


def test_param_percent_is_the_same_float_as_in_a_file(workdir):
    import dsl
    from dsl.numbers import parse_number
    from tierlang import api

    m = dsl.load(write("m.tier", HEAD + "input a: number\nparam w = 14.3%\nscore s = a * w\n"))
    declared = m.node("w").value
    assert declared == 0.143 == parse_number("14.3%") == parse_number(" 14.3 % ")
    assert api.parse_params(m, ["w=14.3%"])["w"] == declared
    write("d.csv", "code,a\nX,14.3%\n")
    assert api.run("m.tier", "d.csv").result.values("a")["X"] == declared


def test_override_breaking_the_weights_is_refused(workdir):
    write("m.tier", HEAD + "input a: number\ninput b: number\nparam w = 60% range 0..1\n"
          "score s = weighted_mean(a: w, b: 40%)\n")
    write("d.csv", "code,a,b\nX,1,2\n")
    result = invoke("run", "m.tier", "--data", "d.csv", "--audit", "a.db", "--param", "w=70%")
    assert result.exit_code != 0
    assert "the weights sum to 110%, not 100%" in result.output
    assert not Path("a.db").exists() or "run 1" not in invoke("runs", "--audit", "a.db").output


def test_override_with_normalise_is_a_note_and_contributions_add_up(workdir):
    write("m.tier", HEAD + "input a: number\ninput b: number\nparam w = 60% range 0..1\n"
          "score s = weighted_mean(a: w, b: 40%, normalise)\n"
          "tier t: level low < high from s { high: >= 1.5  low: otherwise }\n")
    write("d.csv", "code,a,b\nX,1,2\n")
    result = invoke("run", "m.tier", "--data", "d.csv", "--audit", "a.db", "--param", "w=70%")
    assert result.exit_code == 0, result.output
    assert "note: the weights sum to 110%" in result.output
    out = invoke("explain", "X", "--audit", "a.db").output
    # 0.7 / 1.1 x 1 + 0.4 / 1.1 x 2 = 1.3636...
    assert "* s (score) = 1.3636" in out
    assert "a: value 1, weight 0.7, coefficient 0.6364, contribution 0.6364" in out
    assert "b: value 2, weight 0.4, coefficient 0.3636, contribution 0.7273" in out


def test_count_over_a_list_of_per_entity_values_counts_per_entity(workdir):
    write("m.tier", HEAD + "input C01: number\ninput C02: number\n"
          "let n = count([C01, C02] is not missing)\n")
    write("d.csv", "code,C01,C02\nA,4,2\nB,,5\nC,1,\n")
    result = invoke("run", "m.tier", "--data", "d.csv", "--no-audit", "--format", "json")
    assert result.exit_code == 0, result.output
    from tierlang import api

    outcome = api.run("m.tier", "d.csv")
    assert outcome.result.values("n").to_dict() == {"A": 2.0, "B": 1.0, "C": 1.0}


def test_run_and_explain_show_the_same_digits(workdir):
    stp_run()
    run = stp_run("--param", "transformation_weight=60%")
    line = next(x for x in run.output.splitlines() if "North West London" in x)
    score = line.split()[-2]
    out = invoke("explain", "North West London", "--audit", "a.db").output
    assert f"overall {score} ranks" in out


def test_a_sampled_value_breaking_the_weights_is_refused_like_an_override(workdir):
    write("m.tier", HEAD + "input a: number\ninput b: number\nparam w = 60% range 50%..70%\n"
          "score s = weighted_mean(a: w, b: 40%)\n"
          "tier t: level low < high from s { high: >= 1.5  low: otherwise }\n")
    write("d.csv", "code,a,b\nX,1,2\nY,2,1\n")
    result = invoke("sensitivity", "m.tier", "--data", "d.csv", "--no-audit", "-q", "--seed", "1",
                    "--samples", "8")
    assert result.exit_code != 0
    assert re.search(r"m\.tier:6:11: the weights sum to [0-9.]+%, not 100% \(a: w [0-9.]+%, b: 40%\) "
                     r"in sample \d+", result.output), result.output
    assert "Traceback" not in result.output


def test_sampled_weights_that_keep_their_sum_are_accepted():
    import numpy as np
    import pandas as pd

    import dsl
    from interpreter.evaluate import SampleEvaluator

    m = dsl.check_source(HEAD + "input a: number\ninput b: number\nparam w = 60% range 40%..60%\n"
                         "score s = weighted_mean(a: w, b: 1 - w)\n", "m.tier")
    inputs = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]}, index=pd.Index(["X", "Y"]))
    ev = SampleEvaluator(m, inputs, sampled=["w"], wanted=["s"])
    out = ev.matrix(ev.run({"w": np.array([0.4, 0.5, 0.6])})["s"])
    assert out.tolist() == [[0.4 * 1 + 0.6 * 3, 0.4 * 2 + 0.6 * 4], [2.0, 3.0],
                            [0.6 * 1 + 0.4 * 3, 0.6 * 2 + 0.4 * 4]]


# ---------------------------------------------------------------- audit schema version 7

SMALL = HEAD + ("input a: number\ninput b: number\nparam w = 60%\n"
                '"""ASSUMPTION: a weighs 60%."""\n'
                "score s = weighted_mean(a: w, b: 1 - w, skip missing)\n"
                "score pick = if a > b then a else b\n"
                "tier t: level low < high from s { high: top 1  low: otherwise }\n")
SMALL_DATA = "code,a,b\nX,1,2\nY,3,\nZ,2,2\n"


def test_a_version_6_store_migrates_its_runs_still_verify_and_explain(workdir, monkeypatch):
    from audit import integrity, open_store, schema
    from audit.explain import explain
    from audit.write import rows as recorder  # where build_rows looks its helpers up
    from tierlang import api
    from tierlang.render.explain import render_text

    write("m.tier", SMALL)
    write("d.csv", SMALL_DATA)
    with monkeypatch.context() as m:  # tierlang as it was at version 6: no recorded facts
        m.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:6])
        m.setattr(schema, "SCHEMA_VERSION", 6)
        m.setattr(recorder, "fact_rows", lambda levels: recorder.FactRows([], [], []))
        api.run("m.tier", "d.csv", audit="a.db")
        with open_store("a.db") as old:
            assert old.schema_version == 6 and "entity_ranks" not in old.db.table_names()
    with open_store("a.db") as store:
        assert store.schema_version == schema.SCHEMA_VERSION >= 7
        assert {"node_components", "entity_ranks", "node_branches"} <= set(store.db.table_names())
        assert integrity.check_store(store.conn).ok and store.verify() == []
        assert not store.has_facts(1)
        text = render_text(explain(store, "Y", run_id=1))
    assert "verification: sound" in text
    assert "a: value 3, weight 0.6\n" in text  # what the old run recorded, no re-derived contribution
    assert "contributions not recorded (run recorded before audit schema version 7)" in text
    assert "ranks" not in text and "in this run" not in text  # no rank re-derived for an old run
    api.run("m.tier", "d.csv", audit="a.db")  # a new run in the migrated store: with its facts
    with open_store("a.db") as store:
        assert store.has_facts(2) and integrity.check_store(store.conn).ok
        new = render_text(explain(store, "Y", run_id=2))
    assert "a: value 3, weight 0.6, coefficient 1, contribution 3" in new
    assert "rank 1 of 3 in this run" in new


def test_the_content_hash_covers_every_recorded_fact(workdir):
    import sqlite3

    from audit import integrity

    write("m.tier", SMALL)
    write("d.csv", SMALL_DATA)
    assert invoke("run", "m.tier", "--data", "d.csv", "--audit", "a.db").exit_code == 0
    edits = [
        "UPDATE node_components SET contribution = zeroblob(length(contribution))",
        "UPDATE node_components SET weight = randomblob(length(weight))",
        "UPDATE node_components SET value = CAST(value AS TEXT)",
        "UPDATE node_components SET coefficient = 'text'",
        "UPDATE node_components SET components = '[\"a\", \"c\"]'",
        "UPDATE node_components SET entities = 2",
        "UPDATE entity_ranks SET rank = 3 WHERE entity = 1",
        "UPDATE entity_ranks SET from_rank_top = 2 WHERE entity = 1",
        "UPDATE node_branches SET taken = 'then' WHERE entity = 0",
        "UPDATE node_branches SET left_value = 9 WHERE entity = 2",
        "UPDATE node_statistics SET item = 7 WHERE name = 'n'",
        "DELETE FROM node_statistics",
        "DELETE FROM node_components",
        "DELETE FROM entity_ranks; DELETE FROM node_components; DELETE FROM node_branches",
    ]
    pristine = Path("a.db").read_bytes()
    for edit in edits:
        Path("a.db").write_bytes(pristine)
        conn = sqlite3.connect("a.db")
        conn.executescript(edit)
        conn.commit()
        assert not integrity.check_run(conn, 1).content_ok, edit
        conn.close()
        out = invoke("explain", "Y", "--audit", "a.db").output
        assert "verification: FAILED, do not rely on this explanation: content hash mismatch" in out, edit


def test_compressed_component_matrices_hold_the_same_facts_as_raw_ones(workdir):
    """Schema version 9 stores the component matrices zlib-compressed (`codec`). Decoding them
    in place back to the raw float64 bytes of version 7 (codec NULL) changes neither the run's
    digest nor what explain shows; bytes that do not decode, or an unknown codec, are damage."""
    import sqlite3
    import zlib

    from audit import integrity

    write("m.tier", SMALL)
    write("d.csv", SMALL_DATA)
    assert invoke("run", "m.tier", "--data", "d.csv", "--audit", "a.db").exit_code == 0
    compressed = invoke("explain", "Y", "--audit", "a.db").output
    assert "contribution 3" in compressed and "verification: sound" in compressed
    pristine = Path("a.db").read_bytes()
    conn = sqlite3.connect("a.db")
    assert {r[0] for r in conn.execute("SELECT codec FROM node_components")} == {"zlib"}
    conn.create_function("inflate", 1, zlib.decompress)
    conn.execute(
        "UPDATE node_components SET value = inflate(value), weight = inflate(weight), "
        "coefficient = inflate(coefficient), contribution = inflate(contribution), codec = NULL"
    )
    conn.commit()
    assert integrity.check_run(conn, 1).content_ok
    conn.close()
    assert invoke("explain", "Y", "--audit", "a.db").output == compressed
    for edit in ("UPDATE node_components SET codec = 'lz4'", "UPDATE node_components SET codec = NULL",
                 "UPDATE node_components SET weight = x'00'"):
        Path("a.db").write_bytes(pristine)
        conn = sqlite3.connect("a.db")
        conn.execute(edit)
        conn.commit()
        assert not integrity.check_run(conn, 1).content_ok, edit
        conn.close()
        out = invoke("explain", "Y", "--audit", "a.db").output
        assert "verification: FAILED" in out, edit


def test_explain_shows_docstrings_branches_provenance_and_depth(workdir):
    import hashlib

    write("m.tier", SMALL)
    write("d.csv", SMALL_DATA)
    invoke("run", "m.tier", "--data", "d.csv", "--audit", "a.db", "--param", "w=60%")
    out = invoke("explain", "X", "--audit", "a.db").output
    sha = hashlib.sha256(Path("d.csv").read_bytes()).hexdigest()
    assert f"data d.csv: sha256 {sha} (recompute: sha256sum d.csv)" in out
    sha = hashlib.sha256(Path("m.tier").read_bytes()).hexdigest()
    assert f"methodology m.tier: sha256 {sha} (recompute: sha256sum m.tier)" in out
    assert "note: ASSUMPTION: a weighs 60%." in out
    shallow = invoke("explain", "X", "--audit", "a.db", "--depth", "0").output
    assert "  * s (score)" not in shallow and "... 4 more nodes below (--depth)" in shallow
    write("p.tier", HEAD + "input a: number\ninput b: number\nscore pick = if a > b then a else b\n"
          "score big = max(a, b)\nscore both = pick + big\n"
          "tier t: level low < high from both { high: >= 4  low: otherwise }\n")
    invoke("run", "p.tier", "--data", "d.csv", "--audit", "b.db")
    out = invoke("explain", "Y", "--audit", "b.db").output
    assert "took the `else` branch" not in out
    assert "the condition was missing: neither branch taken" in out  # b missing for Y
    out = invoke("explain", "X", "--audit", "b.db").output
    assert "took the `else` branch: 1 > 2 did not hold" in out
    assert "max gave b" in out


def test_overridden_params_come_first(workdir):
    write("m.tier", SMALL)
    write("d.csv", SMALL_DATA)
    invoke("run", "m.tier", "--data", "d.csv", "--audit", "a.db", "--param", "w=70%")
    lines = invoke("explain", "X", "--audit", "a.db").output.splitlines()
    assert lines[3] == "params set for this run: w = 0.7 (declared 0.6)"


def test_population_statistics_are_recorded_typed_and_explain_reads_them(workdir):
    from audit import open_store

    write("m.tier", HEAD + "input a: number\ninput g: text\nindicator q = quartile(a)\n"
          "indicator z = zscore(a, within g)\nscore s = q + z\n"
          "tier t: level low < high from s { high: top 2  low: >= -9 }\n")
    write("d.csv", "code,a,g\nX,1,North\nY,2,North\nZ,3,South\nW,5,South\n")
    assert invoke("run", "m.tier", "--data", "d.csv", "--audit", "a.db").exit_code == 0
    with open_store("a.db") as store:
        typed = store.statistics(1)
    z = [(t.shown, t.name, t.group, t.call, t.value) for t in typed["z"]]
    assert z[:3] == [("mean", "mean", "North", "zscore", 1.5), ("sd", "sd", "North", "zscore", 0.7071067811865476),
                     ("n", "n", "North", "zscore", 2.0)]
    assert [(t.name, t.index, t.value) for t in typed["q"]] == [("cut", 1, 1.75), ("cut", 2, 2.5), ("cut", 3, 3.5),
                                                                 ("n", None, 4.0)]
    assert [(t.shown, t.name, t.rule) for t in typed["t"]] == [("high.count", "count", "high"),
                                                              ("high.edge", "edge", "high"),
                                                              ("low.threshold", "threshold", "low"), ("n", "n", None)]
    out = invoke("explain", "Z", "--audit", "a.db").output
    assert "statistics within g South: mean 4, sd 1.4142, n 2" in out
    assert "quartile 3 of 4: cut points 1.75 / 2.5 / 3.5 (n = 4)" in out


def test_a_sum_of_terms_records_its_terms_as_components(workdir):
    write("m.tier", HEAD + "input a: number\ninput b: number\nparam k = 2\nscore s = a - (b + k) + 0.5\n"
          "tier t: level low < high from s { high: >= 0  low: otherwise }\n")
    write("d.csv", "code,a,b\nX,1,\nY,2,5\n")
    invoke("run", "m.tier", "--data", "d.csv", "--audit", "a.db")
    out = invoke("explain", "Y", "--audit", "a.db").output
    assert "* s (score) = -4.5\n" in out
    for line in ("a: value 2, weight 1, contribution 2", "b: value 5, weight -1, contribution -5",
                 "k: value 2, weight -1, contribution -2", "0.5: value 0.5, weight 1, contribution 0.5"):
        assert line in out
    assert "b: missing (input_missing), weight -1, makes the result missing" in invoke(
        "explain", "X", "--audit", "a.db").output
