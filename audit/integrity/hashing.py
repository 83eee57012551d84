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
from collections.abc import Iterable, Sequence
from typing import Any

import attrs
import numpy as np

from audit.integrity.columns import (
    BLOB,
    BRANCH_COLUMNS,
    COMPONENT_COLUMNS,
    CONTENT_SCHEME,
    ENTITY_COLUMNS,
    FACT_SECTIONS,
    FLAG,
    INT,
    LEVEL_COLUMNS,
    LOWER_SECTIONS,
    MEMBER_COLUMNS,
    MEMBER_TIER_COLUMNS,
    NODE_COLUMNS,
    NODE_LEVEL_COLUMNS,
    RANK_COLUMNS,
    REAL,
    SCALAR_COLUMNS,
    SECTIONS,
    STATISTIC_COLUMNS,
    TEXT,
    TIER_COLUMNS,
    VALUE_COLUMNS,
)

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


class RealColumn(Sequence):
    """A REAL column held as one float64 array (a run's numbers as `record` builds them):
    read like the list of its floats, encoded from the array without building that list."""

    __slots__ = ("array",)

    def __init__(self, array: np.ndarray) -> None:
        self.array = np.asarray(array, dtype=np.float64)

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, index):  # a float, or a list for a slice
        return self.array[index].tolist()

    def __iter__(self):
        return iter(self.array.tolist())


class SparseColumn(Sequence):
    """A column of `length` cells, NULL except at `positions` (ascending int64), where it holds
    `values` (an object array, no None): a run's texts, flags and missing reasons, mostly NULL,
    read like the list of its cells and encoded without building that list."""

    __slots__ = ("length", "positions", "values", "_dense")

    def __init__(self, length: int, positions: np.ndarray, values: np.ndarray) -> None:
        self.length = int(length)
        self.positions = np.asarray(positions, dtype=np.int64)
        self.values = np.asarray(values, dtype=object)
        self._dense: np.ndarray | None = None

    def dense(self) -> np.ndarray:
        """Every cell, as an object array (None where NULL)."""
        if self._dense is None:
            self._dense = self.between(0, self.length, as_array=True)
        return self._dense

    def between(self, start: int, end: int, as_array: bool = False):
        """The cells `start .. end - 1` as a list (a repeat of None when all are NULL)."""
        first, last = np.searchsorted(self.positions, [start, end]).tolist()
        if first == last and not as_array:
            return itertools.repeat(None, end - start)
        cells = np.full(end - start, None, dtype=object)
        cells[self.positions[first:last] - start] = self.values[first:last]
        return cells if as_array else cells.tolist()

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index):  # a cell, or a list for a slice
        cell = self.dense()[index]
        return cell.tolist() if isinstance(cell, np.ndarray) else cell

    def __iter__(self):
        return iter(self.dense().tolist())


def _encode_sparse(column: SparseColumn, kind: str) -> bytes | None:
    """`_encode_column` of a TEXT or FLAG SparseColumn from its present cells alone (the same
    bytes as from the list of every cell); None for another kind or cells it cannot map."""
    values = column.values.tolist()
    if kind == TEXT:
        if not set(map(type, values)) <= {str}:
            values = [_cell(v, kind) for v in values]  # never None: the positions stay
        positions = column.positions.astype("<i8").tobytes()
        return b"T" + len(positions).to_bytes(8, "little") + positions + _json(values)
    if kind == FLAG:
        try:
            codes = list(map(_FLAG_CODES.__getitem__, values))
        except (KeyError, TypeError):
            return None
        cells = np.full(column.length, 255, dtype=np.uint8)
        cells[column.positions] = codes
        return b"B" + cells.tobytes()
    return None


def _encode_column(values: Sequence, kind: str) -> bytes:
    """The canonical bytes of one column (see the module docstring)."""
    if isinstance(values, SparseColumn):
        encoded = _encode_sparse(values, kind)
        if encoded is not None:
            return encoded
        values = values.dense().tolist()
    elif isinstance(values, RealColumn):
        values = values.array if kind == REAL else values.array.tolist()
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
    return LowerBody(
        levels=_columns_of(lower.levels, len(LEVEL_COLUMNS)),
        node_levels=[list(range(len(lower.node_levels)))]
        + [list(c) for c in _columns_of(lower.node_levels, 2)],
        members=members,
        values=lower.hashed_values(),
        tier_steps=steps,
    )


def body_of_rows(rows) -> Body:
    """The Body of an `audit.recorder.RunRows` (the rows `record` is about to insert)."""
    t = rows.tiers
    scalars = sorted(rows.scalars, key=lambda r: (r[0], r[2]))
    tier_order = sorted(range(len(t.tier)), key=lambda i: (t.tier[i], t.entity[i]))
    tier_columns = t.columns()
    if tier_order != list(range(len(tier_order))):
        tier_columns = [[c[i] for i in tier_order] for c in tier_columns]
    lower = getattr(rows, "lower", None)
    return Body(
        entities=_columns_of(rows.entities, len(ENTITY_COLUMNS)),
        nodes=_columns_of(sorted(rows.nodes, key=lambda r: r[1]), len(NODE_COLUMNS)),
        values=rows.values.hashed(),
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

