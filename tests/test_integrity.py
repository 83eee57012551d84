"""Tamper evidence (audit/integrity.py): every run's content hash and the chain are computed
when recording and recomputed from the store alone; each kind of tampering is detected: an
edited value, a deleted or inserted row, an edited methodology source, an edited param, a
deleted run (in the middle and at the end), a forged or broken chain."""

from __future__ import annotations

import json
import math
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_audit import FakeDataset, every_type_result

from audit import integrity, open_store, schema
from audit.recorder import build_rows, synthetic_result
from tierlang import api

ROOT = Path(__file__).resolve().parent.parent
STP_TABLES = api.Tables(  # the STPs and their member organisations (finance)
    str(ROOT / "examples/stp_2017/stp_2017.csv"),
    {"organisation": str(ROOT / "examples/stp_2017/organisations.csv")},
)
REAL = (
    ("methodologies/stp_dashboard_2017.tier", STP_TABLES),
    ("methodologies/cqc_adult_social_care.tier", "examples/cqc/services.csv"),
    ("methodologies/undp_hdi_groups.tier", "examples/hdi/hdr_2022.csv"),
)


def record_real(db: Path) -> list[int]:
    """Runs of the three real methodologies (their own example data) recorded in `db`."""
    return [api.run(ROOT / m, d if isinstance(d, api.Tables) else ROOT / d, audit=db).run_id
            for m, d in REAL]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("pristine") / "audit.db"
    assert record_real(db) == [1, 2, 3]
    return db


@pytest.fixture
def db(pristine, tmp_path) -> Path:
    """A fresh copy of a store holding three sealed runs."""
    copy = tmp_path / "audit.db"
    shutil.copyfile(pristine, copy)
    return copy


