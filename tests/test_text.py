"""dsl.text: the one way names, labels, strings, numbers and operators are written, shared by
the formatter (syntax tree → text) and the printer (checked model → text)."""

from __future__ import annotations

import pytest

from dsl import model as M
from dsl import syntax as S
from dsl import text as X
from dsl import types as T
from dsl.checker import check_source
from dsl.formatter import format_expr
from dsl.parser import parse
from dsl.printer import Printer, label_text

HEAD = 'methodology "m"\nentity org key id\ninput a: number\ninput b: number\ninput c: number\ninput t: text\n'


def printed(expr_text: str) -> str:
    methodology = check_source(HEAD + f"let x = {expr_text}\n")
    node = next(n for n in methodology.nodes if n.name == "x")
    return Printer().text(node.expr)


def formatted(expr_text: str) -> str:
    statement = parse(HEAD + f"let x = {expr_text}\n").statements[-1]
    return format_expr(statement.expr)


@pytest.mark.parametrize("written", [
    "(a + b) * c", "a - (b - c)", "a - b - c", "a ^ b ^ c", "(a ^ b) ^ c", "2 ^ -a", "-(a + b)",
    "not (a > 1 and b > 1) or c > 1", "(a + b) is missing", "if a > b then a else b",
    "(if a > 1 then a else b) + 1", "a / (b * c)", 't == "say \\"hi\\""', 'max(a, b) for "X1"',
])
def test_the_printer_and_the_formatter_write_an_expression_alike(written):
    # one precedence table and one string quoting: the checked model prints as the tree formats
    assert printed(written) == formatted(written)


def test_a_printed_text_with_a_newline_reads_back_as_the_same_text():
    # The printer once wrote a newline or a tab inside quotes as it is: text that no longer reads as a
    # string. It now quotes as the formatter does (dsl.text.quote).
    text = Printer().text(M.Const("line one\nline\ttwo", T.text()))
    assert text == '"line one\\nline\\ttwo"'
    assert parse(f"let x = {text}\n").statements[0].expr == S.String("line one\nline\ttwo")


def test_quote_and_unquote_are_inverse():
    for text in ["", "plain", 'say "hi"', "back\\slash", "a\nb\tc", "\\n"]:
        assert X.unquote(X.quote(text)) == text


def test_labels_are_quoted_where_a_word_of_the_language_would_be_read():
    assert X.label("good") == "good"
    assert X.label("score") == '"score"'  # every word of the grammar, for the formatter
    assert label_text("score") == "score"  # in an expression `score` reads as a name
    assert label_text("otherwise") == '"otherwise"'
    assert label_text("two words") == '"two words"'


def test_numbers_without_their_written_text_are_written_shortest():
    assert X.written_number("", 3.0) == "3"
    assert X.written_number("25%", 0.25) == "25%"
    assert X.written_number("0.800", 0.8) == "0.800"
    assert X.written_number("7", 8.0) == "8"  # a text that is not the value is not used
