"""A change in a few words: the phrases that name a changed node and each of its details (used
as the name of a cause when moves are attributed to changes)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dsl import model as M

if TYPE_CHECKING:
    from dsl.diff.result import Detail

ARROW = "→"


def arrow(old: str | None, new: str | None) -> str:
    if old is None:
        return f"{new} (added)"
    if new is None:
        return f"{old} (removed)"
    return f"{old} {ARROW} {new}"


_FIXED_PHRASES = {"expression": "redefined", "rule_order": "rules reordered", "limit_order": "limits reordered",
                  "component_order": "components reordered", "label": "label changed", "doc": "docstring changed"}


def _detail_phrase(d: Detail) -> str:
    """A detail in a few words; any kind not listed reads `what old → new`."""
    what, item = d.what, d.item
    if what in _FIXED_PHRASES:
        return _FIXED_PHRASES[what]
    if what == "value":
        return arrow(d.old, d.new)
    if what == "component":
        return f"+ component {item}" if d.change == "added" else f"- component {item}"
    if what == "weight":
        return f"weight of {item} {arrow(d.old, d.new)}"
    if what == "cutoff":
        return f"cut-off {arrow(d.old, d.new)}"
    if what == "case":
        return f"{item} value {arrow(d.old, d.new)}" if d.change == "changed" else \
            f"case {item} {d.change}"
    if what == "option":
        if d.change == "added":
            return f"+ {d.new}"
        if d.change == "removed":
            return f"- {d.old}"
        return f"{item}: {arrow(d.old, d.new)}"
    if what == "rule":
        if d.change == "added":
            return f"rule {item}: {d.new} added"
        if d.change == "removed":
            return f"rule {item}: {d.old} removed"
        return f"rule {item}: {d.old} {ARROW} {d.new}"
    if what == "limit":
        return f"limit {d.change}: {d.new if d.change == 'added' else d.old}"
    return f"{what.replace('_', ' ')} {arrow(d.old, d.new)}"


def _summary(node: M.Node, details: list[Detail]) -> str:
    phrases = list(dict.fromkeys(_detail_phrase(d) for d in details))
    return f"{node.kind} {node.name}: " + "; ".join(phrases)
