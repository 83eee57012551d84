"""Hover: what a name is — its label, kind, type, entity level, docstring and where it is
defined; for a built-in function, its signature and description (dsl/builtins.py)."""

from __future__ import annotations

import os

from dsl import syntax as S
from dsl.builtins import BUILTINS, OVER_FUNCTIONS, POPULATION, Builtin
from dsl.errors import source_lines
from tierlang.lsp.analysis import (
    FUNCTION,
    LABEL,
    LEVEL,
    NODE,
    PARAMETER,
    TYPE,
    Analysis,
    Definition,
    Occurrence,
)

SHOWN_DECLARATION = 160  # characters of the declaration's first line shown


def describe_builtin(builtin: Builtin) -> str:
    scope = (
        "population function: uses the values of every entity (or of each group, `within`)"
        if builtin.scope == POPULATION
        else "row function: one result per entity from its own values"
    )
    parts = [
        f"```tier\n{builtin.signature()}\n```",
        builtin.doc,
        f"*{scope}*",
        f"Missing values: {builtin.missing}.",
    ]
    if builtin.name in OVER_FUNCTIONS:
        parts.append(f"Aggregates a lower entity level with `{builtin.name}(x) over LEVEL`.")
    return "\n\n".join(p for p in parts if p)


def where(analysis: Analysis, definition: Definition) -> str:
    s = definition.span
    shown = os.path.relpath(s.file, os.path.dirname(os.path.abspath(analysis.path)))
    return f"{shown}:{s.line}:{s.column}"


def _declaration(analysis: Analysis, definition: Definition) -> str:
    text = analysis.text_of(definition.file) or ""
    lines = source_lines(text)
    line = lines[definition.span.line - 1].strip() if definition.span.line <= len(lines) else ""
    return line if len(line) <= SHOWN_DECLARATION else line[:SHOWN_DECLARATION] + "…"


def describe(analysis: Analysis, definition: Definition) -> str:
    """Markdown describing a definition."""
    st = definition.statement
    head = [f"```tier\n{_declaration(analysis, definition)}\n```"]
    facts: list[str] = []
    doc = getattr(st, "doc", None)
    if definition.namespace == NODE:
        node = analysis.node(definition.name)
        kind = st.kind if isinstance(st, S.Definition) else _KINDS.get(type(st), "definition")
        display = getattr(st, "display", None)
        if display:
            head.append(f"**{display}**")
        facts.append(f"{kind} `{definition.name}`")
        if node is not None:
            facts.append(f"type: {node.type}")
            facts.append(_level(analysis, node))
        else:
            facts.append("type: not known until the file checks without errors")
    elif definition.namespace == FUNCTION:
        facts.append(f"function `{definition.name}({', '.join(st.params)})`")
    elif definition.namespace == TYPE:
        facts.append(
            f"level type `{definition.name}`: {' < '.join(lb.text for lb in st.level.labels)} (worst first)"
        )
    elif definition.namespace == LEVEL:
        facts.append(_entity_level(definition))
        doc = None  # the header's docstring is the methodology's
    elif definition.namespace == LABEL:
        return _label(analysis, definition)
    facts.append(f"defined at {where(analysis, definition)}")
    for replaced in analysis.overridden.get((definition.namespace, definition.name), []):
        facts.append(f"overrides {where(analysis, replaced)}")
    parts = ["\n\n".join(head), " · ".join(facts)]
    if doc:
        parts.append(doc)
    return "\n\n".join(parts)


def _level(analysis: Analysis, node) -> str:
    m = analysis.methodology
    if node.is_scalar:
        over = f" (computed over each {node.context})" if node.context else ""
        return f"one value for the run{over}"
    return f"level: one value per {node.level or m.entity}"


_KINDS = {S.InputDecl: "input", S.ParamDecl: "param", S.TierDecl: "tier"}


def _entity_level(definition: Definition) -> str:
    st = definition.statement  # the header (the first `entity` line) or a further entity line
    within, key, label = st.within, st.key, st.label
    parts = [f"entity level `{definition.name}`"]
    if within:
        parts.append("within " + " within ".join(f"`{w}`" for w in within))
    parts.append(f"key column `{key}`" if key else "")
    parts.append(f"label column `{label}`" if label else "")
    return ", ".join(p for p in parts if p)


def _labels_of(statement) -> tuple[str, tuple[str, ...], bool]:
    """(what the labels belong to, the labels, whether they are written worst first)."""
    if isinstance(statement, S.TypeDecl):
        return (
            f"level type `{statement.name}`",
            tuple(lb.text for lb in statement.level.labels),
            True,
        )
    if isinstance(getattr(statement, "type", None), S.LevelTypeExpr):
        return (
            f"the level type of `{statement.name}`",
            tuple(lb.text for lb in statement.type.labels),
            True,
        )
    labels = [rule.label.text for rule in getattr(statement, "rules", ())]
    return f"tier `{statement.name}`", tuple(dict.fromkeys(labels)), False


def _label(analysis: Analysis, definition: Definition) -> str:
    key = (LABEL, definition.name)
    lines = []
    for owner in [definition, *analysis.overridden.get(key, [])]:
        whose, labels, ordered = _labels_of(owner.statement)
        shown = (" < " if ordered else ", ").join(
            f"**{lb}**" if lb == definition.name else lb for lb in labels
        )
        order = " (worst first)" if ordered else ""
        lines.append(f"label of {whose}: {shown}{order} · defined at {where(analysis, owner)}")
    return f"label `{definition.name}`\n\n" + "\n\n".join(lines)


def _parameter(analysis: Analysis, occurrence: Occurrence) -> str | None:
    function = analysis.definitions.get((FUNCTION, occurrence.scope))
    if function is None:
        return None
    params = ", ".join(function.statement.params)
    parts = [
        f"```tier\n{_declaration(analysis, function)}\n```",
        f"parameter `{occurrence.name}` of function `{function.name}({params})` · defined at "
        f"{where(analysis, function)}",
    ]
    if function.statement.doc:
        parts.append(function.statement.doc)
    return "\n\n".join(parts)


def hover_text(analysis: Analysis, line: int, column: int) -> str | None:
    """Markdown for the name at 1-based `line`, `column`, or None."""
    found: Occurrence | None = analysis.at(line, column)
    if found is None:
        word = analysis.word_at(line, column)
        if word is None:
            return None
        definition = analysis.resolve(word)
        if definition is None:
            return describe_builtin(BUILTINS[word]) if word in BUILTINS else None
        return describe(analysis, definition)
    if found.namespace == PARAMETER:
        return _parameter(analysis, found)
    if found.namespace == FUNCTION and (FUNCTION, found.name) not in analysis.definitions:
        return describe_builtin(BUILTINS[found.name]) if found.name in BUILTINS else None
    definition = analysis.definitions.get((analysis.namespace_of(found), found.name))
    return describe(analysis, definition) if definition is not None else None
