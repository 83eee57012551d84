"""What a structural diff finds: the changes of each node, in a few plain-data classes."""

from __future__ import annotations

from typing import Any

import attrs

from dsl.diff.phrases import _detail_phrase

SECTIONS = ("header", "types", "inputs", "params", "definitions", "tiers")
HEADER_FIELDS = ("name", "version", "effective", "entity", "key", "label_column", "doc")
_QUOTED = frozenset({"name", "version", "doc"})
_HEADER_SEMANTIC = frozenset({"entity", "key", "label_column", "levels"})  # the others only describe
_PRESENTATION = frozenset({"label", "doc", "component_order"})
_NOT_VALUES = frozenset({"range", "required", "optional"})  # declared checks: they change no value
_COMMUTATIVE = frozenset({"mean", "weighted_mean", "sum", "min", "max", "geometric_mean", "count",
                          "any", "all"})
_OPTIONS = ("polarity", "within", "skip_missing", "require", "normalise", "population_count", "method")


# ---------------------------------------------------------------- the result


@attrs.frozen
class Detail:
    """One difference within a changed node.

    `what`: value, range, type, column, required, kind, expression, weight, component,
    component_order, option, cutoff, case, from, scale, rule, rule_order, missing_label, limit,
    limit_order, label, doc, labels (level types), or a header field.
    `item`: what it is about within the node (a component, a rule's label, an option, a case),
    or None. `change`: added, removed or changed. `old`/`new`: texts as written or printed
    (None for the side that has nothing); `old_value`/`new_value`: the numbers, when the texts
    stand for numbers (weights, param values, thresholds)."""

    what: str
    item: str | None
    change: str
    old: str | None
    new: str | None
    old_value: Any = None
    new_value: Any = None

    @property
    def semantic(self) -> bool:
        return self.what not in _PRESENTATION


@attrs.frozen
class Change:
    section: str  # one of SECTIONS
    name: str  # node, level type or header field
    kind: str  # node kind (the new one's; the old one's if removed), "header" or "type"
    change: str  # added, removed or changed
    details: tuple[Detail, ...]
    summary: str  # one line, used as the name of a cause in attribution
    old_source: str | None = None  # the declaration as written
    new_source: str | None = None
    old_expression: str | None = None  # definitions: the expression printed; tiers: `from`
    new_expression: str | None = None
    file: str | None = None  # where the new declaration is (the old one, if removed)
    line: int | None = None
    override: str | None = None  # the base file whose definition the new one replaces

    @property
    def cause(self) -> str:
        """A short name for the change as a cause of moves: `transformation_weight 50% → 40%`,
        `cancer: + component cancer_survival_score`, `finance_score redefined` (only what can
        change values: no label, docstring or declared ranges)."""
        if self.change != "changed":
            return self.summary
        phrases = [_detail_phrase(d) for d in self.details if d.semantic and d.what not in _NOT_VALUES]
        phrases = list(dict.fromkeys(phrases)) or [_detail_phrase(d) for d in self.details[:1]]
        if len(phrases) == 1 and phrases[0] == "redefined":
            return f"{self.name} redefined"
        joiner = " " if self.details and self.details[0].what == "value" and len(phrases) == 1 else ": "
        return f"{self.name}{joiner}{'; '.join(phrases)}"

    @property
    def semantic(self) -> bool:
        """False when only the label, docstring or order of commutative components differ."""
        if self.change != "changed":
            return True
        if self.section == "header":
            return self.name in _HEADER_SEMANTIC
        return any(d.semantic for d in self.details)


@attrs.frozen
class OverrideInfo:
    name: str
    base_file: str
    file: str
    changed: bool  # False: the override replaces a definition with an equal one


@attrs.frozen
class Side:
    name: str
    version: str | None
    path: str
    files: tuple[str, ...]  # the file, then every file it extends


@attrs.frozen
class StructuralDiff:
    old: Side
    new: Side
    changes: tuple[Change, ...]  # in SECTIONS order
    extends: bool  # the new methodology extends the old one
    overrides: tuple[OverrideInfo, ...]  # the new one's overrides (any base), in file order

    @property
    def is_empty(self) -> bool:
        return not self.changes

    @property
    def semantic_changes(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.semantic)

    def node_changes(self) -> dict[str, Change]:
        """Semantic changes of nodes (inputs, params, definitions, tiers), by node name."""
        return {c.name: c for c in self.changes
                if c.section not in ("header", "types") and c.semantic}

    def change(self, name: str) -> Change | None:
        return self.node_changes().get(name)
