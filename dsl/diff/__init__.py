"""Structural diff of two checked methodologies: what a new version changes, node by node.

    from dsl.diff import diff
    d = diff(dsl.load("old.tier"), dsl.load("new.tier"))
    for change in d.changes: print(change.cause)

(`tierlang.render.structural` shows a StructuralDiff as text and JSON.)

The two `dsl.model.Methodology` trees are compared by name: header, level types, inputs,
params, definitions and tiers. Model nodes compare by value with spans and source texts left
out, so reordering declarations, reformatting, or editing a comment is no change. A change is
classified (input column/range/type, param value/range, definition expression, weights per
component, band cut-offs, map cases, aggregation options, tier `from`, scale, rules and their
order, the `missing:` label, limits added/removed, kind changes) and shown with its old and new
text. Label and docstring edits are reported but marked as not semantic (they change no value).

When the new methodology `extends` the old one (the old file's text is one of the files the new
one extends), the overrides the checker recorded (`new.overrides`) explain the changes: every
changed node is an override or an addition, and an override that changes nothing is listed.

Pure: no pandas, no SQLite. Expression texts are printed from the resolved trees (user
functions appear expanded); literals keep their written form (`25%`) where the source shows it.

Modules: `result` (the plain-data result), `differ` (the comparison), `values` (the texts and
numbers compared for parts of a node), `phrases` (a change in a few words).
"""

from dsl.diff.differ import basename, diff, extends
from dsl.diff.phrases import ARROW, arrow
from dsl.diff.result import (
    HEADER_FIELDS,
    SECTIONS,
    Change,
    Detail,
    OverrideInfo,
    Side,
    StructuralDiff,
)
from dsl.diff.values import canonical, plain

__all__ = [
    "ARROW",
    "HEADER_FIELDS",
    "SECTIONS",
    "Change",
    "Detail",
    "OverrideInfo",
    "Side",
    "StructuralDiff",
    "arrow",
    "basename",
    "canonical",
    "diff",
    "extends",
    "plain",
]
