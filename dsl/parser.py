"""Source text → syntax tree (dsl.syntax). Lark parses; the Transformer (dsl.tree_builder) only
builds nodes.

Syntax errors are reported all at once: after an error the offending top-level statement is
blanked out (newlines kept, so positions stay true) and parsing starts again. dsl.parse_errors
words the messages.
"""

from __future__ import annotations

import re
from functools import cache

import attrs
import lark
from lark import Token

from dsl import syntax as S
from dsl.errors import ERROR, Diagnostic, Span, TierError
from dsl.parse_errors import refuse_hidden_characters, syntax_diagnostic
from dsl.text import GRAMMAR, STATEMENT_KEYWORDS, number_value
from dsl.tree_builder import Builder

__all__ = ["GRAMMAR", "MAX_NESTING", "MAX_SOURCE_BYTES", "STATEMENT_KEYWORDS", "number_value", "parse",
           "parse_with_recovery"]

MAX_SYNTAX_ERRORS = 50
MAX_SOURCE_BYTES = 5_000_000
# Expressions nest at most this deep: each operator, call, `if`, `map`, `band`, list and `for`
# is one level (parentheses alone are not). Every later stage (checker, interpreter, formatter)
# walks expressions recursively and stays far within Python's recursion limit below it.
MAX_NESTING = 100
_NESTING_RULES = frozenset({
    "or_op", "and_op", "not_op", "compare", "is_missing", "is_not_missing", "add", "sub", "mul",
    "div", "neg", "power", "pick", "call", "list", "map_expr", "band_expr", "if_expr",
})


_LONE_CR = re.compile(r"\r(?!\n)")
_STATEMENT_START = re.compile(rf"^({'|'.join(STATEMENT_KEYWORDS)})\b", re.MULTILINE)
_STATEMENT_NAME = re.compile(r"^(?:input|param|indicator|domain|score|let|function|tier|type|table|measures)\s+([A-Za-z_]\w*)",
                             re.MULTILINE)


@cache
def _lark() -> lark.Lark:
    return lark.Lark(
        GRAMMAR.read_text(encoding="utf-8"),
        parser="lalr",
        propagate_positions=True,
        maybe_placeholders=True,
        lexer_callbacks={"NAME": _statement_keyword_at_line_start},
        cache=True,  # the grammar analysis is cached in the temp folder, keyed by grammar and options
    )


def _statement_keyword_at_line_start(token: Token) -> Token:
    """A statement keyword at the start of a line always starts a statement. The contextual lexer
    would otherwise read `let` after `x = 1 +` as a name, and report the error somewhere inside
    the next statement instead of saying that this one is incomplete."""
    if token.column == 1 and token.value in STATEMENT_KEYWORDS:
        return Token.new_borrow_pos(token.value.upper(), token.value, token)
    return token


def parse(text: str, path: str = "<string>") -> S.Module:
    """Parse one file's text. Raises TierError carrying every syntax error found."""
    module, diagnostics = parse_with_recovery(text, path)
    if diagnostics:
        raise TierError(diagnostics, {path: text})
    return module


def parse_with_recovery(text: str, path: str = "<string>") -> tuple[S.Module, list[Diagnostic]]:
    """Parse, recovering after each syntax error. Returns the tree of what did parse, and the
    diagnostics. Statements that failed to parse are absent from the tree."""
    if len(text) > MAX_SOURCE_BYTES:
        span = Span.point(path, 1, 1)
        return S.Module(S.Header(), (), path=path), [
            Diagnostic(ERROR, "file-too-large", f"the file is larger than {MAX_SOURCE_BYTES:,} characters", span,
                       "split the methodology into smaller files joined with `extends`.")
        ]
    diagnostics: list[Diagnostic] = []
    broken: list[str] = []
    if "\r" in text:  # a lone CR ends a line (dsl.loader.normalise_line_ends), one for one
        text = _LONE_CR.sub("\n", text)
    work = text.lstrip("\ufeff") if text.startswith("\ufeff") else text
    if len(work) != len(text):
        work = " " + work  # keep columns true after dropping a byte-order mark
    hidden = refuse_hidden_characters(work, path, diagnostics)
    for _ in range(MAX_SYNTAX_ERRORS):
        try:
            tree = _lark().parse(work)
        except lark.exceptions.UnexpectedInput as error:
            found = syntax_diagnostic(error, path, work, _lark())
            if (found.span.line, found.span.column) not in hidden:  # already reported as hidden
                diagnostics.append(found)
            blanked = _blank_statement_at(work, error, keep_next=found.code != "let-outside-function")
            broken += _STATEMENT_NAME.findall(work) and [
                n for n in _STATEMENT_NAME.findall(work) if n not in _STATEMENT_NAME.findall(blanked)]
            if blanked == work:
                return S.Module(S.Header(), (), path=path), diagnostics
            work = blanked
            continue
        except RecursionError:
            return S.Module(S.Header(), (), path=path), diagnostics + [_too_deep(path)]
        broken += _drop_too_deep(tree, path, diagnostics)
        try:
            module = Builder(path, diagnostics).transform(tree)
        except RecursionError:
            return S.Module(S.Header(), (), path=path), diagnostics + [_too_deep(path)]
        except lark.exceptions.VisitError as error:
            if isinstance(error.orig_exc, RecursionError):
                return S.Module(S.Header(), (), path=path), diagnostics + [_too_deep(path)]
            raise
        return attrs.evolve(module, broken=tuple(broken)), diagnostics
    return S.Module(S.Header(), (), path=path), diagnostics


