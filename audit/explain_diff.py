"""One entity's derivation in two runs, side by side: `tierlang explain ENTITY --run A --against B`.

Both trees are the ones `audit.explain` builds (from the store alone, nothing recomputed). They
are merged by node name: the rows follow run B's tree, with nodes found only in run A inserted
where run A has them. Each row is marked:

    ~  the value differs               !  the definition differs (and maybe the value)
    +  the node is only in run B       -  the node is only in run A

The result is plain data (SideBySide); tierlang/render/explain_diff.py shows it as text and JSON.
A definition differs when the recorded expression, weights, tier rules or limits, data column,
or the param value used differ. Under a `!` row both definitions are shown; under a tier whose
label differs, the sentence saying which rule assigned it in each run.
"""

from __future__ import annotations

import math
from typing import Any

import attrs

from audit.explain import Explanation, NodeExplanation, explain, format_value, squash
from audit.store import AuditStore, NodeInfo

MARKS = {"same": " ", "value": "~", "definition": "!", "added": "+", "removed": "-"}


@attrs.frozen
class Row:
    depth: int
    name: str
    kind: str
    status: str  # same, value, definition, added (only in B), removed (only in A)
    a: NodeExplanation | None
    b: NodeExplanation | None
    see_above: bool
    notes: tuple[str, ...]  # the lines shown under the row

    @property
    def mark(self) -> str:
        return MARKS[self.status]


@attrs.frozen
class SideBySide:
    a: Explanation
    b: Explanation
    rows: tuple[Row, ...]

    @property
    def differing(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.status != "same" and not r.see_above)


def explain_against(store: AuditStore, entity_text: str, run_a: int, run_b: int) -> SideBySide:
    """ENTITY (key or name, looked up in run A, then by the same key in run B) in both runs."""
    a = explain(store, entity_text, run_a)
    b = explain(store, a.entity.key, run_b)
    nodes_a = {n.name: n for n in store.nodes(a.run.id)}
    nodes_b = {n.name: n for n in store.nodes(b.run.id)}
    builder = _Merger(a, b, nodes_a, nodes_b)
    roots_a = {r.name: r for r in a.roots}
    roots_b = {r.name: r for r in b.roots}
    for name in dict.fromkeys([*roots_b, *roots_a]):  # run B's tiers first, then run A's own
        builder.merge(roots_a.get(name), roots_b.get(name), 0)
    return SideBySide(a, b, tuple(builder.rows))


class _Merger:
    def __init__(self, a: Explanation, b: Explanation, nodes_a: dict[str, NodeInfo],
                 nodes_b: dict[str, NodeInfo]):
        self.a, self.b = a, b
        self.nodes_a, self.nodes_b = nodes_a, nodes_b
        self.rows: list[Row] = []
        self.shown: set[str] = set()

    def merge(self, na: NodeExplanation | None, nb: NodeExplanation | None, depth: int) -> None:
        name = (nb or na).name
        kind = (nb or na).kind
        if name in self.shown:
            status = self.status(name, na, nb)
            self.rows.append(Row(depth, name, kind, status, na, nb, True, ()))
            return
        self.shown.add(name)
        status = self.status(name, na, nb)
        self.rows.append(Row(depth, name, kind, status, na, nb, False, self.notes(status, name, na, nb)))
        children_a = {c.name: c for c in (na.children if na else ())}
        children_b = [c for c in (nb.children if nb else ())]
        names_b = {c.name for c in children_b}
        for child in children_b:
            self.merge(children_a.get(child.name), child, depth + 1)
        for child in (na.children if na else ()):
            if child.name not in names_b:
                self.merge(child, None, depth + 1)

    def status(self, name: str, na: NodeExplanation | None, nb: NodeExplanation | None) -> str:
        if na is None:
            return "added"
        if nb is None:
            return "removed"
        if _signature(self.nodes_a.get(name), self.a.run.params) != \
                _signature(self.nodes_b.get(name), self.b.run.params):
            return "definition"
        if not _same_value(na, nb):
            return "value"
        return "same"

    def notes(self, status: str, name: str, na: NodeExplanation | None,
              nb: NodeExplanation | None) -> tuple[str, ...]:
        ra, rb = f"run {self.a.run.id}", f"run {self.b.run.id}"
        out: list[str] = []
        node_a, node_b = self.nodes_a.get(name), self.nodes_b.get(name)
        if status == "definition" and node_a is not None and node_b is not None \
                and node_a.kind != "param":  # a param's definition is its value, shown in the row
            if node_a.expression == node_b.expression and node_a.weights and node_b.weights \
                    and node_a.tier == node_b.tier:
                out.append("weights: " + _weights_change(node_a.weights, node_b.weights))
            else:
                out += [f"{ra}: {_definition(node_a, self.a.run.params)}",
                        f"{rb}: {_definition(node_b, self.b.run.params)}"]
        if status in ("definition", "value") and na is not None and nb is not None and na.tier is not None:
            sa = _tier_sentence(na)
            sb = _tier_sentence(nb)
            if sa != sb:
                out += [f"{ra}: {sa}", f"{rb}: {sb}"]
        return tuple(out)


