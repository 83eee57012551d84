"""The values `record` writes (audit/write/values.py holds them as float64 arrays and sparse
text, flag and reason columns, streamed a block of entities at a time) are exactly the rows
and hashes of the one-tuple-per-value encoding: each `node_values` and `member_values` row, as
stored, and the body digest and content hash, are compared with an expectation built here
value by value from the RunResult, over small random runs and block sizes small enough that
every run crosses block boundaries."""

from __future__ import annotations

import math
import sqlite3
import struct
import tempfile
from pathlib import Path
from unittest import mock

import attrs
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_audit import FakeDataset, every_type_result
from test_audit_levels import trusts_result

from audit import integrity, open_store
from audit.integrity.columns import VALUE_COLUMNS
from audit.integrity.hashing import _encode_column, table_digest
from audit.recorder import build_rows, synthetic_result
from audit.write import values as values_module
from audit.write.columns import _list_json
from dsl import model as M
from dsl import types as T
from interpreter.trace import REASONS, NodeTrace, RunResult

NUM, SNUM, BOOL, TEXT = T.number(), T.number(scalar=True), T.boolean(), T.text()
GRADE = T.LevelType("grade", ("low", "mid", "high"))
NUMS = T.list_of(NUM)
DATASET = FakeDataset("d.csv", "csv", "cd" * 32, 1, ("a",))

# ---------------------------------------------------------------- the expectation, value by value


def _missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def _by_key(series: pd.Series) -> dict:
    return dict(zip(series.index.tolist(), series.astype(object).tolist()))


def expected_rows(traces, keys, first_node: int = 0) -> list[tuple]:
    """(entity, node, num, text, bool, missing_reason) of every value, entity-major, built one
    value at a time: a number as its float (NaN where missing), a flag as a bool, a level's
    label, a list as JSON, any other value as its text; a node's reasons only when one of its
    values is missing."""
    nodes = []
    for trace in traces:
        values = _by_key(trace.values)
        cells = [values.get(key) for key in keys]
        reasons = _by_key(trace.reasons) if any(map(_missing, cells)) else {}
        nodes.append((trace.node.type.base, cells, [reasons.get(key) for key in keys]))
    rows = []
    for entity in range(len(keys)):
        for i, (base, cells, reasons) in enumerate(nodes):
            value, reason = cells[entity], reasons[entity]
            num, text, flag = math.nan, None, None
            if base == T.NUMBER:
                # a NaN as the trace holds it, payload and all (no key: NaN, as reindexed)
                num = math.nan if value is None else float(value)
            elif not _missing(value):
                if base == T.BOOLEAN:
                    flag = bool(value)
                elif base == T.LIST:
                    text = _list_json(value)
                else:
                    text = str(value)
            reason = None if _missing(reason) else reason
            rows.append((entity, first_node + i, num, text, flag, reason))
    return rows


def expected_member_rows(result: RunResult) -> list[tuple]:
    """(level, member, node, num, text, bool, missing_reason) of every lower level, level by
    level: what `member_values` holds in id order."""
    rows, first = [], len(result.traces)
    for position, level in enumerate(result.members.values()):
        traces = list(level.traces.values())
        rows += [(position, *row) for row in expected_rows(traces, level.keys, first)]
        first += len(traces)
    return rows


def _hashed(rows: list[tuple]) -> list[list]:
    """The num, text, bool and missing_reason columns of value rows (they end each row)."""
    return [[row[i] for row in rows] for i in (-4, -3, -2, -1)]


def _cell(value):
    """A value with its type, floats by their bytes: -0.0, NaN and 0.0 all differ."""
    if isinstance(value, float):
        return (type(value).__name__, struct.pack("<d", value))
    return (type(value).__name__, value)


def assert_same_rows(got, want, what: str) -> None:
    got, want = [tuple(map(_cell, r)) for r in got], [tuple(map(_cell, r)) for r in want]
    assert len(got) == len(want), f"{what}: {len(got)} rows, expected {len(want)}"
    for i, (g, w) in enumerate(zip(got, want)):
        assert g == w, f"{what}: row {i} is {g}, expected {w}"


