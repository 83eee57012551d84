"""The audit store with entities at several levels (schema version 5): a run's lower levels
are recorded in the same transaction as its top level (levels, members, member values, member
tier steps), read back exactly, covered by the content hash (tampering with any lower-level row
is detected), re-evaluated by `verify`, found and explained; a single-level run is recorded
byte for byte as before. RunResults are built by hand, except in the end-to-end tests."""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3

import pandas as pd
import pytest
from test_audit import FakeDataset, every_type_result
from test_explain import league, small_weighted

from audit import explain, integrity, open_store, schema
from audit.recorder import build_rows, expression_text, synthetic_result
from audit.store import AuditError, AuditStore
from audit.write import transaction
from dsl import model as M
from dsl import types as T
from dsl.errors import Span
from interpreter.trace import LevelResult, LimitTrace, NodeTrace, RunResult, TierTrace
from tierlang.render.explain import render_text, to_json

NUM, SNUM, BOOL, TEXT = T.number(), T.number(scalar=True), T.boolean(), T.text()
RATING = T.LevelType("rating", ("inadequate", "requires_improvement", "good", "outstanding"))
RT = T.level(RATING)
STARTED = "2024-05-01T10:00:00.000Z"
TRUST = M.EntityLevel("trust", "trust_code", "trust_name", None)
LOCATION = M.EntityLevel("location", "location_id", "location_name", "trust")
SERVICE = M.EntityLevel("service", "service_id", "service_name", "location")
LOWER_TABLES = ("levels", "members", "member_values", "member_tier_steps")


def at(line: int) -> Span:
    return Span("trusts.tier", line, 1, line, 40)


def s(values, keys, dtype=None) -> pd.Series:
    return pd.Series(values, index=keys, dtype=dtype)


def ratings(labels, keys) -> pd.Series:
    return pd.Series(
        pd.Categorical(labels, categories=list(RATING.labels), ordered=True), index=keys
    )


def label(name: str) -> M.LabelConst:
    return M.LabelConst(RATING, name, T.level(RATING, True))


def is_outstanding(ref: str) -> M.Binary:
    return M.Binary("==", M.Ref(ref, RT), label("outstanding"), BOOL)


