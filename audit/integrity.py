"""Tamper evidence: each run's content hash, the chain linking the runs, and the checks that
recompute both from the store. Nothing here evaluates a methodology (re-evaluating a run is
`tierlang.verification`); this module only hashes rows and reads the store.

Scheme `tierlang-content-v1` (documented in docs/audit.md, "Tamper evidence"):

- **Body digest** of a run: sha256 over five sections, each the sha256 of its table's rows of
  the run, column by column, in a canonical order: `entities` (by position), `nodes` (by
  position), `values` (the `node_values` rows in id order: entity-major, node positions
  implied), `scalars` (by node name, statistic name), `tier_steps` (by tier name, entity).
- **Content hash**: sha256 over the `runs` row as stored (every column but `id`,
  `first_value_id`, `content_hash`, `chain_hash`; params as canonical JSON), the
  `methodologies` row and the `datasets` row it references (every column), and the body
  digest; from schema version 6, when the run records who recorded it (`runs.user` not
  NULL), a `user` section after the run row (a run without one hashes exactly as before).
- **Chain hash**: sha256 over the previous run's chain hash (64 zeros for the first run), the
  run id and the content hash.

A column is encoded by its declared kind: `real` as little-endian float64 (NULL and NaN as
the one quiet NaN 0x7ff8000000000000, -0.0 as 0.0); `flag` (the 0/1 `node_values.bool`) as
one byte per row (0, 1, 255 for NULL); `int` and `text` as compact ASCII JSON (the `text`
columns of `node_values`: the int64 positions of the non-NULL rows, then a JSON array of
those values). A stored cell of a type its column never holds (text in a REAL column, a
BLOB) is encoded tagged, so it can never hash like a recorded value. Each part is framed
with its name and byte length.

Lower levels (entities at several levels, schema version 5): a run with lower levels has five
more sections after those five, `levels` (by position), `node_levels` (every node's level and
`over` calls, by position), `members` (by level name, position), `member_values` (each level's
id range in level position order) and `member_tier_steps` (by tier, member); their lines are
appended to the body digest's text. A run without lower levels has none of them, so its
digest is exactly what it was before version 5. A run has lower levels when it has a
`levels`, `members` or `member_tier_steps` row, or a node with a level or an `over` call:
deleting all of them changes the digest as surely as editing one.

`AuditStore.record` computes the body digest from the rows it is about to insert (before
taking the write lock), then, inside the write transaction, reads back the run row and the
methodology and dataset rows, computes the content hash, reads the previous run's chain
hash (under the lock, so concurrent writers form one linear chain) and stores both.
`check_run` and `check_store` recompute everything from the stored rows.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import operator
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

import attrs
import numpy as np

CONTENT_SCHEME = "tierlang-content-v1"
CHAIN_SCHEME = "tierlang-chain-v1"
GENESIS = "0" * 64  # the "previous chain hash" of the first run

REAL, INT, TEXT, FLAG, BLOB = "real", "int", "text", "flag", "blob"

RUN_COLUMNS = (
    ("started", TEXT),
    ("finished", TEXT),
    ("tool_version", TEXT),
    ("methodology_sha256", TEXT),
    ("methodology_name", TEXT),
    ("methodology_version", TEXT),
    ("methodology_path", TEXT),
    ("dataset_sha256", TEXT),
    ("dataset_path", TEXT),
    ("params", "json"),
    ("status", TEXT),
    ("entity_count", INT),
    ("node_count", INT),
    ("values_per_entity", INT),
    ("note", TEXT),
    ("rerun_of", INT),
)
METHODOLOGY_COLUMNS = tuple(
    (c, TEXT)
    for c in (
        "sha256",
        "name",
        "version",
        "effective",
        "entity",
        "key_column",
        "label_column",
        "doc",
        "path",
        "source",
        "sources",
    )
)
DATASET_COLUMNS = (
    ("sha256", TEXT),
    ("path", TEXT),
    ("format", TEXT),
    ("rows", INT),
    ("columns", TEXT),
)
ENTITY_COLUMNS = (("position", INT), ("key", TEXT), ("label", TEXT))
NODE_COLUMNS = (  # audit.recorder.NODE_COLUMNS with their kinds
    ("name", TEXT),
    ("position", INT),
    ("kind", TEXT),
    ("label", TEXT),
    ("doc", TEXT),
    ("source_text", TEXT),
    ("expression", TEXT),
    ("file", TEXT),
    ("line", INT),
    ("overrides", TEXT),
    ("type", TEXT),
    ("base", TEXT),
    ("scalar", INT),
    ("dependencies", TEXT),
    ("scale", TEXT),
    ("call", TEXT),
    ("weights", TEXT),
    ("tier", TEXT),
    ("data_column", TEXT),
    ("range", TEXT),
    ("required", INT),
    ("declared_value", TEXT),
)
VALUE_COLUMNS = (("num", REAL), ("text", TEXT), ("bool", FLAG), ("missing_reason", TEXT))
SCALAR_COLUMNS = (
    ("node", TEXT),
    ("position", INT),
    ("name", TEXT),
    ("value", REAL),
    ("text", TEXT),
)
TIER_COLUMNS = (
    ("tier", TEXT),
    ("entity", INT),
    ("from_value", REAL),
    ("rule_index", INT),
    ("before_limits", TEXT),
    ("after", TEXT),
    ("limits_acted", TEXT),
    ("display", TEXT),
)
SECTIONS = ("entities", "nodes", "values", "scalars", "tier_steps")
LEVEL_COLUMNS = (  # audit.recorder.LEVEL_COLUMNS with their kinds (not first_value_id)
    ("position", INT),
    ("name", TEXT),
    ("parent", TEXT),
    ("key_column", TEXT),
    ("label_column", TEXT),
    ("member_count", INT),
    ("first_node", INT),
    ("values_per_member", INT),
)
NODE_LEVEL_COLUMNS = (("position", INT), ("level", TEXT), ("aggregates", TEXT))
MEMBER_COLUMNS = (
    ("level", TEXT),
    ("position", INT),
    ("key", TEXT),
    ("label", TEXT),
    ("parent_key", TEXT),
)
MEMBER_TIER_COLUMNS = (
    ("level", TEXT),
    ("tier", TEXT),
    ("member", INT),
    *TIER_COLUMNS[2:],
)
LOWER_SECTIONS = ("levels", "node_levels", "members", "member_values", "member_tier_steps")
COMPONENT_COLUMNS = (
    ("node", TEXT),
    ("entities", INT),
    ("components", TEXT),
    ("value", "blob"),
    ("weight", "blob"),
    ("coefficient", "blob"),
    ("contribution", "blob"),
)
RANK_COLUMNS = (
    ("tier", TEXT),
    ("entity", INT),
    ("rank", INT),
    ("from_rank_top", INT),
    ("from_rank_bottom", INT),
)
BRANCH_COLUMNS = (
    ("node", TEXT),
    ("entity", INT),
    ("taken", TEXT),
    ("op", TEXT),
    ("left_value", REAL),
    ("right_value", REAL),
)
STATISTIC_COLUMNS = (
    ("node", TEXT),
    ("key", TEXT),
    ("shown", TEXT),
    ("name", TEXT),
    ("item", INT),
    ("grp", TEXT),
    ("call", TEXT),
    ("prefix", TEXT),
    ("rule", TEXT),
)
FACT_SECTIONS = ("node_components", "entity_ranks", "node_branches", "node_statistics")

# ---------------------------------------------------------------- canonical encoding

_FLAG_CODES = {None: 255, False: 0, True: 1}  # 0 and 1 hash like False and True


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"), allow_nan=False).encode()


def _tagged(value: Any) -> list:
    """A cell of a type its column never holds: distinct from every legitimate value."""
    if isinstance(value, bytes):
        return ["!blob", value.hex()]
    return ["!" + type(value).__name__, repr(value)]


def _cell(value: Any, kind: str) -> Any:
    """One cell in canonical form: None, int, float (finite or not, never NaN or -0.0) or
    str, according to its column's kind; anything else tagged."""
    if value is None:
        return None
    if kind == TEXT:
        return str(value) if isinstance(value, str) else _tagged(value)
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if kind in (INT, FLAG):
        if isinstance(value, (int, np.integer)):
            return int(value)
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            return int(value)
        return _tagged(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        f = float(value)
        if f != f:
            return None
        return "inf" if f == float("inf") else "-inf" if f == float("-inf") else f + 0.0
    return _tagged(value)


def _encode_column(values: Sequence, kind: str) -> bytes:
    """The canonical bytes of one column (see the module docstring)."""
    if kind == REAL:
        try:
            a = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            return b"J" + _json([_cell(v, REAL) for v in values])
        if a.ndim != 1:
            return b"J" + _json([_cell(v, REAL) for v in values])
        a = np.where(np.isnan(a), np.nan, a + 0.0)  # one NaN; -0.0 + 0.0 is 0.0
        return b"F" + a.astype("<f8").tobytes()
    if kind == BLOB:  # each cell framed by its length; NULL and a cell of another type distinct
        parts = [b"X"]
        for v in values:
            if v is None:
                parts.append(b"\xff" * 8)
            elif isinstance(v, (bytes, bytearray, memoryview)):
                raw = bytes(v)
                parts += [len(raw).to_bytes(8, "little"), raw]
            else:
                tagged = _json(_tagged(v))
                parts += [b"\xfe" * 8, len(tagged).to_bytes(8, "little"), tagged]
        return b"".join(parts)
    if kind == FLAG:
        try:
            return b"B" + bytes(map(_FLAG_CODES.__getitem__, values))
        except (KeyError, TypeError):
            return b"J" + _json([_cell(v, FLAG) for v in values])
    plain = set(map(type, values)) <= ({str, type(None)} if kind == TEXT else {int, type(None)})
    if not plain:
        values = [_cell(v, kind) for v in values]
    if kind == TEXT:
        present = list(
            itertools.compress(
                range(len(values)), map(operator.is_not, values, itertools.repeat(None))
            )
        )
        positions = np.asarray(present, dtype="<i8").tobytes()
        texts = _json([values[i] for i in present])
        return b"T" + len(positions).to_bytes(8, "little") + positions + texts
    return b"J" + _json(list(values))


def _section(h, name: str, payload: bytes) -> None:
    h.update(f"{name}\n{len(payload)}\n".encode())
    h.update(payload)
    h.update(b"\n")


def table_digest(name: str, columns: Sequence[tuple[str, str]], data: Sequence[Sequence]) -> str:
    """sha256 of a table given column-wise (`data[i]` holds column `columns[i]`)."""
    h = hashlib.sha256()
    count = len(data[0]) if data else 0
    h.update(f"{CONTENT_SCHEME} {name} {count}\n".encode())
    for (column, kind), values in zip(columns, data, strict=True):
        if len(values) != count:
            raise ValueError(f"{name}.{column}: {len(values)} values for {count} rows")
        _section(h, f"{column}:{kind}", _encode_column(values, kind))
    return h.hexdigest()


def _columns_of(rows: Iterable[Sequence], width: int) -> list[Sequence]:
    rows = list(rows)
    if not rows:
        return [() for _ in range(width)]
    return list(zip(*rows, strict=True))


@attrs.frozen
class LowerBody:
    """A run's lower-level rows, column-wise, in canonical order."""

    levels: list[Sequence]  # LEVEL_COLUMNS, by position
    node_levels: list[Sequence]  # NODE_LEVEL_COLUMNS, by node position
    members: list[Sequence]  # MEMBER_COLUMNS, by (level, position)
    values: list[Sequence]  # VALUE_COLUMNS: each level's id range, levels by position
    tier_steps: list[Sequence]  # MEMBER_TIER_COLUMNS, by (tier, member)

    def sections(self) -> dict[str, str]:
        return {
            "levels": table_digest("levels", LEVEL_COLUMNS, self.levels),
            "node_levels": table_digest("node_levels", NODE_LEVEL_COLUMNS, self.node_levels),
            "members": table_digest("members", MEMBER_COLUMNS, self.members),
            "member_values": table_digest("member_values", VALUE_COLUMNS, self.values),
            "member_tier_steps": table_digest(
                "member_tier_steps", MEMBER_TIER_COLUMNS, self.tier_steps
            ),
        }


@attrs.frozen
class FactBody:
    """A run's recorded facts (schema version 7), column-wise, in primary-key order."""

    components: list[Sequence]  # COMPONENT_COLUMNS
    ranks: list[Sequence]  # RANK_COLUMNS
    branches: list[Sequence]  # BRANCH_COLUMNS
    statistics: list[Sequence]  # STATISTIC_COLUMNS

    def sections(self) -> dict[str, str]:
        return {
            "node_statistics": table_digest("node_statistics", STATISTIC_COLUMNS, self.statistics),
            "node_components": table_digest("node_components", COMPONENT_COLUMNS, self.components),
            "entity_ranks": table_digest("entity_ranks", RANK_COLUMNS, self.ranks),
            "node_branches": table_digest("node_branches", BRANCH_COLUMNS, self.branches),
        }


@attrs.frozen
class Body:
    """A run's rows, column-wise, in canonical order: what the body digest is taken over."""

    entities: list[Sequence]  # ENTITY_COLUMNS, by position
    nodes: list[Sequence]  # NODE_COLUMNS, by position
    values: list[Sequence]  # VALUE_COLUMNS, entity-major (id order)
    scalars: list[Sequence]  # SCALAR_COLUMNS, by (node, name)
    tier_steps: list[Sequence]  # TIER_COLUMNS, by (tier, entity)
    lower: LowerBody | None = None  # a run with lower levels only
    facts: FactBody | None = None  # a run with recorded facts (version 7) only

    def sections(self) -> dict[str, str]:
        """Section name -> sha256 hex of that table's rows (the lower levels' sections too,
        for a run that has them)."""
        out = {
            "entities": table_digest("entities", ENTITY_COLUMNS, self.entities),
            "nodes": table_digest("nodes", NODE_COLUMNS, self.nodes),
            "values": table_digest("values", VALUE_COLUMNS, self.values),
            "scalars": table_digest("scalars", SCALAR_COLUMNS, self.scalars),
            "tier_steps": table_digest("tier_steps", TIER_COLUMNS, self.tier_steps),
        }
        if self.lower is not None:
            out.update(self.lower.sections())
        if self.facts is not None:
            out.update(self.facts.sections())
        return out

    def digest(self) -> str:
        return body_digest(self.sections())


def body_digest(sections: dict[str, str]) -> str:
    """sha256 hex over the section digests: the five of every run, then the lower levels'
    five when `sections` has them."""
    names = SECTIONS + (LOWER_SECTIONS if "levels" in sections else ()) + (
        FACT_SECTIONS if "entity_ranks" in sections else ()
    )
    text = f"{CONTENT_SCHEME} body\n" + "".join(f"{n} {sections[n]}\n" for n in names)
    return hashlib.sha256(text.encode()).hexdigest()


def _sorted_columns(columns: list[Sequence], group: int, within: int) -> list[Sequence]:
    """Columns with their rows in (columns[group], columns[within]) order. The rows come in
    blocks of one `group` value (a level's members, a tier's steps), each in `within` order
    already: the blocks are put in order whole, a sort of a few names rather than of every
    row (any other order is sorted row by row)."""
    keys, inner = columns[group], columns[within]
    count = len(keys)
    if count == 0:
        return columns
    k = np.empty(count, dtype=object)
    k[:] = list(keys)
    starts = [0, *(np.flatnonzero(k[1:] != k[:-1]) + 1).tolist(), count]
    blocks = [(keys[a], a, b) for a, b in zip(starts, starts[1:])]  # (group value, first, end)
    names = [b[0] for b in blocks]
    try:
        ascending = bool(np.all(np.diff(np.asarray(inner, dtype=np.int64)) > 0)) or all(
            bool(np.all(np.diff(np.asarray(inner[a:b], dtype=np.int64)) > 0))
            for _, a, b in blocks
        )
    except (TypeError, ValueError):
        ascending = False
    if len(set(names)) == len(names) and ascending:
        if names == sorted(names):
            return columns
        order = [i for _, first, end in sorted(blocks) for i in range(first, end)]
    else:
        order = sorted(range(count), key=lambda i: (keys[i], inner[i]))
    return [[c[i] for i in order] for c in columns]


def lower_body_of_rows(lower) -> LowerBody:
    """The LowerBody of an `audit.recorder.LowerRows`."""
    members = _sorted_columns(_columns_of(lower.members, len(MEMBER_COLUMNS)), 0, 1)
    steps = _sorted_columns([lower.tier_levels, *lower.tiers.columns()], 1, 2)
    v = lower.values
    return LowerBody(
        levels=_columns_of(lower.levels, len(LEVEL_COLUMNS)),
        node_levels=[list(range(len(lower.node_levels)))]
        + [list(c) for c in _columns_of(lower.node_levels, 2)],
        members=members,
        values=[v.num, v.text, v.bool, v.reason],
        tier_steps=steps,
    )


def body_of_rows(rows) -> Body:
    """The Body of an `audit.recorder.RunRows` (the rows `record` is about to insert)."""
    v, t = rows.values, rows.tiers
    scalars = sorted(rows.scalars, key=lambda r: (r[0], r[2]))
    tier_order = sorted(range(len(t.tier)), key=lambda i: (t.tier[i], t.entity[i]))
    tier_columns = t.columns()
    if tier_order != list(range(len(tier_order))):
        tier_columns = [[c[i] for i in tier_order] for c in tier_columns]
    lower = getattr(rows, "lower", None)
    return Body(
        entities=_columns_of(rows.entities, len(ENTITY_COLUMNS)),
        nodes=_columns_of(sorted(rows.nodes, key=lambda r: r[1]), len(NODE_COLUMNS)),
        values=[v.num, v.text, v.bool, v.reason],
        scalars=_columns_of(scalars, len(SCALAR_COLUMNS)),
        tier_steps=tier_columns,
        lower=None if lower is None else lower_body_of_rows(lower),
        facts=None if getattr(rows, "facts", None) is None else fact_body_of_rows(rows.facts),
    )


def fact_body_of_rows(facts) -> FactBody:
    """The FactBody of an `audit.recorder.FactRows` (already in primary-key order)."""
    return FactBody(
        components=_columns_of(facts.components, len(COMPONENT_COLUMNS)),
        ranks=_columns_of(facts.ranks, len(RANK_COLUMNS)),
        branches=_columns_of(facts.branches, len(BRANCH_COLUMNS)),
        statistics=_columns_of(facts.statistics, len(STATISTIC_COLUMNS)),
    )


# ---------------------------------------------------------------- the run header and hashes


@attrs.frozen
class Header:
    """The stored rows the content hash covers besides the body (dicts of column -> value)."""

    run: dict
    methodology: dict | None
    dataset: dict | None


def _row(conn: sqlite3.Connection, table: str, columns, where: str, args) -> dict | None:
    names = ", ".join(c for c, _ in columns)
    found = conn.execute(f"SELECT {names} FROM {table} WHERE {where}", args).fetchone()
    return None if found is None else dict(zip((c for c, _ in columns), found))


def read_header(conn: sqlite3.Connection, run_id: int) -> Header:
    run = _row(conn, "runs", RUN_COLUMNS, "id = ?", (run_id,))
    if run is None:
        raise KeyError(run_id)
    if _has_user_column(conn):  # schema version 6: who recorded the run
        run["user"] = conn.execute("SELECT user FROM runs WHERE id = ?", (run_id,)).fetchone()[0]
    methodology = _row(
        conn, "methodologies", METHODOLOGY_COLUMNS, "sha256 = ?", (run["methodology_sha256"],)
    )
    dataset = None
    if run["dataset_sha256"] is not None:
        dataset = _row(conn, "datasets", DATASET_COLUMNS, "sha256 = ?", (run["dataset_sha256"],))
        if dataset is not None and _has_parts_column(conn):  # schema version 8: each file's sha256
            dataset["parts"] = conn.execute(
                "SELECT parts FROM datasets WHERE sha256 = ?", (run["dataset_sha256"],)).fetchone()[0]
    return Header(run, methodology, dataset)


def _has_parts_column(conn: sqlite3.Connection) -> bool:
    return any(row[1] == "parts" for row in conn.execute("PRAGMA table_info(datasets)"))


def _has_user_column(conn: sqlite3.Connection) -> bool:
    return any(row[1] == "user" for row in conn.execute("PRAGMA table_info(runs)"))


def _canonical_params(text: Any) -> Any:
    try:
        return ["json", json.loads(text)]
    except (TypeError, ValueError):
        return ["!not-json", _cell(text, TEXT)]


def _row_json(row: dict | None, columns) -> Any:
    if row is None:
        return None
    return [
        [c, _canonical_params(row[c]) if kind == "json" else _cell(row[c], kind)]
        for c, kind in columns
    ]


def content_hash(header: Header, body: str) -> str:
    """sha256 hex over the stored run row, its methodology and dataset rows, and the body
    digest."""
    h = hashlib.sha256()
    h.update(f"{CONTENT_SCHEME}\n".encode())
    run_json = json.dumps(
        _row_json(header.run, RUN_COLUMNS), ensure_ascii=True, separators=(",", ":"), sort_keys=True
    )
    _section(h, "run", run_json.encode())
    if header.run.get("user") is not None:  # version 6; a run without a user hashes as before
        _section(h, "user", _json(_cell(header.run["user"], TEXT)))
    _section(h, "methodology", _json(_row_json(header.methodology, METHODOLOGY_COLUMNS)))
    _section(h, "dataset", _json(_row_json(header.dataset, DATASET_COLUMNS)))
    if header.dataset is not None and header.dataset.get("parts") is not None:  # version 8; else as before
        _section(h, "dataset_parts", _json(_cell(header.dataset["parts"], TEXT)))
    _section(h, "body", body.encode())
    return h.hexdigest()


def chain_hash(previous: str | None, content: str, run_id: int) -> str:
    """sha256 hex linking a run to the previous run's chain hash (GENESIS for the first)."""
    text = f"{CHAIN_SCHEME}\n{previous or GENESIS}\n{int(run_id)}\n{content}\n"
    return hashlib.sha256(text.encode()).hexdigest()


def previous_chain(conn: sqlite3.Connection, run_id: int) -> tuple[int | None, str | None]:
    """(id, stored chain hash) of the run recorded before `run_id`, or (None, None)."""
    row = conn.execute(
        "SELECT id, chain_hash FROM runs WHERE id < ? ORDER BY id DESC LIMIT 1", (run_id,)
    ).fetchone()
    return (None, None) if row is None else (row[0], row[1])


def seal(conn: sqlite3.Connection, run_id: int, body: str) -> tuple[str, str]:
    """Store the content and chain hashes of run `run_id`, whose body digest is `body`.
    Call inside the write transaction that records the run, after every row is written:
    the previous chain hash is read under the write lock, so writers form one chain."""
    content = content_hash(read_header(conn, run_id), body)
    _prev_id, prev = previous_chain(conn, run_id)
    chain = chain_hash(prev, content, run_id)
    conn.execute(
        "UPDATE runs SET content_hash = ?, chain_hash = ? WHERE id = ?", (content, chain, run_id)
    )
    return content, chain


def seal_unsealed(conn: sqlite3.Connection) -> int:
    """Seal, in id order, every run without a content hash (runs recorded before schema
    version 2; called by that migration). Returns the number sealed."""
    ids = [r[0] for r in conn.execute("SELECT id FROM runs WHERE content_hash IS NULL ORDER BY id")]
    for run_id in ids:
        seal(conn, run_id, read_body(conn, run_id).digest())
    return len(ids)


def latest_digest(conn: sqlite3.Connection) -> tuple[int, str | None] | None:
    """(id, chain hash) of the latest run, or None without runs: what to publish."""
    row = conn.execute("SELECT id, chain_hash FROM runs ORDER BY id DESC LIMIT 1").fetchone()
    return None if row is None else (int(row[0]), row[1])


# ---------------------------------------------------------------- reading a stored run


def read_body(conn: sqlite3.Connection, run_id: int) -> Body:
    """A run's stored rows, in the canonical order. Values are read from the run's id range
    (`first_value_id` .. + entity_count x values_per_entity - 1), one per position (a
    deleted row reads as all NULL; `check_run` reports it)."""
    first, entities, stride = conn.execute(
        "SELECT first_value_id, entity_count, values_per_entity FROM runs WHERE id = ?", (run_id,)
    ).fetchone()
    first = first or 0
    n = (entities or 0) * (stride or 0)
    values = conn.execute(
        "SELECT num, text, bool, missing_reason FROM node_values WHERE id BETWEEN ? AND ? "
        "ORDER BY id",
        (first, first + n - 1),
    ).fetchall()
    if len(values) != n:  # rows deleted: keep every row at its position, absent ones all NULL
        found = dict(
            (row[0], row[1:])
            for row in conn.execute(
                "SELECT id, num, text, bool, missing_reason FROM node_values "
                "WHERE id BETWEEN ? AND ?",
                (first, first + n - 1),
            )
        )
        values = [found.get(first + i, (None, None, None, None)) for i in range(n)]

    def select(columns, table, order) -> list[Sequence]:
        names = ", ".join(c for c, _ in columns)
        rows = conn.execute(
            f"SELECT {names} FROM {table} WHERE run = ? ORDER BY {order}", (run_id,)
        ).fetchall()
        return _columns_of(rows, len(columns))

    return Body(
        entities=select(ENTITY_COLUMNS, "entities", "position"),
        nodes=select(NODE_COLUMNS, "nodes", "position"),
        values=_columns_of(values, len(VALUE_COLUMNS)),
        scalars=select(SCALAR_COLUMNS, "scalars", "node, name"),
        tier_steps=select(TIER_COLUMNS, "tier_steps", "tier, entity"),
        lower=read_lower_body(conn, run_id, select) if has_lower_levels(conn, run_id) else None,
        facts=read_fact_body(conn, run_id, select) if has_facts(conn, run_id) else None,
    )


def has_facts(conn: sqlite3.Connection, run_id: int) -> bool:
    """Whether the stored run has any recorded fact (schema version 7): a run without any
    hashes exactly as before version 7; deleting every fact of a run that had some changes its
    digest as surely as editing one."""
    if conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'entity_ranks'"
    ).fetchone() is None:
        return False
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM node_components WHERE run = ?) "
        "OR EXISTS (SELECT 1 FROM entity_ranks WHERE run = ?) "
        "OR EXISTS (SELECT 1 FROM node_branches WHERE run = ?) "
        "OR EXISTS (SELECT 1 FROM node_statistics WHERE run = ?)",
        (run_id, run_id, run_id, run_id),
    ).fetchone()
    return bool(row[0])