def assert_encoded_alike(hashed, columns, what: str) -> None:
    for (name, kind), new, old in zip(VALUE_COLUMNS, hashed, columns, strict=True):
        assert_same_rows([[v] for v in new], [[v] for v in old], f"{what}.{name} read back")
        assert _encode_column(new, kind) == _encode_column(old, kind), f"{what}.{name} bytes"
    assert table_digest(what, VALUE_COLUMNS, hashed) == table_digest(what, VALUE_COLUMNS, columns)


# ---------------------------------------------------------------- what was stored


def _stored(conn: sqlite3.Connection, table: str, columns: str, run_id: int) -> list[tuple]:
    """The run's rows of `table` in id order, each with its id relative to the run's first and
    the storage class of every column (REAL, INTEGER, TEXT or NULL)."""
    names = columns.split(", ")
    typed = ", ".join(f"typeof({c})" for c in names)
    rows = conn.execute(
        f"SELECT id, {columns}, {typed} FROM {table} WHERE run = ? ORDER BY id", (run_id,)
    ).fetchall()
    first = rows[0][0] if rows else 0
    return [(row[0] - first, *row[1:]) for row in rows]


def _inserted(conn: sqlite3.Connection, table: str, columns: str, rows: list[tuple]) -> list:
    """`rows` as one `executemany` of tuples stores them, into a fresh copy of `table`."""
    ddl = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    plain = sqlite3.connect(":memory:")
    plain.execute(ddl)
    marks = ", ".join("?" * len(columns.split(", ")))
    plain.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)
    return _stored(plain, table, columns, rows[0][0] if rows else 0)


NODE_VALUES = "run, entity, node, num, text, bool, missing_reason"
MEMBER_VALUES = "run, level, member, node, num, text, bool, missing_reason"


def check_recorded(result: RunResult, folder: Path) -> None:
    """Record `result` and compare its stored values, its body digest and its seal with the
    rows built value by value."""
    top = expected_rows(list(result.traces.values()), result.keys)
    lower = expected_member_rows(result) if result.members else None
    rows = build_rows(result)
    assert_same_rows(rows.values.rows(), top, "node_values rows")
    assert_encoded_alike(rows.values.hashed(), _hashed(top), "values")
    if lower is not None:
        built = [
            (position, *row) for position, v in enumerate(rows.lower.values) for row in v.rows()
        ]
        assert_same_rows(built, lower, "member_values rows")
        assert_encoded_alike(rows.lower.hashed_values(), _hashed(lower), "member_values")

    with open_store(folder / "audit.db") as store:
        store.record(result, DATASET, tool_version="t")  # a run before: ids do not start at 1
        run_id = store.record(result, DATASET, tool_version="t")
        conn = store.conn
        want = _inserted(conn, "node_values", NODE_VALUES, [(run_id, *r) for r in top])
        assert_same_rows(_stored(conn, "node_values", NODE_VALUES, run_id), want, "node_values")
        body = attrs.evolve(integrity.body_of_rows(rows), values=_hashed(top))
        if lower is not None:
            want = _inserted(conn, "member_values", MEMBER_VALUES, [(run_id, *r) for r in lower])
            stored = _stored(conn, "member_values", MEMBER_VALUES, run_id)
            assert_same_rows(stored, want, "member_values")
            body = attrs.evolve(body, lower=attrs.evolve(body.lower, values=_hashed(lower)))
        digest = body.digest()
        assert integrity.read_body(conn, run_id).digest() == digest
        header = integrity.read_header(conn, run_id)
        assert store.run(run_id).content_hash == integrity.content_hash(header, digest)
        assert integrity.check_store(conn).ok


# ---------------------------------------------------------------- random runs

