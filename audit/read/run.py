"""A recorded run as one typed read model: `RecordedRun`, with one `Level` view per entity level.

The top level (level 0: `entities`, `node_values`, `tier_steps`) and each lower level (schema
version 5: `members`, `member_values`, `member_tier_steps`) are laid out alike: entities in data
order, their values in one range of consecutive ids (entity-major, `stride` values each), one
tier step per tier per entity. `Level` reads either the same way, so a caller asks for a
level's values, or an entity's, without knowing which tables hold them.

    run = store.recorded(run_id)
    top = run.top                       # run.levels[0]
    top.values_of(position)             # {node: (value, missing reason)}
    run.level("location").refs()        # its members, in data order
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import attrs

from audit.errors import AuditError
from audit.read.records import EntityRef, LevelInfo, RunInfo, TierStep, decode_value

# the tables of the top level, then of every lower level: (entities, values, tier steps, the
# column naming the entity in the values and tier steps)
_TOP = ("entities", "node_values", "tier_steps", "entity")
_LOWER = ("members", "member_values", "member_tier_steps", "member")


@attrs.frozen
class Level:
    """One entity level of a recorded run (level 0 is the top level)."""

    conn: sqlite3.Connection = attrs.field(eq=False, repr=False)
    run: int
    index: int  # 0: the top level; a lower level: its `levels.position` + 1
    name: str | None  # the level's name; None for the top level (as EntityRef.level, NodeInfo.level)
    kind: str  # what its entities are called: the methodology's entity kind, or the level's name
    parent: str | None  # the level it lies within (None for the top level)
    count: int  # entities (members) recorded
    first_node: int  # its nodes have positions first_node .. first_node + stride - 1
    stride: int  # values recorded per entity
    first_value_id: int | None  # the id of entity 0's first value
    key_column: str | None = None
    label_column: str | None = None

    @classmethod
    def top(cls, conn: sqlite3.Connection, run: RunInfo) -> Level:
        return cls(conn, run.id, 0, None, run.entity_kind or "entity", None, run.entity_count, 0,
                   run.values_per_entity, run.first_value_id)

    @classmethod
    def lower(cls, conn: sqlite3.Connection, info: LevelInfo) -> Level:
        return cls(conn, info.run, info.position + 1, info.name, info.name, info.parent, info.member_count,
                   info.first_node, info.values_per_member, info.first_value_id, info.key_column,
                   info.label_column)

    @property
    def is_top(self) -> bool:
        return self.index == 0

    @property
    def _tables(self) -> tuple[str, str, str, str]:
        return _TOP if self.is_top else _LOWER

    def value_ids(self, position: int) -> tuple[int, int]:
        """First and last value id of the entity at `position`."""
        first = (self.first_value_id or 0) + position * self.stride
        return first, first + self.stride - 1

    def id_range(self) -> tuple[int, int]:
        """First and last value id of the whole level."""
        first = self.first_value_id or 0
        return first, first + self.count * self.stride - 1

    def refs(self, parent_key: str | None = None) -> list[EntityRef]:
        """The level's entities in data order (those within `parent_key` only, if given)."""
        if self.is_top:
            return [EntityRef(self.run, *row) for row in self.conn.execute(
                "SELECT position, key, label FROM entities WHERE run = ? ORDER BY position", (self.run,))]
        where, args = "level = ?", (self.run, self.name)
        if parent_key is not None:
            where, args = "level = ? AND parent_key = ?", (*args, parent_key)
        return [EntityRef(self.run, position, key, label, self.name, parent) for position, key, label, parent in
                self.conn.execute(f"SELECT position, key, label, parent_key FROM members WHERE run = ? AND {where} "
                                  "ORDER BY position", args)]

    def values_of(self, position: int) -> dict[str, tuple[Any, str | None]]:
        """Every node's (value, missing reason) for the entity at `position`: one id range read."""
        table = self._tables[1]
        out = {}
        for name, base, num, text, boolean, reason in self.conn.execute(
            "SELECT n.name, n.base, v.num, v.text, v.bool, v.missing_reason "
            f"FROM {table} v JOIN nodes n ON n.run = v.run AND n.position = v.node "
            "WHERE v.id BETWEEN ? AND ? ORDER BY v.id", self.value_ids(position)):
            out[name] = (decode_value(base, num, text, boolean), reason)
        return out

    def column(self, node_position: int, columns: str) -> list[tuple]:
        """`columns` of one node's values, for every entity of the level, in data order."""
        table = self._tables[1]
        first, last = self.id_range()
        return self.conn.execute(
            f"SELECT {columns} FROM {table} WHERE id BETWEEN ? AND ? AND node = ? ORDER BY id",
            (first, last, node_position),
        ).fetchall()

    def grid(self, bases: list[str | None]) -> tuple[list[list[Any]], list[list[str | None]]]:
        """Every entity's values (decoded by `bases`, one per node of the level) and missing
        reasons, as [entity][node - first_node]: the whole level in one id range read."""
        stride = self.stride
        cells: list[list[Any]] = [[None] * stride for _ in range(self.count)]
        reasons: list[list[str | None]] = [[None] * stride for _ in range(self.count)]
        if not (stride and self.count):
            return cells, reasons
        _entities, table, _steps, order = self._tables
        columns = f"{order}, node, num, text, bool, missing_reason"
        first = self.first_node
        for entity, node, num, text, boolean, reason in self.conn.execute(
            f"SELECT {columns} FROM {table} WHERE id BETWEEN ? AND ?", self.id_range()
        ):
            cells[entity][node - first] = decode_value(bases[node - first], num, text, boolean)
            reasons[entity][node - first] = reason
        return cells, reasons

    def tier_steps(self, tier: str, position: int | None = None) -> list[TierStep]:
        """A tier's steps for every entity of the level (or the one at `position`)."""
        _entities, _values, table, order = self._tables
        columns = f"tier, {order}, from_value, rule_index, before_limits, after, limits_acted, display"
        where = f"run = ? AND tier = ? AND {order} = ?" if position is not None else "run = ? AND tier = ?"
        args = (self.run, tier) if position is None else (self.run, tier, position)
        return [
            TierStep(t, e, f, r, b, tuple(json.loads(a)), tuple(json.loads(acted)), d)
            for t, e, f, r, b, a, acted, d in self.conn.execute(
                f"SELECT {columns} FROM {table} WHERE {where} ORDER BY {order}", args)
        ]


@attrs.frozen
class RecordedRun:
    """A recorded run: its `runs` row and its levels, the top level first."""

    info: RunInfo
    levels: tuple[Level, ...]  # levels[0]: the top level; then each lower level after its parent

    @property
    def id(self) -> int:
        return self.info.id

    @property
    def top(self) -> Level:
        return self.levels[0]

    @property
    def lower(self) -> tuple[Level, ...]:
        return self.levels[1:]

    def level(self, name: str | None) -> Level:
        """The level named `name` (None, or the top level's kind: the top level)."""
        for lv in self.levels:
            if lv.name == name:
                return lv
        raise AuditError(f"run {self.id} has no entity level '{name}'")


def recorded_run(conn: sqlite3.Connection, info: RunInfo, lower: list[LevelInfo]) -> RecordedRun:
    return RecordedRun(info, (Level.top(conn, info), *(Level.lower(conn, lv) for lv in lower)))