def trusts_result(services_at_l1: int = 3) -> RunResult:
    """
    entity trust key trust_code label trust_name
    entity location within trust key location_id label location_name
    entity service within location key service_id label service_name
    input safe: rating "Safe" per service                                               # 9
    input region: text                                                                  # 10
    param cutoff = 2                                                                    # 11
    indicator safe_score per service = map safe { ... }                                 # 12
    let n_outstanding per location = count(safe == outstanding, skip missing) over services  # 13
    score loc_safe per location = mean(safe_score, skip missing) over services          # 14
    tier location_rating per location: rating from n_outstanding { outstanding: >= 1
                                                                   good: otherwise }    # 15
    let outstanding_locations = count(location_rating == outstanding) over locations    # 18
    score avg_safe = mean(safe_score, skip missing) over services                        # 19
    tier trust_rating "Trust rating": rating from outstanding_locations {
        outstanding: >= cutoff  good: >= 1  requires_improvement: otherwise }           # 20
    limit trust_rating to at most good when avg_safe < 3                                # 24

    `services_at_l1` services at location L1 (3: S1 S2 S3, the third with no safe rating).
    """
    safe = M.Node("safe", M.INPUT, RT, (), label="Safe", level="service", span=at(9))
    region = M.Node("region", M.INPUT, TEXT, (), span=at(10))
    cutoff = M.Node("cutoff", M.PARAM, SNUM, (), value=2.0, span=at(11))
    safe_score = M.Node(
        "safe_score",
        "indicator",
        NUM,
        ("safe",),
        level="service",
        span=at(12),
        expr=M.MapOf(
            M.Ref("safe", RT),
            RATING.labels,
            tuple(M.Const(float(i + 1), SNUM) for i in range(4)),
            None,
            NUM,
        ),
    )
    n_outstanding = M.Node(
        "n_outstanding",
        "let",
        NUM,
        ("safe",),
        level="location",
        span=at(13),
        expr=M.Call("count", (is_outstanding("safe"),), NUM, skip_missing=True, over="service"),
    )
    loc_safe = M.Node(
        "loc_safe",
        "score",
        NUM,
        ("safe_score",),
        level="location",
        span=at(14),
        expr=M.Call("mean", (M.Ref("safe_score", NUM),), NUM, skip_missing=True, over="service"),
    )
    location_rating = M.Node(
        "location_rating",
        M.TIER,
        RT,
        ("n_outstanding",),
        level="location",
        span=at(15),
        tier=M.TierSpec(
            RATING,
            M.Ref("n_outstanding", NUM),
            (
                M.TierRule("outstanding", M.ThresholdRule(">=", M.Const(1.0, SNUM)), ">= 1"),
                M.TierRule("good", M.OtherwiseRule(), "otherwise"),
            ),
            None,
            (),
        ),
    )
    outstanding_locations = M.Node(
        "outstanding_locations",
        "let",
        NUM,
        ("location_rating",),
        span=at(18),
        expr=M.Call("count", (is_outstanding("location_rating"),), NUM, over="location"),
    )
    avg_safe = M.Node(
        "avg_safe",
        "score",
        NUM,
        ("safe_score",),
        span=at(19),
        expr=M.Call("mean", (M.Ref("safe_score", NUM),), NUM, skip_missing=True, over="service"),
    )
    below = M.Binary("<", M.Ref("avg_safe", NUM), M.Const(3.0, SNUM), BOOL)
    trust_rating = M.Node(
        "trust_rating",
        M.TIER,
        RT,
        ("outstanding_locations", "cutoff", "avg_safe"),
        label="Trust rating",
        span=at(20),
        tier=M.TierSpec(
            RATING,
            M.Ref("outstanding_locations", NUM),
            (
                M.TierRule(
                    "outstanding", M.ThresholdRule(">=", M.Ref("cutoff", SNUM)), ">= cutoff"
                ),
                M.TierRule("good", M.ThresholdRule(">=", M.Const(1.0, SNUM)), ">= 1"),
                M.TierRule("requires_improvement", M.OtherwiseRule(), "otherwise"),
            ),
            None,
            (
                M.Limit(
                    "at most", "good", below, "limit trust_rating to at most good when avg_safe < 3"
                ),
            ),
        ),
    )
    nodes = (
        safe,
        region,
        cutoff,
        safe_score,
        n_outstanding,
        loc_safe,
        location_rating,
        outstanding_locations,
        avg_safe,
        trust_rating,
    )
    methodology = M.Methodology(
        "Trusts",
        "1",
        None,
        "trust",
        "trust_code",
        "trust_name",
        None,
        "trusts.tier",
        (("trusts.tier", 'methodology "Trusts"\n'),),
        {},
        nodes,
        levels=(TRUST, LOCATION, SERVICE),
    )

    # services
    extra = [f"S{i}" for i in range(6, 6 + max(services_at_l1 - 3, 0))]
    skeys = pd.Index(["S1", "S2", "S3", "S4", "S5", *extra])
    slabels = s(
        ["Cardiology", "A&E", "Maternity", "Surgery", "Renal"] + [f"Clinic {k}" for k in extra],
        skeys,
        object,
    )
    sparents = s(["L1", "L1", "L1", "L2", "L3"] + ["L1"] * len(extra), skeys, object)
    safe_labels = ["outstanding", "good", None, "outstanding", "requires_improvement"] + [
        "good"
    ] * len(extra)
    safe_reasons = s([None, None, "input_missing", None, None] + [None] * len(extra), skeys, object)
    scores = [4.0, 3.0, math.nan, 4.0, 2.0] + [3.0] * len(extra)
    score_reasons = s(
        [None, None, "component_missing", None, None] + [None] * len(extra), skeys, object
    )
    service = LevelResult(
        SERVICE,
        skeys,
        slabels,
        sparents,
        {
            "safe": NodeTrace(safe, ratings(safe_labels, skeys), safe_reasons),
            "safe_score": NodeTrace(safe_score, s(scores, skeys, "float64"), score_reasons),
        },
    )

    # locations
    lkeys = pd.Index(["L1", "L2", "L3", "L4"])
    lnone = s([None] * 4, lkeys, object)
    l1 = [sc for sc, p in zip(scores, sparents) if p == "L1" and not math.isnan(sc)]
    loc_safe_values = [sum(l1) / len(l1), 4.0, 2.0, math.nan]
    loc_rating = ratings(["outstanding", "outstanding", "good", "good"], lkeys)
    location = LevelResult(
        LOCATION,
        lkeys,
        s(["Leeds General", "York Hospital", "Bristol Royal", "Empty Clinic"], lkeys, object),
        s(["T1", "T1", "T2", "T2"], lkeys, object),
        {
            "n_outstanding": NodeTrace(
                n_outstanding, s([1.0, 1.0, 0.0, 0.0], lkeys, "float64"), lnone
            ),
            "loc_safe": NodeTrace(
                loc_safe,
                s(loc_safe_values, lkeys, "float64"),
                s([None, None, None, "no_members"], lkeys, object),
            ),
            "location_rating": NodeTrace(
                location_rating,
                loc_rating,
                lnone,
                {"outstanding.threshold": 1.0},
                TierTrace(
                    s([1.0, 1.0, 0.0, 0.0], lkeys, "float64"),
                    s([0, 0, 1, 1], lkeys, "int64"),
                    loc_rating,
                    (),
                    s(["outstanding", "outstanding", "good", "good"], lkeys, object),
                ),
            ),
        },
    )

    # trusts
    tkeys = pd.Index(["T1", "T2"])
    tnone = s([None] * 2, tkeys, object)
    t1 = [sc for sc, p in zip(scores, sparents) if p in ("L1", "L2") and not math.isnan(sc)]
    avg = [sum(t1) / len(t1), 2.0]
    before = ratings(["outstanding", "requires_improvement"], tkeys)
    traces = {
        "region": NodeTrace(region, s(["North", "South"], tkeys, object), tnone),
        "cutoff": NodeTrace(cutoff, s([2.0, 2.0], tkeys, "float64"), tnone, {"value": 2.0}),
        "outstanding_locations": NodeTrace(
            outstanding_locations, s([2.0, 0.0], tkeys, "float64"), tnone
        ),
        "avg_safe": NodeTrace(avg_safe, s(avg, tkeys, "float64"), tnone),
        "trust_rating": NodeTrace(
            trust_rating,
            before,
            tnone,
            {"outstanding.threshold": 2.0, "good.threshold": 1.0},
            TierTrace(
                s([2.0, 0.0], tkeys, "float64"),
                s([0, 2], tkeys, "int64"),
                before,
                (LimitTrace(0, s([False, False], tkeys, bool), before),),
                s(["outstanding", "requires_improvement"], tkeys, object),
            ),
        ),
    }
    return RunResult(
        methodology,
        tkeys,
        s(["North Trust", "South Trust"], tkeys, object),
        {"cutoff": 2.0},
        traces,
        members={"location": location, "service": service},
    )


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "audit.db"
    with open_store(path) as writer:
        writer.record(trusts_result(), started=STARTED)
    with open_store(path) as reader:  # everything read back comes from the file
        yield reader


def count(store: AuditStore, table: str, run: int | None = None) -> int:
    if run is None:
        return store.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    column = "id" if table == "runs" else "run"
    return store.conn.execute(
        f"SELECT count(*) FROM {table} WHERE {column} = ?", (run,)
    ).fetchone()[0]


# ---------------------------------------------------------------- schema


def test_version_5_adds_the_lower_level_tables_and_views(store):
    assert store.schema_version == schema.SCHEMA_VERSION >= 5
    assert set(LOWER_TABLES) <= set(store.db.table_names())
    assert {"named_member_values", "named_member_tier_steps"} <= set(store.db.view_names())
    assert {"level", "aggregates"} <= set(store.db["nodes"].columns_dict)
    indexes = {r[1] for r in store.conn.execute("SELECT * FROM sqlite_master WHERE type = 'index'")}
    assert {
        "levels_run_name",
        "members_run_key",
        "members_run_label",
        "members_run_parent",
    } <= indexes