numbers = st.one_of(
    st.floats(),
    st.sampled_from([0.0, -0.0, math.inf, -math.inf, math.nan, 5e-324, -1.7976931348623157e308]),
)
CELLS = {
    "number": numbers,
    "boolean": st.one_of(st.none(), st.booleans()),
    "text": st.one_of(
        st.none(), st.text(max_size=6), st.sampled_from(["", "NULL", "None", "nan", "Süd", "\x00"])
    ),
    "level": st.one_of(st.none(), st.sampled_from(GRADE.labels)),
    "list": st.one_of(st.none(), st.lists(st.one_of(st.none(), numbers), max_size=3).map(tuple)),
}


def _node(kind: str, name: str) -> M.Node:
    if kind == "list":
        const = M.ListOf((M.Const(2.5, SNUM),), NUMS)
        return M.Node(name, "let", NUMS, (), expr=const)
    types = {"number": NUM, "boolean": BOOL, "text": TEXT, "level": T.level(GRADE)}
    return M.Node(name, M.INPUT, types[kind], ())


def _series(kind: str, cells: list, keys: pd.Index) -> pd.Series:
    if kind == "number":
        return pd.Series(cells, index=keys, dtype="float64")
    if kind == "boolean":
        return pd.Series(pd.array(cells, dtype="boolean"), index=keys)
    if kind == "level":
        return pd.Series(
            pd.Categorical(cells, categories=list(GRADE.labels), ordered=True), index=keys
        )
    column = np.empty(len(cells), dtype=object)
    for i, cell in enumerate(cells):  # one by one: a tuple is one cell
        column[i] = cell
    return pd.Series(column, index=keys)


@st.composite
def random_runs(draw) -> RunResult:
    """1-30 entities and 0-6 nodes of every kind, a reason (or none) where a value is missing,
    each trace in its own key order."""
    n = draw(st.integers(1, 30))
    keys = pd.Index([f"K{i}" for i in range(n)])
    nodes, traces = [], {}
    for i, kind in enumerate(draw(st.lists(st.sampled_from(sorted(CELLS)), max_size=6))):
        node = _node(kind, f"n{i}")
        values = _series(kind, draw(st.lists(CELLS[kind], min_size=n, max_size=n)), keys)
        missing = values.isna().tolist()
        reasons = pd.Series(
            [draw(st.sampled_from((None, *REASONS))) if m else None for m in missing],
            index=keys,
            dtype=object,
        )
        order = draw(st.permutations(range(n)))
        nodes.append(node)
        traces[node.name] = NodeTrace(node, values.iloc[order], reasons.iloc[order])
    methodology = M.Methodology(
        "Random", "1", None, "entity", "key", None, None, "random.tier",
        (("random.tier", 'methodology "Random"\n'),), {}, tuple(nodes),
    )  # fmt: skip
    return RunResult(methodology, keys, None, {}, traces)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(result=random_runs(), block=st.integers(1, 40))
def test_random_runs_are_recorded_as_their_values_one_by_one(result, block):
    with mock.patch.object(values_module, "BLOCK_ROWS", block), tempfile.TemporaryDirectory() as d:
        check_recorded(result, Path(d))


@pytest.mark.parametrize(
    "name, result, block",
    [
        ("every type", every_type_result(), 3),  # blocks of one entity
        ("three levels, 40 services", trusts_result(40), 7),
        ("synthetic, two default blocks", synthetic_result(n_nodes=8, n_entities=5000), None),
    ],
)
def test_runs_are_recorded_as_their_values_one_by_one(tmp_path, name, result, block):
    if block is not None:
        with mock.patch.object(values_module, "BLOCK_ROWS", block):
            check_recorded(result, tmp_path)
    else:
        values = build_rows(result).values
        assert len(values) > values_module.BLOCK_ROWS  # more than one block of entities
        check_recorded(result, tmp_path)


def test_rows_cross_blocks_of_any_size_alike():
    """The same rows for every block size, from one entity per block to all in one."""
    result = every_type_result()
    values = build_rows(result).values
    want = [(9, *row) for row in expected_rows(list(result.traces.values()), result.keys)]
    for block in range(1, len(values) + 2):
        assert_same_rows(values.rows(9, block_rows=block), want, f"blocks of {block} rows")
