"""The typed records the audit store reads back: a run, an entity, a level, a node, a tier step, and the
facts of schema version 7 (components, ranks, statistics, branches). JSON columns decoded."""

from __future__ import annotations

import json
import math
import sqlite3
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from dsl import types as T

if TYPE_CHECKING:
    pass

@attrs.frozen
class RunInfo:
    id: int
    started: str
    finished: str
    tool_version: str
    status: str
    methodology_sha256: str
    methodology_name: str
    methodology_version: str | None
    methodology_path: str | None
    entity_kind: str | None
    dataset_sha256: str | None
    dataset_path: str | None
    params: dict[str, Any]
    entity_count: int
    node_count: int
    values_per_entity: int  # nodes with values: node positions 0 .. values_per_entity - 1
    first_value_id: int | None  # node_values.id of entity 0, node 0
    note: str | None
    content_hash: str | None = None  # audit.integrity: this run's rows, hashed
    chain_hash: str | None = None  # links the run to the previous run's chain hash
    rerun_of: int | None = None  # the run whose methodology and params this run re-ran
    user: str | None = None  # who recorded the run (schema version 6; None: not known)

    def value_ids(self, position: int) -> tuple[int, int]:
        """First and last `node_values.id` of the entity at `position`."""
        first = (self.first_value_id or 0) + position * self.values_per_entity
        return first, first + self.values_per_entity - 1

    def to_json(self) -> dict:
        return attrs.asdict(self)


@attrs.frozen
class EntityRef:
    run: int
    position: int  # 0-based, in data order; `node_values.entity` and `tier_steps.entity`
    key: str
    label: str | None
    # entities at several levels: the lower level of a member (None: the top level), whose
    # `position` is then `members.position` (`member_values.member`), and its parent's key
    level: str | None = None
    parent_key: str | None = None

    @property
    def is_member(self) -> bool:
        return self.level is not None


@attrs.frozen
class LevelInfo:
    """One lower level of a run (entities at several levels): a `levels` row."""

    run: int
    position: int  # 0-based, each level after its parent
    name: str
    parent: str  # the level it lies within (the top level's name for the first)
    key_column: str | None
    label_column: str | None
    member_count: int
    first_node: int  # its nodes have positions first_node .. first_node + values_per_member - 1
    values_per_member: int
    first_value_id: int | None  # member_values.id of member 0, its first node

    def value_ids(self, position: int) -> tuple[int, int]:
        """First and last `member_values.id` of the member at `position`."""
        first = (self.first_value_id or 0) + position * self.values_per_member
        return first, first + self.values_per_member - 1


@attrs.frozen
class RecordedComponent:
    """One component of an additive node for one entity, as the run computed it."""

    name: str
    value: float | None
    weight: float | None
    coefficient: float | None  # the weight after normalise / skip missing re-normalised it
    contribution: float | None  # coefficient x value


@attrs.frozen
class RecordedRank:
    rank: int | None  # the rank `tierlang run` showed (by tier, then score)
    from_rank_top: int | None  # the `from` value's competition rank from the top
    from_rank_bottom: int | None
    rated: int  # entities with a rank (a tier)
    scored: int  # entities with a `from` value


@attrs.frozen
class RecordedStatistic:
    """A statistic a node used, as the interpreter typed it (interpreter.trace.Statistic)."""

    shown: str  # its name without the `within` group: cut_1, zscore#2.mean, gold.edge
    name: str  # cut, mean, sd, n, ...
    index: int | None
    group: str | None
    call: str | None
    prefix: str | None
    rule: str | None
    value: Any


@attrs.frozen
class RecordedBranch:
    taken: str | None  # "then" / "else", or the component max / min gave
    op: str | None  # the comparison of the `if`, when it compared two numbers
    left: float | None
    right: float | None