def test_a_version_4_store_migrates_and_its_runs_still_verify(tmp_path, monkeypatch):
    path = tmp_path / "v4.db"
    with monkeypatch.context() as m:
        m.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:4])
        m.setattr(schema, "SCHEMA_VERSION", 4)
        with open_store(path) as old:
            old.record(every_type_result())
            old.record(small_weighted())
            assert "levels" not in old.db.table_names()
    with open_store(path) as store:
        assert store.schema_version == schema.SCHEMA_VERSION
        assert integrity.check_store(store.conn).ok
        assert store.verify() == []
        run_id = store.record(trusts_result())
        assert run_id == 3 and integrity.check_store(store.conn).ok


def test_the_version_5_migration_is_one_transaction(tmp_path, monkeypatch):
    """A failure after part of version 5 was applied leaves the store at version 4."""
    path = tmp_path / "v4.db"
    with monkeypatch.context() as m:
        m.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:4])
        m.setattr(schema, "SCHEMA_VERSION", 4)
        open_store(path).close()

    def half_then_fail(db):
        schema._v5(db)
        raise RuntimeError("power cut")

    with monkeypatch.context() as m:
        m.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS[:4], ("v5", half_then_fail)])
        with pytest.raises(RuntimeError):
            open_store(path)
    conn = sqlite3.connect(path)
    assert "levels" not in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert "level" not in {r[1] for r in conn.execute("PRAGMA table_info(nodes)")}
    conn.close()
    with open_store(path) as again:
        assert again.schema_version == schema.SCHEMA_VERSION


# ---------------------------------------------------------------- single-level runs unchanged

# body digests of single-level runs as recorded before schema version 5 (taken with the code
# of version 4): a single-level run must hash exactly as it did, so existing stores verify
SINGLE_LEVEL_DIGESTS = {
    "every": "a5df84763b8ecfbdb6f9b1de6d406df56302c6a73e385de263dd1a47b05e7c81",
    "small": "ac75ab153c4f2d9678a50525120dba6920c962a7df25763ac9c8728b87f21c65",
    "league": "69eccb6b761ff19c9a42360564953393b95b5e75b6fea9df84d11d9199fbcc4f",  # top 50% as a share (issue 11)
    "synthetic": "28892d57fb829cc488da75d0ab352a5928db6f69685bd9766ac6e34d14607787",
}
# the content hash, and a hash of every stored row (the columns of version 4), of
# `every_type_result()` recorded with a dataset, the tool version, note and times fixed
SINGLE_LEVEL_CONTENT = "49dae63628388330c615224b83f43c55db6b6fc8e8bf3acd02d5c5f3678daf1c"
SINGLE_LEVEL_ROWS = "24774f101abfb9e4de04b3b203ed7e22bb2d48b8febcb86b04a7c91594089afc"


def test_single_level_runs_hash_as_before_version_5():
    results = {
        "every": every_type_result(),
        "small": small_weighted(),
        "league": league(),
        "synthetic": synthetic_result(n_nodes=8, n_entities=50),
    }
    for name, result in results.items():
        rows = build_rows(result)
        assert rows.lower is None, name
        assert integrity.body_of_rows(rows).digest() == SINGLE_LEVEL_DIGESTS[name], name


def test_single_level_runs_are_recorded_byte_for_byte_as_before(tmp_path):
    with open_store(tmp_path / "a.db") as store:
        run_id = store.record(
            every_type_result(),
            FakeDataset("d.csv", "csv", "ab" * 32, 4, ("a",)),
            tool_version="1.0",
            note="n",
            started="2024-01-01T00:00:00.000Z",
        )
        assert not integrity.has_lower_levels(store.conn, run_id)
        assert integrity.read_body(store.conn, run_id).lower is None
        stored = store.run(run_id).content_hash
        assert integrity.check_run(store.conn, run_id).ok
        store.conn.execute("UPDATE runs SET finished = started")  # the one time not fixed
        header = integrity.read_header(store.conn, run_id)
        body = integrity.read_body(store.conn, run_id).digest()
        assert integrity.content_hash(header, body) == SINGLE_LEVEL_CONTENT
        assert stored != SINGLE_LEVEL_CONTENT  # (it was sealed with the real finishing time)
        dump = []
        for table in ("entities", "nodes", "node_values", "scalars", "tier_steps"):
            columns = [
                r[1]
                for r in store.conn.execute(f"PRAGMA table_info({table})")
                if r[1] not in ("level", "aggregates")
            ]
            rows = store.conn.execute(
                f"SELECT {', '.join(columns)} FROM {table} ORDER BY 1, 2, 3"
            ).fetchall()
            dump.append((table, [list(r) for r in rows]))
        text = json.dumps(dump, default=repr)
        assert hashlib.sha256(text.encode()).hexdigest() == SINGLE_LEVEL_ROWS
        assert store.conn.execute(
            "SELECT count(*) FROM nodes WHERE level IS NOT NULL OR aggregates IS NOT NULL"
        ).fetchone() == (0,)
        assert all(count(store, t) == 0 for t in LOWER_TABLES)
        assert "over" not in json.dumps([n.call for n in store.nodes(run_id)])


# ---------------------------------------------------------------- recording a multi-level run


