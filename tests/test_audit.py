"""The audit store: schema and migrations, recording a run whole or not at all, reading every
value back exactly, runs and entity look-up, hostile keys. RunResults are built by hand."""

from __future__ import annotations

import ast
import json
import math
import sqlite3
from pathlib import Path

import attrs
import numpy as np
import pandas as pd
import pytest

from audit import schema
from audit.recorder import expression_text, methodology_sha256, synthetic_result, value_rows
from audit.store import AuditError, AuditStore, open_store
from audit.write import transaction
from dsl import model as M
from dsl import types as T
from dsl.errors import Span
from interpreter.trace import LimitTrace, NodeTrace, RunResult, TierTrace

NUM, SNUM, BOOL, TEXT = T.number(), T.number(scalar=True), T.boolean(), T.text()
RATING = T.LevelType("rating", ("inadequate", "requires improvement", "good", "outstanding"))
BAND = T.LevelType("band", ("bronze", "silver", "gold"))
TABLES = (
    "runs",
    "methodologies",
    "datasets",
    "entities",
    "nodes",
    "node_values",
    "scalars",
    "tier_steps",
)


@attrs.frozen
class FakeDataset:
    path: str
    format: str
    sha256: str
    rows: int
    columns: tuple[str, ...]


def series(values, keys, dtype=None) -> pd.Series:
    return pd.Series(values, index=keys, dtype=dtype)


def nones(keys) -> pd.Series:
    return pd.Series([None] * len(keys), index=keys, dtype=object)


def categorical(labels, level: T.LevelType, keys) -> pd.Series:
    return pd.Series(
        pd.Categorical(labels, categories=list(level.labels), ordered=True), index=keys
    )


