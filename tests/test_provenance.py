"""Who recorded a run and why (`run --note`, the user from the environment, schema version 6),
and `tierlang runs` keeping every run id whatever the terminal width."""

from __future__ import annotations

import sqlite3

import pytest
from click.testing import CliRunner

from audit import integrity, open_store
from tierlang.api import current_user
from tierlang.cli import main

METHODOLOGY = (
    'methodology "Groups"\nentity country key iso3 label country\n'
    'input hdi: number "HDI" from "hdi" range 0..1\n'
    'tier g "Group" from hdi {\n  High: >= 0.7\n  Low: otherwise\n}\n'
)


@pytest.fixture
def files(tmp_path):
    methodology = tmp_path / "m.tier"
    methodology.write_text(METHODOLOGY, encoding="utf-8")
    data = tmp_path / "d.csv"
    data.write_text("iso3,country,hdi\nAAA,Aland,0.8\nBBB,Bland,0.5\n", encoding="utf-8")
    return str(methodology), str(data), str(tmp_path / "a.db")


def _run(files, *extra, env=None):
    methodology, data, db = files
    result = CliRunner(env=env).invoke(
        main, ["run", methodology, "--data", data, "--audit", db, *extra]
    )
    assert result.exit_code == 0, result.output
    return result


def test_the_note_and_the_user_are_recorded_and_hashed(files, monkeypatch):
    monkeypatch.setenv("LOGNAME", "auditor\x1b[31m")  # control characters never reach the store
    _run(files, "--note", "for the board")
    db = files[2]
    with open_store(db) as store:
        info = store.run(1)
        assert (info.note, info.user) == ("for the board", "auditor[31m")
        assert integrity.check_run(store.conn, 1).ok
    conn = sqlite3.connect(db)
    conn.execute("UPDATE runs SET user = 'someone else' WHERE id = 1")
    conn.commit()
    conn.close()
    with open_store(db) as store:
        check = integrity.check_run(store.conn, 1)
    assert not check.content_ok and any("content hash mismatch" in p for p in check.problems)


def test_a_run_without_a_user_hashes_as_before_version_6(files):

    _run(files)
    with open_store(files[2]) as store:
        header = integrity.read_header(store.conn, 1)
        body = integrity.read_body(store.conn, 1).digest()
        with_user = integrity.content_hash(header, body)
        header.run["user"] = None
        without = integrity.content_hash(header, body)
        del header.run["user"]
        assert integrity.content_hash(header, body) == without != with_user


def test_current_user_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("LOGNAME", "methodologist")
    assert current_user() == "methodologist"
    monkeypatch.setenv("LOGNAME", "x" * 500)
    assert current_user() == "x" * 200


@pytest.mark.parametrize("columns", ["20", "40", "99", "100", "160"])
def test_runs_never_drops_the_run_id(files, columns):
    for _ in range(12):
        _run(files, "--note", "a long note " * 5)
    result = CliRunner(env={"COLUMNS": columns}).invoke(main, ["runs", "--audit", files[2]])
    assert result.exit_code == 0
    ids = [
        int(word)
        for line in result.output.splitlines()
        for word in line.replace("run ", "", 1).split()[:1]
        if word.isdigit()
    ]
    assert sorted(set(ids)) == list(range(1, 13))
    if int(columns) < 100:
        assert [line for line in result.output.splitlines() if line.startswith("run ")][
            0
        ].startswith("run 12  ")
    else:
        assert "started (UTC)" in result.output and "a long note" in result.output


def test_runs_json_has_the_user_and_note(files):
    _run(files, "--note", "why")
    result = CliRunner().invoke(main, ["runs", "--audit", files[2], "--format", "json"])
    assert '"note": "why"' in result.output and f'"user": "{current_user()}"' in result.output