def read_fact_body(conn: sqlite3.Connection, run_id: int, select) -> FactBody:
    rows = conn.execute(  # a BLOB column read as bytes, whatever was stored in it (typed apart)
        "SELECT node, entities, components, typeof(value), CAST(value AS BLOB), typeof(weight), "
        "CAST(weight AS BLOB), typeof(coefficient), CAST(coefficient AS BLOB), typeof(contribution), "
        "CAST(contribution AS BLOB) FROM node_components WHERE run = ? ORDER BY node",
        (run_id,),
    ).fetchall()
    components = [
        (*row[:3], *(raw if kind == "blob" else ("!" + kind, raw) for kind, raw in zip(row[3::2], row[4::2])))
        for row in rows
    ]
    return FactBody(
        components=_columns_of(components, len(COMPONENT_COLUMNS)),
        ranks=select(RANK_COLUMNS, "entity_ranks", "tier, entity"),
        branches=select(BRANCH_COLUMNS, "node_branches", "node, entity"),
        statistics=select(STATISTIC_COLUMNS, "node_statistics", "node, key"),
    )


def _range_rows(conn: sqlite3.Connection, table: str, columns: str, first: int, n: int) -> list:
    """The `n` rows of ids `first ..` of `table`, in id order; a deleted row reads as all NULL.
    Never beyond the table's last id (a count edited to billions cannot exhaust memory; the
    edited count is hashed anyway)."""
    width = columns.count(",") + 1
    last = conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]
    n = max(0, min(n, last - first + 1))
    rows = conn.execute(
        f"SELECT {columns} FROM {table} WHERE id BETWEEN ? AND ? ORDER BY id",
        (first, first + n - 1),
    ).fetchall()
    if len(rows) == n:
        return rows
    found = {
        row[0]: row[1:]
        for row in conn.execute(
            f"SELECT id, {columns} FROM {table} WHERE id BETWEEN ? AND ?", (first, first + n - 1)
        )
    }
    return [found.get(first + i, (None,) * width) for i in range(n)]