def every_type_result(
    keys=("A1", "B2", "C3", "D4"), labels=("Alpha", "Beta", "Gamma", "Delta"), name="Every type"
) -> RunResult:
    """One node of every type, a scalar, lists, a tier with two limits and a missing label."""
    keys = pd.Index(list(keys))
    x = M.Node(
        "x",
        M.INPUT,
        NUM,
        (),
        label="X value",
        column="X_COL",
        range=(-1e308, 1e308),
        required=False,
        span=Span("every.tier", 5, 1, 5, 30),
        source_text="input x: number",
    )
    flag = M.Node("flag", M.INPUT, BOOL, ())
    grade = M.Node("grade", M.INPUT, T.level(RATING), ())
    region = M.Node("region", M.INPUT, TEXT, ())
    w = M.Node("w", M.PARAM, SNUM, (), value=0.25)
    pair = M.Node(
        "pair",
        "let",
        T.list_of(T.level(RATING)),
        ("grade",),
        expr=M.ListOf(
            (M.Ref("grade", T.level(RATING)), M.LabelConst(RATING, "good", T.level(RATING, True))),
            T.list_of(T.level(RATING)),
        ),
    )
    nums = M.Node(
        "nums",
        "let",
        T.list_of(NUM),
        ("x",),
        expr=M.ListOf((M.Ref("x", NUM), M.Const(2.5, SNUM)), T.list_of(NUM)),
    )
    avg = M.Node(
        "avg", "let", SNUM, ("x",), expr=M.Call("population_mean", (M.Ref("x", NUM),), SNUM)
    )
    score = M.Node(
        "score",
        "score",
        NUM,
        ("x", "w"),
        label="Score",
        expr=M.Call(
            "weighted_mean",
            (M.Ref("x", NUM), M.Ref("w", SNUM)),
            NUM,
            weights=(M.Ref("w", SNUM), M.Const(0.75, SNUM)),
        ),
    )
    spec = M.TierSpec(
        BAND,
        M.Ref("x", NUM),
        (
            M.TierRule("gold", M.RankRule("top", 1, False)),
            M.TierRule("silver", M.ThresholdRule(">=", M.Ref("w", SNUM))),
            M.TierRule("bronze", M.OtherwiseRule()),
        ),
        "Not rated",
        (
            M.Limit("at most", "silver", M.Ref("flag", BOOL)),
            M.Limit(
                "at least",
                "silver",
                M.Binary(
                    "==",
                    M.Ref("grade", T.level(RATING)),
                    M.LabelConst(RATING, "outstanding", T.level(RATING, True)),
                    BOOL,
                ),
            ),
        ),
    )
    tier = M.Node("t", M.TIER, T.level(BAND), ("x", "w", "flag", "grade"), label="Tier", tier=spec)
    nodes = (x, flag, grade, region, w, pair, nums, avg, score, tier)
    methodology = M.Methodology(
        name,
        "v1",
        "2024-01-01",
        "org",
        "code",
        "name",
        "Doc.",
        "every.tier",
        (("every.tier", 'methodology "Every type"\n'), ("base.tier", "base\n")),
        {},
        nodes,
    )
    xs = [0.1 + 0.2, math.nan, 5e-324, 1.7976931348623157e308]
    xv = series(xs, keys, "float64")
    reason_x = series([None, "input_missing", None, None], keys, object)
    before = categorical(["bronze", None, "silver", "gold"], BAND, keys)
    after1 = categorical(["bronze", None, "silver", "silver"], BAND, keys)
    after2 = categorical(["silver", None, "silver", "silver"], BAND, keys)
    traces = {
        "x": NodeTrace(x, xv, reason_x),
        "flag": NodeTrace(
            flag,
            series(pd.array([True, None, False, True], dtype="boolean"), keys),
            series([None, "input_missing", None, None], keys, object),
        ),
        "grade": NodeTrace(
            grade,
            categorical(["outstanding", None, "good", "requires improvement"], RATING, keys),
            series([None, "input_missing", None, None], keys, object),
        ),
        "region": NodeTrace(
            region,
            series(["North", None, "Süd", "O'Brien; --"], keys, object),
            series([None, "input_missing", None, None], keys, object),
        ),
        "w": NodeTrace(w, series([0.25] * 4, keys, "float64"), nones(keys), {"value": 0.25}),
        "pair": NodeTrace(
            pair,
            series(
                [
                    ("outstanding", "good"),
                    (None, "good"),
                    ("good", "good"),
                    ("requires improvement", "good"),
                ],
                keys,
                object,
            ),
            nones(keys),
        ),
        "nums": NodeTrace(
            nums,
            series(
                [
                    (0.30000000000000004, 2.5),
                    (None, 2.5),
                    (5e-324, 2.5),
                    (1.7976931348623157e308, 2.5),
                ],
                keys,
                object,
            ),
            nones(keys),
        ),
        "avg": NodeTrace(
            avg,
            series([6e307] * 4, keys, "float64"),
            nones(keys),
            {"value": 6e307, "n": 3.0, "note": "text statistic"},
        ),
        "score": NodeTrace(
            score,
            series([0.1, math.nan, -2.5, math.inf], keys, "float64"),
            series([None, "component_missing", None, None], keys, object),
        ),
        "t": NodeTrace(
            tier,
            after2,
            series([None, "component_missing", None, None], keys, object),
            {"gold.count": 1.0, "n": 3.0},
            TierTrace(
                from_values=xv,
                rule_index=series([2, -1, 1, 0], keys, "int64"),
                before_limits=before,
                limits=(
                    LimitTrace(0, series([False, False, False, True], keys, bool), after1),
                    LimitTrace(1, series([True, False, False, False], keys, bool), after2),
                ),
                display=series(["silver", "Not rated", "silver", "silver"], keys, object),
            ),
        ),
    }
    return RunResult(methodology, keys, series(list(labels), keys, object), {"w": 0.25}, traces)


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "audit.db")
    yield s
    s.close()


def count(store: AuditStore, table: str, run: int | None = None) -> int:
    if run is None:
        return store.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    column = "id" if table == "runs" else "run"
    return store.conn.execute(
        f"SELECT count(*) FROM {table} WHERE {column} = ?", (run,)
    ).fetchone()[0]


def hexes(values) -> list[str]:
    return [float(v).hex() for v in values]