def tamper(db: Path, *statements: str, args=()) -> None:
    """What a user with the sqlite3 shell can do: foreign keys off, statements committed."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA foreign_keys = OFF")
    for statement in statements:
        conn.execute(statement, args)
    conn.commit()
    conn.close()


def check(db: Path) -> integrity.StoreCheck:
    conn = sqlite3.connect(db)
    try:
        return integrity.check_store(conn)
    finally:
        conn.close()


def failing(report: integrity.StoreCheck) -> dict[int, tuple[str, ...]]:
    return {r.run_id: r.problems for r in report.runs if not r.ok}


# ---------------------------------------------------------------- sound stores


def test_a_store_built_by_recording_passes_every_check(db):
    report = check(db)
    assert report.ok, (report.problems, failing(report))
    assert [r.run_id for r in report.runs] == [1, 2, 3]
    assert all(r.content_ok and r.chain_ok for r in report.runs)
    conn = sqlite3.connect(db)
    stored = conn.execute("SELECT id, content_hash, chain_hash FROM runs ORDER BY id").fetchall()
    assert report.latest == (3, stored[-1][2])
    previous = None
    for run_id, content, chain in stored:  # the chain is what the documented formula says
        assert len(content) == len(chain) == 64
        assert chain == integrity.chain_hash(previous, content, run_id)
        previous = chain
    assert integrity.chain_hash(None, stored[0][1], 1) == integrity.chain_hash(
        integrity.GENESIS, stored[0][1], 1
    )


def hashes_agree(tmp_path, result, dataset=None, **kw) -> None:
    """The body digest computed from the rows being recorded equals the one recomputed from
    what the store gives back, and the stored content hash verifies."""
    with open_store(tmp_path / "agree.db") as store:
        run_id = store.record(result, dataset, **kw)
        recorded = integrity.body_of_rows(build_rows(result, dataset))
        read = integrity.read_body(store.conn, run_id)
        assert read.sections() == recorded.sections()
        checked = integrity.check_run(store.conn, run_id)
        assert checked.ok, checked.problems


def test_record_and_read_back_hash_alike_for_every_type(tmp_path):
    dataset = FakeDataset("data.csv", "csv", "ab" * 32, 4, ("code", "name"))
    hashes_agree(tmp_path, every_type_result(), dataset, note="a note")


def test_hostile_and_edge_values_hash_alike(tmp_path):
    """-0.0 (read back as 0.0), infinities, NaN (read back as NULL), the smallest subnormal,
    Unicode and SQL-looking keys and labels, keys that look like numbers."""
    keys = ("0", "007", "'; DROP TABLE runs; --", "Zoë 名", "1e5")
    result = every_type_result(keys=keys[:4], labels=("ü", '"q"', "<b>x</b>", "tab\there"))
    values = pd.Series([-0.0, math.inf, -math.inf, 5e-324], index=result.keys, dtype="float64")
    traces = dict(result.traces)
    traces["score"] = type(traces["score"])(traces["score"].node, values, traces["score"].reasons)
    hashes_agree(
        tmp_path,
        type(result)(result.methodology, result.keys, result.labels, result.params, traces),
    )


def test_a_large_synthetic_run_hashes_alike(tmp_path):
    hashes_agree(tmp_path, synthetic_result(n_nodes=20, n_entities=2_000))


def test_the_encoding_is_canonical_and_typed():
    enc = integrity._encode_column
    # NaN and NULL, -0.0 and 0.0 are one value each (SQLite reads them back so)
    assert enc([math.nan, -0.0, 1.5], "real") == enc([None, 0.0, 1.5], "real")
    assert enc([1.0], "real") != enc([1.0000000000000002], "real")  # bit-exact
    assert enc([True, False, None], "flag") == enc([1, 0, None], "flag")
    assert enc(["a", None], "text") == enc([np.str_("a"), None], "text")
    assert enc([1, None], "int") == enc([np.int64(1), None], "int") == enc([True, None], "int")
    # a cell of a type its column never holds never encodes like a recorded value
    assert enc(["abc"], "real") != enc([None], "real")
    assert enc([b"x"], "text") != enc(["x"], "text")
    assert enc([2], "flag") != enc([1], "flag")
    assert enc(["1"], "int") != enc([1], "int")
    # the position of every value counts
    assert enc(["a", None], "text") != enc([None, "a"], "text")


# ---------------------------------------------------------------- each kind of tampering


def test_an_edited_value_is_detected(db):
    tamper(
        db,
        "UPDATE node_values SET num = num + 1e-9 WHERE id = "
        "(SELECT min(id) FROM node_values WHERE run = 2 AND num IS NOT NULL)",
    )
    report = check(db)
    assert list(failing(report)) == [2]
    (problem,) = failing(report)[2]
    assert problem.startswith("content hash mismatch: its stored rows were changed after recording")
    assert not report.runs[1].content_ok and report.runs[1].chain_ok


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE node_values SET text = text || '!' WHERE id = (SELECT min(id) FROM node_values "
        "WHERE run = 3 AND text IS NOT NULL)",
        "UPDATE node_values SET missing_reason = NULL WHERE id = (SELECT min(id) FROM "
        "node_values WHERE run = 3 AND missing_reason IS NOT NULL)",
        "UPDATE node_values SET num = 'not a number' WHERE id = (SELECT min(id) FROM "
        "node_values WHERE run = 3 AND num IS NOT NULL)",
        "UPDATE node_values SET bool = 2 WHERE id = (SELECT min(id) FROM node_values "
        "WHERE run = 3)",
        "UPDATE node_values SET text = CAST('High' AS BLOB) WHERE id = (SELECT min(id) FROM "
        "node_values WHERE run = 3 AND text = 'High')",
        "UPDATE entities SET label = 'Someone else' WHERE run = 3 AND position = 0",
        "UPDATE nodes SET expression = '1' WHERE run = 3 AND kind = 'tier'",
        "UPDATE scalars SET value = value + 0.01 WHERE run = 3 AND value IS NOT NULL",
        "UPDATE tier_steps SET display = display || '!' WHERE run = 3 AND entity = 0",
        "UPDATE runs SET note = 'edited' WHERE id = 3",
        "UPDATE runs SET started = '2020-01-01T00:00:00.000Z' WHERE id = 3",
        "UPDATE runs SET tool_version = '9.9' WHERE id = 3",
        "UPDATE datasets SET rows = rows + 1 WHERE sha256 = "
        "(SELECT dataset_sha256 FROM runs WHERE id = 3)",
    ],
    ids=[
        "level",
        "reason",
        "text-in-real",
        "bool",
        "blob",
        "label",
        "node",
        "scalar",
        "tier-step",
        "note",
        "started",
        "tool-version",
        "dataset",
    ],
)
def test_every_kind_of_edit_to_a_run_is_detected(db, statement):
    tamper(db, statement)
    report = check(db)
    assert list(failing(report)) == [3]
    assert not report.runs[2].content_ok


def test_a_deleted_value_row_is_detected(db):
    tamper(
        db, "DELETE FROM node_values WHERE id = (SELECT first_value_id + 5 FROM runs WHERE id = 1)"
    )
    report = check(db)
    assert list(failing(report)) == [1]
    problems = failing(report)[1]
    assert (
        problems[0]
        == "1847 value rows in its id range (0 out of place), expected 42 nodes x 44 entities"
    )
    assert problems[1].startswith("content hash mismatch")


def test_an_inserted_value_row_is_detected(db):
    """Outside the run's id range it changes no hash, but the run has too many rows."""
    tamper(db, "INSERT INTO node_values (run, entity, node, num) VALUES (2, 0, 0, 1.0)")
    report = check(db)
    assert failing(report) == {
        2: ("541 value rows, expected 540: 1 inserted outside its id range",)
    }


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO scalars (run, node, position, name, value) VALUES (2, 'x', 0, 'forged', 1)",
        "INSERT INTO tier_steps (run, tier, entity, rule_index, after, limits_acted) "
        "VALUES (2, 'forged', 0, 0, '[]', '[]')",
        "INSERT INTO entities (run, position, key) VALUES (2, 999, 'FORGED')",
    ],
    ids=["scalar", "tier-step", "entity"],
)
def test_an_inserted_row_in_another_table_is_detected(db, statement):
    tamper(db, statement)
    report = check(db)
    assert list(failing(report)) == [2]
    assert any(p.startswith("content hash mismatch") for p in failing(report)[2])