def levels_table_exists(conn: sqlite3.Connection) -> bool:
    """False in a store being migrated from before schema version 5."""
    return (
        conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'levels'"
        ).fetchone()
        is not None
    )


def has_lower_levels(conn: sqlite3.Connection, run_id: int) -> bool:
    """Whether the stored run has any lower-level row (see the module docstring)."""
    if not levels_table_exists(conn):
        return False
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM levels WHERE run = ?) "
        "OR EXISTS (SELECT 1 FROM members WHERE run = ?) "
        "OR EXISTS (SELECT 1 FROM member_tier_steps WHERE run = ?) "
        "OR EXISTS (SELECT 1 FROM nodes WHERE run = ? "
        "AND (level IS NOT NULL OR aggregates IS NOT NULL))",
        (run_id, run_id, run_id, run_id),
    ).fetchone()
    return bool(row[0])


def read_lower_body(conn: sqlite3.Connection, run_id: int, select=None) -> LowerBody:
    """A run's stored lower-level rows, in the canonical order. Each level's values are read
    from its id range (`levels.first_value_id` .. + member_count x values_per_member - 1)."""
    if select is None:

        def select(columns, table, order) -> list[Sequence]:
            names = ", ".join(c for c, _ in columns)
            rows = conn.execute(
                f"SELECT {names} FROM {table} WHERE run = ? ORDER BY {order}", (run_id,)
            ).fetchall()
            return _columns_of(rows, len(columns))

    values: list = []
    for first, count, stride in conn.execute(
        "SELECT first_value_id, member_count, values_per_member FROM levels WHERE run = ? "
        "ORDER BY position",
        (run_id,),
    ).fetchall():
        n = _count(count) * _count(stride)
        values += _range_rows(
            conn, "member_values", "num, text, bool, missing_reason", _count(first), n
        )
    return LowerBody(
        levels=select(LEVEL_COLUMNS, "levels", "position"),
        node_levels=select(NODE_LEVEL_COLUMNS, "nodes", "position"),
        members=select(MEMBER_COLUMNS, "members", "level, position"),
        values=_columns_of(values, len(VALUE_COLUMNS)),
        tier_steps=select(MEMBER_TIER_COLUMNS, "member_tier_steps", "tier, member"),
    )