def test_every_level_is_recorded_and_reads_back(store):
    result = trusts_result()
    run = store.run(1)
    assert (run.entity_count, run.values_per_entity, run.node_count) == (2, 5, 10)
    assert count(store, "node_values", 1) == 2 * 5  # lower-level nodes are not in node_values
    nodes = store.nodes(1)
    assert [(n.name, n.position, n.level) for n in nodes] == [
        ("region", 0, None),
        ("cutoff", 1, None),
        ("outstanding_locations", 2, None),
        ("avg_safe", 3, None),
        ("trust_rating", 4, None),
        ("n_outstanding", 5, "location"),
        ("loc_safe", 6, "location"),
        ("location_rating", 7, "location"),
        ("safe", 8, "service"),
        ("safe_score", 9, "service"),
    ]
    by_name = {n.name: n for n in nodes}
    assert by_name["n_outstanding"].aggregates == (
        {
            "function": "count",
            "over": "service",
            "argument": "safe == outstanding, skip missing",
            "reads": ["safe"],
        },
    )
    assert by_name["avg_safe"].call["over"] == "service"
    assert by_name["region"].aggregates == () and by_name["region"].call is None
    assert [
        (
            lv.name,
            lv.parent,
            lv.key_column,
            lv.label_column,
            lv.member_count,
            lv.first_node,
            lv.values_per_member,
        )
        for lv in store.levels(1)
    ] == [
        ("location", "trust", "location_id", "location_name", 4, 5, 3),
        ("service", "location", "service_id", "service_name", 5, 8, 2),
    ]
    location, service = store.levels(1)
    assert service.first_value_id == location.first_value_id + 4 * 3
    assert [(m.key, m.label, m.parent_key, m.position) for m in store.members(1, "location")] == [
        ("L1", "Leeds General", "T1", 0),
        ("L2", "York Hospital", "T1", 1),
        ("L3", "Bristol Royal", "T2", 2),
        ("L4", "Empty Clinic", "T2", 3),
    ]
    assert [m.key for m in store.members(1, "service", "L1")] == ["S1", "S2", "S3"]
    for level in result.members.values():
        for name, trace in level.traces.items():
            got = store.values(1, name)
            assert got.index.tolist() == level.keys.tolist(), name
            assert got.isna().tolist() == trace.values.isna().tolist(), name
            assert got.dropna().tolist() == trace.values.dropna().tolist(), name
            assert str(got.dtype) == str(trace.values.dtype), name
            assert store.reasons(1, name).tolist() == trace.reasons.tolist(), name
    assert store.scalars(1)["location_rating"] == {"outstanding.threshold": 1.0}
    assert store.member_values(1, "location", 3) == {
        "n_outstanding": (0.0, None),
        "loc_safe": (None, "no_members"),
        "location_rating": ("good", None),
    }
    assert store.entity_values(1, 0)["trust_rating"] == ("outstanding", None)
    steps = store.tier_steps(1, "location_rating")
    assert [(t.entity, t.rule_index, t.display) for t in steps] == [
        (0, 0, "outstanding"),
        (1, 0, "outstanding"),
        (2, 1, "good"),
        (3, 1, "good"),
    ]
    assert store.tier_steps(1, "location_rating", 2)[0].from_value == 0.0
    assert [t.display for t in store.tier_steps(1, "trust_rating")] == [
        "outstanding",
        "requires_improvement",
    ]
    assert store.verify() == []


def test_plain_sql_reads_the_lower_levels_by_name(store):
    rows = store.conn.execute(
        "SELECT member_key, member_label, parent_key, node, num, text, missing_reason "
        "FROM named_member_values WHERE run = 1 AND level = 'service' AND member_key = 'S3'"
    ).fetchall()
    assert rows == [
        ("S3", "Maternity", "L1", "safe", None, None, "input_missing"),
        ("S3", "Maternity", "L1", "safe_score", None, None, "component_missing"),
    ]
    plan = " ".join(
        r[3]
        for r in store.conn.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM named_member_values "
            "WHERE run = ? AND level = ? AND member_key = ?",
            (1, "service", "S3"),
        )
    )
    assert "SCAN v" not in plan and "SCAN member_values" not in plan
    steps = store.conn.execute(
        "SELECT member_key, display FROM named_member_tier_steps WHERE run = 1 "
        "AND tier = 'location_rating' ORDER BY member_position"
    ).fetchall()
    assert steps == [("L1", "outstanding"), ("L2", "outstanding"), ("L3", "good"), ("L4", "good")]


def test_a_multi_level_run_is_stored_whole_or_not_at_all(store, monkeypatch):
    before = {t: count(store, t) for t in (*LOWER_TABLES, "runs", "nodes", "node_values")}
    original = transaction._write_lower

    def write_then_fail(conn, run_id, rows):
        original(conn, run_id, rows)
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(transaction, "_write_lower", write_then_fail)
    with pytest.raises(RuntimeError, match="disk on fire"):
        store.record(trusts_result())
    assert {t: count(store, t) for t in before} == before
    assert not store.conn.in_transaction
    monkeypatch.undo()
    assert store.record(trusts_result()) == 2
    assert integrity.check_store(store.conn).ok


def test_record_and_read_back_hash_alike(tmp_path):
    result = trusts_result()
    with open_store(tmp_path / "a.db") as store:
        store.record(every_type_result())
        run_id = store.record(result, note="levels")
        store.record(result)
        recorded = integrity.body_of_rows(build_rows(result))
        read = integrity.read_body(store.conn, run_id)
        assert read.lower is not None
        assert read.sections() == recorded.sections()
        assert set(read.sections()) == {*integrity.SECTIONS, *integrity.LOWER_SECTIONS}
        report = integrity.check_store(store.conn)
        assert report.ok, report
        assert report.runs[1].values == 2 * 5 + 4 * 3 + 5 * 2  # every level's values


def renamed(result: RunResult, names: dict[str, str]) -> RunResult:
    """`result` with its lower levels renamed (so their order is not the names' order)."""
    import attrs

    members = {
        names[name]: LevelResult(
            attrs.evolve(
                lr.level, name=names[name], parent=names.get(lr.level.parent, lr.level.parent)
            ),
            lr.keys,
            lr.labels,
            lr.parents,
            lr.traces,
        )
        for name, lr in result.members.items()
    }
    return attrs.evolve(result, members=members)


def test_rows_in_any_write_order_hash_alike(tmp_path):
    """Levels written in an order that is not their names' (site before bay): the canonical
    order of members and tier steps is by name, and the rows recorded hash as read back."""
    result = renamed(trusts_result(), {"location": "site", "service": "bay"})
    with open_store(tmp_path / "a.db") as store:
        run_id = store.record(result)
        assert [lv.name for lv in store.levels(run_id)] == ["site", "bay"]
        read = integrity.read_body(store.conn, run_id)
        assert read.lower.members[0][:2] == ("bay", "bay")  # by level name first
        assert read.sections() == integrity.body_of_rows(build_rows(result)).sections()
        assert integrity.check_store(store.conn).ok and store.verify() == []


