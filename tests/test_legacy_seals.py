"""Stores written before comparisons and analyses were sealed (audit/seals.py, docs/audit.md).

tests/data/store_before_seals.sql is a real store written by tierlang at commit ba860d8 (its
header says how): 3 runs, comparisons 1-2 and analysis 1, no seals. Opened by this tierlang, its
records are sealed once as legacy and `verify` passes with a note; what is recorded afterwards
is sealed when recorded; an unsealed record after that, or a forged legacy claim, fails.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from audit import seals
from tierlang import __version__
from tierlang.cli import main

OLD_STORE = Path(__file__).resolve().parent / "data" / "store_before_seals.sql"
CLAIM = rf"sealed on first open by tierlang {re.escape(__version__)} at \d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\dZ, "
CLAIM += "not sealed when recorded"


def invoke(*args, code: int = 0):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == code, result.output
    return result


def old_store(folder: Path) -> Path:
    path = folder / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(OLD_STORE.read_text(encoding="utf-8"))
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.close()
    return path


def meta(path: Path) -> dict[str, str]:
    with sqlite3.connect(path) as conn:
        return dict(conn.execute("SELECT key, value FROM tierlang_meta"))


def copy_comparison(conn: sqlite3.Connection, source: int, new_id: int) -> None:
    """A comparison row written directly, as no tierlang command writes one: without a seal."""
    columns = [r[1] for r in conn.execute("PRAGMA table_info(comparisons)") if r[1] != "id"]
    names = ", ".join(columns)
    conn.execute(f"INSERT INTO comparisons (id, {names}) SELECT ?, {names} FROM comparisons WHERE id = ?",
                 (new_id, source))


@pytest.fixture
def store(tmp_path):
    return old_store(tmp_path)


def test_the_old_store_has_no_seals(store):
    assert set(meta(store)) == {"application", "schema_version"}


def test_verify_passes_an_old_store_and_notes_its_records_as_legacy(store):
    shown = invoke("verify", "--all", "--audit", store).output
    assert re.search(rf"^store: integrity ok\n  note: comparisons 1-2: legacy, {CLAIM}\n"
                     rf"  note: analyses 1: legacy, {CLAIM}\n", shown, re.M), shown
    assert shown.endswith("ok: 3 runs reproduced, store intact\n")
    stored = meta(store)
    assert sorted(k for k in stored if k.startswith(("seal.", "legacy."))) == [
        "legacy.analysis.1", "legacy.comparison.1", "legacy.comparison.2",
        "seal.analysis.1", "seal.comparison.1", "seal.comparison.2"]
    marker = seals.json.loads(stored[seals.MARKER])
    assert (marker["tierlang"], marker["comparison"], marker["analysis"]) == (__version__, 2, 1)
    again = invoke("verify", "--all", "--audit", store).output  # sealed once: the same claims
    assert meta(store) == stored and again == shown


def test_what_is_recorded_after_the_first_open_is_sealed_when_recorded(store):
    invoke("runs", "--audit", store)  # any command opens it: the legacy records are sealed
    invoke("diff", "--runs", "1", "2", "--audit", store)  # comparison 3
    stored = meta(store)
    assert "seal.comparison.3" in stored and "legacy.comparison.3" not in stored
    digest = invoke("runs", "--digest", "--audit", store).output.strip()
    assert re.fullmatch(r"tierlang-chain-v1 run 3 \w{64} comparison 3 \w{64} analysis 1 \w{64}", digest)
    shown = invoke("verify", "--all", "--audit", store, "--expect-digest", digest).output
    assert "store: integrity ok, digest matches\n  note: comparisons 1-2: legacy" in shown


def test_a_first_record_seals_the_old_ones_before_itself(store):
    """No separate open: the transaction of the first seal seals the legacy records first."""
    conn = sqlite3.connect(store, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    copy_comparison(conn, 1, 3)
    seals.seal_record(conn, "comparison", 3)
    conn.execute("COMMIT")
    conn.close()
    assert "legacy.comparison.3" not in meta(store) and "legacy.comparison.2" in meta(store)
    shown = invoke("verify", "--all", "--audit", store).output
    assert "note: comparisons 1-2: legacy" in shown and "ok: 3 runs reproduced" in shown


def test_an_unsealed_record_after_the_first_open_fails(store):
    invoke("runs", "--audit", store)
    with sqlite3.connect(store) as conn:
        copy_comparison(conn, 1, 3)
    shown = invoke("verify", "--all", "--audit", store, code=1).output
    assert "comparison 3: not sealed" in shown and "FAILED" in shown


def test_a_legacy_claim_on_a_record_newer_than_the_first_open_fails(store):
    invoke("runs", "--audit", store)
    invoke("diff", "--runs", "1", "2", "--audit", store)  # comparison 3, sealed when recorded
    with sqlite3.connect(store) as conn:  # a forger re-seals an edited comparison 3 as "old"
        conn.execute("UPDATE comparisons SET outcome = replace(outcome, '1', '2') WHERE id = 3")
        seals.seal_record(conn, "comparison", 3, legacy="sealed on first open by tierlang 0.0.1")
    shown = invoke("verify", "--all", "--audit", store, code=1).output
    assert "comparison 3: sealed as older than seals, but recorded after the store was first opened" in shown


def test_an_edited_legacy_claim_or_record_fails(store):
    invoke("runs", "--audit", store)
    with sqlite3.connect(store) as conn:
        conn.execute("UPDATE tierlang_meta SET value = 'sealed when recorded' WHERE key = 'legacy.comparison.1'")
        conn.execute("UPDATE analyses SET seed = 7")
    shown = invoke("verify", "--all", "--audit", store, code=1).output
    assert "comparison 1: its rows do not match its seal" in shown
    assert "analysis 1: its rows do not match its seal" in shown


def test_a_forged_legacy_seal_is_caught_by_the_digest(store):
    invoke("runs", "--audit", store)
    digest = invoke("runs", "--digest", "--audit", store).output.strip()
    with sqlite3.connect(store) as conn:  # remove every trace of sealing, edit, let tierlang re-seal
        conn.execute("DELETE FROM tierlang_meta WHERE key LIKE 'seal%' OR key LIKE 'legacy.%'")
        conn.execute("UPDATE comparisons SET outcome = replace(outcome, '1', '2') WHERE id = 1")
    unseen = invoke("verify", "--all", "--audit", store).output  # the scheme is public: only a digest
    assert "note: comparisons 1-2: legacy" in unseen
    caught = invoke("verify", "--all", "--audit", store, "--expect-digest", digest, code=1).output
    assert "digest: comparison 2 has seal" in caught


def test_an_edited_marker_fails(store):
    invoke("runs", "--audit", store)
    with sqlite3.connect(store) as conn:
        conn.execute("UPDATE tierlang_meta SET value = 'x' WHERE key = ?", (seals.MARKER,))
    assert "tierlang_meta seals.first_open: not as tierlang writes it" in invoke(
        "verify", "--all", "--audit", store, code=1).output


def test_a_read_only_old_store_verifies_with_its_records_noted_unsealed(tmp_path):
    (tmp_path / "src").mkdir()
    old_store(tmp_path / "src")
    (tmp_path / "ro").mkdir()
    if subprocess.run(["mount", "--bind", "src", "ro"], capture_output=True, cwd=tmp_path).returncode != 0:
        pytest.skip("cannot bind-mount here (needs root)")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", "ro"], check=True, cwd=tmp_path)
        shown = invoke("verify", "--all", "--audit", tmp_path / "ro" / "old.db").output
        assert "note: comparisons 1-2: legacy, recorded by a tierlang before seals and not sealed yet" in shown
        assert "note: analyses 1: legacy, recorded by a tierlang before seals" in shown
        assert shown.endswith("ok: 3 runs reproduced, store intact\n")
    finally:
        subprocess.run(["umount", "ro"], check=True, cwd=tmp_path)
    assert set(meta(tmp_path / "src" / "old.db")) == {"application", "schema_version"}


def test_a_store_whose_version_row_is_unreadable_is_reported_damaged(store):
    """A damaged index of tierlang_meta hides the version row: damage, not "not a tierlang store"."""
    with sqlite3.connect(store) as conn:
        conn.execute("DELETE FROM tierlang_meta WHERE key = 'schema_version'")
    shown = invoke("verify", "--all", "--audit", store, code=1).output
    assert "the store is damaged: its tierlang_meta table has no schema_version" in shown
    assert "FAILED" in shown