# ---------------------------------------------------------------- schema and migrations


def test_open_creates_the_schema_with_wal_busy_timeout_and_foreign_keys(store):
    names = set(store.db.table_names())
    assert {"tierlang_meta", *TABLES} <= names
    assert {"named_values", "named_tier_steps"} <= set(store.db.view_names())
    assert store.schema_version == schema.SCHEMA_VERSION == len(schema.MIGRATIONS)
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA busy_timeout").fetchone()[0] == 10_000
    assert store.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    indexes = {r[1] for r in store.conn.execute("SELECT * FROM sqlite_master WHERE type = 'index'")}
    assert {"entities_run_key", "entities_run_label", "nodes_run_position"} <= indexes


def test_reopening_is_idempotent(tmp_path):
    path = tmp_path / "audit.db"
    open_store(path).close()
    first = (
        sqlite3.connect(path)
        .execute("SELECT type, name, sql FROM sqlite_master ORDER BY name")
        .fetchall()
    )
    with open_store(path) as again:
        assert again.schema_version == schema.SCHEMA_VERSION
    second = (
        sqlite3.connect(path)
        .execute("SELECT type, name, sql FROM sqlite_master ORDER BY name")
        .fetchall()
    )
    assert first == second


def test_a_pending_migration_runs_once_and_records_the_version(tmp_path, monkeypatch):
    path = tmp_path / "audit.db"
    with open_store(path) as s:
        run_id = s.record(every_type_result())
    before = schema.SCHEMA_VERSION
    calls = []

    def v2(db):
        calls.append(1)
        db.execute("ALTER TABLE runs ADD COLUMN reviewer TEXT")

    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, ("reviewer column", v2)])
    monkeypatch.setattr(schema, "SCHEMA_VERSION", len(schema.MIGRATIONS))
    with open_store(path) as s:
        assert s.schema_version == before + 1
        assert "reviewer" in s.db["runs"].columns_dict
        assert s.run(run_id).entity_count == 4  # old runs still read
    with open_store(path) as s:
        assert s.schema_version == before + 1
    assert calls == [1]


def test_a_failing_migration_leaves_the_store_as_it_was(tmp_path, monkeypatch):
    path = tmp_path / "audit.db"
    open_store(path).close()

    def broken(db):
        db.execute("CREATE TABLE half_done (x)")
        raise RuntimeError("migration failed")

    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, ("broken", broken)])
    monkeypatch.setattr(schema, "SCHEMA_VERSION", len(schema.MIGRATIONS))
    with pytest.raises(RuntimeError):
        open_store(path)
    monkeypatch.undo()
    with open_store(path) as s:
        assert s.schema_version == schema.SCHEMA_VERSION
        assert "half_done" not in s.db.table_names()


def test_a_store_from_a_newer_tierlang_is_refused(tmp_path):
    path = tmp_path / "audit.db"
    with open_store(path) as s:
        schema.set_version(s.db, schema.SCHEMA_VERSION + 1)
    with pytest.raises(AuditError, match="newer tierlang"):
        open_store(path)


def test_other_files_are_refused(tmp_path):
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE accounts (id)")
    conn.commit()
    conn.close()
    with pytest.raises(AuditError, match="not a tierlang audit store"):
        open_store(other)
    text = tmp_path / "notes.db"
    text.write_text("this is not a database, just text that is long enough to have a header" * 10)
    with pytest.raises(AuditError, match="not a usable audit store"):
        open_store(text)
    with pytest.raises(AuditError, match="no audit store at"):
        open_store(tmp_path / "missing.db", create=False)
    assert not (tmp_path / "missing.db").exists()


# ---------------------------------------------------------------- recording and reading back


