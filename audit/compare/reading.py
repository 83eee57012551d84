"""One recorded run as comparing needs it: every entity's values, its headline tier's steps,
scores and recorded ranks, read through the store's read model.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np

from audit.read.run import Level
from audit.store import (
    AuditStore,
    NodeInfo,
    RunInfo,
)


@attrs.define
class _Run:
    info: RunInfo
    nodes: dict[str, NodeInfo]
    keys: list[str]
    labels: list[str | None]
    index: dict[str, int]
    cells: list[list[Any]]  # per entity, per node position: value (None when missing)
    reasons: list[list[str | None]]
    scalars: dict[str, dict[str, Any]]
    tier: NodeInfo | None
    display: list[str | None]
    final: list[str | None]  # the tier's value (a label of its scale, None when missing)
    scores: np.ndarray  # from values (NaN when missing)
    rule_index: list[int]
    limits_acted: list[tuple[int, ...]]
    ranks: list[int | None]
    from_node: str | None
    # per entity: the recorded (run rank, `from` rank from the top, from the bottom)
    recorded_ranks: dict[int, tuple] = attrs.field(factory=dict)
    store: AuditStore | None = None  # the store the run is read from (its recorded facts)

    def cell(self, e: int, name: str) -> Any:
        node = self.nodes.get(name)
        if node is None or node.position >= self.info.values_per_entity:
            return None
        return self.cells[e][node.position]

    def has_values(self, name: str) -> bool:
        node = self.nodes.get(name)
        return node is not None and node.position < self.info.values_per_entity

    def number(self, e: int, name: str) -> float | None:
        v = self.cell(e, name)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return None
        return None if math.isnan(v) else float(v)

    @property
    def scale_best_first(self) -> list[str]:
        return list(reversed(self.tier.scale or ())) if self.tier is not None else []

    @property
    def missing_label(self) -> str | None:
        return (self.tier.tier or {}).get("missing_label") if self.tier is not None else None


def _read_run(store: AuditStore, run_id: int) -> _Run:
    info = store.run(run_id)
    nodes = {n.name: n for n in store.nodes(run_id)}
    entities = store.entities(run_id)
    keys = [e.key for e in entities]
    stride = info.values_per_entity
    bases = [None] * stride
    for n in nodes.values():
        if n.position < stride:
            bases[n.position] = n.base
    cells, reasons = attrs.evolve(Level.top(store.conn, info), count=len(keys)).grid(bases)
    tiers = [n for n in nodes.values() if n.kind == "tier" and n.level is None]  # the top level's
    tier = max(tiers, key=lambda n: n.position) if tiers else None
    n = len(keys)
    display: list[str | None] = [None] * n
    rule_index = [-1] * n
    acted: list[tuple[int, ...]] = [()] * n
    scores = np.full(n, np.nan)
    final: list[str | None] = [None] * n
    from_node = None
    recorded_index = None
    if tier is not None:
        for step in store.tier_steps(run_id, tier.name):
            display[step.entity] = step.display
            rule_index[step.entity] = step.rule_index
            acted[step.entity] = step.limits_acted
            if step.from_value is not None:
                scores[step.entity] = step.from_value
        if tier.position < stride:
            final = [row[tier.position] for row in cells]
        from_text = (tier.tier or {}).get("from")
        if from_text is not None and from_text.strip() in nodes:
            from_node = from_text.strip()
    else:  # no tier: an index, ranked by the score whose ranks the run recorded
        recorded_index = store.index_ranks(run_id)
        if recorded_index is not None:
            from_node = recorded_index[0]
        else:  # a run recorded before index ranks were: its last per-entity score, no ranks
            index = [v for v in nodes.values() if v.kind == "score" and v.level is None and v.base == "number"
                     and not v.scalar and v.position < stride]
            from_node = max(index, key=lambda v: v.position).name if index else None
        if from_node is not None and nodes[from_node].position < stride:
            position = nodes[from_node].position
            scores = np.array([np.nan if row[position] is None else float(row[position]) for row in cells])
    run = _Run(info, nodes, keys, [e.label for e in entities], {k: i for i, k in enumerate(keys)},
               cells, reasons, store.scalars(run_id), tier, display, final, scores, rule_index,
               acted, [], from_node)
    # the ranks as the interpreter recorded them (interpreter.ranking; a run recorded before
    # audit schema version 7 has none, and none is shown)
    run.recorded_ranks = store.tier_ranks(run_id, tier.name) if tier is not None else {}
    run.store = store
    run.ranks = [run.recorded_ranks.get(e, (None,))[0] for e in range(n)]
    if tier is None and recorded_index is not None:  # an index: the ranks the run recorded
        run.ranks = [recorded_index[1].get(e) for e in range(n)]
    return run


# ---------------------------------------------------------------- rank correlation

