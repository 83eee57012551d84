"""A structural diff (dsl.diff.StructuralDiff) as text, one block per section, and as the plain
JSON of docs/diff.md (`structural`)."""

from __future__ import annotations

import attrs

from dsl.diff import ARROW, SECTIONS, Change, StructuralDiff, arrow, basename, plain


def render_text(d: StructuralDiff) -> str:
    """The structural diff as text: one block per section, `+` added, `-` removed, `~` changed."""
    lines = [f"structural changes: {d.old.path} {ARROW} {d.new.path}"]
    if d.extends:
        real = [o for o in d.overrides if o.changed]
        idle = [o for o in d.overrides if not o.changed]
        added = [c for c in d.changes if c.change == "added" and c.section not in ("header",)]
        total = len(real) + len(idle)
        overrides = f"{total} override{'s' if total != 1 else ''}"
        if idle:
            overrides += f" ({len(idle)} without effect: {', '.join(o.name for o in idle)})"
        parts = [overrides, f"{len(added)} addition{'s' if len(added) != 1 else ''}"]
        lines.append(f"  {d.new.path} extends {d.old.path}: {', '.join(parts)}")
    if d.is_empty:
        lines.append("  no change: the two methodologies are the same node by node")
        return "\n".join(lines) + "\n"
    for section in SECTIONS:
        changes = [c for c in d.changes if c.section == section]
        if not changes:
            continue
        lines.append(f"  {section}")
        for c in changes:
            lines.extend(_change_lines(c))
    quiet = [s for s in SECTIONS if not any(c.section == s for c in d.changes)]
    if quiet:
        lines.append(f"  no change: {', '.join(quiet)}")
    return "\n".join(lines) + "\n"


def _change_lines(c: Change) -> list[str]:
    mark = {"added": "+", "removed": "-", "changed": "~"}[c.change]
    where = f"  [{basename(c.file)}:{c.line}]" if c.file and c.line else ""
    if c.section == "header":
        (d,) = c.details
        if c.name == "doc":
            return [f"    {mark} docstring {d.change}"]
        return [f"    {mark} {c.name}: {arrow(d.old, d.new)}"]
    if c.change in ("added", "removed"):
        d = c.details[0]
        return [f"    {mark} {d.new if c.change == 'added' else d.old}{where}"]
    head = c.summary if c.section != "types" else c.summary
    note = "" if c.semantic else " (no effect on values)"
    out = [f"    {mark} {head}{note}{where}"]
    shown_expression = any(d.what in ("expression", "component", "weight", "cutoff", "case", "option")
                           for d in c.details)
    if shown_expression and c.old_expression is not None and c.new_expression is not None \
            and c.old_expression != c.new_expression:
        out.append(f"        old: {c.old_expression}")
        out.append(f"        new: {c.new_expression}")
    for d in c.details:
        if d.what == "rule_order" or d.what == "limit_order" or d.what == "component_order":
            out.append(f"        old order: {d.old}")
            out.append(f"        new order: {d.new}")
        if d.what == "label":
            out.append(f"        label: {arrow(d.old, d.new)}")
    return out


def to_json(d: StructuralDiff) -> dict:
    """Plain JSON-ready data; the shape is documented in docs/diff.md (`structural`)."""
    return {
        "old": attrs.asdict(d.old, value_serializer=_serialise),
        "new": attrs.asdict(d.new, value_serializer=_serialise),
        "extends": d.extends,
        "overrides": [attrs.asdict(o) for o in d.overrides],
        "counts": {
            "added": sum(1 for c in d.changes if c.change == "added"),
            "removed": sum(1 for c in d.changes if c.change == "removed"),
            "changed": sum(1 for c in d.changes if c.change == "changed"),
            "semantic": len(d.semantic_changes),
        },
        "changes": [
            {
                "section": c.section,
                "name": c.name,
                "kind": c.kind,
                "change": c.change,
                "semantic": c.semantic,
                "summary": c.summary,
                "cause": c.cause,
                "details": [
                    {
                        "what": x.what,
                        "item": x.item,
                        "change": x.change,
                        "old": x.old,
                        "new": x.new,
                        "old_value": plain(x.old_value),
                        "new_value": plain(x.new_value),
                    }
                    for x in c.details
                ],
                "old_expression": c.old_expression,
                "new_expression": c.new_expression,
                "old_source": c.old_source,
                "new_source": c.new_source,
                "file": c.file,
                "line": c.line,
                "override": c.override,
            }
            for c in d.changes
        ],
    }


def _serialise(_inst, _field, value):
    return list(value) if isinstance(value, tuple) else value