def test_every_value_reads_back_exactly(store):
    result = every_type_result()
    dataset = FakeDataset("data/orgs.csv", "csv", "ab" * 32, 4, ("code", "name", "X_COL"))
    run_id = store.record(
        result, dataset, tool_version="9.9", note="first", started="2024-05-01T10:00:00.000Z"
    )
    keys = list(result.keys)

    x = store.values(run_id, "x")
    assert x.dtype == np.float64 and list(x.index) == keys
    assert hexes(x) == hexes(result.values("x"))
    assert hexes(store.values(run_id, "score")) == hexes([0.1, math.nan, -2.5, math.inf])
    assert hexes(store.values(run_id, "avg")) == hexes([6e307] * 4)
    assert store.values(run_id, "flag").tolist() == [True, pd.NA, False, True]
    assert str(store.values(run_id, "flag").dtype) == "boolean"
    grade = store.values(run_id, "grade")
    assert list(grade.cat.categories) == list(RATING.labels) and grade.cat.ordered
    assert grade.tolist()[0] == "outstanding" and pd.isna(grade.tolist()[1])
    assert grade.cat.codes.tolist() == result.values("grade").cat.codes.tolist()
    assert store.values(run_id, "region").tolist() == ["North", None, "Süd", "O'Brien; --"]
    assert store.values(run_id, "pair").tolist() == result.values("pair").tolist()
    nums = store.values(run_id, "nums").tolist()
    assert [hexes([v if v is not None else math.nan for v in t]) for t in nums] == [
        hexes([v if v is not None else math.nan for v in t]) for t in result.values("nums")
    ]
    tier = store.values(run_id, "t")
    assert tier.tolist()[0] == "silver" and pd.isna(tier.tolist()[1])
    for name in result.traces:
        assert store.reasons(run_id, name).tolist() == result.traces[name].reasons.tolist(), name

    assert store.scalars(run_id) == {
        "w": {"value": 0.25},
        "avg": {"value": 6e307, "n": 3.0, "note": "text statistic"},
        "t": {"gold.count": 1.0, "n": 3.0},
    }
    steps = store.tier_steps(run_id, "t")
    assert [s.rule_index for s in steps] == [2, -1, 1, 0]
    assert [s.before_limits for s in steps] == ["bronze", None, "silver", "gold"]
    assert [s.after for s in steps] == [
        ("bronze", "silver"),
        (None, None),
        ("silver", "silver"),
        ("silver", "silver"),
    ]
    assert [s.limits_acted for s in steps] == [(1,), (), (), (0,)]
    assert [s.display for s in steps] == ["silver", "Not rated", "silver", "silver"]
    assert hexes([s.from_value if s.from_value is not None else math.nan for s in steps]) == hexes(
        result.values("x")
    )

    run = store.run(run_id)
    assert (run.started, run.tool_version, run.note, run.status) == (
        "2024-05-01T10:00:00.000Z",
        "9.9",
        "first",
        "complete",
    )
    assert run.finished >= run.started
    assert (run.entity_count, run.node_count, run.values_per_entity) == (4, 10, 10)
    assert run.params == {"w": 0.25}
    assert (run.methodology_name, run.methodology_version, run.entity_kind) == (
        "Every type",
        "v1",
        "org",
    )
    assert run.methodology_sha256 == methodology_sha256(result.methodology)
    assert (run.dataset_path, run.dataset_sha256) == ("data/orgs.csv", "ab" * 32)
    assert store.dataset("ab" * 32) == {
        "sha256": "ab" * 32,
        "path": "data/orgs.csv",
        "format": "csv",
        "rows": 4,
        "columns": ["code", "name", "X_COL"],
        "parts": None,  # one file (schema version 8: each file's sha256 for several)
    }
    m = store.methodology(run.methodology_sha256)
    assert m["sources"] == [("every.tier", 'methodology "Every type"\n'), ("base.tier", "base\n")]
    assert m["source"] == 'methodology "Every type"\n' and m["key_column"] == "code"
    assert [(e.key, e.label, e.position) for e in store.entities(run_id)] == [
        ("A1", "Alpha", 0),
        ("B2", "Beta", 1),
        ("C3", "Gamma", 2),
        ("D4", "Delta", 3),
    ]
    assert store.verify() == []