def test_rows_of_no_recorded_run_are_reported(db):
    tamper(
        db,
        "INSERT INTO node_values (run, entity, node, num) VALUES (77, 0, 0, 1.0)",
        "INSERT INTO nodes (run, name, position, kind, type, base, scalar, dependencies) "
        "VALUES (77, 'n', 0, 'input', 'number', 'number', 0, '[]')",
    )
    report = check(db)
    assert not failing(report)
    assert report.problems == (
        "foreign key: 1 nodes rows refer to missing runs rows",
        "node_values: 1 rows of run 77, which is not recorded",
        "nodes: 1 rows of run 77, which is not recorded",
    )


def test_an_edited_methodology_source_is_detected(db):
    tamper(
        db,
        "UPDATE methodologies SET source = replace(source, '0.800', '0.900'), "
        "sources = replace(sources, '0.800', '0.900') WHERE name LIKE 'UNDP%'",
    )
    report = check(db)
    assert list(failing(report)) == [3]
    problems = failing(report)[3]
    assert problems[0].startswith("the recorded methodology source does not match its sha256")
    assert problems[1].startswith("content hash mismatch")


def test_a_methodology_source_edited_in_one_place_only_is_detected(db):
    tamper(db, "UPDATE methodologies SET source = source || ' ' WHERE name LIKE 'UNDP%'")
    problems = failing(check(db))[3]
    assert "methodologies.source differs from the first of its sources" in problems


def test_an_edited_param_is_detected(db):
    params = json.loads(
        sqlite3.connect(db).execute("SELECT params FROM runs WHERE id = 1").fetchone()[0]
    )
    params["advanced_cutoff"] = 2.25
    tamper(db, "UPDATE runs SET params = ? WHERE id = 1", args=(json.dumps(params),))
    report = check(db)
    assert list(failing(report)) == [1]
    assert failing(report)[1][0].startswith("content hash mismatch")


def test_a_param_json_rewritten_without_changing_a_value_still_verifies(db):
    """The params are hashed as canonical JSON (sorted keys): layout is not content."""
    text = sqlite3.connect(db).execute("SELECT params FROM runs WHERE id = 1").fetchone()[0]
    rewritten = json.dumps(dict(reversed(list(json.loads(text).items()))), indent=2)
    assert rewritten != text
    tamper(db, "UPDATE runs SET params = ? WHERE id = 1", args=(rewritten,))
    assert check(db).ok


def test_invalid_param_json_is_reported(db):
    tamper(db, "UPDATE runs SET params = '{oops' WHERE id = 1")
    problems = failing(check(db))[1]
    assert "its params are not valid JSON" in problems


def test_a_run_deleted_from_the_middle_breaks_the_chain(db):
    tamper(
        db,
        *(
            f"DELETE FROM {t} WHERE run = 2"
            for t in ("node_values", "tier_steps", "scalars", "nodes", "entities")
        ),
        "DELETE FROM runs WHERE id = 2",
    )
    report = check(db)
    assert [r.run_id for r in report.runs] == [1, 3]
    assert failing(report) == {
        3: ("chain broken: its chain hash does not follow run 1; run 2 missing",)
    }
    assert report.problems == ("run 2 missing: deleted from the store",)