def _drop_too_deep(tree: lark.Tree, path: str, diagnostics: list[Diagnostic]) -> list[str]:
    """Report, and remove from the tree, every top-level statement holding an expression nested
    more than MAX_NESTING levels deep (measured without recursion). Gives the names of the
    statements removed, so that their uses are not reported as unknown names."""
    kept, dropped = [], []
    for statement in tree.children:
        deepest = _first_too_deep(statement)
        if deepest is None:
            kept.append(statement)
            continue
        meta = deepest.meta
        span = Span.point(path, getattr(meta, "line", 1), getattr(meta, "column", 1))
        diagnostics.append(Diagnostic(
            ERROR, "too-deep", f"this expression is nested more than {MAX_NESTING} levels deep", span,
            "split it into named definitions (`let`), each nesting less deeply."))
        name = next((c for c in statement.children if isinstance(c, Token) and c.type == "NAME"), None)
        if name is not None:
            dropped.append(str(name))
    tree.children = kept
    return dropped


def _first_too_deep(node) -> lark.Tree | None:
    stack = [(node, 0)]
    while stack:
        current, depth = stack.pop()
        if not isinstance(current, lark.Tree):
            continue
        if current.data in _NESTING_RULES:
            depth += 1
            if depth > MAX_NESTING:
                return current
        stack.extend((child, depth) for child in reversed(current.children))
    return None


def _too_deep(path: str) -> Diagnostic:
    return Diagnostic(ERROR, "too-deep", "expressions are nested too deeply to read", Span.point(path, 1, 1),
                      "split the expression into named definitions.")



def _blank_statement_at(text: str, error: lark.exceptions.UnexpectedInput, keep_next: bool = True) -> str:
    """Replace the top-level statement holding the error by spaces (newlines kept)."""
    starts = _statement_starts(text)
    token = getattr(error, "token", None)
    pos = getattr(error, "pos_in_stream", None)
    if pos is None and token is not None:
        pos = token.start_pos
    if pos is None or (token is not None and token.type == "$END"):
        pos = len(text)
    before = [s for s in starts if s <= pos]
    after = [s for s in starts if s > pos]
    if token is not None and token.type != "$END" and before and before[-1] == pos and len(before) > 1:
        # The error is at the keyword of the next statement: the previous one is broken, and the
        # next one is kept (it may well be fine); unless it is a `let` inside the broken one's block.
        at_keyword = before.pop()
        if keep_next:
            after = [at_keyword]
    begin = before[-1] if before else 0
    end = after[0] if after else len(text)
    if begin == end:
        end = len(text)
    chunk = re.sub(r"[^\n]", " ", text[begin:end])
    return text[:begin] + chunk + text[end:]


def _statement_starts(text: str) -> list[int]:
    """Where the top-level statements start: at a statement keyword at the start of a line, but
    not at a local `let` of a function body (inside the braces of a `function` statement)."""
    starts: list[int] = []
    for match in _STATEMENT_START.finditer(text):
        if match.group(1) == "let" and starts and text.startswith("function", starts[-1]):
            opened = text[starts[-1]:match.start()]
            if opened.count("{") > opened.count("}"):
                continue
        starts.append(match.start())
    return starts