def test_sorted_columns_orders_blocks_and_rows():
    ordered = integrity._sorted_columns
    columns = [["s", "s", "b", "b", "b"], [0, 1, 0, 1, 2], ["a", "b", "c", "d", "e"]]
    assert ordered(columns, 0, 1) == [
        ["b", "b", "b", "s", "s"],
        [0, 1, 2, 0, 1],
        ["c", "d", "e", "a", "b"],
    ]
    mixed = [["s", "b", "s"], [1, 0, 0], ["x", "y", "z"]]  # not in blocks: sorted row by row
    assert ordered(mixed, 0, 1) == [["b", "s", "s"], [0, 0, 1], ["y", "z", "x"]]
    already = [["a", "a", "b"], [0, 1, 0], [1, 2, 3]]
    assert ordered(already, 0, 1) is already
    assert ordered([[], [], []], 0, 1) == [[], [], []]


def test_the_lower_sections_are_appended_to_the_body_digest():
    body = integrity.body_of_rows(build_rows(trusts_result()))
    top_only = integrity.Body(body.entities, body.nodes, body.values, body.scalars, body.tier_steps)
    sections = body.sections()
    assert integrity.body_digest(sections) != top_only.digest()
    text = f"{integrity.CONTENT_SCHEME} body\n" + "".join(
        f"{n} {sections[n]}\n" for n in (*integrity.SECTIONS, *integrity.LOWER_SECTIONS)
    )
    assert body.digest() == hashlib.sha256(text.encode()).hexdigest()


def test_the_lower_level_sections_are_pinned():
    """Stored hashes of multi-level runs depend on these bytes: never change them in place."""
    lower = integrity.LowerBody(
        levels=[[0], ["service"], ["trust"], ["sid"], [None], [2], [1], [1]],
        node_levels=[[0, 1], [None, "service"], [None, None]],
        members=[["service", "service"], [0, 1], ["S1", "S2"], ["One", None], ["T1", "T1"]],
        values=[[1.5, None], [None, None], [None, None], [None, "input_missing"]],
        tier_steps=[[], [], [], [], [], [], [], [], []],
    )
    assert lower.sections() == {
        "levels": "e4c516f954a5bf9c1cb6e156aac4003bb5347fdc0ca98e103e3268bfef1266e8",
        "node_levels": "e9e9d01d3d5490bc4e2bdc59c8bc71dc8c780e0d8ae77b9257961993d8075ff9",
        "members": "7cf26252c786a59fc39b961795e925a40c31b3859013e70f02cbe02189bf45e1",
        "member_values": "36644c728b7a623053b7eea85cc69cd3935bbe15741373e823703341e6ca79ce",
        "member_tier_steps": "7b0a43ab5456b374741c77b302cf080954a0abb314ab5969cab35ba73d566a3a",
    }
    node = ("number", "number", 0, "[]", None, None, None, None, None, None, 0, None)
    body = integrity.Body(
        entities=[[0], ["T1"], [None]],
        nodes=[
            list(c)
            for c in zip(
                ("x", 0, "input", *(None,) * 7, *node), ("y", 1, "input", *(None,) * 7, *node)
            )
        ],
        values=[[2.0], [None], [None], [None]],
        scalars=[[] for _ in range(5)],
        tier_steps=[[] for _ in range(8)],
        lower=lower,
    )
    assert body.digest() == ("c9553f4694951a938f03b404e150b16484e49a40ec18672740a13e14d58d438d")


# ---------------------------------------------------------------- tampering


@pytest.fixture
def sealed(tmp_path):
    """A store of three runs: single-level, multi-level, single-level."""
    path = tmp_path / "sealed.db"
    with open_store(path) as store:
        store.record(every_type_result())
        store.record(trusts_result())
        store.record(small_weighted())
    return path


def tamper(path, *statements: str, args=()) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA foreign_keys = OFF")
    for statement in statements:
        conn.execute(statement, args)
    conn.commit()
    conn.close()


def failing(path) -> dict[int, tuple[str, ...]]:
    conn = sqlite3.connect(path)
    try:
        report = integrity.check_store(conn)
    finally:
        conn.close()
    return {r.run_id: r.problems for r in report.runs if not r.ok}, report.problems


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE member_values SET num = num + 1e-9 WHERE run = 2 AND num IS NOT NULL "
        "AND id = (SELECT min(id) FROM member_values WHERE run = 2 AND num IS NOT NULL)",
        "UPDATE member_values SET text = 'inadequate' WHERE run = 2 AND text = 'good'",
        "UPDATE member_values SET missing_reason = NULL WHERE run = 2 "
        "AND missing_reason = 'no_members'",
        "UPDATE member_values SET bool = 1 WHERE id = (SELECT min(id) FROM member_values "
        "WHERE run = 2)",
        "UPDATE members SET label = 'Someone else' WHERE run = 2 AND key = 'L1'",
        "UPDATE members SET parent_key = 'T2' WHERE run = 2 AND key = 'L1'",
        "UPDATE members SET key = 'L9' WHERE run = 2 AND key = 'L4'",
        "UPDATE member_tier_steps SET display = 'inadequate' WHERE run = 2 AND member = 3",
        "UPDATE member_tier_steps SET from_value = 5 WHERE run = 2 AND member = 0",
        "UPDATE levels SET label_column = 'other' WHERE run = 2 AND name = 'service'",
        "UPDATE nodes SET aggregates = NULL WHERE run = 2 AND name = 'avg_safe'",
        "UPDATE scalars SET value = 7 WHERE run = 2 AND node = 'location_rating'",
    ],
    ids=[
        "number",
        "label",
        "reason",
        "bool",
        "member-label",
        "parent",
        "member-key",
        "tier-step",
        "from-value",
        "level",
        "aggregates",
        "lower-statistic",
    ],
)
def test_every_edit_to_a_lower_level_is_detected(sealed, statement):
    tamper(sealed, statement)
    runs, _store = failing(sealed)
    assert list(runs) == [2]
    assert any(p.startswith("content hash mismatch") for p in runs[2])