@attrs.frozen
class NodeInfo:
    """A recorded node; JSON columns decoded."""

    run: int
    name: str
    position: int  # evaluation order; `node_values.node`
    kind: str
    label: str | None
    doc: str | None
    source_text: str | None
    expression: str | None
    file: str | None
    line: int | None
    overrides: str | None
    type: str
    base: str
    scalar: bool
    dependencies: tuple[str, ...]
    scale: tuple[str, ...] | None  # worst first
    call: dict | None
    weights: dict[str, float] | None
    tier: dict | None
    data_column: str | None
    range: tuple[float, float] | None
    required: bool
    declared_value: Any
    level: str | None = None  # the lower level it is evaluated at; None: the top level or scalar
    aggregates: tuple[dict, ...] = ()  # its `F(x) over LEVEL` calls: function, over, argument, reads

    @property
    def title(self) -> str:
        return self.label or self.name


@attrs.frozen
class TierStep:
    tier: str
    entity: int
    from_value: float | None
    rule_index: int  # 0-based; -1: no rule assigned the tier
    before_limits: str | None
    after: tuple[str | None, ...]  # the tier after each limit, in limit order
    limits_acted: tuple[int, ...]  # 0-based indices of the limits that changed the tier
    display: str | None



def stored_json(text: Any, where: str, column: str) -> Any:
    """A JSON column tierlang wrote; anything else (NULL, not JSON) is damage, said as such."""
    try:
        return json.loads(text)
    except (TypeError, ValueError) as e:
        raise sqlite3.DatabaseError(f"{where}: its {column} cannot be read ({e})") from None


def run_info(row: dict) -> RunInfo:
    return RunInfo(
        id=row["id"],
        started=row["started"],
        finished=row["finished"],
        tool_version=row["tool_version"],
        status=row["status"],
        methodology_sha256=row["methodology_sha256"],
        methodology_name=row["methodology_name"],
        methodology_version=row["methodology_version"],
        methodology_path=row["methodology_path"],
        entity_kind=row["entity_kind"],
        dataset_sha256=row["dataset_sha256"],
        dataset_path=row["dataset_path"],
        params=stored_json(row["params"], f"run {row['id']}", "params"),
        entity_count=row["entity_count"],
        node_count=row["node_count"],
        values_per_entity=row["values_per_entity"],
        first_value_id=row["first_value_id"],
        note=row["note"],
        content_hash=row.get("content_hash"),
        chain_hash=row.get("chain_hash"),
        rerun_of=row.get("rerun_of"),
        user=row.get("user"),
    )


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def decode_value(base: str, num: float | None, text: str | None, boolean: int | None) -> Any:
    """A stored value as a plain Python value (None when missing)."""
    if base == T.NUMBER:
        return num
    if base == T.BOOLEAN:
        return None if boolean is None else bool(boolean)
    if base == T.LIST:
        return None if text is None else tuple(json.loads(text))
    return text



def floats(blob: Any, count: int) -> list[float | None]:
    """`count` little-endian float64 values of a recorded matrix slice (None for NaN, and for
    a damaged cell, which `verify` reports)."""
    if not isinstance(blob, bytes) or len(blob) != 8 * count:
        return [None] * count
    return [None if math.isnan(v) else v for v in np.frombuffer(blob, dtype="<f8").tolist()]



def node_info(row: dict) -> NodeInfo:
    rng = loads(row["range"])
    scale = loads(row["scale"])
    return NodeInfo(
        run=row["run"],
        name=row["name"],
        position=row["position"],
        kind=row["kind"],
        label=row["label"],
        doc=row["doc"],
        source_text=row["source_text"],
        expression=row["expression"],
        file=row["file"],
        line=row["line"],
        overrides=row["overrides"],
        type=row["type"],
        base=row["base"],
        scalar=bool(row["scalar"]),
        dependencies=tuple(loads(row["dependencies"]) or ()),
        scale=tuple(scale) if scale is not None else None,
        call=loads(row["call"]),
        weights=loads(row["weights"]),
        tier=loads(row["tier"]),
        data_column=row["data_column"],
        range=tuple(rng) if rng is not None else None,
        required=bool(row["required"]),
        declared_value=loads(row["declared_value"]),
        level=row.get("level"),
        aggregates=tuple(loads(row.get("aggregates")) or ()),
    )
