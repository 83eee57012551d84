"""An explanation (audit.explain.Explanation) as `tierlang explain` prints it, as JSON, and, for
the Python API, as an ExplainedEntity: the same data with `.text`, a short repr and notebook HTML."""

from __future__ import annotations

import math
from typing import Any

import attrs

from audit.explain import (
    Explanation,
    MemberGroup,
    NodeExplanation,
    entity_kind,
    format_value,
    squash,
)
from audit.store import (
    EntityRef,
    plural,
)


def _named(kind: str, entity: EntityRef) -> str:
    return f"{kind} {entity.key}" + (f' "{entity.label}"' if entity.label else "")


def verification_line(explanation: Explanation) -> str:
    if not explanation.verification:
        return "verification: sound (its hashes match the stored rows; `tierlang verify` re-evaluates it)"
    return ("verification: FAILED, do not rely on this explanation: "
            + "; ".join(explanation.verification))


def render_text(explanation: Explanation, depth: int | None = None) -> str:
    """The explanation as text; `depth`: how many levels of the derivation tree to show below
    each tier (None: all of them)."""
    run, entity = explanation.run, explanation.entity
    top = run.entity_kind or "entity"
    head = _named(entity_kind(run, entity), entity)
    version = f" (version {run.methodology_version})" if run.methodology_version else ""
    data = f", data {run.dataset_path}" if run.dataset_path else ""
    headline = explanation.headline_node
    within = []
    if explanation.within:
        chain = ", ".join(_named(e.level or top, e) for e in explanation.within)
        within = [f"within {chain}"]
    lines = [
        head,
        *within,
        f"run {run.id}: {run.methodology_name}{version}, started {run.started}{data}",
        verification_line(explanation),
        *(f"params set for this run: {name} = {format_value(used, '')} (declared "
          f"{format_value(declared, '')})" for name, declared, used in explanation.overrides),
        f"headline: {headline.title} = {headline.display}",
        *([f"robustness: {explanation.robustness}"] if explanation.robustness else []),
        *explanation.provenance,
        "",
    ]
    for root in explanation.roots:
        _render(root, 0, lines, depth)
    return "\n".join(lines) + "\n"


def _count_below(node: NodeExplanation) -> int:
    return sum(1 + _count_below(c) for c in node.children if not c.see_above)


def _render(node: NodeExplanation, depth: int, lines: list[str], limit: int | None = None) -> None:
    indent = "  " * depth
    what = f"{node.kind} {node.name}" if node.label else node.kind
    if node.level is not None:
        what += f" per {node.level}"
    title = node.label or node.name
    tail = " (see above)" if node.see_above else " (see below)" if node.see_below else ""
    lines.append(f"{indent}* {title} ({what}) = {node.display}{tail}")
    for sentence in node.details:
        lines.append(f"{indent}    {sentence}")
    for group in node.members:
        _render_members(group, f"{indent}    ", lines)
    if limit is not None and depth >= limit and node.children:
        hidden = _count_below(node) or len(node.children)
        lines.append(f"{indent}  ... {hidden} more {'node' if hidden == 1 else 'nodes'} below (--depth)")
        return
    for child in node.children:
        _render(child, depth + 1, lines, limit)


def _render_members(group: MemberGroup, indent: str, lines: list[str]) -> None:
    calls = dict.fromkeys(f"{f}({squash(a)})" for f, a in group.calls)  # each distinct call once
    call = ", ".join(calls) + " over"
    if not group.count:
        lines.append(f"{indent}{call} {plural(group.over, 2)}: it has none")
        return
    lines.append(f"{indent}{call} its {group.count} {plural(group.over, group.count)}:")
    for m in group.shown:
        name = m.key + (f' "{m.label}"' if m.label else "")
        values = "; ".join(f"{v.name} = {v.display}" for v in m.values)
        lines.append(f"{indent}  {name}" + (f": {values}" if values else ""))
    if group.more:
        lines.append(f"{indent}  ... and {group.more} more")
        if group.missing:
            counts = ", ".join(f"{n} for {c} ({r})" for n, r, c in group.missing)
            lines.append(f"{indent}  missing among the {group.count}: {counts}")


