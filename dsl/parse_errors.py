"""Syntax problems as located diagnostics: what was found, what was expected, and where; and
the hidden characters a methodology may not hold. Used by dsl.parser.
"""

from __future__ import annotations

import re
import unicodedata

import lark
from lark import Token

from dsl.errors import ERROR, INVISIBLE_CHARACTERS, Diagnostic, Span, source_lines
from dsl.text import STATEMENT_KEYWORDS

# Characters a methodology may not hold anywhere (strings, comments, code): the controls a
# terminal acts on (ESC starts CSI and OSC sequences), C1 controls, and the bidirectional and
# zero-width controls that make a line read differently from what it holds ("Trojan Source").
# Tab, newline and carriage return are line layout; everything else `visible` shows is refused.
# Form feeds and the Unicode line and paragraph separators are whitespace to the parser and
# show as what they are in editors: allowed.
_HIDDEN = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(INVISIBLE_CHARACTERS)
                                   if c not in (0x09, 0x0A, 0x0C, 0x0D, 0x2028, 0x2029)) + "]")
_CONTROL_NAMES = {0x1B: "ESCAPE", 0x07: "BELL", 0x08: "BACKSPACE", 0x00: "NUL", 0x7F: "DELETE",
                  0x9B: "CONTROL SEQUENCE INTRODUCER", 0x9D: "OPERATING SYSTEM COMMAND", 0x0C: "FORM FEED"}
MAX_HIDDEN_REPORTED = 10


def refuse_hidden_characters(text: str, path: str, diagnostics: list[Diagnostic]) -> set[tuple[int, int]]:
    """Report each character of _HIDDEN (up to MAX_HIDDEN_REPORTED, the last saying how many
    more), located; give their (line, column), where the parser's own "unexpected character"
    is not reported again."""
    found = list(_HIDDEN.finditer(text))
    positions: set[tuple[int, int]] = set()
    if not found:
        return positions
    for index, match in enumerate(found[:MAX_HIDDEN_REPORTED]):
        code = ord(match.group())
        line = text.count("\n", 0, match.start()) + 1
        column = match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1
        name = _CONTROL_NAMES.get(code) or unicodedata.name(match.group(), "(a control character)")
        unlisted = len(found) - MAX_HIDDEN_REPORTED
        more = f" (and {unlisted} more in the file)" if index == MAX_HIDDEN_REPORTED - 1 and unlisted > 0 else ""
        positions.add((line, column))
        diagnostics.append(Diagnostic(
            ERROR, "hidden-character", f"the file holds U+{code:04X} {name}{more}",
            Span.point(path, line, column),
            "a terminal or an editor acts on this character or hides it, so the line may not be "
            "what it shows: remove it."))
    return positions



# ---------------------------------------------------------------- syntax error messages

_TERMINAL_NAMES = {
    "NAME": "a name",
    "STRING": "a string",
    "NUMBER": "a number",
    "DATE": "a date (YYYY-MM-DD)",
    "DOCSTRING": 'a """docstring"""',
    "COMPARE_OP": "a comparison (>=, >, <=, <, ==, !=)",
    "POLARITY": "'higher is better' or 'lower is better'",
    "LIMIT_DIRECTION": "'at most' or 'at least'",
    "$END": "end of file",
}


def _describe_terminal(name: str, grammar: lark.Lark) -> str:
    if name in _TERMINAL_NAMES:
        return _TERMINAL_NAMES[name]
    try:
        pattern = grammar.get_terminal(name).pattern
    except KeyError:
        return name.lower()
    return f"'{pattern.value}'" if pattern.type == "str" else name.lower()


def _describe_token(token: Token) -> str:
    if token.type == "$END":
        return "end of file"
    if token.type in ("NAME", "NUMBER", "DATE"):
        return f"{token.type.lower()} '{token.value}'"
    if token.type in ("STRING", "DOCSTRING"):
        return f"string {token.value}"
    return f"'{token.value}'"


