"""Crash safety and concurrency with real processes and the real recording code: a process
killed (SIGKILL) in the middle of recording a large run leaves a sound store with no trace
of that run; writers in several processes at once all succeed and form one linear chain."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tierlang import api, verification

ROOT = Path(__file__).resolve().parent.parent
HDI = (ROOT / "methodologies/undp_hdi_groups.tier", ROOT / "examples/hdi/hdr_2022.csv")

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and fork semantics")

# A child process recording a large synthetic run. It announces (by creating SIGNAL) the moment
# recording reaches HOOK, then goes on: "values" = the 2M-row insert has started, "seal" = every
# row is written and the run is being sealed, just before COMMIT (it then waits to be killed).
RECORDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from audit import integrity, open_store
    from audit.recorder import synthetic_result
    from audit.write import transaction

    db, signal_file, hook, entities = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    result = synthetic_result(n_nodes=50, n_entities=entities)
    if hook == "values":
        original = transaction._write_values

        def write_values(conn, run_id, rows):
            signal_file.write_text(str(len(rows.values)))
            return original(conn, run_id, rows)

        transaction._write_values = write_values
    else:
        original = integrity.seal

        def seal(conn, run_id, body):
            out = original(conn, run_id, body)
            signal_file.write_text("sealed")
            time.sleep(60)
            return out

        integrity.seal = seal
    store = open_store(db)
    store.record(result)
    print("committed")
    """
)

# A writer process: once imported, it says it is ready and waits for the go, so that all
# writers start recording together (the store does not exist yet: they also race to create it).
WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from tierlang import api
    db, runs, methodology, data, me, folder = sys.argv[1:7]
    methodology_checked = api.load(methodology)
    (Path(folder) / f"ready-{me}").touch()
    while not (Path(folder) / "go").exists():
        time.sleep(0.005)
    ids = [api.run(methodology_checked, data, audit=db, note=f"writer {me}").run_id
           for _ in range(int(runs))]
    print(" ".join(map(str, ids)))
    """
)


def child_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def wait_for(path: Path, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(f"the recorder exited early: {process.communicate()}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError("the recorder never reached the hook")
        time.sleep(0.02)


def assert_sound_with_runs(db: Path, expected_runs: list[int]) -> None:
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert [r[0] for r in conn.execute("SELECT id FROM runs ORDER BY id")] == expected_runs
        expected_values = conn.execute(
            "SELECT coalesce(sum(entity_count * values_per_entity), 0) FROM runs"
        ).fetchone()[0]
        assert conn.execute("SELECT count(*) FROM node_values").fetchone()[0] == expected_values
        for table in ("entities", "nodes", "scalars", "tier_steps"):
            orphans = conn.execute(
                f"SELECT count(*) FROM {table} WHERE run NOT IN (SELECT id FROM runs)"
            ).fetchone()[0]
            assert orphans == 0, table
    finally:
        conn.close()
    report = verification.verify(str(db))
    assert report.ok, (report.store_problems, [r for r in report.runs if not r.ok])
    assert [r.run_id for r in report.runs] == expected_runs


@pytest.mark.parametrize(
    "hook, entities",
    [("values", 40_000), ("seal", 2_000)],
    ids=["mid-insert-2M-values", "before-commit"],
)
def test_sigkill_while_recording_leaves_no_partial_run(tmp_path, hook, entities):
    db = tmp_path / "audit.db"
    assert api.run(*HDI, audit=db).run_id == 1
    signal_file = tmp_path / "recording"
    process = subprocess.Popen(
        [sys.executable, "-c", RECORDER, str(db), str(signal_file), hook, str(entities)],
        env=child_env(),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for(signal_file, process)
        if hook == "values":
            assert signal_file.read_text() == str(50 * entities)  # 2,000,000 value rows
            time.sleep(1.0)  # well inside the insert
        wal = Path(f"{db}-wal")
        assert process.poll() is None, "the recorder finished before it was killed"
        assert wal.exists() and wal.stat().st_size > 1_000_000  # uncommitted pages written
        os.kill(process.pid, signal.SIGKILL)
    finally:
        out, _err = process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert b"committed" not in out
    assert_sound_with_runs(db, [1])
    # the store goes on: the next run takes the next id and extends the chain
    assert api.run(*HDI, audit=db).run_id == 2
    assert_sound_with_runs(db, [1, 2])


def test_concurrent_writers_all_succeed_and_form_one_chain(tmp_path):
    """4 processes x 5 runs each, into one new store at the same time."""
    db = tmp_path / "audit.db"
    writers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WRITER,
                str(db),
                "5",
                str(HDI[0]),
                str(HDI[1]),
                str(i),
                str(tmp_path),
            ],
            env=child_env(),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for i in range(4)
    ]
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("ready-*"))) < 4:
        assert all(w.poll() is None for w in writers), [w.communicate() for w in writers]
        assert time.monotonic() < deadline, "the writers never got ready"
        time.sleep(0.01)
    (tmp_path / "go").touch()
    outputs = [w.communicate(timeout=120) for w in writers]
    for writer, (_out, err) in zip(writers, outputs):
        assert writer.returncode == 0, err.decode()
    ids = sorted(int(i) for out, _ in outputs for i in out.split())
    assert ids == list(range(1, 21))
    assert_sound_with_runs(db, list(range(1, 21)))
    conn = sqlite3.connect(db)
    notes = [r[0] for r in conn.execute("SELECT note FROM runs ORDER BY id")]
    assert sorted(set(notes)) == [f"writer {i}" for i in range(4)]
    assert all(notes.count(f"writer {i}") == 5 for i in range(4))
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