def _json_number(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _json_value(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_json_number(v) for v in value]
    return _json_number(value)


def _node_json(node: NodeExplanation) -> dict:
    value = node.value
    if isinstance(value, tuple):
        value = [_json_number(v) for v in value]
    out: dict[str, Any] = {
        "name": node.name,
        "label": node.label,
        "kind": node.kind,
        "type": node.type,
        "value": _json_number(value),
        "display": node.display,
        "missing_reason": node.missing_reason,
        "see_above": node.see_above,
    }
    if node.see_below:  # only in a chain deeper than MAX_TREE_DEPTH: the node is a root below
        out["see_below"] = True
    if node.level is not None:
        out["level"] = node.level
    if node.see_above or node.see_below:
        return out
    out.update(
        {
            "expression": node.expression,
            "doc": node.doc,
            "file": node.file,
            "line": node.line,
            "details": list(node.details),
            "components": [
                {
                    "name": c.name,
                    "label": c.title,
                    "weight": c.weight,
                    "value": _json_number(c.value),
                    "missing_reason": c.missing_reason,
                    "contribution": _json_number(c.contribution),
                }
                for c in node.components
            ],
            "statistics": {k: _json_number(v) for k, v in node.statistics},
            "tier": None,
            "children": [_node_json(c) for c in node.children],
        }
    )
    if node.members:
        out["members"] = [
            {
                "over": g.over,
                "calls": [{"function": f, "argument": a} for f, a in g.calls],
                "reads": list(g.reads),
                "count": g.count,
                "more": g.more,
                "missing": [
                    {"node": n, "missing_reason": r, "members": c} for n, r, c in g.missing
                ],
                "members": [
                    {
                        "key": m.key,
                        "label": m.label,
                        "position": m.position,
                        "values": {
                            v.name: {
                                "value": _json_value(v.value),
                                "display": v.display,
                                "missing_reason": v.missing_reason,
                            }
                            for v in m.values
                        },
                    }
                    for m in g.shown
                ],
            }
            for g in node.members
        ]
    t = node.tier
    if t is not None:
        out["tier"] = {
            "label": t.label,
            "before_limits": t.before_limits,
            "rule_index": t.rule_index,
            "rule": t.rule,
            "from": t.from_text,
            "from_value": _json_number(t.from_value),
            "limits_acted": [attrs.asdict(limit) for limit in t.limits],
            "next_up": t.next_up,
            "ranks": list(t.ranks),
        }
    return out


def to_json(explanation: Explanation) -> dict:
    """The explanation as plain JSON-ready data (indices 0-based; the text shows them 1-based)."""
    run, entity = explanation.run, explanation.entity
    headline = explanation.headline_node
    entity_json: dict[str, Any] = {
        "key": entity.key,
        "label": entity.label,
        "position": entity.position,
        "kind": run.entity_kind if entity.level is None else entity.level,
    }
    if explanation.levels:  # a run with lower levels: say which level, and within what
        entity_json["level"] = entity.level or run.entity_kind
        entity_json["within"] = [
            {"level": e.level or run.entity_kind, "key": e.key, "label": e.label}
            for e in explanation.within
        ]
    return {
        "run": run.to_json(),
        "verification": {"ok": not explanation.verification, "problems": list(explanation.verification)},
        "params_set": [{"name": n, "declared": d, "used": u} for n, d, u in explanation.overrides],
        "provenance": list(explanation.provenance),
        "entity": entity_json,
        "headline": {
            "tier": explanation.headline,
            "label": headline.title,
            "value": headline.display,
            **({"robustness": explanation.robustness} if explanation.robustness else {}),
        },
        "tiers": [_node_json(root) for root in explanation.roots],
    }


@attrs.frozen(repr=False)
class ExplainedEntity(Explanation):
    """What `tierlang.explain` returns: audit's Explanation with its renderings attached."""

    @classmethod
    def of(cls, explanation: Explanation) -> ExplainedEntity:
        return cls(**{f.name: getattr(explanation, f.name) for f in attrs.fields(Explanation)})

    @property
    def text(self) -> str:
        """The derivation as `tierlang explain` prints it."""
        return render_text(self)

    def __repr__(self) -> str:
        head = self.headline_node
        return (f"<Explanation {_named(entity_kind(self.run, self.entity), self.entity)}, run {self.run.id}: "
                f"{head.title} = {head.display}>")

    def _repr_html_(self) -> str:
        import html

        return f"<pre>{html.escape(self.text)}</pre>"
