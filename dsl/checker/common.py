"""What the checker's stages share: the merged files (`_Merged`) and a few wording helpers."""

from __future__ import annotations

import re

import attrs

from dsl import syntax as S
from dsl.errors import Span

NODE_STATEMENTS = (S.InputDecl, S.ParamDecl, S.Definition, S.TierDecl)


@attrs.define
class _Merged:
    header: dict
    header_spans: dict
    statements: list  # (statement, file) in final order
    functions: dict  # name -> (FunctionDecl, file)
    types: dict  # name -> (TypeDecl, file)
    limits: list  # (LimitDecl, file)
    tests: list  # (TestDecl, file) of the root file only
    overrides: list
    measures: dict = attrs.Factory(dict)  # name -> (MeasuresDecl, file): measure tables


def _written_span(text: str, file: str, keyword: str, value: str) -> Span | None:
    """Where `keyword value` is written at the start of a line."""
    match = re.search(rf"^[ \t]*{keyword}[ \t]+({re.escape(value)})", text, re.MULTILINE)
    if match is None:
        return None
    start = match.start(1)
    return Span.point(file, text.count("\n", 0, start) + 1, start - text.rfind("\n", 0, start), len(value))


def _a(word: str) -> str:
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


def _kind_word(statement) -> str:
    if isinstance(statement, S.Definition):
        return statement.kind
    return {
        S.InputDecl: "input", S.ParamDecl: "param", S.TierDecl: "tier", S.FunctionDecl: "function",
        S.TableDecl: "table", S.MeasuresDecl: "measure table",
        S.TypeDecl: "type",
    }.get(type(statement), "definition")