def _count(value: Any) -> int:
    """A stored count or id as an int (0 for NULL or a damaged cell, which the hash reports)."""
    return value if isinstance(value, int) and value > 0 else 0


def methodology_sources_sha256(sources: Sequence[Sequence[str]]) -> str:
    """What `methodologies.sha256` must be for these (path, text) sources (see
    audit.recorder.methodology_sha256)."""
    texts = [text for _path, text in sources] or [""]
    digests = [hashlib.sha256(t.encode("utf-8")).hexdigest() for t in texts]
    if len(digests) == 1:
        return digests[0]
    return hashlib.sha256("\n".join(digests).encode("ascii")).hexdigest()


# ---------------------------------------------------------------- checking


@attrs.frozen
class RunCheck:
    """What the store-side checks found for one run."""

    run_id: int
    values: int  # value rows the run should have (node_values and member_values)
    content_ok: bool  # recomputed content hash == stored
    chain_ok: bool  # stored chain hash == hash(previous chain hash, content hash, id)
    problems: tuple[str, ...]  # every problem found (without a "run N:" prefix)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_run(
    conn: sqlite3.Connection,
    run_id: int,
    body_digest: str | None = None,
    value_counts: dict[int, int] | None = None,
    member_counts: dict[int, int] | None = None,
) -> RunCheck:
    """Recompute run `run_id`'s content hash from its stored rows and its link in the chain,
    and check its shape (entities, nodes, one value per valued node per entity at the id its
    position implies, one tier step per tier per entity) and its methodology's hash.
    `body_digest`: of the run's stored rows, if already computed (`read_body(...).digest()`);
    `value_counts`: `node_values` rows per run (`value_counts`), if already counted;
    `member_counts`: `member_values` rows per run (`member_value_counts`), likewise."""
    problems: list[str] = []
    say = problems.append
    header = read_header(conn, run_id)
    run = header.run
    stored_content, stored_chain = conn.execute(
        "SELECT content_hash, chain_hash FROM runs WHERE id = ?", (run_id,)
    ).fetchone()
    problems += shape_problems(conn, run_id, value_counts, member_counts)
    if isinstance(run["params"], str):
        try:
            json.loads(run["params"])
        except ValueError:
            say("its params are not valid JSON")
    m = header.methodology
    if m is None:
        say(f"its methodology {run['methodology_sha256']} is not in the store")
    else:
        try:
            sources = json.loads(m["sources"])
            sha = methodology_sources_sha256(sources)
            first_text = sources[0][1] if sources else ""
        except (TypeError, ValueError, IndexError, AttributeError):
            say(f"the sources of methodology {m['sha256'][:12]} are not valid JSON")
        else:
            if sha != m["sha256"]:
                say(
                    f"the recorded methodology source does not match its sha256 "
                    f"{m['sha256'][:12]} (the source text was changed)"
                )
            if first_text != m["source"]:
                say("methodologies.source differs from the first of its sources")
    if run["dataset_sha256"] is not None and header.dataset is None:
        say(f"its dataset {run['dataset_sha256'][:12]} is not in the store")
    if body_digest is None:
        body_digest = read_body(conn, run_id).digest()
    recomputed = content_hash(header, body_digest)
    content_ok = stored_content is not None and recomputed == stored_content
    if stored_content is None:
        say("no content hash recorded")
    elif not content_ok:
        say(
            f"content hash mismatch: its stored rows were changed after recording "
            f"(stored {stored_content[:12]}, recomputed {recomputed[:12]})"
        )
    prev_id, prev_chain = previous_chain(conn, run_id)
    expected_chain = chain_hash(prev_chain, stored_content or "", run_id)
    chain_ok = stored_chain is not None and stored_chain == expected_chain
    if not chain_ok:
        after = f"run {prev_id}" if prev_id is not None else "the start of the chain"
        gap = ""
        if prev_id is not None and prev_id != run_id - 1:
            gap = f"; run {_id_range(prev_id + 1, run_id - 1)} missing"
        elif prev_id is None and run_id != 1:
            gap = f"; run {_id_range(1, run_id - 1)} missing"
        say(f"chain broken: its chain hash does not follow {after}{gap}")
    return RunCheck(
        run_id,
        int(run["entity_count"] or 0) * int(run["values_per_entity"] or 0)
        + expected_member_values(conn, run_id),
        content_ok,
        chain_ok,
        tuple(problems),
    )


