"""Completion: after `==` or `!=`, the labels of the left side's level type; after `per` or
`over`, the entity levels; elsewhere the names in scope (inputs, params, definitions, tiers,
functions), the built-ins with their signatures, and the keywords."""

from __future__ import annotations

import re

from lsprotocol import types

from dsl import syntax as S
from dsl.builtins import BUILTINS
from dsl.errors import source_lines
from dsl.printer import label_text
from tierlang.highlight import WORDS
from tierlang.lsp.analysis import FUNCTION, LABEL, LEVEL, NODE, TYPE, Analysis
from tierlang.lsp.hover import describe, describe_builtin

_COMPARED = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:==|!=)\s*[A-Za-z_0-9]*$")
_AFTER_LEVEL_WORD = re.compile(r"\b(?:per|over)\s+[A-Za-z_0-9]*$")

_NODE_KINDS = {
    "input": types.CompletionItemKind.Variable,
    "param": types.CompletionItemKind.Constant,
    "tier": types.CompletionItemKind.Enum,
}


def _markdown(text: str) -> types.MarkupContent:
    return types.MarkupContent(kind=types.MarkupKind.Markdown, value=text)


def completions(analysis: Analysis, line: int, column: int) -> list[types.CompletionItem]:
    lines = source_lines(analysis.text)
    before = lines[line - 1][: column - 1] if 1 <= line <= len(lines) else ""
    compared = _COMPARED.search(before)
    if compared is not None:
        labels = labels_of(analysis, compared.group(1))
        if labels:
            return [
                types.CompletionItem(
                    label=lb,
                    kind=types.CompletionItemKind.EnumMember,
                    detail=owner,
                    insert_text=label_text(lb),
                    sort_text=f"{i:04d}",
                )
                for i, (lb, owner) in enumerate(labels)
            ]
    if _AFTER_LEVEL_WORD.search(before):
        return [
            types.CompletionItem(
                label=name, kind=types.CompletionItemKind.Module, detail="entity level"
            )
            for (space, name) in analysis.definitions
            if space == LEVEL
        ]
    items = []
    for (space, name), definition in analysis.definitions.items():
        if space == NODE:
            st = definition.statement
            kind = (
                st.kind
                if isinstance(st, S.Definition)
                else {S.InputDecl: "input", S.ParamDecl: "param", S.TierDecl: "tier"}.get(
                    type(st), ""
                )
            )
            node = analysis.node(name)
            detail = f"{kind}: {node.type}" if node is not None else kind
            items.append(
                types.CompletionItem(
                    label=name,
                    kind=_NODE_KINDS.get(kind, types.CompletionItemKind.Field),
                    detail=detail,
                    documentation=_markdown(describe(analysis, definition)),
                )
            )
        elif space == FUNCTION:
            items.append(
                types.CompletionItem(
                    label=name,
                    kind=types.CompletionItemKind.Function,
                    detail=f"{name}({', '.join(definition.statement.params)})",
                    documentation=_markdown(describe(analysis, definition)),
                )
            )
        elif space == TYPE:
            items.append(
                types.CompletionItem(
                    label=name, kind=types.CompletionItemKind.TypeParameter, detail="level type"
                )
            )
    for name, builtin in BUILTINS.items():
        items.append(
            types.CompletionItem(
                label=name,
                kind=types.CompletionItemKind.Function,
                detail=builtin.signature(),
                documentation=_markdown(describe_builtin(builtin)),
            )
        )
    for word in sorted(WORDS.all_keywords()):
        items.append(types.CompletionItem(label=word, kind=types.CompletionItemKind.Keyword))
    return items


def labels_of(analysis: Analysis, name: str) -> list[tuple[str, str]]:
    """(label, level type) of the labels `name` can equal, best last: those of its level type
    when it is known; else every label of the methodology."""
    node = analysis.node(name)
    if node is not None and node.type.level is not None:
        level = node.type.level
        return [(label, f"level {level.name}") for label in level.labels]
    definition = analysis.definitions.get((NODE, name))
    type_ref = getattr(definition.statement, "type", None) if definition is not None else None
    if isinstance(type_ref, S.NamedType) and (TYPE, type_ref.name) in analysis.definitions:
        decl = analysis.definitions[(TYPE, type_ref.name)].statement
        return [(label.text, f"level {decl.name}") for label in decl.level.labels]
    if isinstance(type_ref, S.LevelTypeExpr):
        return [(label.text, f"level of {name}") for label in type_ref.labels]
    if node is not None:
        return []  # a number, text or boolean: no labels
    return [(name, "label") for (space, name) in analysis.definitions if space == LABEL]
