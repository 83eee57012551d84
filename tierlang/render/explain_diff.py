"""One entity's derivation in two runs side by side (audit.explain_diff.SideBySide) as
`tierlang explain ENTITY --against B` prints it, and as JSON."""

from __future__ import annotations

import math
from typing import Any

from audit.explain import NodeExplanation
from audit.explain_diff import SideBySide
from dsl.escaping import json_text
from tierlang.render.explain import to_json


def render_text(s: SideBySide) -> str:
    a, b = s.a, s.b
    entity = b.entity
    kind = b.run.entity_kind or "entity"
    head = f"{kind} {entity.key}" + (f' "{entity.label}"' if entity.label else "")
    lines = [head]
    for exp in (a, b):
        version = f" (version {exp.run.methodology_version})" if exp.run.methodology_version else ""
        data = f", data {exp.run.dataset_path}" if exp.run.dataset_path else ""
        lines.append(f"run {exp.run.id}: {exp.run.methodology_name}{version}, started {exp.run.started}{data}")
    ha, hb = a.headline_node, b.headline_node
    lines.append(f"headline: {hb.title}: {ha.display} (run {a.run.id}) → {hb.display} (run {b.run.id})")
    differing = len(s.differing)
    lines.append(f"{differing} node{'s' if differing != 1 else ''} differ; marks: ~ value differs, "
                 f"! definition differs, + only in run {b.run.id}, - only in run {a.run.id}")
    lines.append("")
    tree = [f"{'  ' * r.depth}* {r.name} ({r.kind}){' (see above)' if r.see_above else ''}" for r in s.rows]
    va = [_display(r.a) for r in s.rows]
    vb = [_display(r.b) for r in s.rows]
    w0 = max([len(t) for t in tree] + [4])
    w1 = max([len(v) for v in va] + [len(f"run {a.run.id}")])
    w2 = max([len(v) for v in vb] + [len(f"run {b.run.id}")])
    lines.append(f"  {'node'.ljust(w0)}  {f'run {a.run.id}'.rjust(w1)}  {f'run {b.run.id}'.rjust(w2)}".rstrip())
    for r, t, x, y in zip(s.rows, tree, va, vb):
        lines.append(f"{r.mark} {t.ljust(w0)}  {x.rjust(w1)}  {y.rjust(w2)}".rstrip())
        for note in r.notes:
            lines.append(f"  {'  ' * r.depth}    {note}")
    return "\n".join(lines) + "\n"


def _display(node: NodeExplanation | None) -> str:
    return "" if node is None else node.display


def to_json_side_by_side(s: SideBySide) -> dict:
    return {
        "entity": {"key": s.b.entity.key, "label": s.b.entity.label, "kind": s.b.run.entity_kind},
        "runs": [s.a.run.id, s.b.run.id],
        "rows": [
            {
                "depth": r.depth, "name": r.name, "kind": r.kind, "status": r.status, "mark": r.mark,
                "a": None if r.a is None else {"value": _json_value(r.a.value), "display": r.a.display},
                "b": None if r.b is None else {"value": _json_value(r.b.value), "display": r.b.display},
                "see_above": r.see_above, "notes": list(r.notes),
            }
            for r in s.rows
        ],
        "a": to_json(s.a),
        "b": to_json(s.b),
    }


def _json_value(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, tuple):
        return [_json_value(x) for x in v]
    return v


def render(side: SideBySide, output_format: str = "text") -> str:
    """What `tierlang explain ENTITY --against B` prints: text, or JSON."""
    if output_format == "json":
        return json_text(to_json_side_by_side(side), indent=2) + "\n"
    return render_text(side)
