"""`tierlang verify`, `tierlang rerun` and `tierlang runs --digest`, through click's CliRunner,
on exact output."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from tierlang import __version__
from tierlang.cli import main

METHODOLOGY = """methodology "Small"
version "1"
entity org key code label name

input a: number range 0..10
input b: number
param wa = 50% range 25%..75%

score s = weighted_mean(a: wa, b: 1 - wa)

tier grade from s {
  high: >= 5
  low:  otherwise
}
"""
DATA = "code,name,a,b\nA,Alpha,8,6\nB,Beta,2,3\nC,Gamma,5,\n"
NEW_DATA = "code,name,a,b\nA,Alpha,1,1\nD,Delta,9,9\n"


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """small.tier and small.csv in a scratch folder, the cwd; two runs recorded in audit.db."""
    (tmp_path / "small.tier").write_text(METHODOLOGY, encoding="utf-8")
    (tmp_path / "small.csv").write_text(DATA, encoding="utf-8")
    (tmp_path / "new.csv").write_text(NEW_DATA, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TIERLANG_AUDIT", raising=False)
    for params in ((), ("--param", "wa=25%")):
        result = invoke("run", "small.tier", "--data", "small.csv", "--audit", "audit.db", *params)
        assert result.exit_code == 0, result.output
    return tmp_path


def invoke(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def hashes(run_id: int) -> tuple[str, str]:
    conn = sqlite3.connect("audit.db")
    try:
        return conn.execute(
            "SELECT content_hash, chain_hash FROM runs WHERE id = ?", (run_id,)
        ).fetchone()
    finally:
        conn.close()


def tamper(statement: str) -> None:
    conn = sqlite3.connect("audit.db")
    conn.execute(statement)
    conn.commit()
    conn.close()


def test_verify_all_reports_each_run_reproduced(workdir):
    result = invoke("verify", "--all", "--audit", "audit.db")
    assert result.exit_code == 0
    assert result.output == (
        "run 1: reproduced (15 values, content hash ok, chain ok)\n"
        "run 2: reproduced (15 values, content hash ok, chain ok)\n"
        "store: integrity ok\n"
        f"latest: tierlang-chain-v1 run 2 {hashes(2)[1]}\n"
        "ok: 2 runs reproduced, store intact\n"
    )


def test_verify_named_runs_and_the_default_store(workdir, monkeypatch):
    monkeypatch.setenv("TIERLANG_AUDIT", "audit.db")
    result = invoke("verify", "2")
    assert result.exit_code == 0
    assert result.output == (
        "run 2: reproduced (15 values, content hash ok, chain ok)\n"
        "store: integrity ok\n"
        f"latest: tierlang-chain-v1 run 2 {hashes(2)[1]}\n"
        "ok: 1 run reproduced, store intact\n"
    )


def test_an_edited_tier_fails_with_the_entity_and_both_values(workdir):
    stored = hashes(1)[0]
    tamper("UPDATE node_values SET text = 'low' WHERE run = 1 AND entity = 0 AND node = 4")
    from audit import integrity

    conn = sqlite3.connect("audit.db")
    recomputed = integrity.content_hash(
        integrity.read_header(conn, 1), integrity.read_body(conn, 1).digest()
    )
    conn.close()
    result = invoke("verify", "--all", "--audit", "audit.db")
    assert result.exit_code == 1
    assert result.output == (
        "run 1: FAILED (15 values, content hash MISMATCH, chain ok)\n"
        "  content hash mismatch: its stored rows were changed after recording "
        f"(stored {stored[:12]}, recomputed {recomputed[:12]})\n"
        "  re-evaluation: NOT reproduced: 1 value differs in 1 node "
        f"(recorded with tierlang {__version__}, re-evaluated with tierlang {__version__})\n"
        "    node grade (tier): 1 of 3 entities differs\n"
        '      A: stored "low", recomputed "high"\n'
        "run 2: reproduced (15 values, content hash ok, chain ok)\n"
        "store: integrity ok\n"
        f"latest: tierlang-chain-v1 run 2 {hashes(2)[1]}\n"
        "FAILED: 1 of 2 runs failed (1)\n"
    )


def test_an_edited_input_shows_the_score_and_tier_that_no_longer_follow(workdir):
    tamper("UPDATE node_values SET num = 0 WHERE run = 2 AND entity = 0 AND node = 0")
    result = invoke("verify", "2", "--audit", "audit.db")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == "run 2: FAILED (15 values, content hash MISMATCH, chain ok)"
    assert lines[2:8] == [
        "  re-evaluation: NOT reproduced: 2 values differ in 2 nodes "
        f"(recorded with tierlang {__version__}, re-evaluated with tierlang {__version__})",
        "    node s (score): 1 of 3 entities differs",
        "      A: stored 6.5, recomputed 4.5",
        "    node grade (tier): 1 of 3 entities differs",
        '      A: stored "high", recomputed "low"',
        "    tier steps of grade: 1 entity differs (A)",
    ]


def test_a_deleted_run_breaks_the_chain(workdir):
    (workdir / "more.csv").write_text(DATA, encoding="utf-8")
    assert invoke("run", "small.tier", "--data", "more.csv", "--audit", "audit.db").exit_code == 0
    conn = sqlite3.connect("audit.db")
    for table in ("node_values", "tier_steps", "scalars", "nodes", "entities"):
        conn.execute(f"DELETE FROM {table} WHERE run = 2")
    conn.execute("DELETE FROM runs WHERE id = 2")
    conn.commit()
    conn.close()
    result = invoke("verify", "--all", "--audit", "audit.db")
    assert result.exit_code == 1
    assert result.output == (
        "run 1: reproduced (15 values, content hash ok, chain ok)\n"
        "run 3: FAILED (15 values, content hash ok, chain BROKEN)\n"
        "  chain broken: its chain hash does not follow run 1; run 2 missing\n"
        "  re-evaluation: every recorded value reproduced\n"
        "store: 1 problem\n"
        "  run 2 missing: deleted from the store\n"
        f"latest: tierlang-chain-v1 run 3 {hashes(3)[1]}\n"
        "FAILED: 1 of 2 runs failed (3); 1 store problem\n"
    )


def test_verify_needs_runs_or_all(workdir):
    for args in ((), ("1", "--all")):
        result = invoke("verify", "--audit", "audit.db", *args)
        assert result.exit_code == 2
        assert result.output == (
            "error: give the runs to verify (e.g. `tierlang verify 3 4`) or --all\n"
        )


def test_verify_an_unknown_run_or_store(workdir):
    result = invoke("verify", "7", "--audit", "audit.db")
    assert result.exit_code == 5
    assert result.output == "error: no run 7 in the audit store audit.db (runs recorded: 1-2)\n"
    result = invoke("verify", "--all", "--audit", "nothing.db")
    assert result.exit_code == 5
    assert result.output.startswith("error: no audit store at nothing.db")
    assert not Path("nothing.db").exists()


def test_runs_digest_prints_one_line(workdir):
    result = invoke("runs", "--digest", "--audit", "audit.db")
    assert result.exit_code == 0
    assert result.output == f"tierlang-chain-v1 run 2 {hashes(2)[1]}\n"


def test_runs_digest_of_an_empty_store(workdir):
    from audit import open_store

    open_store("empty.db").close()
    result = invoke("runs", "--digest", "--audit", "empty.db")
    assert result.exit_code == 5
    assert result.output == "error: the audit store empty.db has no runs yet\n"


def test_verify_checks_a_published_digest(workdir):
    published = invoke("runs", "--digest", "--audit", "audit.db").output.strip()
    result = invoke("verify", "--all", "--audit", "audit.db", "--expect-digest", published)
    assert result.exit_code == 0
    assert "store: integrity ok, digest matches\n" in result.output
    # the latest run removed together with its sequence number: only the digest shows it
    conn = sqlite3.connect("audit.db")
    for table in ("node_values", "tier_steps", "scalars", "nodes", "entities"):
        conn.execute(f"DELETE FROM {table} WHERE run = 2")
    conn.execute("DELETE FROM runs WHERE id = 2")
    conn.execute("UPDATE sqlite_sequence SET seq = 1 WHERE name = 'runs'")
    conn.commit()
    conn.close()
    assert invoke("verify", "--all", "--audit", "audit.db").exit_code == 0
    result = invoke("verify", "--all", "--audit", "audit.db", "--expect-digest", published)
    assert result.exit_code == 1
    assert result.output.endswith(
        "store: 1 problem\n"
        "  digest: run 2 is no longer in the store\n"
        f"latest: tierlang-chain-v1 run 1 {hashes(1)[1]}\n"
        "FAILED: 1 store problem\n"
    )


def test_a_malformed_digest_is_a_usage_error(workdir):
    result = invoke("verify", "--all", "--audit", "audit.db", "--expect-digest", "run two")
    assert result.exit_code == 2
    assert "expected 'tierlang-chain-v1 run ID HASH'" in result.output


def test_rerun_records_a_new_run_linked_to_the_old(workdir):
    Path("small.tier").write_text("this file changed since: not even a methodology\n")
    result = invoke("rerun", "2", "--data", "new.csv", "--audit", "audit.db")
    assert result.exit_code == 0, result.output
    assert result.output == (
        "run 3 recorded in audit.db\n"
        "Small, version 1\n"
        "2 entities (org) from new.csv\n"
        "\n"
        "rank   code   name    score   grade\n"
        "───────────────────────────────────\n"
        "   1   D      Delta       9   high\n"
        "   2   A      Alpha       1   low\n"
        "\n"
        "grade: high 1, low 1\n"
        "run 3 re-ran run 2: its recorded methodology and params, on new.csv\n"
    )
    conn = sqlite3.connect("audit.db")
    assert conn.execute("SELECT rerun_of, params FROM runs WHERE id = 3").fetchone() == (
        2,
        '{"wa": 0.25}',
    )
    conn.close()
    assert invoke("verify", "--all", "--audit", "audit.db").exit_code == 0


def test_rerun_of_an_unknown_run(workdir):
    result = invoke("rerun", "9", "--data", "new.csv", "--audit", "audit.db")
    assert result.exit_code == 5
    assert result.output == "error: no run 9 in the audit store audit.db (runs recorded: 1-2)\n"


def test_rerun_on_data_that_does_not_fit(workdir):
    Path("bad.csv").write_text("code,name,a\nA,Alpha,1\n")
    result = invoke("rerun", "1", "--data", "bad.csv", "--audit", "audit.db")
    assert result.exit_code == 4
    assert result.output == (
        "bad.csv: 1 problem in the data:\n"
        '  column "b": not found in the data (needed by input b)\n'
        '    help: the columns are "code", "name", "a"\n'
        "\n"
        "nothing was run or recorded.\n"
    )
    assert invoke("runs", "--digest", "--audit", "audit.db").output.startswith(
        "tierlang-chain-v1 run 2 "
    )