def test_a_runs_row_deleted_alone_leaves_its_rows_behind(db):
    tamper(db, "DELETE FROM runs WHERE id = 2")
    report = check(db)
    assert list(failing(report)) == [3]
    assert "run 2 missing: deleted from the store" in report.problems
    assert "node_values: 540 rows of run 2, which is not recorded" in report.problems
    assert "foreign key: 30 entities rows refer to missing runs rows" in report.problems


def test_the_latest_run_deleted_is_detected(db):
    tamper(
        db,
        *(
            f"DELETE FROM {t} WHERE run = 3"
            for t in ("node_values", "tier_steps", "scalars", "nodes", "entities")
        ),
        "DELETE FROM runs WHERE id = 3",
    )
    report = check(db)
    assert not failing(report)
    assert report.problems == (
        "run 3 missing: deleted from the end of the store (runs were recorded up to 3)",
    )
    assert report.latest[0] == 2


def test_the_latest_run_deleted_with_its_sequence_is_caught_by_a_published_digest(db):
    """The limit of a chain kept in the same file: a careful deletion of the latest run,
    sequence included, leaves a sound-looking store. The digest published before shows it."""
    published = check(db).latest
    tamper(
        db,
        *(
            f"DELETE FROM {t} WHERE run = 3"
            for t in ("node_values", "tier_steps", "scalars", "nodes", "entities")
        ),
        "DELETE FROM runs WHERE id = 3",
        "UPDATE sqlite_sequence SET seq = 2 WHERE name = 'runs'",
    )
    report = check(db)
    assert report.ok
    assert report.latest != published


def test_a_forged_chain_hash_is_detected(db):
    tamper(db, "UPDATE runs SET chain_hash = ? WHERE id = 2", args=("f" * 64,))
    report = check(db)
    assert failing(report) == {
        2: ("chain broken: its chain hash does not follow run 1",),
        3: ("chain broken: its chain hash does not follow run 2",),
    }


def test_a_forged_content_hash_breaks_the_chain(db):
    """Recomputing the content hash after an edit (a naive cover-up) breaks the chain."""
    conn = sqlite3.connect(db)
    conn.execute(
        "UPDATE node_values SET num = 99 WHERE id = (SELECT first_value_id FROM runs WHERE id = 2)"
    )
    header = integrity.read_header(conn, 2)
    forged = integrity.content_hash(header, integrity.read_body(conn, 2).digest())
    conn.execute("UPDATE runs SET content_hash = ? WHERE id = 2", (forged,))
    conn.commit()
    report = integrity.check_store(conn)
    assert failing(report) == {2: ("chain broken: its chain hash does not follow run 1",)}
    assert report.runs[1].content_ok and not report.runs[1].chain_ok


def test_a_missing_seal_is_reported(db):
    tamper(db, "UPDATE runs SET content_hash = NULL WHERE id = 1")
    problems = failing(check(db))[1]
    assert problems[0] == "no content hash recorded"


def test_an_inserted_fake_run_is_detected(db):
    conn = sqlite3.connect(db)
    columns = [c for c, _ in integrity.RUN_COLUMNS if c != "rerun_of"]
    conn.execute(
        f"INSERT INTO runs ({', '.join(columns)}, content_hash, chain_hash) "
        f"SELECT {', '.join(columns)}, content_hash, ? FROM runs WHERE id = 3",
        ("0" * 64,),
    )
    conn.commit()
    report = integrity.check_store(conn)
    assert 4 in failing(report)
    assert "chain broken: its chain hash does not follow run 3" in failing(report)[4]


def test_a_damaged_run_row_is_reported_not_raised(db):
    tamper(db, "UPDATE runs SET entity_count = 'many' WHERE id = 2")
    report = check(db)
    assert 2 in failing(report)


# ---------------------------------------------------------------- sealing


def test_seal_unsealed_seals_in_id_order(db):
    tamper(db, "UPDATE runs SET content_hash = NULL, chain_hash = NULL")
    conn = sqlite3.connect(db)
    assert integrity.seal_unsealed(conn) == 3
    conn.commit()
    assert integrity.check_store(conn).ok
    assert integrity.seal_unsealed(conn) == 0


