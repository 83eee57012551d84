"""An index (a methodology without tiers) is ranked once, by the interpreter
(interpreter.ranking.index_score, NodeTrace.rank), recorded in `entity_ranks` under the score's
name and covered by the content hash; `run`, explain, diff, the ranked table and sensitivity only
read those ranks (issue 11)."""

from __future__ import annotations

import json
import sqlite3

import attrs
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from tierlang.cli import main

INDEX = """methodology "A composite index"
entity country key iso3

input a: number
input b: number
param wa = 50%
score index "Index" = weighted_mean(a: wa, b: 1 - wa)
"""
DATA = "iso3,a,b\nA,1,2\nB,3,1\nC,2,2\nD,,1\nE,1.5,2.5\n"


def invoke(*args):
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.tier").write_text(INDEX, encoding="utf-8")
    (tmp_path / "d.csv").write_text(DATA, encoding="utf-8")
    return tmp_path


def recorded(db: str, run: int) -> dict:
    conn = sqlite3.connect(db)
    rows = conn.execute(
        "SELECT e.key, r.rank, r.from_rank_top, r.from_rank_bottom FROM entity_ranks r "
        "JOIN entities e ON e.run = r.run AND e.position = r.entity WHERE r.run = ? AND r.tier = 'index'",
        (run,),
    ).fetchall()
    conn.close()
    assert all(top is None and bottom is None for _, _, top, bottom in rows)
    return {key: rank for key, rank, _, _ in rows}


def test_an_index_runs_recorded_ranks_are_the_ranks_run_shows(workdir):
    result = invoke("run", "m.tier", "--data", "d.csv", "--audit", "a.db", "--format", "json")
    assert result.exit_code == 0, result.output
    shown = {e["key"]: e["rank"] for e in json.loads(result.output)["entities"]}
    # B, C and E tie on 2.0 (the one tie rule: they share the best rank); D has no score
    assert shown == {"A": 4, "B": 1, "C": 1, "D": None, "E": 1}
    assert recorded("a.db", 1) == shown


def test_run_and_the_summary_table_read_the_interpreters_ranks(workdir):
    from tierlang import api
    from tierlang.results import summary_table

    result = api.run("m.tier", "d.csv").result
    assert result.traces["index"].rank.tolist()[:3] == [4.0, 1.0, 1.0]
    assert result.traces["a"].rank is None  # only the index's score is ranked
    marked = pd.Series([5.0, 4.0, 3.0, np.nan, 2.0], index=result.keys)  # not what the scores give
    traces = dict(result.traces, index=attrs.evolve(result.traces["index"], rank=marked))
    table = summary_table(attrs.evolve(result, traces=traces))
    assert table["rank"].tolist()[:3] == [5, 4, 3]  # read, never re-derived


def test_diff_and_the_ranked_table_of_two_indices_read_the_recorded_ranks(workdir):
    from audit import open_store
    from audit.compare import _read_run
    from audit.tables import ranked_table

    assert invoke("run", "m.tier", "--data", "d.csv", "--audit", "a.db").exit_code == 0
    assert invoke("run", "m.tier", "--data", "d.csv", "--audit", "a.db", "--param", "wa=80%").exit_code == 0
    out = json.loads(invoke("diff", "--runs", "1", "2", "--audit", "a.db", "--format", "json").output)
    movers = {m["key"]: (m["old"]["rank"], m["new"]["rank"]) for m in out["outcome"]["movers"]}
    old, new = recorded("a.db", 1), recorded("a.db", 2)
    assert movers and all(movers[k] == (old[k], new[k]) for k in movers)
    assert out["outcome"]["ranked_by"] == {"old": "index", "new": "index"}
    conn = sqlite3.connect("a.db")  # an edited rank is what they show: they read, not re-rank
    conn.execute("UPDATE entity_ranks SET rank = 5 WHERE run = 2 AND entity = 1")
    conn.commit()
    conn.close()
    with open_store("a.db") as store:
        assert _read_run(store, 2).ranks == [4, 5, 2, None, 3]
        assert ranked_table(store, 2)["rank"].tolist() == [4, 5, 2, pd.NA, 3]