def test_node_metadata_is_recorded_for_explaining(store):
    run_id = store.record(every_type_result())
    nodes = {n.name: n for n in store.nodes(run_id)}
    assert [n.name for n in store.nodes(run_id)] == list(every_type_result().traces)
    x = nodes["x"]
    assert (x.kind, x.label, x.type, x.base, x.data_column, x.file, x.line, x.source_text) == (
        "input",
        "X value",
        "number",
        "number",
        "X_COL",
        "every.tier",
        5,
        "input x: number",
    )
    assert x.range == (-1e308, 1e308)
    assert nodes["w"].declared_value == 0.25 and nodes["w"].scalar
    assert nodes["grade"].scale == RATING.labels
    assert nodes["pair"].type == "list of level rating" and nodes["pair"].scale == RATING.labels
    score = nodes["score"]
    assert score.expression == "weighted_mean(x: w, w: 0.75)"
    assert score.weights == {"x": 0.25, "w": 0.75}  # the param weight resolved from the run
    assert score.call["function"] == "weighted_mean" and score.dependencies == ("x", "w")
    tier = nodes["t"].tier
    assert tier["from"] == "x" and tier["missing_label"] == "Not rated"
    assert tier["scale"] == ["bronze", "silver", "gold"]
    assert [r["kind"] for r in tier["rules"]] == ["rank", "threshold", "otherwise"]
    assert tier["rules"][1]["threshold"] == 0.25 and tier["rules"][1]["threshold_text"] == "w"
    assert [(lim["direction"], lim["label"], lim["condition"]) for lim in tier["limits"]] == [
        ("at most", "silver", "flag"),
        ("at least", "silver", "grade == outstanding"),
    ]


def test_weights_from_scalar_definitions_resolve_and_other_weights_do_not(store):
    result = every_type_result()
    keys = result.keys
    half = M.Node(
        "half", "let", SNUM, ("w",), expr=M.Binary("*", M.Ref("w", SNUM), M.Const(2.0, SNUM), SNUM)
    )
    mixed = M.Node(
        "mixed",
        "score",
        NUM,
        ("x", "half"),
        expr=M.Call(
            "weighted_mean",
            (M.Ref("x", NUM), M.Ref("half", SNUM)),
            NUM,
            weights=(
                M.Ref("half", SNUM),
                M.Binary("-", M.Const(1.0, SNUM), M.Ref("half", SNUM), SNUM),
            ),
        ),
    )
    opaque = M.Node(
        "opaque",
        "score",
        NUM,
        ("x",),
        expr=M.Call("weighted_mean", (M.Ref("x", NUM),), NUM, weights=(M.Ref("x", NUM),)),
    )
    traces = dict(result.traces)
    traces["half"] = NodeTrace(
        half, series([0.5] * 4, keys, "float64"), nones(keys), {"value": 0.5}
    )
    traces["mixed"] = NodeTrace(mixed, series([1.0] * 4, keys, "float64"), nones(keys))
    traces["opaque"] = NodeTrace(opaque, series([1.0] * 4, keys, "float64"), nones(keys))
    m = attrs.evolve(result.methodology, nodes=(*result.methodology.nodes, half, mixed, opaque))
    run_id = store.record(attrs.evolve(result, methodology=m, traces=traces))
    assert store.node(run_id, "mixed").weights == {"x": 0.5, "half": 0.5}
    assert store.node(run_id, "opaque").weights is None  # a per-entity weight is not a constant