def test_migrating_a_version_1_store_seals_its_runs(db, tmp_path):
    """A store written before tamper evidence (schema version 1) is sealed when opened."""
    old = tmp_path / "v1.db"
    conn = sqlite3.connect(old)
    conn.executescript(schema._V1)
    conn.execute(
        "INSERT INTO tierlang_meta VALUES ('application', ?), ('schema_version', '1')",
        (schema.APPLICATION,),
    )
    conn.execute("ATTACH DATABASE ? AS new", (str(db),))
    for table in (
        "methodologies",
        "datasets",
        "runs",
        "entities",
        "nodes",
        "node_values",
        "scalars",
        "tier_steps",
    ):
        columns = [r[1] for r in conn.execute(f"PRAGMA main.table_info({table})")]
        names = ", ".join(columns)
        conn.execute(f"INSERT INTO main.{table} ({names}) SELECT {names} FROM new.{table}")
    conn.commit()
    conn.execute("DETACH DATABASE new")
    conn.close()
    with open_store(old) as store:
        assert store.schema_version == schema.SCHEMA_VERSION
        report = integrity.check_store(store.conn)
        assert report.ok, failing(report)
        run_id = store.record(synthetic_result(n_nodes=5, n_entities=10))
        assert integrity.check_store(store.conn).ok
        assert run_id == 4


def test_record_seals_inside_its_transaction(tmp_path, monkeypatch):
    """A failure while sealing leaves nothing of the run."""
    with open_store(tmp_path / "audit.db") as store:
        store.record(synthetic_result(n_nodes=5, n_entities=10))

        def broken(*args):
            raise RuntimeError("disk on fire")

        with monkeypatch.context() as m:
            m.setattr(integrity, "seal", broken)
            with pytest.raises(RuntimeError):
                store.record(synthetic_result(n_nodes=5, n_entities=10))
        assert [r.id for r in store.runs()] == [1]
        assert store.record(synthetic_result(n_nodes=5, n_entities=10)) == 2
        assert integrity.check_store(store.conn).ok


# ---------------------------------------------------------------- the scheme, pinned


def test_the_content_scheme_v1_is_pinned():
    """Every stored hash depends on these bytes: a change here invalidates every store, so it
    must be a new scheme (tierlang-content-v2), never an edit of v1."""
    body = integrity.Body(
        entities=[[0, 1], ["A", "B"], ["Alpha", None]],
        nodes=[
            [c]
            for c in (
                "x",
                0,
                "input",
                None,
                None,
                "input x: number",
                None,
                "m.tier",
                3,
                None,
                "number",
                "number",
                0,
                "[]",
                None,
                None,
                None,
                None,
                "x",
                None,
                0,
                None,
            )
        ],
        values=[[1.5, -0.0], [None, None], [None, None], [None, None]],
        scalars=[[], [], [], [], []],
        tier_steps=[[], [], [], [], [], [], [], []],
    )
    assert body.sections() == {
        "entities": "b243947b59c18cd2ab40e0a5714612226c0a8ef7d0b004098a3f7fc1f383ae16",
        "nodes": "0d2ce24ad21ce772e85d3106ee2256af2d5cc9f82de55079d31bceaf9cf29d85",
        "values": "9a13eb6beb0ab23d96ee20cc6015013808f7a710640b8f651522b4ed6ba44aaf",
        "scalars": "ad0cc9da6cdc171c6507e4240b60bef9731eec041a448dac487a63bd781a0542",
        "tier_steps": "609ffa6cc2b4ef801d816de9729b761aa4ab53d43f080a4f6cd64b804913a3cf",
    }
    assert body.digest() == "0215e6528730ba440b035eea4a35e4683c7f22f7310673fc9163403d9906e8f1"
    run = {c: None for c, _ in integrity.RUN_COLUMNS}
    run.update(
        params='{"w": 0.5}',
        entity_count=2,
        node_count=1,
        values_per_entity=1,
        status="complete",
        methodology_sha256="ab" * 32,
    )
    content = integrity.content_hash(integrity.Header(run, None, None), body.digest())
    assert content == "9e1b324bf4b241fd6ce2c094194db3cf852fd3317515b06dfd33887afcb991ef"
    assert integrity.chain_hash(None, content, 1) == (
        "3931002396d682910098f2363a177d39fc970203ddc8a0603cd455e752dfa1c3"
    )