def test_explain_shows_the_recorded_rank_of_an_index(workdir):
    invoke("run", "m.tier", "--data", "d.csv", "--audit", "a.db", "--param", "wa=80%")
    out = invoke("explain", "E", "--audit", "a.db").output
    assert "* Index (score index) = 1.7\n    rank 3 of 4 in this run\n" in out
    assert "rank" not in invoke("explain", "D", "--audit", "a.db").output.split("* Index")[1].split("*")[0]


def test_verify_catches_a_tampered_index_rank(workdir):
    from audit import integrity

    assert invoke("run", "m.tier", "--data", "d.csv", "--audit", "a.db").exit_code == 0
    assert invoke("verify", "--all", "--audit", "a.db").exit_code == 0
    conn = sqlite3.connect("a.db")
    conn.execute("UPDATE entity_ranks SET rank = 2 WHERE tier = 'index' AND entity = 1")
    conn.commit()
    assert not integrity.check_run(conn, 1).content_ok
    conn.close()
    result = invoke("verify", "--all", "--audit", "a.db")
    assert result.exit_code != 0 and "content hash mismatch" in result.output
    assert "verification: FAILED" in invoke("explain", "B", "--audit", "a.db").output


def test_an_index_run_recorded_before_its_ranks_were_still_explains_and_verifies(workdir, monkeypatch):
    from audit import open_store
    from audit.compare import _read_run
    from audit.write import rows as recorder  # where build_rows looks its helpers up

    fact_rows = recorder.fact_rows

    def without_index_ranks(levels):  # tierlang as it was: an index's ranks were not recorded
        return fact_rows([([attrs.evolve(t, rank=None) for t in traces], keys) for traces, keys in levels])

    with monkeypatch.context() as m:
        m.setattr(recorder, "fact_rows", without_index_ranks)
        assert invoke("run", "m.tier", "--data", "d.csv", "--audit", "a.db").exit_code == 0
    assert recorded("a.db", 1) == {}
    result = invoke("verify", "--all", "--audit", "a.db")
    assert result.exit_code == 0, result.output
    out = invoke("explain", "B", "--audit", "a.db").output
    assert "verification: sound" in out and "* Index (score index) = 2" in out
    assert "in this run" not in out  # no rank re-derived for it
    with open_store("a.db") as store:
        run = _read_run(store, 1)
    assert run.from_node == "index" and run.ranks == [None] * 5 and run.scores[1] == 2.0


LEVELS = """methodology "two levels"
entity trust key code
entity site within trust key site_id

input beds: number
input sbeds: number per site
score site_index per site = sbeds * 2
score idx = mean(sbeds, skip missing) over sites
"""


def test_a_lower_levels_index_is_ranked_once_and_recorded_by_member(workdir):
    from tierlang import api
    from tierlang.results import summary_table

    (workdir / "l.tier").write_text(LEVELS, encoding="utf-8")
    (workdir / "t.csv").write_text("code,beds\nT1,3\nT2,4\n", encoding="utf-8")
    (workdir / "s.csv").write_text("site_id,code,sbeds\nS1,T1,1\nS2,T1,5\nS3,T2,5\nS4,T2,\n", encoding="utf-8")
    outcome = api.run("l.tier", api.Tables("t.csv", {"site": "s.csv"}), audit="a.db")
    sites = summary_table(outcome.result, "site")
    assert sites["rank"].tolist() == [3, 1, 1, pd.NA]
    conn = sqlite3.connect("a.db")
    rows = conn.execute("SELECT tier, entity, rank FROM entity_ranks ORDER BY tier, entity").fetchall()
    conn.close()
    assert rows == [("idx", 0, 2), ("idx", 1, 1), ("site_index", 0, 3), ("site_index", 1, 1),
                    ("site_index", 2, 1), ("site_index", 3, None)]
    assert "rank 1 of 3 in this run" in invoke("explain", "S2", "--audit", "a.db").output