def syntax_diagnostic(error: lark.exceptions.UnexpectedInput, path: str, text: str, grammar: lark.Lark) -> Diagnostic:
    line, column = max(error.line, 1), max(error.column, 1)
    if isinstance(error, lark.exceptions.UnexpectedCharacters):
        char = text[error.pos_in_stream] if error.pos_in_stream < len(text) else ""
        if char == '"':
            return Diagnostic(ERROR, "syntax", "unterminated string", Span.point(path, line, column),
                              'close the string with " on the same line.')
        return Diagnostic(ERROR, "syntax", f"unexpected character {char!r}", Span.point(path, line, column),
                          "remove it; `#` starts a comment, and text must be in double quotes.")
    token = getattr(error, "token", None)
    if token is not None and token.type == "STRING" and text.startswith('"""', token.start_pos):
        return Diagnostic(ERROR, "syntax", "unterminated docstring", Span.point(path, line, column, 3),
                          'close the docstring with """.')
    expected = sorted({_describe_terminal(t, grammar) for t in getattr(error, "expected", ()) or ()})
    if token is None or token.type == "$END":
        if token is not None and token.end_line is not None:
            line, column = token.end_line, token.end_column  # just after the last token
        else:
            lines = list(source_lines(text))
            if len(lines) > 1 and lines[-1] == "":
                lines.pop()  # after a final newline, the end is on the last line
            line, column = len(lines), len(lines[-1]) + 1
        message = "unexpected end of file"
        width = 1
    else:
        message = f"unexpected {_describe_token(token)}"
        width = len(str(token.value)) if token.end_line == token.line else 1
    hint = _expected_hint(expected)
    terminals = set(getattr(error, "expected", ()) or ())
    misplaced = _misplaced_let(token, terminals, text)
    if misplaced is not None:
        return Diagnostic(ERROR, "let-outside-function", "a local `let` can only be written in a function body",
                          Span.point(path, *misplaced, 3), LET_HELP)
    if token is not None and token.type == "RBRACE" and {"LET", "NAME"} <= terminals:
        hint = RESULT_HELP
    elif token is not None and token.type != "$END" and token.column == 1 and token.value in STATEMENT_KEYWORDS:
        hint = f"the statement before line {token.line} is incomplete: {hint}"
    return Diagnostic(ERROR, "syntax", message, Span.point(path, line, column, width), hint)


LET_HELP = ("a function body may hold lets before its result: `function f(x) { let y = x * 2  y + 1 }`; "
            "elsewhere, a `let` is a statement of its own, on a line of its own.")
RESULT_HELP = ("a function body ends with its result, after its lets. A line break does not end an "
               "expression, so a result starting with `-` or `(` continues the let above it: make the "
               "result a let of its own (`let result = -y`) and end the body with its name.")
_LET_BEFORE = re.compile(r"(?:^|[^A-Za-z0-9_])let[ \t]+\Z")


def _misplaced_let(token: Token | None, expected: set[str], text: str) -> tuple[int, int] | None:
    """Where a `let` stands that cannot (line, column): a `let` inside a block other than a
    function body, or a `let` read as a name (in an expression, a tier rule) just before the
    unexpected token."""
    if token is None or token.type == "$END":
        return None
    if token.value == "let" and "RBRACE" in expected and "LET" not in expected:
        return token.line, token.column
    if token.type == "NAME" and token.start_pos is not None:
        line_start = text.rfind("\n", 0, token.start_pos) + 1
        found = _LET_BEFORE.search(text, line_start, token.start_pos)
        if found is not None:
            at = text.index("let", found.start(), token.start_pos)
            return token.line, at - line_start + 1
    return None


def _expected_hint(expected: list[str]) -> str:
    if not expected:
        return "check the syntax against docs/language.md."
    if len(expected) == 1:
        return f"expected {expected[0]} here."
    shown = expected[:8]
    more = "" if len(expected) <= 8 else f" (or {len(expected) - 8} more)"
    return f"expected one of {', '.join(shown)}{more} here."
