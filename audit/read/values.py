"""A run's recorded values: its nodes, every entity's values, one node's values as a series,
the scalars and the tier steps."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from audit.errors import AuditError
from audit.read.records import NodeInfo, TierStep, decode_value, node_info
from audit.read.run import Level
from dsl import types as T
from dsl.errors import did_you_mean

if TYPE_CHECKING:
    from audit.store import AuditStore

def nodes(store: AuditStore, run_id: int) -> list[NodeInfo]:
    """Every node of a run, in evaluation order."""
    return [
        node_info(row)
        for row in store.db.query(
            "SELECT * FROM nodes WHERE run = ? ORDER BY position", [run_id]
        )
    ]

def node(store: AuditStore, run_id: int, name: str) -> NodeInfo:
    rows = list(store.db.query("SELECT * FROM nodes WHERE run = ? AND name = ?", [run_id, name]))
    if not rows:
        names = [n.name for n in store.nodes(run_id)]
        suggestion = did_you_mean(name, names)
        hint = f"; did you mean '{suggestion}'?" if suggestion else ""
        raise AuditError(f"no node '{name}' in run {run_id}{hint}", suggestion=suggestion)
    return node_info(rows[0])

def level_of(store: AuditStore, run_id: int, name: str | None) -> Level:
    """The Level view of the level named `name` (None: the top level)."""
    if name is None:
        return Level.top(store.conn, store.run(run_id))
    return Level.lower(store.conn, store.level(run_id, name))


def entity_values(store: AuditStore, run_id: int, position: int) -> dict[str, tuple[Any, str | None]]:
    """Every node's (value, missing reason) for one entity: one index range read."""
    return level_of(store, run_id, None).values_of(position)


def values(store: AuditStore, run_id: int, node: str) -> pd.Series:
    """One node's values for every entity, indexed by key, in the representation of
    interpreter/trace.py (float64, nullable boolean, ordered categorical, object). A lower
    level's node: for every member of its level, indexed by the members' keys."""
    info = store.node(run_id, node)
    level = level_of(store, run_id, info.level)
    keys = pd.Index([e.key for e in level.refs()])
    rows = level.column(info.position, "num, text, bool")
    if len(rows) != len(keys):
        raise AuditError(f"node '{node}' of run {run_id} has no recorded values")
    if info.base == T.NUMBER:
        return pd.Series(
            np.array([r[0] for r in rows], dtype=np.float64), index=keys, name=node
        )
    if info.base == T.BOOLEAN:
        data = pd.array([None if r[2] is None else bool(r[2]) for r in rows], dtype="boolean")
        return pd.Series(data, index=keys, name=node)
    if info.base == T.LEVEL:
        data = pd.Categorical(
            [r[1] for r in rows], categories=list(info.scale or ()), ordered=True
        )
        return pd.Series(data, index=keys, name=node)
    texts = [decode_value(info.base, None, r[1], None) for r in rows]
    return pd.Series(texts, index=keys, name=node, dtype=object)


def reasons(store: AuditStore, run_id: int, node: str) -> pd.Series:
    """One node's missing reasons (None where present), indexed by key."""
    info = store.node(run_id, node)
    level = level_of(store, run_id, info.level)
    keys = pd.Index([e.key for e in level.refs()])
    rows = level.column(info.position, "missing_reason")
    return pd.Series([r[0] for r in rows], index=keys[: len(rows)], name=node, dtype=object)


def _node_level(store: AuditStore, run_id: int, name: str) -> str | None:
    row = store.conn.execute(
        "SELECT level FROM nodes WHERE run = ? AND name = ?", (run_id, name)
    ).fetchone()
    return None if row is None else row[0]


def scalars(store: AuditStore, run_id: int, node: str | None = None) -> dict[str, dict[str, Any]]:
    """{node: {name: value}} in recorded order; numbers as floats, texts as str."""
    sql = "SELECT node, name, value, text FROM scalars WHERE run = ?"
    args: list[Any] = [run_id]
    if node is not None:
        sql += " AND node = ?"
        args.append(node)
    out: dict[str, dict[str, Any]] = {}
    for n, name, value, text in store.conn.execute(sql + " ORDER BY node, position", args):
        out.setdefault(n, {})[name] = text if text is not None else value
    return out

def tier_steps(store: AuditStore, run_id: int, tier: str, position: int | None = None) -> list[TierStep]:
    """A tier's steps for every entity (or the one at `position`); for a lower level's
    tier, for its members (`TierStep.entity` is then the member position)."""
    name = _node_level(store, run_id, tier)
    run = store.run(run_id) if name is None else None
    level = Level.top(store.conn, run) if run is not None else Level.lower(store.conn, store.level(run_id, name))
    return level.tier_steps(tier, position)