def test_a_node_moved_to_another_level_is_detected(sealed):
    tamper(sealed, "UPDATE nodes SET level = 'location' WHERE run = 2 AND name = 'safe'")
    runs, _ = failing(sealed)
    assert "level location: 4 nodes (1 out of place), expected 3 at positions 5..7" in runs[2]
    assert "level service: 1 nodes (0 out of place), expected 2 at positions 8..9" in runs[2]


def test_a_deleted_member_value_is_detected(sealed):
    tamper(
        sealed,
        "DELETE FROM member_values WHERE id = (SELECT first_value_id + 1 FROM levels "
        "WHERE run = 2 AND name = 'service')",
    )
    runs, _ = failing(sealed)
    assert runs[2][0] == (
        "level service: 9 value rows in its id range (0 out of place), expected 2 nodes x 5 members"
    )
    assert runs[2][1].startswith("content hash mismatch")


def test_an_inserted_member_value_outside_the_ranges_is_detected(sealed):
    tamper(
        sealed,
        "INSERT INTO member_values (run, level, member, node, num) VALUES (2, 1, 0, 8, 1)",
    )
    runs, _ = failing(sealed)
    assert runs == {
        2: ("23 member value rows, expected 22: 1 inserted outside its levels' id ranges",)
    }


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO members (run, level, position, key) VALUES (1, 'location', 0, 'FORGED')",
        "INSERT INTO member_tier_steps (run, level, tier, member, rule_index, after, "
        "limits_acted) VALUES (3, 'location', 'forged', 0, 0, '[]', '[]')",
        "UPDATE nodes SET level = 'location' WHERE run = 1 AND name = 'x'",
    ],
    ids=["member", "tier-step", "node-level"],
)
def test_lower_level_rows_added_to_a_single_level_run_are_detected(sealed, statement):
    tamper(sealed, statement)
    runs, _ = failing(sealed)
    (run_id,) = runs
    assert any(p.startswith("content hash mismatch") for p in runs[run_id])
    assert any("of a level" in p for p in runs[run_id])


def test_a_run_stripped_of_its_lower_levels_is_detected(sealed):
    """Deleting every lower-level row makes the run look single-level: its hash says not."""
    tamper(
        sealed,
        *(f"DELETE FROM {t} WHERE run = 2" for t in LOWER_TABLES),
        "UPDATE nodes SET level = NULL, aggregates = NULL WHERE run = 2",
    )
    runs, _ = failing(sealed)
    assert list(runs) == [2]
    assert any(p.startswith("content hash mismatch") for p in runs[2])


def test_lower_level_rows_of_no_recorded_run_are_reported(sealed):
    tamper(
        sealed,
        "INSERT INTO member_values (run, level, member, node) VALUES (77, 0, 0, 0)",
        "INSERT INTO members (run, level, position, key) VALUES (77, 'x', 0, 'k')",
    )
    runs, problems = failing(sealed)
    assert not runs
    assert "member_values: 1 rows of run 77, which is not recorded" in problems
    assert "members: 1 rows of run 77, which is not recorded" in problems


def test_a_huge_edited_member_count_is_reported_not_exhausting_memory(sealed):
    tamper(sealed, "UPDATE levels SET member_count = 4000000000000 WHERE run = 2")
    runs, _ = failing(sealed)
    assert any(p.startswith("content hash mismatch") for p in runs[2])


# ---------------------------------------------------------------- finding entities


def test_find_entity_searches_every_level(store):
    t1 = store.find_entity(1, "T1")
    assert (t1.level, t1.key, t1.label, t1.is_member) == (None, "T1", "North Trust", False)
    leeds = store.find_entity(1, "Leeds General")
    assert (leeds.level, leeds.key, leeds.position, leeds.parent_key) == ("location", "L1", 0, "T1")
    assert store.find_entity(1, "s3").level == "service"
    assert store.find_entity(1, "  maternity ").key == "S3"
    assert store.find_entity(1, "location:l2").key == "L2"
    assert store.find_entity(1, "service:Renal").key == "S5"
    assert store.find_entity(1, "trust:South Trust").key == "T2"
    with pytest.raises(AuditError, match=r"did you mean 'Leeds General' \(L1\)\?"):
        store.find_entity(1, "Leeds Generl")
    with pytest.raises(
        AuditError,
        match=r"^no trust, location or service 'zzz' in run 1 \(2 trusts, 4 locations, 5 services\)$",
    ):
        store.find_entity(1, "zzz")
    with pytest.raises(AuditError, match="no location 'S1'"):
        store.find_entity(1, "location:S1")


def test_a_key_at_two_levels_is_ambiguous(tmp_path):
    result = trusts_result()
    location = result.members["location"]
    keys = pd.Index(["T1", "L2", "L3", "L4"])  # a location keyed like a trust
    traces = {
        n: NodeTrace(
            t.node,
            t.values.set_axis(keys),
            t.reasons.set_axis(keys),
            t.scalars,
            None
            if t.tier is None
            else TierTrace(
                t.tier.from_values.set_axis(keys),
                t.tier.rule_index.set_axis(keys),
                t.tier.before_limits.set_axis(keys),
                (),
                t.tier.display.set_axis(keys),
            ),
        )
        for n, t in location.traces.items()
    }
    members = dict(result.members)
    members["location"] = LevelResult(
        LOCATION, keys, location.labels.set_axis(keys), location.parents.set_axis(keys), traces
    )
    service = members["service"]
    members["service"] = LevelResult(
        SERVICE, service.keys, service.labels, service.parents.replace("L1", "T1"), service.traces
    )
    with open_store(tmp_path / "a.db") as store:
        store.record(
            RunResult(
                result.methodology,
                result.keys,
                result.labels,
                result.params,
                result.traces,
                members=members,
            )
        )
        with pytest.raises(
            AuditError, match=r"'T1' names 2 entities \(trust 'T1', location 'T1'\)"
        ) as e:
            store.find_entity(1, "T1")
        assert e.value.suggestion == "trust:T1"
        assert store.find_entity(1, "location:T1").label == "Leeds General"
        assert store.find_entity(1, "trust:T1").label == "North Trust"
        assert [
            m.key for m in store.descendants(1, store.find_entity(1, "location:T1"), "service")
        ] == ["S1", "S2", "S3"]