def test_a_run_is_stored_whole_or_not_at_all(store, monkeypatch):
    first = store.record(every_type_result())
    before = {t: count(store, t) for t in TABLES}
    written = []
    original = transaction._write_tier_steps

    def fail_after_writing(conn, run_id, rows):
        original(conn, run_id, rows)  # the rows are in the transaction...
        written.append(run_id)
        raise RuntimeError("disk on fire")  # ...and then something fails

    monkeypatch.setattr(transaction, "_write_tier_steps", fail_after_writing)
    other = every_type_result(name="Another methodology")  # a new methodology row too
    with pytest.raises(RuntimeError, match="disk on fire"):
        store.record(other, FakeDataset("other.csv", "csv", "cd" * 32, 4, ("a",)))
    (failed,) = written
    for table in TABLES:
        assert count(store, table) == before[table], table
        if table not in ("methodologies", "datasets"):
            assert count(store, table, failed) == 0, table
    assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert not store.conn.in_transaction
    assert store.verify() == []
    assert [r.id for r in store.runs()] == [first]

    monkeypatch.undo()
    again = store.record(other)  # the store is usable afterwards
    assert again == failed and store.verify() == []  # nothing, not even the id, was kept


def test_an_interrupt_while_writing_values_also_rolls_back(store, monkeypatch):
    store.record(every_type_result())
    before = {t: count(store, t) for t in TABLES}

    def rows_then_interrupt(conn, run_id, rows):
        conn.execute("INSERT INTO node_values (run, entity, node) VALUES (?, 0, 0)", (run_id,))
        raise KeyboardInterrupt

    monkeypatch.setattr(transaction, "_write_values", rows_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        store.record(every_type_result())
    assert {t: count(store, t) for t in TABLES} == before
    assert store.verify() == []


def test_runs_are_listed_newest_first(store):
    with pytest.raises(AuditError, match="no runs yet"):
        store.latest_run_id()
    ids = [store.record(every_type_result(name=f"M{i}"), note=f"n{i}") for i in range(3)]
    assert [r.id for r in store.runs()] == ids[::-1]
    assert [r.methodology_name for r in store.runs()] == ["M2", "M1", "M0"]
    assert store.latest_run_id() == ids[-1]
    assert store.run(ids[0]).note == "n0"
    with pytest.raises(AuditError, match=r"no run 99 .*runs recorded: 1-3"):
        store.run(99)
    assert store.runs()[0].to_json()["entity_count"] == 4


def test_two_connections_record_into_one_store(tmp_path):
    path = tmp_path / "shared.db"
    a, b = open_store(path), open_store(path)
    try:
        ids = [
            a.record(every_type_result()),
            b.record(every_type_result()),
            a.record(every_type_result()),
        ]
        assert ids == [1, 2, 3]
        assert [r.id for r in b.runs()] == [3, 2, 1]
        assert a.verify() == []
    finally:
        a.close()
        b.close()


def test_verify_notices_a_missing_or_moved_value(store):
    run_id = store.record(every_type_result())
    store.conn.execute("DELETE FROM node_values WHERE id = (SELECT max(id) FROM node_values)")
    (problem,) = store.verify(run_id)
    assert "39 value rows" in problem
    store.conn.execute("UPDATE node_values SET node = 9 WHERE id = 1")
    assert "out of place" in store.verify(run_id)[0]


# ---------------------------------------------------------------- finding entities


def test_find_entity_by_key_then_label_then_case_then_suggestion(store):
    run_id = store.record(
        every_type_result(
            keys=("R1A", "beta", "R3C", "R4D"),
            labels=("Royal Alpha", "R1A", "Gamma Trust", "Gamma Trust"),
        )
    )
    assert store.find_entity(run_id, "R1A").position == 0  # a key wins over a label
    assert store.find_entity(run_id, "Royal Alpha").key == "R1A"
    assert store.find_entity(run_id, "r3c").key == "R3C"
    assert store.find_entity(run_id, "  royal ALPHA ").key == "R1A"
    assert store.find_entity(run_id, "BETA").key == "beta"
    with pytest.raises(AuditError, match=r"'Gamma Trust' names 2 org entities \('R3C', 'R4D'\)"):
        store.find_entity(run_id, "Gamma Trust")
    with pytest.raises(
        AuditError,
        match=r"no org 'Royal Alpah' among the 4 of run 1; did you mean 'Royal Alpha' \(R1A\)\?",
    ) as error:
        store.find_entity(run_id, "Royal Alpah")
    assert error.value.suggestion == "Royal Alpha"
    with pytest.raises(AuditError, match=r"did you mean 'Royal Alpha' \(R1A\)\?"):
        store.find_entity(run_id, "alpha")  # part of a name
    with pytest.raises(AuditError, match=r"^no org 'zzz' among the 4 of run 1$"):
        store.find_entity(run_id, "zzz")
    with pytest.raises(AuditError, match="no run 7"):
        store.find_entity(7, "R1A")


HOSTILE = ("'; DROP TABLE runs; --", 'say "hi"', "Ünïcødé ✓ 東京", "<b>html</b>&amp;")


def test_hostile_keys_and_labels_round_trip_verbatim(store):
    from audit.explain import explain
    from tierlang.render.explain import render_text, to_json

    labels = (
        "Robert'); DROP TABLE entities;--",
        "<script>alert(1)</script>",
        'naïve; "quoted"',
        "%_ LIKE *",
    )
    run_id = store.record(every_type_result(keys=HOSTILE, labels=labels))
    assert [(e.key, e.label) for e in store.entities(run_id)] == list(zip(HOSTILE, labels))
    for key, label in zip(HOSTILE, labels):
        assert store.find_entity(run_id, key).key == key
        assert store.find_entity(run_id, label).key == key
        text = render_text(explain(store, key))
        assert text.startswith(f'org {key} "{label}"\n')
        assert to_json(explain(store, label))["entity"] == {
            "key": key,
            "label": label,
            "position": HOSTILE.index(key),
            "kind": "org",
        }
    assert store.values(run_id, "x").index.tolist() == list(HOSTILE)
    assert {"runs", "entities"} <= set(store.db.table_names())
    rows = list(
        store.db.query(
            "SELECT entity_key, node, num FROM named_values WHERE run = ? AND entity_key = ?",
            [run_id, HOSTILE[0]],
        )
    )
    assert [r["node"] for r in rows] == list(every_type_result().traces) and rows[0][
        "entity_key"
    ] == HOSTILE[0]


def test_named_values_reads_one_entity_by_its_id_range(store):
    store.record(every_type_result())
    run_id = store.record(every_type_result())
    plan = " ".join(
        r[3]
        for r in store.conn.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM named_values WHERE run = ? AND entity_key = ?",
            (run_id, "C3"),
        )
    )
    assert "USING INTEGER PRIMARY KEY" in plan and "SCAN" not in plan
    rows = list(
        store.db.query(
            "SELECT node, num, text FROM named_values WHERE run = ? AND entity_key = ?",
            [run_id, "C3"],
        )
    )
    assert {r["node"]: (r["num"], r["text"]) for r in rows}["grade"] == (None, "good")
    assert store.entity_values(run_id, 2)["x"] == (5e-324, None)