def _id_range(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}-{last}"


def value_counts(conn: sqlite3.Connection) -> dict[int, int]:
    """`node_values` rows per run id (one scan of the table)."""
    return dict(conn.execute("SELECT run, count(*) FROM node_values GROUP BY run").fetchall())


def member_value_counts(conn: sqlite3.Connection) -> dict[int, int]:
    """`member_values` rows per run id (one scan of the table)."""
    if not levels_table_exists(conn):
        return {}
    return dict(conn.execute("SELECT run, count(*) FROM member_values GROUP BY run").fetchall())


def expected_member_values(conn: sqlite3.Connection, run_id: int) -> int:
    """The `member_values` rows the run's `levels` rows call for."""
    if not levels_table_exists(conn):
        return 0
    return sum(
        _count(count) * _count(stride)
        for count, stride in conn.execute(
            "SELECT member_count, values_per_member FROM levels WHERE run = ?", (run_id,)
        )
    )


def lower_shape_problems(
    conn: sqlite3.Connection, run_id: int, counts: dict[int, int] | None = None
) -> list[str]:
    """The shape of a run's lower levels: per level, its members, its nodes (at consecutive
    positions from `first_node`), one value row per node per member at the id its position
    implies, one tier step per tier per member; no lower-level row of a level the run does
    not have; no `member_values` row of the run outside its levels' id ranges. `counts`:
    `member_value_counts`, if already counted."""
    if not levels_table_exists(conn):
        return []
    q = conn.execute
    problems = []
    say = problems.append
    expected_total, ranges_ok = 0, True
    levels = q(
        "SELECT position, name, member_count, first_node, values_per_member, first_value_id "
        "FROM levels WHERE run = ? ORDER BY position",
        (run_id,),
    ).fetchall()
    for position, name, count, first_node, stride, first in levels:
        count, first_node, stride, first = (_count(v) for v in (count, first_node, stride, first))
        members = q(
            "SELECT count(*) FROM members WHERE run = ? AND level = ?", (run_id, name)
        ).fetchone()[0]
        if members != count:
            say(f"level {name}: {members} members, expected {count}")
        nodes, off = q(
            "SELECT count(*), coalesce(sum(position NOT BETWEEN ? AND ?), 0) FROM nodes "
            "WHERE run = ? AND level = ?",
            (first_node, first_node + stride - 1, run_id, name),
        ).fetchone()
        if nodes != stride or off:
            say(
                f"level {name}: {nodes} nodes ({off} out of place), expected {stride} at "
                f"positions {first_node}..{first_node + stride - 1}"
            )
        expected = count * stride
        in_range, misplaced = q(
            "SELECT count(*), coalesce(sum(run != ? OR level != ? OR "
            "id - ? != member * ? + node - ?), 0) FROM member_values WHERE id BETWEEN ? AND ?",
            (run_id, position, first, stride, first_node, first, first + expected - 1),
        ).fetchone()
        if in_range != expected or misplaced:
            ranges_ok = False
            say(
                f"level {name}: {in_range} value rows in its id range ({misplaced} out of "
                f"place), expected {stride} nodes x {count} members"
            )
        tiers = q(
            "SELECT count(*) FROM nodes WHERE run = ? AND level = ? AND tier IS NOT NULL",
            (run_id, name),
        ).fetchone()[0]
        steps = q(
            "SELECT count(*) FROM member_tier_steps WHERE run = ? AND level = ?", (run_id, name)
        ).fetchone()[0]
        if steps != tiers * count:
            say(f"level {name}: {steps} tier steps for {tiers} tiers x {count} members")
        expected_total += expected
    for table, what in (
        ("members", "members"),
        ("member_tier_steps", "tier steps"),
        ("nodes", "nodes"),
    ):
        for level, n in q(
            f"SELECT level, count(*) FROM {table} WHERE run = ? AND level IS NOT NULL "
            "AND level NOT IN (SELECT name FROM levels WHERE run = ?) GROUP BY level "
            "ORDER BY level",
            (run_id, run_id),
        ):
            say(f"{n} {what} of a level '{level}' the run does not have")
    total = (
        counts.get(run_id, 0)
        if counts is not None
        else q("SELECT count(*) FROM member_values WHERE run = ?", (run_id,)).fetchone()[0]
    )
    if ranges_ok and total != expected_total:
        say(
            f"{total} member value rows, expected {expected_total}: "
            f"{total - expected_total} inserted outside its levels' id ranges"
        )
    return problems