def _same_value(a: NodeExplanation, b: NodeExplanation) -> bool:
    if a.display != b.display:
        return False
    x, y = a.value, b.value
    if isinstance(x, float) and isinstance(y, float):
        return x == y or (math.isnan(x) and math.isnan(y))
    return x == y


def _signature(node: NodeInfo | None, params: dict) -> Any:
    if node is None:
        return None
    tier = None
    if node.tier is not None:
        rules = [(r.get("label"), r.get("kind"), r.get("condition"), r.get("threshold"), r.get("direction"),
                  r.get("count"), r.get("percent")) for r in node.tier.get("rules", [])]
        limits = [(x.get("direction"), x.get("label"), x.get("condition")) for x in node.tier.get("limits", [])]
        tier = (node.tier.get("from"), tuple(node.tier.get("scale") or ()), node.tier.get("missing_label"),
                tuple(rules), tuple(limits))
    weights = tuple(sorted((node.weights or {}).items()))
    used = params.get(node.name) if node.kind == "param" else None
    return (node.kind, node.type, node.expression, weights, tier, node.data_column, used)


def _definition(node: NodeInfo | None, params: dict) -> str:
    if node is None:
        return "(not in this run)"
    if node.kind == "param":
        used = params.get(node.name, node.declared_value)
        return f"param = {format_value(used, node.base)}"
    if node.kind == "input":
        return f'input from data column "{node.data_column}"'
    parts = []
    if node.kind == "tier" and node.tier is not None:
        spec = node.tier
        if spec.get("from"):
            parts.append(f"from {spec['from']}")
        parts.append("; ".join(f"{r['label']}: {squash(r.get('text') or r.get('condition') or '')}"
                               for r in spec.get("rules", [])))
        for limit in spec.get("limits", []):
            parts.append(squash(limit.get("text") or ""))
        return " | ".join(p for p in parts if p)
    text = f"= {squash(node.expression or '')}"
    if node.weights:
        text += " [weights " + ", ".join(f"{k} {format_value(float(v), 'number')}"
                                          for k, v in node.weights.items()) + "]"
    return text


def _weights_change(a: dict, b: dict) -> str:
    parts = []
    for name in dict.fromkeys([*b, *a]):
        wa, wb = a.get(name), b.get(name)
        if wa == wb:
            continue
        old = "-" if wa is None else format_value(float(wa), "number")
        new = "-" if wb is None else format_value(float(wb), "number")
        parts.append(f"{name} {old} → {new}")
    return ", ".join(parts)


def _tier_sentence(node: NodeExplanation) -> str:
    for sentence in node.details:
        if sentence.startswith(("rule ", "no tier")):
            return sentence
    return node.display
