"""explain shows each data file's own sha256 for a run read from several files
(`--data FILE --data LEVEL=FILE`): recorded in `datasets.parts` (audit schema version 8) and
covered by the content hash; a store recorded before still verifies and explains."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from tierlang.cli import main

ROOT = Path(__file__).resolve().parent.parent
STP = ROOT / "methodologies" / "stp_dashboard_2017.tier"
DATA = ROOT / "examples" / "stp_2017"


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def record(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copy(DATA / "stp_2017.csv", "top.csv")
    shutil.copy(DATA / "organisations.csv", "orgs.csv")
    result = invoke("run", STP, "--data", "top.csv", "--data", "organisation=orgs.csv", "--audit", "a.db")
    assert result.exit_code == 0, result.output


def sha(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_explain_shows_each_data_files_own_sha256(tmp_path, monkeypatch):
    record(tmp_path, monkeypatch)
    out = invoke("explain", "Dorset", "--audit", "a.db").output
    assert f"  data file top.csv: sha256 {sha('top.csv')} (recompute: sha256sum top.csv)\n" in out
    assert f"  data file organisation=orgs.csv: sha256 {sha('orgs.csv')} (recompute: sha256sum orgs.csv)\n" in out
    combined = hashlib.sha256(f"={sha('top.csv')}\norganisation={sha('orgs.csv')}\n".encode()).hexdigest()
    assert f"organisation=orgs.csv: sha256 {combined} (recompute:" in out  # the combined hash, as before
    document = json.loads(invoke("explain", "Dorset", "--audit", "a.db", "--format", "json").output)
    assert any(sha("orgs.csv") in line for line in document["provenance"])
    conn = sqlite3.connect("a.db")
    parts = json.loads(conn.execute("SELECT parts FROM datasets").fetchone()[0])
    conn.close()
    assert [(p["level"], p["path"], p["sha256"]) for p in parts] == [
        (None, "top.csv", sha("top.csv")), ("organisation", "orgs.csv", sha("orgs.csv"))]


def test_one_data_file_records_no_parts(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("m.tier").write_text('methodology "m"\nentity org key code\ninput a: number\nscore s = a\n',
                              encoding="utf-8")
    Path("d.csv").write_text("code,a\nX,1\n", encoding="utf-8")
    assert invoke("run", "m.tier", "--data", "d.csv", "--audit", "a.db").exit_code == 0
    conn = sqlite3.connect("a.db")
    assert conn.execute("SELECT parts FROM datasets").fetchone() == (None,)
    conn.close()
    assert "data file" not in invoke("explain", "X", "--audit", "a.db").output


def test_the_content_hash_covers_each_files_sha256(tmp_path, monkeypatch):
    from audit import integrity

    record(tmp_path, monkeypatch)
    conn = sqlite3.connect("a.db")
    assert integrity.check_run(conn, 1).content_ok
    parts = json.loads(conn.execute("SELECT parts FROM datasets").fetchone()[0])
    parts[1]["sha256"] = "0" * 64  # another organisations file claimed
    conn.execute("UPDATE datasets SET parts = ?", (json.dumps(parts),))
    conn.commit()
    assert not integrity.check_run(conn, 1).content_ok
    conn.close()
    assert invoke("verify", "--all", "--audit", "a.db").exit_code != 0
    assert "verification: FAILED" in invoke("explain", "Dorset", "--audit", "a.db").output


def test_a_version_7_store_migrates_and_its_multi_file_run_still_verifies(tmp_path, monkeypatch):
    from audit import open_store, schema
    from audit.write import rows as recorder  # where build_rows looks its helpers up

    with monkeypatch.context() as m:  # tierlang as it was at version 7: no per-file sha256
        m.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:7])
        m.setattr(schema, "SCHEMA_VERSION", 7)
        m.setattr(recorder, "dataset_parts", lambda dataset: None)
        record(tmp_path, monkeypatch)
        with open_store("a.db") as old:
            assert old.schema_version == 7
            assert "parts" not in {c.name for c in old.db["datasets"].columns}
    with open_store("a.db") as store:
        assert store.schema_version == schema.SCHEMA_VERSION >= 8
        assert "parts" in {c.name for c in store.db["datasets"].columns}
    result = invoke("verify", "--all", "--audit", "a.db")
    assert result.exit_code == 0, result.output
    out = invoke("explain", "Dorset", "--audit", "a.db").output
    assert "verification: sound" in out and "data file" not in out