def shape_problems(
    conn: sqlite3.Connection,
    run_id: int,
    counts: dict[int, int] | None,
    member_counts: dict[int, int] | None = None,
) -> list[str]:
    q = conn.execute
    first, entity_count, node_count, stride = q(
        "SELECT first_value_id, entity_count, node_count, values_per_entity FROM runs WHERE id = ?",
        (run_id,),
    ).fetchone()
    first, entity_count, stride = first or 0, entity_count or 0, stride or 0
    problems = []
    entities = q("SELECT count(*) FROM entities WHERE run = ?", (run_id,)).fetchone()[0]
    nodes = q("SELECT count(*) FROM nodes WHERE run = ?", (run_id,)).fetchone()[0]
    expected = entity_count * stride
    in_range, misplaced = q(
        "SELECT count(*), coalesce(sum(run != ? OR id - ? != entity * ? + node), 0) "
        "FROM node_values WHERE id BETWEEN ? AND ?",
        (run_id, first, stride, first, first + expected - 1),
    ).fetchone()
    tiers = q(
        "SELECT count(*) FROM nodes WHERE run = ? AND tier IS NOT NULL AND position < ?",
        (run_id, stride),
    ).fetchone()[0]
    steps = q("SELECT count(*) FROM tier_steps WHERE run = ?", (run_id,)).fetchone()[0]
    if entities != entity_count:
        problems.append(f"{entities} entities, expected {entity_count}")
    if nodes != node_count:
        problems.append(f"{nodes} nodes, expected {node_count}")
    if counts is not None:
        total = counts.get(run_id, 0)
    else:
        total = q("SELECT count(*) FROM node_values WHERE run = ?", (run_id,)).fetchone()[0]
    if in_range != expected or misplaced:
        problems.append(
            f"{in_range} value rows in its id range ({misplaced} out of place), "
            f"expected {stride} nodes x {entity_count} entities"
        )
    elif total != expected:
        problems.append(
            f"{total} value rows, expected {expected}: "
            f"{total - expected} inserted outside its id range"
        )
    if steps != tiers * entity_count:
        problems.append(f"{steps} tier steps for {tiers} tiers x {entity_count} entities")
    return problems + lower_shape_problems(conn, run_id, member_counts)


