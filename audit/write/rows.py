"""Turns a finished `RunResult` into the rows of one audit run.

Design: the store records from the `RunResult`, after evaluation, in one transaction. There
is no tracer collecting values during evaluation: the `RunResult` already holds every node's
trace, so recording afterwards sees the same values, needs no state between calls, and a run
that fails half-way through evaluation leaves nothing in the store. Everything here is pure
(no database access): `build_rows` prepares plain Python tuples and column lists, and
`AuditStore.record` only binds them, one `executemany` per table.

Besides the values, each node's metadata is recorded in a form `explain` can use without the
methodology objects: the resolved expression printed as text, the tier rules and limits with
their thresholds resolved to numbers, the options of a top-level built-in call, and the
weights of a weighted aggregation resolved to numbers (params and scalar definitions read from
this run).

Entities at several levels: the top level's rows are built exactly as for a single-level run
(same rows, same order, same content hash); the lower levels (`RunResult.members`) add a
`LowerRows`: one `levels` row per level, its `members`, their `member_values` and the
`member_tier_steps` of its tiers, and for every node its level and the `F(x) over LEVEL`
calls it makes (`nodes.level`, `nodes.aggregates`). A lower level's nodes take the positions
after the top level's, level by level.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import attrs

from audit.write.columns import (
    FactRows,
    TierColumns,
    _aligned,
    _texts,
    fact_rows,
    scalar_rows,
    tier_columns,
)
from audit.write.nodes import _json, _plain, aggregates, node_row
from audit.write.values import ValueColumns, hashed_values, value_columns
from dsl import model as M
from interpreter.trace import LevelResult, RunResult

# ---------------------------------------------------------------- the whole run


def dataset_parts(dataset: Any) -> str | None:
    """`datasets.parts` (schema version 8): for data read from several files, each file's own
    level, path, format, rows and sha256 as JSON, in the combined sha256's order; else None."""
    parts = getattr(dataset, "parts", None) or ()
    if not parts:
        return None
    return json.dumps([{"level": level, "path": None if d.path is None else str(d.path),
                        "format": None if d.format is None else str(d.format),
                        "rows": None if d.rows is None else int(d.rows), "sha256": str(d.sha256)}
                       for level, d in parts], ensure_ascii=False)


def methodology_sha256(methodology: M.Methodology) -> str:
    """sha256 of the methodology file's text (UTF-8) when it extends nothing (what `sha256sum`
    prints for the file); otherwise sha256 of the per-file sha256 hex digests joined by
    newlines, the file first, then every file it extends."""
    texts = [text for _path, text in methodology.sources] or [""]
    digests = [hashlib.sha256(t.encode("utf-8")).hexdigest() for t in texts]
    if len(digests) == 1:
        return digests[0]
    return hashlib.sha256("\n".join(digests).encode("ascii")).hexdigest()


def now_iso() -> str:
    """The current UTC time, ISO 8601 with milliseconds and a `Z`."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso(value: datetime | str | None) -> str:
    if value is None:
        return now_iso()
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@attrs.define
class LowerRows:
    """The rows of a run's lower levels (entities at several levels), each level after its
    parent, as `build_rows` makes them."""

    levels: list[tuple]  # LEVEL_COLUMNS without run and first_value_id, by position
    node_levels: list[tuple]  # (level, aggregates JSON) of every node, in node position order
    members: list[tuple]  # (level, position, key, label, parent_key), level by level
    values: list[ValueColumns]  # one per level, by position; `entity` is the member position
    tiers: TierColumns  # `entity` is the member position
    tier_levels: list  # the level of each tier step

    def hashed_values(self) -> list[Sequence]:
        """The `member_values` columns the body digest covers: the levels' one after the other."""
        return hashed_values(self.values)


LEVEL_COLUMNS = (
    "position",
    "name",
    "parent",
    "key_column",
    "label_column",
    "member_count",
    "first_node",
    "values_per_member",
)


@attrs.define
class RunRows:
    methodology: tuple
    dataset: tuple | None
    run: dict
    entities: list[tuple]
    nodes: list[tuple]
    values: ValueColumns
    scalars: list[tuple]
    tiers: TierColumns
    lower: LowerRows | None = None  # None for a single-level run
    facts: FactRows | None = None  # None when the run has no recorded fact (version 7)


