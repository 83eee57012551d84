"""Syntax highlighting for the Tier language: the words to highlight, and a Pygments lexer.

The words come from the language itself, never from a list kept here: every keyword is a word
that dsl/grammar.lark spells as a literal (dsl.text.KEYWORDS), statement keywords are the
parser's (dsl.text.STATEMENT_KEYWORDS) and built-in functions are dsl/builtins.py's. The
TextMate grammar of the VS Code extension (editors/vscode/generate.py) is generated from the
same WORDS, so the two highlighters and the grammar cannot drift apart.

    pygmentize -l tier methodologies/stp_dashboard_2017.tier
"""

from __future__ import annotations

import attrs
from pygments.lexer import RegexLexer, bygroups, words
from pygments.token import (
    Comment,
    Keyword,
    Literal,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Whitespace,
)

from dsl.builtins import BUILTINS
from dsl.text import KEYWORDS, STATEMENT_KEYWORDS

CONSTANTS = ("true", "false")
TYPES = ("number", "boolean", "text", "level")
# Statement keywords followed by the name the statement defines (the others are followed by text).
NAMING_STATEMENTS = (
    "type",
    "input",
    "param",
    "indicator",
    "domain",
    "score",
    "let",
    "function",
    "tier",
    "entity",
    "limit",
)

# Regular expressions shared by the Pygments lexer and the TextMate grammar (both engines read
# this subset the same way). The grammar's own terminals, written out: a test compares them.
IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"
NUMBER = r"\d+(?:\.\d+)?(?:[eE][+-]?\d+)?%?"
DATE = r"\d{4}-\d{2}-\d{2}"
COMMENT = r"#[^\n]*"
# The grammar's two keyword phrases (terminals LIMIT_DIRECTION and POLARITY).
PHRASES = (r"at[ \t]+(?:most|least)\b", r"(?:higher|lower)[ \t]+is[ \t]+better\b")
OPERATORS = ("..", ">=", "<=", "==", "!=", ">", "<", "=", "+", "-", "*", "/", "^")
PUNCTUATION = "()[]{},:"


@attrs.frozen
class Words:
    """The words of the language, by how they are highlighted."""

    statements: tuple[str, ...]  # start a statement at the beginning of a line
    naming: tuple[str, ...]  # the statements among them that are followed by a name
    constants: tuple[str, ...]
    types: tuple[str, ...]
    keywords: tuple[str, ...]  # every other word of the grammar, anywhere
    builtins: tuple[str, ...]  # built-in functions, before `(`

    def all_keywords(self) -> frozenset[str]:
        return frozenset((*self.statements, *self.constants, *self.types, *self.keywords))


def language_words() -> Words:
    statements = tuple(STATEMENT_KEYWORDS)
    special = set(statements) | set(CONSTANTS) | set(TYPES)
    return Words(
        statements=statements,
        naming=tuple(w for w in statements if w in NAMING_STATEMENTS),
        constants=CONSTANTS,
        types=tuple(t for t in TYPES if t in KEYWORDS),
        keywords=tuple(sorted(KEYWORDS - special)),
        builtins=tuple(sorted(BUILTINS)),
    )


WORDS = language_words()


class TierLexer(RegexLexer):
    """The Tier language (tierlang methodologies)."""

    name = "Tier"
    aliases = ["tier", "tierlang"]
    filenames = ["*.tier"]
    mimetypes = ["text/x-tier"]
    url = "https://github.com/tierlang/tierlang"

    tokens = {
        "root": [
            (r"[ \t\r\f\n]+", Whitespace),
            (COMMENT, Comment.Single),
            (r'"""(?:.|\n)*?"""', String.Doc),
            (r'"(?:\\.|[^"\\\n])*"', String.Double),
            (DATE, Literal.Date),
            (NUMBER, Number),
            (
                rf"(?m)^({'|'.join(WORDS.naming)})([ \t]+)({IDENTIFIER})",
                bygroups(Keyword.Declaration, Whitespace, Name.Entity),
            ),
            (rf"(?m)^(?:{'|'.join(WORDS.statements)})\b", Keyword.Declaration),
            *[(phrase, Keyword) for phrase in PHRASES],
            (words(WORDS.constants, suffix=r"\b"), Keyword.Constant),
            (words(WORDS.types, suffix=r"\b"), Keyword.Type),
            (words(WORDS.keywords, suffix=r"\b"), Keyword),
            (words(WORDS.builtins, suffix=r"(?=[ \t]*\()"), Name.Builtin),
            (IDENTIFIER, Name),
            (words(OPERATORS), Operator),
            ("[" + "".join("\\" + c for c in PUNCTUATION) + "]", Punctuation),
        ],
    }