def test_ancestors_and_descendants(store):
    s3 = store.find_entity(1, "S3")
    assert [(e.level, e.key) for e in store.ancestors(1, s3)] == [("location", "L1"), (None, "T1")]
    t1 = store.find_entity(1, "T1")
    assert [m.key for m in store.descendants(1, t1, "location")] == ["L1", "L2"]
    assert [m.key for m in store.descendants(1, t1, "service")] == ["S1", "S2", "S3", "S4"]
    assert store.descendants(1, store.find_entity(1, "L4"), "service") == []
    assert store.descendants(1, s3, "location") == []  # not below it


# ---------------------------------------------------------------- explaining


def expected_lower_text() -> str:
    e = {n.name: n for n in trusts_result().methodology.nodes}
    return f"""\
location L1 "Leeds General"
within trust T1 "North Trust"
run 1: Trusts (version 1), started {STARTED}
verification: sound (its hashes match the stored rows; `tierlang verify` re-evaluates it)
headline: location_rating = outstanding
methodology trusts.tier: sha256 275a0ed9104da9c98e0fe1d77898ce8379900a23a3a555bad7e52a44f25edf4e (recompute: sha256sum trusts.tier)

* location_rating (tier per location) = outstanding
    rule 1 of 2 (>= 1) assigned outstanding: n_outstanding 1 >= 1
    statistics: outstanding.threshold 1
  * n_outstanding (let per location) = 1
      = {expression_text(e["n_outstanding"].expr)} [trusts.tier:13]
      count(safe == outstanding, skip missing) over its 3 services:
        S1 "Cardiology": safe = outstanding
        S2 "A&E": safe = good
        S3 "Maternity": safe = missing (input_missing)
"""


def test_explains_a_lower_level_entity_exactly(store):
    assert render_text(explain(store, "L1")) == expected_lower_text()
    assert render_text(explain(store, "location:Leeds General")) == expected_lower_text()


def test_explains_a_top_level_entity_descending_into_its_members(store):
    e = {n.name: n for n in trusts_result().methodology.nodes}
    assert (
        render_text(explain(store, "North Trust"))
        == f"""\
trust T1 "North Trust"
run 1: Trusts (version 1), started {STARTED}
verification: sound (its hashes match the stored rows; `tierlang verify` re-evaluates it)
headline: Trust rating = outstanding
methodology trusts.tier: sha256 275a0ed9104da9c98e0fe1d77898ce8379900a23a3a555bad7e52a44f25edf4e (recompute: sha256sum trusts.tier)

* Trust rating (tier trust_rating) = outstanding
    rule 1 of 3 (>= cutoff) assigned outstanding: outstanding_locations 2 >= 2
    statistics: outstanding.threshold 2, good.threshold 1
  * outstanding_locations (let) = 2
      = {expression_text(e["outstanding_locations"].expr)} [trusts.tier:18]
      count(location_rating == outstanding) over its 2 locations:
        L1 "Leeds General": location_rating = outstanding
        L2 "York Hospital": location_rating = outstanding
  * cutoff (param) = 2
      parameter [trusts.tier:11]
  * avg_safe (score) = 3.6667
      = {expression_text(e["avg_safe"].expr)} [trusts.tier:19]
      mean(safe_score, skip missing) over its 4 services:
        S1 "Cardiology": safe_score = 4
        S2 "A&E": safe_score = 3
        S3 "Maternity": safe_score = missing (component_missing)
        S4 "Surgery": safe_score = 4
"""
    )


def test_an_entity_without_members_and_a_service_with_its_parent_chain(store):
    empty = render_text(explain(store, "Empty Clinic"))
    assert "      count(safe == outstanding, skip missing) over services: it has none\n" in empty
    assert (
        "    rule 2 of 2 (otherwise) assigned good: no earlier rule held for n_outstanding 0\n"
        in empty
    )
    service = render_text(explain(store, "S3"))
    assert service.startswith(
        'service S3 "Maternity"\nwithin location L1 "Leeds General", trust T1 "North Trust"\n'
    )
    assert "headline: safe_score = missing (component_missing)\n" in service
    assert "  * Safe (input safe per service) = missing (input_missing)\n" in service


def test_long_member_lists_are_capped(tmp_path):
    with open_store(tmp_path / "a.db") as store:
        store.record(trusts_result(services_at_l1=30), started=STARTED)
        capped = render_text(explain(store, "L1", member_limit=5))
        assert "      count(safe == outstanding, skip missing) over its 30 services:\n" in capped
        assert capped.count("        S") == 5
        assert capped.endswith(
            "        ... and 25 more\n        missing among the 30: safe for 1 (input_missing)\n"
        )
        default = render_text(explain(store, "L1"))
        assert "        ... and 10 more\n" in default  # 20 by default
        every = render_text(explain(store, "L1", member_limit=None))
        assert "... and" not in every and every.count("        S") == 30
        data = to_json(explain(store, "L1", member_limit=5))
        group = data["tiers"][0]["children"][0]["members"][0]
        assert (group["count"], group["more"], len(group["members"])) == (30, 25, 5)
        assert group["missing"] == [
            {"node": "safe", "missing_reason": "input_missing", "members": 1}
        ]


def test_json_says_the_level_and_the_members(store):
    data = to_json(explain(store, "L1"))
    json.dumps(data, allow_nan=False)
    assert data["entity"] == {
        "key": "L1",
        "label": "Leeds General",
        "position": 0,
        "kind": "location",
        "level": "location",
        "within": [{"level": "trust", "key": "T1", "label": "North Trust"}],
    }
    (rating,) = data["tiers"]
    assert rating["level"] == "location" and rating["tier"]["rule_index"] == 0
    (n_out,) = rating["children"]
    assert n_out["members"] == [
        {
            "over": "service",
            "calls": [{"function": "count", "argument": "safe == outstanding, skip missing"}],
            "reads": ["safe"],
            "count": 3,
            "more": 0,
            "missing": [{"node": "safe", "missing_reason": "input_missing", "members": 1}],
            "members": [
                {
                    "key": "S1",
                    "label": "Cardiology",
                    "position": 0,
                    "values": {
                        "safe": {
                            "value": "outstanding",
                            "display": "outstanding",
                            "missing_reason": None,
                        }
                    },
                },
                {
                    "key": "S2",
                    "label": "A&E",
                    "position": 1,
                    "values": {
                        "safe": {"value": "good", "display": "good", "missing_reason": None}
                    },
                },
                {
                    "key": "S3",
                    "label": "Maternity",
                    "position": 2,
                    "values": {
                        "safe": {
                            "value": None,
                            "display": "missing (input_missing)",
                            "missing_reason": "input_missing",
                        }
                    },
                },
            ],
        }
    ]
    top = to_json(explain(store, "T1"))["entity"]
    assert top["level"] == "trust" and top["within"] == [] and top["kind"] == "trust"