def store_problems(
    conn: sqlite3.Connection,
    counts: dict[int, int] | None = None,
    member_counts: dict[int, int] | None = None,
) -> list[str]:
    """Problems of the store as a whole: SQLite's integrity and foreign-key checks, rows of
    no recorded run (left over after a deletion, or inserted), runs deleted from the middle
    or the end. `counts`: `value_counts(conn)`, `member_counts`: `member_value_counts(conn)`,
    if already counted."""
    q = conn.execute
    problems = [f"integrity_check: {r[0]}" for r in q("PRAGMA integrity_check") if r[0] != "ok"]
    dangling: dict[tuple[str, str], int] = {}
    for table, _rowid, parent, _fk in q("PRAGMA foreign_key_check"):
        dangling[(table, parent)] = dangling.get((table, parent), 0) + 1
    problems += [
        f"foreign key: {n} {table} rows refer to missing {parent} rows"
        for (table, parent), n in dangling.items()
    ]
    runs = set(run_ids(conn))
    for rid, count in sorted((counts if counts is not None else value_counts(conn)).items()):
        if rid not in runs:
            problems.append(f"node_values: {count} rows of run {rid}, which is not recorded")
    if member_counts is None:
        member_counts = member_value_counts(conn)
    for rid, count in sorted(member_counts.items()):
        if rid not in runs:
            problems.append(f"member_values: {count} rows of run {rid}, which is not recorded")
    tables = ["entities", "nodes", "scalars", "tier_steps"]
    if levels_table_exists(conn):
        tables += ["levels", "members", "member_tier_steps"]
    for table in tables:
        for rid, count in q(
            f"SELECT run, count(*) FROM {table} WHERE run NOT IN (SELECT id FROM runs) "
            "GROUP BY run ORDER BY run"
        ):
            problems.append(f"{table}: {count} rows of run {rid}, which is not recorded")
    ids = sorted(runs)
    present = set(ids)
    missing = [i for i in range(1, (ids[-1] if ids else 0) + 1) if i not in present]
    for first, last in _ranges(missing):
        problems.append(f"run {_id_range(first, last)} missing: deleted from the store")
    seq = q("SELECT seq FROM sqlite_sequence WHERE name = 'runs'").fetchone()
    top = ids[-1] if ids else 0
    if seq is not None and seq[0] is not None and int(seq[0]) > top:
        problems.append(
            f"run {_id_range(top + 1, int(seq[0]))} missing: deleted from the end "
            f"of the store (runs were recorded up to {int(seq[0])})"
        )
    return problems