# ---------------------------------------------------------------- scale and layering


def test_a_large_run_records_every_row(tmp_path):
    result = synthetic_result(n_nodes=20, n_entities=2_000)
    with open_store(tmp_path / "big.db") as s:
        run_id = s.record(result)
        assert count(s, "node_values", run_id) == 40_000 == len(value_rows(result))
        assert s.verify() == []
        assert s.values(run_id, "tier").value_counts().sum() == result.values("tier").notna().sum()
        values = s.entity_values(run_id, 1234)
        key = result.keys[1234]
        assert values["x00"][0] == pytest.approx(result.values("x00")[key], nan_ok=True)


def test_audit_imports_only_dsl_and_the_trace_contract():
    # audit reads and writes what a run produced; it never evaluates (interpreter.evaluate).
    allowed = ("dsl", "interpreter.trace", "interpreter.ranking", "audit")
    for path in Path(__file__).parent.parent.joinpath("audit").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            for name in names:
                if name.split(".")[0] in ("dsl", "interpreter", "audit", "tierlang"):
                    assert name.startswith(allowed), f"{path.name} imports {name}"


def test_expression_text_prints_resolved_expressions():
    a, b, c = M.Ref("a", NUM), M.Ref("b", NUM), M.Ref("c", NUM)

    def bin_(op, left, right):
        return M.Binary(op, left, right, NUM)

    assert expression_text(bin_("*", bin_("+", a, b), c)) == "(a + b) * c"
    assert expression_text(bin_("-", a, bin_("-", b, c))) == "a - (b - c)"
    assert expression_text(bin_("^", a, bin_("^", b, c))) == "a ^ b ^ c"
    assert expression_text(bin_("^", bin_("^", a, b), c)) == "(a ^ b) ^ c"
    assert expression_text(M.Unary("-", bin_("+", a, b), NUM)) == "-(a + b)"
    cond = M.Binary(
        "and",
        M.Unary("not", M.Ref("f", BOOL), BOOL),
        M.Binary("or", M.Ref("g", BOOL), M.IsMissing(a, True, BOOL), BOOL),
        BOOL,
    )
    assert expression_text(cond) == "not f and (g or a is not missing)"
    label = M.LabelConst(RATING, "requires improvement", T.level(RATING, True))
    assert (
        expression_text(M.Binary("<=", M.Ref("q", T.level(RATING)), label, BOOL))
        == 'q <= "requires improvement"'
    )
    assert expression_text(M.Pick(a, 'K"1', SNUM)) == 'a for "K\\"1"'
    call = M.Call("rank", (a,), NUM, polarity="lower", within="region")
    assert expression_text(call) == "rank(a, lower is better, within region)"
    agg = M.Call("mean", (a, b), NUM, skip_missing=True, require=1)
    assert expression_text(agg) == "mean(a, b, skip missing, require 1)"
    band = M.BandOf(
        a,
        (">=", ">="),
        (M.Const(0.5, SNUM), M.Const(-2.0, SNUM)),
        (M.Const(2.0, SNUM), M.Const(1.0, SNUM)),
        M.Const(0.0, SNUM),
        NUM,
    )
    assert expression_text(band) == "band a { >= 0.5: 2, >= -2: 1, otherwise: 0 }"
    text_map = M.MapOf(
        M.Ref("r", TEXT), ("North", "South"), (M.Const(1.0, SNUM), M.Const(2.0, SNUM)), None, NUM
    )
    assert expression_text(text_map) == 'map r { "North": 1, "South": 2 }'
    assert (
        expression_text(M.IfElse(M.Ref("f", BOOL), a, M.Const(1e-05, SNUM), NUM))
        == "if f then a else 1e-05"
    )
    assert expression_text(bin_("-", a, M.Const(-2.0, SNUM))) == "a - -2"