# ---------------------------------------------------------------- with the real checker and interpreter

TRUSTS = """\
methodology "Trusts"
version "1"
entity trust key trust_code label trust_name
entity location within trust key location_id label location_name
entity service within location key service_id

type rating = level inadequate < requires_improvement < good < outstanding

input safe: rating "Safe" per service
param cutoff = 2

indicator safe_score per service = map safe { inadequate: 1, requires_improvement: 2, good: 3, outstanding: 4 }
let n_outstanding per location = count(safe == outstanding, skip missing) over services
tier location_rating per location: rating from n_outstanding {
  outstanding: >= 1
  good: otherwise
}
let outstanding_locations per trust = count(location_rating == outstanding) over locations
score avg_safe per trust = mean(safe_score, skip missing) over services
tier trust_rating per trust: rating from outstanding_locations {
  outstanding: >= cutoff
  good: >= 1
  requires_improvement: otherwise
}
limit trust_rating to at most good when avg_safe < 3
"""


def tables():
    from tierlang.api import Tables

    return Tables(
        pd.DataFrame({"trust_code": ["T1", "T2"], "trust_name": ["North Trust", "South Trust"]}),
        {
            "location": pd.DataFrame(
                {
                    "location_id": ["L1", "L2", "L3", "L4"],
                    "location_name": [
                        "Leeds General",
                        "York Hospital",
                        "Bristol Royal",
                        "Empty Clinic",
                    ],
                    "trust_code": ["T1", "T1", "T2", "T2"],
                }
            ),
            "service": pd.DataFrame(
                {
                    "service_id": ["S1", "S2", "S3", "S4", "S5"],
                    "location_id": ["L1", "L1", "L1", "L2", "L3"],
                    "safe": ["outstanding", "good", None, "outstanding", "requires_improvement"],
                }
            ),
        },
    )


@pytest.fixture
def evaluated(tmp_path):
    from dsl import check_source
    from tierlang import api

    methodology = check_source(TRUSTS, "trusts.tier")
    db = tmp_path / "audit.db"
    outcome = api.run(methodology, tables(), audit=db)
    return db, outcome


def test_end_to_end_record_verify_and_explain(evaluated):
    from tierlang import verification

    db, outcome = evaluated
    result = outcome.result
    assert set(result.members) == {"location", "service"}
    report = verification.verify(str(db))
    assert report.ok, report
    with open_store(db) as store:
        assert store.verify() == []
        for level in result.members.values():
            for name, trace in level.traces.items():
                assert store.values(outcome.run_id, name).dropna().tolist() == (
                    trace.values.dropna().tolist()
                ), name
        text = render_text(explain(store, "L1"))
    assert "count(safe == outstanding, skip missing) over its 3 services:\n" in text
    assert "        S3: safe = missing (input_missing)\n" in text


def test_verify_finds_an_edited_service_input_and_what_follows_from_it(evaluated):
    from tierlang import verification

    db, _ = evaluated
    tamper(
        db,
        "UPDATE member_values SET text = 'inadequate' WHERE level = 1 AND text = "
        "'requires_improvement'",
    )
    (run,) = verification.verify(str(db)).runs
    assert not run.integrity.content_ok and not run.reproduced
    differing = {d.node: d for d in run.differences}
    assert differing["safe_score"].kind == "indicator per service"
    assert differing["safe_score"].level == "service"
    assert differing["safe_score"].examples == (("S5", "2.0", "1.0"),)
    assert differing["avg_safe"].examples == (("T2", "2.0", "1.0"),)
    assert "safe" not in differing  # the input is what re-evaluation reads


def test_verify_finds_an_edited_parent(evaluated):
    from tierlang import verification

    db, _ = evaluated
    tamper(db, "UPDATE members SET parent_key = 'L2' WHERE level = 'service' AND key = 'S1'")
    (run,) = verification.verify(str(db)).runs
    assert not run.reproduced
    assert {d.node for d in run.differences} >= {"n_outstanding", "location_rating"}


def test_rerun_takes_the_tables_of_every_level(evaluated):
    from tierlang import verification

    db, _ = evaluated
    outcome = verification.rerun(1, tables(), audit=str(db))
    assert outcome.run_id == 2 and set(outcome.result.members) == {"location", "service"}
    assert verification.verify(str(db)).ok


def test_verify_reports_an_edited_level_row(evaluated):
    from tierlang import verification

    db, _ = evaluated
    tamper(db, "UPDATE levels SET key_column = 'other_id' WHERE name = 'service'")
    (run,) = verification.verify(str(db)).runs
    assert not run.integrity.content_ok and not run.reproduced
    assert run.other_differences == (
        "the entity levels (key and label columns, parents, sizes) differ",
    )


def test_an_over_call_printed_differently_is_a_note_not_a_failure(evaluated):
    """As for any definition printed differently by another tierlang: values decide."""
    from tierlang import verification

    db, _ = evaluated
    tamper(
        db,
        "UPDATE nodes SET aggregates = replace(aggregates, 'safe == outstanding', "
        "'(safe == outstanding)') WHERE name = 'n_outstanding'",
    )
    (run,) = verification.verify(str(db)).runs
    assert run.reproduced and not run.integrity.content_ok
    assert run.notes == (
        f"node n_outstanding: recorded over calls differ from tierlang {verification.__version__}'s",
    )