def _ranges(ids: list[int]) -> list[tuple[int, int]]:
    out = []
    for _, group in itertools.groupby(enumerate(ids), key=lambda p: p[1] - p[0]):
        g = [v for _, v in group]
        out.append((g[0], g[-1]))
    return out


@attrs.frozen
class StoreCheck:
    problems: tuple[str, ...]  # store-wide
    runs: tuple[RunCheck, ...]
    latest: tuple[int, str | None] | None  # (id, chain hash) of the latest run

    @property
    def ok(self) -> bool:
        return not self.problems and all(r.ok for r in self.runs)


def run_ids(conn: sqlite3.Connection) -> list[int]:
    return [r[0] for r in conn.execute("SELECT id FROM runs ORDER BY id")]


def check_store(conn: sqlite3.Connection, ids: Iterable[int] | None = None) -> StoreCheck:
    """The store-wide checks, and `check_run` for each of `ids` (default: every run)."""
    chosen = run_ids(conn) if ids is None else list(ids)
    counts, members = value_counts(conn), member_value_counts(conn)
    return StoreCheck(
        tuple(store_problems(conn, counts, members)),
        tuple(
            safe_check_run(conn, rid, value_counts=counts, member_counts=members)
            for rid in chosen
        ),
        latest_digest(conn),
    )


def safe_check_run(
    conn: sqlite3.Connection,
    run_id: int,
    body_digest: str | None = None,
    value_counts: dict[int, int] | None = None,
    member_counts: dict[int, int] | None = None,
) -> RunCheck:
    """`check_run`, reporting a run whose rows are too damaged to check as a failed check."""
    try:
        return check_run(conn, run_id, body_digest, value_counts, member_counts)
    except KeyError:
        return RunCheck(run_id, 0, False, False, ("not in the store",))
    except (sqlite3.Error, TypeError, ValueError) as error:
        return RunCheck(run_id, 0, False, False, (f"cannot be checked: {error}",))