def _key_text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def build_rows(result: RunResult, dataset: Any = None) -> RunRows:
    """Every row of one run, except the run id (added when inserting)."""
    m = result.methodology
    keys = result.keys
    sha = methodology_sha256(m)
    methodology = (
        sha,
        m.name,
        m.version,
        m.effective,
        m.entity,
        m.key,
        m.label_column,
        m.doc,
        m.path,
        m.sources[0][1] if m.sources else "",
        json.dumps([[p, t] for p, t in m.sources], ensure_ascii=False),
    )
    dataset_row = None
    if dataset is not None:
        columns = getattr(dataset, "columns", None)
        dataset_row = (
            str(dataset.sha256),
            None if dataset.path is None else str(dataset.path),
            None if dataset.format is None else str(dataset.format),
            None if dataset.rows is None else int(dataset.rows),
            None if columns is None else json.dumps([str(c) for c in columns], ensure_ascii=False),
            dataset_parts(dataset),
        )
    traces = list(result.traces.values())
    lower_traces = [t for level in result.members.values() for t in level.traces.values()]
    traced = {t.node.name for t in traces} | {t.node.name for t in lower_traces}
    untraced = [n for n in m.nodes if n.name not in traced]
    every = [t.node for t in traces] + [t.node for t in lower_traces] + untraced
    nodes = [node_row(i, node, result) for i, node in enumerate(every)]

    key_list = [_key_text(k) for k in keys.tolist()]
    if result.labels is not None:
        labels = _texts(_aligned(result.labels, keys)).tolist()
    else:
        labels = [None] * len(key_list)
    entities = list(zip(range(len(key_list)), key_list, labels))

    run = {
        "methodology_sha256": sha,
        "methodology_name": m.name,
        "methodology_version": m.version,
        "methodology_path": m.path,
        "dataset_sha256": dataset_row[0] if dataset_row else None,
        "dataset_path": dataset_row[1] if dataset_row else None,
        "params": json.dumps({k: _plain(v) for k, v in result.params.items()}, ensure_ascii=False),
        "status": "complete",
        "entity_count": len(key_list),
        "node_count": len(nodes),
        "values_per_entity": len(traces),
    }
    return RunRows(
        methodology=methodology,
        dataset=dataset_row,
        run=run,
        entities=entities,
        nodes=nodes,
        values=value_columns(traces, keys),
        scalars=scalar_rows(traces + lower_traces, result.params),
        tiers=tier_columns(traces, keys),
        lower=lower_rows(result, every, len(traces)) if result.members else None,
        facts=fact_rows([(traces, keys)] + [(list(lv.traces.values()), lv.keys)
                                            for lv in result.members.values()]) or None,
    )


def lower_rows(result: RunResult, nodes: Sequence[M.Node], first_node: int) -> LowerRows:
    """The rows of the lower levels of `result`; `nodes`: every node in position order, the
    lower levels' nodes from `first_node` on, level by level as in `result.members`."""
    levels, members = [], []
    values: list[ValueColumns] = []
    tiers = TierColumns([], [], [], [], [], [], [], [])
    tier_levels: list = []
    level_of: dict[str, str] = {}
    lr: LevelResult
    for position, (name, lr) in enumerate(result.members.items()):
        traces = list(lr.traces.values())
        for t in traces:
            level_of[t.node.name] = name
        keys = lr.keys
        key_list = [_key_text(k) for k in keys.tolist()]
        labels = (
            _texts(_aligned(lr.labels, keys)).tolist()
            if lr.labels is not None
            else [None] * len(key_list)
        )
        parents = _texts(_aligned(lr.parents, keys)).tolist() if len(keys) else []
        members += zip(
            itertools.repeat(name), range(len(key_list)), key_list, labels, parents
        )
        level = lr.level
        levels.append(
            (
                position,
                name,
                level.parent,
                level.key,
                level.label_column,
                len(key_list),
                first_node,
                len(traces),
            )
        )
        values.append(value_columns(traces, keys, first_node))
        steps = tier_columns(traces, keys)
        for field in attrs.fields(TierColumns):
            getattr(tiers, field.name).extend(getattr(steps, field.name))
        tier_levels += [name] * len(steps.tier)
        first_node += len(traces)
    top = result.methodology.entity
    node_levels = [
        (
            None
            if node.name in result.traces or node.level == top
            else level_of.get(node.name, node.level),
            _json(aggregates(node)),
        )
        for node in nodes
    ]
    return LowerRows(levels, node_levels, members, values, tiers, tier_levels)



