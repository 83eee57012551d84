"""How the Tier language is written: names and labels, keywords, strings and docstrings, numbers
and the binding strength of operators.

One module for both writers, so that they cannot disagree: the formatter (dsl.formatter, syntax
tree → canonical text) and the printer (dsl.printer, checked model → text). The parser reads
strings and docstrings back with `unquote` and `undoc`, the inverses of `quote` and `docstring`.
"""

from __future__ import annotations

import inspect
import math
import re
from pathlib import Path

from dsl.errors import METHODOLOGY, TierlangError
from dsl.numbers import decimal_value

GRAMMAR = Path(__file__).with_name("grammar.lark")
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class FormatError(TierlangError, ValueError):
    """The tree cannot be written as text that reads back as the same tree."""

    stage = METHODOLOGY


# ================================================================ keywords


def _grammar_keywords() -> frozenset[str]:
    """Every word the grammar spells as a literal ("if", "score", ...)."""
    code = "\n".join(line for line in GRAMMAR.read_text(encoding="utf-8").splitlines()
                     if not line.lstrip().startswith("//"))
    return frozenset(re.findall(r'"([A-Za-z_][A-Za-z0-9_]*)"', code))


# Every word of the grammar: the formatter writes a label spelled like one in quotes.
KEYWORDS = _grammar_keywords()

# The words that start a statement (at the start of a line, they always do: dsl.parser).
STATEMENT_KEYWORDS = (
    "methodology", "version", "effective", "entity", "extends", "library", "type", "input", "param",
    "indicator", "domain", "score", "let", "function", "tier", "limit", "test", "table",
    "measures",
)

# Words that start or continue an expression: a definition with such a name could never be used.
RESERVED_WORDS = frozenset({
    "and", "or", "not", "if", "then", "else", "is", "missing", "map", "band", "true", "false", "for",
    "otherwise", "within", "skip", "require", "normalise", "normalize", "method",
})

# The printer quotes a label spelled like a reserved word, and also like the words of options
# and rank cuts, so that a printed expression never reads like one.
QUOTED_IN_EXPRESSIONS = RESERVED_WORDS | {"higher", "lower", "better", "top", "bottom"}


def identifier(name: str) -> str:
    if not IDENTIFIER.fullmatch(name):
        raise FormatError(f"{name!r} is not a name")
    return name


def label(text: str, keywords: frozenset[str] = KEYWORDS) -> str:
    """Bare when it reads as a name and is none of `keywords`, else quoted."""
    return text if IDENTIFIER.fullmatch(text) and text not in keywords else quote(text)


# ================================================================ strings and docstrings

_UNESCAPED = {"n": "\n", "t": "\t"}


def quote(text: str) -> str:
    """Text in double quotes, as a string literal reads it back (`unquote`)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


def unquote(text: str) -> str:
    """The text a string literal (with its quotes) stands for."""
    return re.sub(r"\\(.)", lambda m: _UNESCAPED.get(m.group(1), m.group(1)), text[1:-1])


_DOCSTRING_TOKEN = re.compile(r'"""(.|\n)*?"""')


def docstring(doc: str) -> str:
    """`\"\"\"doc\"\"\"` when it is one line; a longer text (or one that starts or ends with a quote)
    goes on lines of its own between the quotes, so that it reads back as the same text."""
    inline, own_lines = f'"""{doc}"""', f'"""\n{doc}\n"""'
    for written in (own_lines, inline) if "\n" in doc else (inline, own_lines):
        token = _DOCSTRING_TOKEN.match(written)
        if token and token.end() == len(written) and inspect.cleandoc(written[3:-3]) == doc:
            return written
    raise FormatError(f"the docstring {doc!r} cannot be written (it holds three quotes, or tabs)")


def undoc(text: str) -> str:
    """The text a docstring (with its quotes) stands for."""
    body = text[3:-3].replace("\r\n", "\n").replace("\r", "\n")  # the same text whatever the line endings
    return inspect.cleandoc(body)


# ================================================================ numbers


def number_value(text: str) -> float:
    """`25%` is 0.25; decimals are read exactly, then taken to the nearest float (dsl.numbers,
    the one number reader of the language, data cells and `--param`)."""
    percent = text.endswith("%")
    return decimal_value(text[:-1] if percent else text, percent)


def float_text(value: float) -> str:
    """Shortest text that reads back as the same number."""
    value = float(value)
    if math.isfinite(value) and value == int(value) and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


def written_number(text: str, value: float) -> str:
    """A number literal as written (`0.800`, `25%`), unless that text is not `value`."""
    if text:
        try:
            if number_value(text) == value:
                return text
        except (ValueError, ArithmeticError):
            pass
    return float_text(value)


# ================================================================ precedence
# Binding levels, loosest first (the expression rules of grammar.lark): an operand binding looser
# than its place needs is written in parentheses.

IF = 0  # `if ... then ... else ...`: anything can stand there
OR, AND, NOT, COMPARE, IS, SUM, PRODUCT, NEGATE, POWER, POSTFIX, ATOM = range(1, 12)
LOWEST = IF

COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
# Each binary operator: (level of the node, least level of its left operand, least level of its right).
BINARY = {
    "or": (OR, OR, AND),
    "and": (AND, AND, NOT),
    **{op: (COMPARE, IS, IS) for op in COMPARISONS},  # not associative
    "+": (SUM, SUM, PRODUCT),
    "-": (SUM, SUM, PRODUCT),
    "*": (PRODUCT, PRODUCT, NEGATE),
    "/": (PRODUCT, PRODUCT, NEGATE),
    "^": (POWER, POSTFIX, NEGATE),  # right-associative, and its right operand may be negated: 2 ^ -x
}
UNARY = {"not": NOT, "-": NEGATE}
IS_OPERAND = SUM  # `x is missing`: x binds at least as tightly as `+`
PICK_OPERAND = ATOM  # `x for "KEY"`: x is an atom


def parenthesised(text: str, level: int, least: int) -> str:
    """`text` (of an expression binding at `level`) in parentheses if its place needs `least`."""
    return f"({text})" if level < least else text
