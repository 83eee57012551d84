"""The shape of a run's stored rows, level by level: its entities (or a lower level's members),
its nodes, one value row per node per entity at the id its position implies, and one tier step
per tier per entity. The top level is level 0 (the `runs` row; `entities`, `node_values`,
`tier_steps`); each lower level is one `levels` row (`members`, `member_values`,
`member_tier_steps`): one check, run for every level."""

from __future__ import annotations

import sqlite3

import attrs

from audit.integrity.reading import _count, levels_table_exists


@attrs.frozen
class LevelShape:
    """What a level's rows should be, as its run (or `levels`) row declares them."""

    name: str | None  # None: the top level
    position: int  # 0: the top level
    count: int  # entities (members)
    stride: int  # values per entity: the level's nodes
    first: int  # id of its first value row
    first_node: int  # position of its first node
    entities: str = "entities"  # the tables that hold its rows
    steps: str = "tier_steps"
    noun: str = "entities"

    @property
    def label(self) -> str:
        return "" if self.name is None else f"level {self.name}: "

    def where(self) -> tuple[str, tuple]:
        """The condition on `run` (and `level`) selecting its rows of a table with a level column."""
        return ("run = ?", ()) if self.name is None else ("run = ? AND level = ?", (self.name,))


# One value row per node per entity, at the id its position implies: (rows in the id range,
# those out of place). The top level's rows are `node_values`, a lower level's `member_values`.
_TOP_VALUES = ("SELECT count(*), coalesce(sum(run != ? OR id - ? != entity * ? + node - ?), 0) "
               "FROM node_values WHERE id BETWEEN ? AND ?")
# The tier nodes of a level: the top level's are at its positions, a lower level's name it.
_TOP_TIERS = "SELECT count(*) FROM nodes WHERE run = ? AND tier IS NOT NULL AND position < ?"
_LOWER_TIERS = "SELECT count(*) FROM nodes WHERE run = ? AND tier IS NOT NULL AND level = ?"
_LOWER_VALUES = ("SELECT count(*), coalesce(sum(run != ? OR level != ? OR id - ? != member * ? + node - ?), 0) "
                 "FROM member_values WHERE id BETWEEN ? AND ?")


def levels_of(conn: sqlite3.Connection, run_id: int) -> tuple[LevelShape, list[LevelShape]]:
    """The top level of a run, and its lower levels (in position order)."""
    first, entity_count, stride = conn.execute(
        "SELECT first_value_id, entity_count, values_per_entity FROM runs WHERE id = ?", (run_id,)
    ).fetchone()
    top = LevelShape(None, 0, entity_count or 0, stride or 0, first or 0, 0)
    if not levels_table_exists(conn):
        return top, []
    lower = [
        LevelShape(name, position, *(_count(v) for v in (count, stride, first, first_node)),
                   entities="members", steps="member_tier_steps", noun="members")
        for position, name, count, first_node, stride, first in conn.execute(
            "SELECT position, name, member_count, first_node, values_per_member, first_value_id "
            "FROM levels WHERE run = ? ORDER BY position",
            (run_id,),
        )
    ]
    return top, lower


def level_problems(conn: sqlite3.Connection, run_id: int, level: LevelShape,
                   node_count: int | None = None, total: int | None = None) -> tuple[list[str], bool]:
    """The problems of one level's rows, and whether its value rows fill their id range exactly.
    For the top level: `node_count`, the run's declared count of nodes (every level's), and
    `total`, its value rows wherever they are (rows outside the id range are inserted ones)."""
    q = conn.execute
    problems: list[str] = []
    say = problems.append
    where, args = level.where()
    table = level.entities
    rows = q(f"SELECT count(*) FROM {table} WHERE {where}", (run_id, *args)).fetchone()[0]
    if rows != level.count:
        say(f"{level.label}{rows} {level.noun}, expected {level.count}")
    last_node = level.first_node + level.stride - 1
    if level.name is None:
        nodes = q("SELECT count(*) FROM nodes WHERE run = ?", (run_id,)).fetchone()[0]
        if nodes != node_count:
            say(f"{nodes} nodes, expected {node_count}")
        tiers_sql, tiers_args = _TOP_TIERS, (level.stride,)
    else:
        nodes, off = q(
            "SELECT count(*), coalesce(sum(position NOT BETWEEN ? AND ?), 0) FROM nodes "
            "WHERE run = ? AND level = ?",
            (level.first_node, last_node, run_id, level.name),
        ).fetchone()
        if nodes != level.stride or off:
            say(f"{level.label}{nodes} nodes ({off} out of place), expected {level.stride} at "
                f"positions {level.first_node}..{last_node}")
        tiers_sql, tiers_args = _LOWER_TIERS, (level.name,)
    expected = level.count * level.stride
    sql, level_args = (_TOP_VALUES, ()) if level.name is None else (_LOWER_VALUES, (level.position,))
    in_range, misplaced = q(sql, (run_id, *level_args, level.first, level.stride, level.first_node,
                                  level.first, level.first + expected - 1)).fetchone()
    filled = in_range == expected and not misplaced
    if not filled:
        say(f"{level.label}{in_range} value rows in its id range ({misplaced} out of place), "
            f"expected {level.stride} nodes x {level.count} {level.noun}")
    elif total is not None and total != expected:
        say(f"{total} value rows, expected {expected}: {total - expected} inserted outside its id range")
    tiers = q(tiers_sql, (run_id, *tiers_args)).fetchone()[0]
    table = level.steps
    steps = q(f"SELECT count(*) FROM {table} WHERE {where}", (run_id, *args)).fetchone()[0]
    if steps != tiers * level.count:
        say(f"{level.label}{steps} tier steps for {tiers} tiers x {level.count} {level.noun}")
    return problems, filled


def shape_problems(
    conn: sqlite3.Connection,
    run_id: int,
    counts: dict[int, int] | None,
    member_counts: dict[int, int] | None = None,
) -> list[str]:
    """Every level's problems, then rows of levels the run does not have, and value rows
    inserted outside the levels' id ranges. `counts`/`member_counts`: `node_values` and
    `member_values` rows per run, if already counted (audit.integrity.value_counts)."""
    q = conn.execute
    node_count = q("SELECT node_count FROM runs WHERE id = ?", (run_id,)).fetchone()[0]
    top, lower = levels_of(conn, run_id)
    total = counts.get(run_id, 0) if counts is not None else \
        q("SELECT count(*) FROM node_values WHERE run = ?", (run_id,)).fetchone()[0]
    problems, _ = level_problems(conn, run_id, top, node_count, total)
    if not levels_table_exists(conn):
        return problems
    all_filled, expected_total = True, 0
    for level in lower:
        found, level_filled = level_problems(conn, run_id, level)
        problems += found
        all_filled &= level_filled
        expected_total += level.count * level.stride
    for table, what in (("members", "members"), ("member_tier_steps", "tier steps"), ("nodes", "nodes")):
        for name, n in q(
            f"SELECT level, count(*) FROM {table} WHERE run = ? AND level IS NOT NULL "
            "AND level NOT IN (SELECT name FROM levels WHERE run = ?) GROUP BY level ORDER BY level",
            (run_id, run_id),
        ):
            problems.append(f"{n} {what} of a level '{name}' the run does not have")
    total = member_counts.get(run_id, 0) if member_counts is not None else \
        q("SELECT count(*) FROM member_values WHERE run = ?", (run_id,)).fetchone()[0]
    if all_filled and total != expected_total:
        problems.append(f"{total} member value rows, expected {expected_total}: "
                        f"{total - expected_total} inserted outside its levels' id ranges")
    return problems