def test_methodology_hash_is_the_file_hash_when_it_extends_nothing():
    import hashlib

    m = every_type_result().methodology
    single = attrs.evolve(m, sources=(("a.tier", "méthode\n"),))
    assert methodology_sha256(single) == hashlib.sha256("méthode\n".encode()).hexdigest()
    assert methodology_sha256(m) != methodology_sha256(
        attrs.evolve(m, sources=(m.sources[0], ("base.tier", "other\n")))
    )


def test_params_json_is_valid_json(store):
    run_id = store.record(every_type_result())
    raw = store.conn.execute("SELECT params FROM runs WHERE id = ?", (run_id,)).fetchone()[0]
    assert json.loads(raw) == {"w": 0.25}


def test_a_store_locked_by_another_writer_is_a_clear_error(tmp_path, monkeypatch):
    import audit.store as store_module

    path = tmp_path / "locked.db"
    with open_store(path) as s:
        s.record(every_type_result())
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    monkeypatch.setattr(transaction, "WRITE_WAIT_S", 0.3)  # a writer queues this long before giving up
    try:
        with open_store(path) as s:
            s.conn.execute("PRAGMA busy_timeout = 50")  # do not wait the full 10 s here
            with pytest.raises(AuditError, match=r"database is locked \(after waiting \d+ s for other writers\); "
                                                 "nothing was recorded"):
                s.record(every_type_result())
            assert store_module.BUSY_TIMEOUT_MS == 10_000
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    with open_store(path) as s:
        assert len(s.runs()) == 1 and s.verify() == []
