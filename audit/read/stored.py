"""A run's rows exactly as hashed, as a typed view: what `tierlang verify` compares.

`StoredRun` wraps the rows of one run in the canonical order the content hash covers
(`audit.integrity.Body`): either read back from the store (`StoredRun.read`) or built from a
re-evaluation (`StoredRun.of_result`, the rows `record` would insert). Both read the same way,
so a caller compares the two without knowing the tables' column layouts. As in `RecordedRun`,
every entity level is one `StoredLevel`, the top level being level 0.

Cells are kept as stored: a damaged store's cell of a wrong type reads as it is, so it differs
from the recomputed one rather than being mended.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import attrs

from audit import integrity
from audit.write.rows import build_rows
from interpreter.trace import RunResult

_NODE_FIELDS = tuple(name for name, _kind in integrity.NODE_COLUMNS)
_NODE_KINDS = tuple(kind for _name, kind in integrity.NODE_COLUMNS)
_TIER_KINDS = tuple(kind for _name, kind in integrity.TIER_COLUMNS)
_MEMBER_TIER_KINDS = tuple(kind for _name, kind in integrity.MEMBER_TIER_COLUMNS)
_NAME, _POSITION, _KIND, _BASE = (_NODE_FIELDS.index(c) for c in ("name", "position", "kind", "base"))


def _rows(columns: Sequence[Sequence]) -> list[tuple]:
    return list(zip(*columns)) if columns and len(columns[0]) else []


@attrs.frozen
class StoredNode:
    """One recorded node: its position (evaluation order), kind and base, and its whole row."""

    name: Any
    position: Any
    kind: Any
    base: Any
    row: tuple = attrs.field(eq=False, repr=False)

    def differing_fields(self, other: StoredNode) -> list[str]:
        """The `nodes` columns whose recorded cells differ from `other`'s (as the hash encodes them)."""
        if self.row == other.row:
            return []
        return [
            name
            for name, kind, a, b in zip(_NODE_FIELDS, _NODE_KINDS, self.row, other.row, strict=False)
            if integrity._cell(a, kind) != integrity._cell(b, kind)
        ]


@attrs.frozen
class StoredLevel:
    """One entity level of a run's rows: its entities and their values, `stride` per entity."""

    name: str | None  # None: the top level
    keys: list
    labels: list
    parents: list  # empty for the top level
    first_node: int  # its nodes have positions first_node .. first_node + stride - 1
    stride: int
    values: list[Sequence]  # num, text, bool, missing_reason: entity-major

    def holds(self, position: int) -> bool:
        """Whether the node at `position` has its values at this level."""
        return self.first_node <= position < self.first_node + self.stride

    def column(self, position: int, n: int | None = None) -> tuple[list[Sequence], list]:
        """([num, text, bool], missing reasons) of the node at `position` for the first `n`
        entities (every entity by default)."""
        n = len(self.keys) if n is None else n
        p, stride = position - self.first_node, self.stride
        num, text, flag, reason = self.values
        return [num[p::stride][:n], text[p::stride][:n], flag[p::stride][:n]], list(reason[p::stride][:n])


@attrs.frozen
class StoredStep:
    """One tier step as the hash encodes it, with the level of its entity (None: the top level)."""

    level: str | None
    cells: tuple


@attrs.frozen
class StoredHeader:
    """What the content hash covers besides the rows: the run row and its methodology's."""

    tool_version: Any
    params: Any  # the JSON text as stored
    methodology_sha256: Any
    values_per_entity: int
    has_methodology: bool
    sources: Any  # the methodology's `sources` JSON text as stored (None without the row)

    @classmethod
    def read(cls, conn: sqlite3.Connection, run_id: int) -> StoredHeader:
        header = integrity.read_header(conn, run_id)
        row = header.methodology
        return cls(header.run.get("tool_version"), header.run["params"], header.run["methodology_sha256"],
                   int(header.run["values_per_entity"] or 0), row is not None,
                   None if row is None else row["sources"])


@attrs.frozen
class StoredRun:
    """The rows of one run, typed (see the module docstring)."""

    body: integrity.Body = attrs.field(repr=False)

    @classmethod
    def read(cls, conn: sqlite3.Connection, run_id: int) -> StoredRun:
        """The run's rows as stored (sqlite3.Error, TypeError or ValueError when they cannot be read)."""
        return cls(integrity.read_body(conn, run_id))

    @classmethod
    def of_result(cls, result: RunResult) -> StoredRun:
        """The rows `record` would insert for `result`."""
        return cls(integrity.body_of_rows(build_rows(result)))

    def sections(self) -> dict[str, str]:
        return self.body.sections()

    @property
    def has_lower_levels(self) -> bool:
        return self.body.lower is not None

    def nodes(self) -> dict[Any, StoredNode]:
        """name -> the recorded node."""
        return {row[_NAME]: StoredNode(row[_NAME], row[_POSITION], row[_KIND], row[_BASE], row)
                for row in _rows(self.body.nodes)}

    @property
    def top(self) -> StoredLevel:
        """The top level: its stride is the values recorded per entity, as many as are there."""
        keys = list(self.body.entities[1])
        n = len(keys)
        stride = len(self.body.values[0]) // n if n else 0
        return StoredLevel(None, keys, list(self.body.entities[2]), [], 0, stride, list(self.body.values))

    def lower(self) -> dict[str, StoredLevel]:
        """The lower levels by name, in level order (empty without them); keys as text."""
        lower = self.body.lower
        if lower is None:
            return {}
        by_level: dict[str, list[tuple]] = {}
        for level, position, key, label, parent in _rows(lower.members):
            by_level.setdefault(level, []).append((position, key, label, parent))
        out = {}
        offset = 0
        for _position, name, _parent, _key, _label, count, first_node, stride in _rows(lower.levels):
            count, stride = int(count or 0), int(stride or 0)
            rows = sorted(by_level.get(name, []), key=lambda r: r[0])
            size = count * stride
            out[name] = StoredLevel(
                name,
                [str(r[1]) for r in rows],
                [r[2] for r in rows],
                [r[3] for r in rows],
                int(first_node or 0),
                stride,
                [list(c[offset : offset + size]) for c in lower.values],
            )
            offset += size
        return out

    def node_levels(self) -> dict[Any, tuple[Any, Any]]:
        """node name -> (its level, its `over` calls JSON) as recorded (empty without lower levels)."""
        if self.body.lower is None:
            return {}
        names = dict(zip(self.body.nodes[_POSITION], self.body.nodes[_NAME]))
        return {names.get(p): (level, aggregates) for p, level, aggregates in _rows(self.body.lower.node_levels)}

    def scalars(self) -> dict[tuple, tuple[Any, Any]]:
        """(node, statistic) -> (its number as hashed, its text)."""
        return {
            (node, name): (integrity._cell(value, integrity.REAL), text)
            for node, _position, name, value, text in _rows(self.body.scalars)
        }

    def tier_steps(self) -> dict[tuple, StoredStep]:
        """(tier, entity position) -> the step, for the top level's tiers."""
        return {(row[0], row[1]): StoredStep(None, tuple(integrity._cell(v, k) for v, k in zip(row, _TIER_KINDS)))
                for row in _rows(self.body.tier_steps)}

    def member_tier_steps(self) -> dict[tuple, StoredStep]:
        """(tier, member position) -> the step, for the lower levels' tiers."""
        if self.body.lower is None:
            return {}
        return {(row[1], row[2]): StoredStep(row[0], tuple(integrity._cell(v, k) for v, k in
                                                           zip(row, _MEMBER_TIER_KINDS)))
                for row in _rows(self.body.lower.tier_steps)}
