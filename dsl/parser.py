"""Source text → syntax tree (dsl.syntax). Lark parses; the Transformer only builds nodes.

Syntax errors are reported all at once: after an error the offending top-level statement is
blanked out (newlines kept, so positions stay true) and parsing starts again.
"""

from __future__ import annotations

import inspect
import math
import re
import unicodedata
from decimal import Decimal
from functools import cache
from pathlib import Path

import attrs
import lark
from lark import Token, Transformer, v_args

from dsl import syntax as S
from dsl.errors import ERROR, INVISIBLE_CHARACTERS, Diagnostic, Span, TierError, source_lines
from dsl.numbers import decimal_value

GRAMMAR = Path(__file__).with_name("grammar.lark")
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

STATEMENT_KEYWORDS = (
    "methodology", "version", "effective", "entity", "extends", "library", "type", "input", "param",
    "indicator", "domain", "score", "let", "function", "tier", "limit", "test", "table",
    "measures",
)
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
    hidden = _refuse_hidden_characters(work, path, diagnostics)
    for _ in range(MAX_SYNTAX_ERRORS):
        try:
            tree = _lark().parse(work)
        except lark.exceptions.UnexpectedInput as error:
            found = _syntax_diagnostic(error, path, work)
            if (found.span.line, found.span.column) not in hidden:  # already reported as hidden
                diagnostics.append(found)
            blanked = _blank_statement_at(work, error)
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
            module = _Builder(path, diagnostics).transform(tree)
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


def _refuse_hidden_characters(text: str, path: str, diagnostics: list[Diagnostic]) -> set[tuple[int, int]]:
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


def _too_deep(path: str) -> Diagnostic:
    return Diagnostic(ERROR, "too-deep", "expressions are nested too deeply to read", Span.point(path, 1, 1),
                      "split the expression into named definitions.")


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


def _describe_terminal(name: str) -> str:
    if name in _TERMINAL_NAMES:
        return _TERMINAL_NAMES[name]
    try:
        pattern = _lark().get_terminal(name).pattern
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


def _syntax_diagnostic(error: lark.exceptions.UnexpectedInput, path: str, text: str) -> Diagnostic:
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
    expected = sorted({_describe_terminal(t) for t in getattr(error, "expected", ()) or ()})
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
    if token is not None and token.type != "$END" and token.column == 1 and token.value in STATEMENT_KEYWORDS:
        hint = f"the statement before line {token.line} is incomplete: {hint}"
    return Diagnostic(ERROR, "syntax", message, Span.point(path, line, column, width), hint)


def _expected_hint(expected: list[str]) -> str:
    if not expected:
        return "check the syntax against docs/language.md."
    if len(expected) == 1:
        return f"expected {expected[0]} here."
    shown = expected[:8]
    more = "" if len(expected) <= 8 else f" (or {len(expected) - 8} more)"
    return f"expected one of {', '.join(shown)}{more} here."


def _blank_statement_at(text: str, error: lark.exceptions.UnexpectedInput) -> str:
    """Replace the top-level statement holding the error by spaces (newlines kept)."""
    starts = [m.start() for m in _STATEMENT_START.finditer(text)]
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
        # next one is kept (it may well be fine).
        after = [before.pop()]
    begin = before[-1] if before else 0
    end = after[0] if after else len(text)
    if begin == end:
        end = len(text)
    chunk = re.sub(r"[^\n]", " ", text[begin:end])
    return text[:begin] + chunk + text[end:]


# ---------------------------------------------------------------- tree building


def _span(path: str, meta_or_token) -> Span | None:
    line = getattr(meta_or_token, "line", None)
    if line is None:
        return None
    return Span(path, line, meta_or_token.column, meta_or_token.end_line, meta_or_token.end_column)


def number_value(text: str) -> float:
    """`25%` is 0.25; decimals are read exactly, then taken to the nearest float (dsl.numbers,
    the one number reader of the language, data cells and `--param`)."""
    percent = text.endswith("%")
    return decimal_value(text[:-1] if percent else text, percent)


def _written_nonzero(text: str) -> bool:
    try:
        return Decimal(text.rstrip("%")) != 0
    except ArithmeticError:
        return True


def unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def undoc(text: str) -> str:
    body = text[3:-3].replace("\r\n", "\n").replace("\r", "\n")  # the same text whatever the line endings
    return inspect.cleandoc(body)


@v_args(meta=True)
class _Builder(Transformer):
    """Builds dsl.syntax nodes; evaluates nothing."""

    def __init__(self, path: str, diagnostics: list[Diagnostic]):
        super().__init__()
        self.path = path
        self.diagnostics = diagnostics

    def _s(self, meta):
        return _span(self.path, meta)

    def _tok(self, token):
        return _span(self.path, token)

    # -- module and header
    def start(self, meta, children):
        header_items = [c for c in children if isinstance(c, tuple) and c and c[0] == "header"]
        statements = tuple(c for c in children if not (isinstance(c, tuple) and c and c[0] == "header"))
        fields: dict = {}
        spans: dict = {}
        for _, key, value, span in header_items:
            if key == "entity" and key in fields:  # further levels: entity service within location
                continue
            if key in fields and key != "entity_clause":
                self.diagnostics.append(Diagnostic(
                    ERROR, "duplicate-header", f"'{key}' is given twice in the header", span,
                    f"keep one '{key}' line."))
                continue
            fields[key] = value
            spans[key] = span
        entity = fields.pop("entity", None)
        entity_lines = [(value, span) for _, kind, value, span in header_items if kind == "entity"]
        more = tuple(S.EntityDecl(name, within, key, label, span=span)
                     for (name, key, label, within), span in entity_lines[1:])
        header = S.Header(
            name=fields.get("methodology"),
            version=fields.get("version"),
            effective=fields.get("effective"),
            entity=entity[0] if entity else None,
            key=entity[1] if entity else None,
            label=entity[2] if entity else None,
            within=entity[3] if entity else (),
            more_entities=more,
            doc=fields.get("doc"),
            extends=fields.get("extends"),
            library=fields.get("library"),
            span=self._s(meta) if header_items else None,
            extends_span=spans.get("extends"),
            library_span=spans.get("library"),
            entity_span=spans.get("entity"),
        )
        return S.Module(header, statements, path=self.path, span=self._s(meta))

    def methodology_name(self, meta, c):
        return ("header", "methodology", unquote(c[0]), self._s(meta))

    def version(self, meta, c):
        return ("header", "version", unquote(c[0]), self._s(meta))

    def effective(self, meta, c):
        return ("header", "effective", str(c[0]), self._s(meta))

    def extends(self, meta, c):
        return ("header", "extends", unquote(c[0]), self._s(meta))

    def library(self, meta, c):
        return ("header", "library", unquote(c[0]), self._s(meta))

    def docstring(self, meta, c):
        return ("header", "doc", undoc(c[0]), self._s(meta))

    def entity(self, meta, c):
        key = label = None
        within: list[str] = []
        for clause in c[1:]:
            kind, value, span = clause
            if kind == "within":
                within.append(value)
            elif (kind == "key" and key is not None) or (kind == "label" and label is not None):
                self.diagnostics.append(Diagnostic(ERROR, "duplicate-header", f"'{kind}' is given twice", span,
                                                   f"keep one '{kind}'."))
            elif kind == "key":
                key = value
            else:
                label = value
        return ("header", "entity", (str(c[0]), key, label, tuple(within)), self._s(meta))

    def entity_within(self, meta, c):
        return ("within", str(c[0]), self._s(meta))

    def entity_key(self, meta, c):
        return ("key", str(c[0]), self._s(meta))

    def entity_label(self, meta, c):
        return ("label", str(c[0]), self._s(meta))

    # -- small pieces
    def display(self, meta, c):
        return ("display", unquote(c[0]))

    def doc(self, meta, c):
        return ("doc", undoc(c[0]))

    def _label(self, token) -> S.Label:
        text = unquote(token) if token.type == "STRING" else str(token)
        return S.Label(text, span=self._tok(token))

    @staticmethod
    def _opt(children, key):
        for c in children:
            if isinstance(c, tuple) and c and c[0] == key:
                return c[1]
        return None

    # -- types
    def level_type(self, meta, c):
        not_rated = next((x[1] for x in c if isinstance(x, tuple) and x and x[0] == "not_rated"), ())
        labels = tuple(self._label(t) for t in c if not isinstance(t, tuple))
        return S.LevelTypeExpr(labels, not_rated, span=self._s(meta))

    def level_not_rated(self, meta, c):
        return ("not_rated", tuple(self._label(t) for t in c))

    def number_type(self, meta, c):
        return S.NumberType(span=self._s(meta))

    def boolean_type(self, meta, c):
        return S.BooleanType(span=self._s(meta))

    def text_type(self, meta, c):
        return S.TextType(span=self._s(meta))

    def named_type(self, meta, c):
        return S.NamedType(str(c[0]), span=self._s(meta))

    def type_decl(self, meta, c):
        return S.TypeDecl(str(c[0]), c[1], doc=self._opt(c, "doc"), span=self._s(meta), name_span=self._tok(c[0]))

    # -- inputs and params
    def from_column(self, meta, c):
        return ("from", unquote(c[0]))

    def range(self, meta, c):
        return ("range", S.Range(c[0], c[1], span=self._s(meta)))

    def param_range(self, meta, c):
        return ("range", S.Range(c[0], c[1], span=self._s(meta)))

    def param_normal(self, meta, c):
        return ("range", S.Normal(c[0], c[1], span=self._s(meta)))

    def param_one_of(self, meta, c):
        return ("range", S.OneOf(tuple(x for x in c if x is not None), span=self._s(meta)))

    def required(self, meta, c):
        return ("required", True)

    def optional(self, meta, c):
        return ("optional", True)

    def per_level(self, meta, c):
        return ("per", str(c[0]), self._tok(c[0]))

    @staticmethod
    def _per(children):
        for c in children:
            if isinstance(c, tuple) and c and c[0] == "per":
                return c[1], c[2]
        return None, None

    def input_decl(self, meta, c):
        return S.InputDecl(
            str(c[0]), c[1],
            display=self._opt(c, "display"),
            column=self._opt(c, "from"),
            range=self._opt(c, "range"),
            required=bool(self._opt(c, "required")),
            doc=self._opt(c, "doc"),
            per=self._per(c)[0],
            optional=bool(self._opt(c, "optional")),
            span=self._s(meta), name_span=self._tok(c[0]), per_span=self._per(c)[1],
        )

    def param_decl(self, meta, c):
        return S.ParamDecl(str(c[0]), c[1], range=self._opt(c[2:], "range"), doc=self._opt(c, "doc"),
                           span=self._s(meta), name_span=self._tok(c[0]))

    # -- definitions
    def def_kind(self, meta, c):
        return str(c[0])

    def definition(self, meta, c):
        kind, name = c[0], c[1]
        display = self._opt(c[2:3], "display")
        expr = next(x for x in c[2:] if not isinstance(x, tuple) and x is not None)
        per, per_span = self._per(c[2:])
        return S.Definition(kind, str(name), expr, display=display, doc=self._opt(c, "doc"), per=per,
                            span=self._s(meta), name_span=self._tok(name), per_span=per_span)

    def table_decl(self, meta, c):
        name = c[0]
        keys = tuple(x for x in c[1:] if isinstance(x, S.TableKey))
        rows = tuple(x for x in c[1:] if isinstance(x, S.TableRow))
        return S.TableDecl(str(name), keys, rows, display=self._opt(c, "display"), doc=self._opt(c, "doc"),
                           span=self._s(meta), name_span=self._tok(name))

    def table_key(self, meta, c):
        return S.TableKey(str(c[0]), c[1], span=self._s(meta))

    def table_range(self, meta, c):
        return S.Range(c[0], c[1], span=self._s(meta))

    def table_row(self, meta, c):
        keys = tuple(S.String(unquote(k), span=self._tok(k)) if isinstance(k, Token) and k.type == "STRING" else
                     S.Name(str(k), span=self._tok(k)) if isinstance(k, Token) else k for k in c[:-1])
        return S.TableRow(keys, c[-1], span=self._s(meta))

    def measures_decl(self, meta, c):
        name = c[0]
        rows = tuple(x for x in c[1:] if isinstance(x, S.MeasureRow))
        return S.MeasuresDecl(str(name), rows, display=self._opt(c, "display"), doc=self._opt(c, "doc"),
                              span=self._s(meta), name_span=self._tok(name))

    def measure_row(self, meta, c):
        return S.MeasureRow(str(c[0]), tuple(c[1:]), span=self._s(meta), name_span=self._tok(c[0]))

    def measure_weight(self, meta, c):
        return S.MeasureAttr("weight", c[0], span=self._s(meta))

    def measure_weight_param(self, meta, c):
        return S.MeasureAttr("weight", S.Name(str(c[0]), span=self._tok(c[0])), span=self._s(meta))

    def measure_direction(self, meta, c):
        return S.MeasureAttr("direction", str(c[0]).split()[0], span=self._s(meta))

    def measure_group(self, meta, c):
        return S.MeasureAttr("group", str(c[0]), span=self._s(meta))

    def measure_treatment(self, meta, c):
        return S.MeasureAttr("treatment", str(c[0]), span=self._s(meta))

    def measures_argument(self, meta, c):
        return S.MeasuresArg(str(c[0]), str(c[1]) if len(c) > 1 and c[1] is not None else None, span=self._s(meta))

    def function_decl(self, meta, c):
        name = c[0]
        params = tuple(str(p) for p in c[1:] if isinstance(p, Token) and p.type == "NAME")
        body = next(x for x in c[1:] if x is not None and not isinstance(x, (Token, tuple)))
        return S.FunctionDecl(str(name), params, body, doc=self._opt(c, "doc"), span=self._s(meta),
                              name_span=self._tok(name))

    # -- tiers and limits
    def tier_type(self, meta, c):
        return ("type", c[0])

    def tier_from(self, meta, c):
        return ("from", c[0])

    def tier_rule(self, meta, c):
        return S.TierRule(self._label(c[0]), c[1], span=self._s(meta))

    def tier_missing(self, meta, c):
        return ("missing", self._label(c[0]))

    def threshold(self, meta, c):
        return S.Threshold(str(c[0]), c[1], span=self._s(meta))

    def top(self, meta, c):
        return S.RankCut("top", self._number(c[0]), str(c[1]) if len(c) > 1 else None, span=self._s(meta))

    def bottom(self, meta, c):
        return S.RankCut("bottom", self._number(c[0]), str(c[1]) if len(c) > 1 else None, span=self._s(meta))

    def otherwise(self, meta, c):
        return S.Otherwise(span=self._s(meta))

    def rule_condition(self, meta, c):
        return c[0]

    def tier_decl(self, meta, c):
        name = c[0]
        rules = tuple(x for x in c[1:] if isinstance(x, S.TierRule))
        missing = [x[1] for x in c[1:] if isinstance(x, tuple) and x[0] == "missing"]
        for extra in missing[1:]:
            self.diagnostics.append(Diagnostic(ERROR, "duplicate-missing", "the tier says `missing:` twice",
                                               extra.span, "keep one `missing:` line."))
        return S.TierDecl(
            str(name), rules,
            display=self._opt(c[1:], "display"),
            type=self._opt(c[1:], "type"),
            source=self._opt(c[1:], "from"),
            missing_label=missing[0] if missing else None,
            doc=self._opt(c[1:], "doc"),
            per=self._per(c[1:])[0],
            span=self._s(meta), name_span=self._tok(name), per_span=self._per(c[1:])[1],
        )

    def limit_decl(self, meta, c):
        tier, direction, label, condition = c[0], c[1], c[2], c[3]
        return S.LimitDecl(str(tier), " ".join(str(direction).split()), self._label(label), condition,
                           doc=self._opt(c, "doc"), span=self._s(meta), tier_span=self._tok(tier))

    # -- tests
    def test_decl(self, meta, c):
        return S.TestDecl(unquote(c[0]), tuple(c[1:]), span=self._s(meta))

    def given_data(self, meta, c):
        level = str(c[0]) if len(c) > 1 else None
        return S.GivenData(unquote(c[-1]), level=level, span=self._s(meta))

    def given_values(self, meta, c):
        return S.GivenValues(tuple(c), span=self._s(meta))

    def given_value(self, meta, c):
        return S.GivenValue(str(c[0]), c[1], span=self._s(meta))

    def expect(self, meta, c):
        return S.Expect(c[0], span=self._s(meta))

    # -- expressions
    def _number(self, token) -> S.Number:
        value = number_value(str(token))
        if math.isinf(value):
            self.diagnostics.append(Diagnostic(
                ERROR, "number-too-large", f"the number {token} is too large", self._tok(token),
                "numbers are 64-bit floats: at most about 1.8e308 in size."))
        elif value == 0 and _written_nonzero(str(token)):
            self.diagnostics.append(Diagnostic(
                ERROR, "number-too-small", f"the number {token} is too small: it would be read as 0",
                self._tok(token), "numbers are 64-bit floats: write 0, or a number above 1e-308 in size."))
        return S.Number(value, str(token), span=self._tok(token))

    def number(self, meta, c):
        return self._number(c[0])

    def negative_number(self, meta, c):
        n = self._number(c[0])
        return S.Number(-n.value, "-" + n.text, span=self._s(meta))

    def string(self, meta, c):
        return S.String(unquote(c[0]), span=self._s(meta))

    def true(self, meta, c):
        return S.Boolean(True, span=self._s(meta))

    def false(self, meta, c):
        return S.Boolean(False, span=self._s(meta))

    def name(self, meta, c):
        return S.Name(str(c[0]), span=self._s(meta))

    def call(self, meta, c):
        args = tuple(a for a in c[1:] if a is not None)
        return S.Call(str(c[0]), args, span=self._s(meta), name_span=self._tok(c[0]))

    def call_over(self, meta, c):
        args = tuple(a for a in c[1:-1] if a is not None)
        return S.Call(str(c[0]), args, over=str(c[-1]), span=self._s(meta), name_span=self._tok(c[0]),
                      over_span=self._tok(c[-1]))

    def list(self, meta, c):
        return S.ListExpr(tuple(x for x in c if x is not None), span=self._s(meta))

    def map_expr(self, meta, c):
        return S.MapExpr(c[0], tuple(c[1:]), span=self._s(meta))

    def map_case(self, meta, c):
        key = c[0]
        if isinstance(key, Token):
            key = S.String(unquote(key), span=self._tok(key)) if key.type == "STRING" else S.Name(
                str(key), span=self._tok(key))
        return S.MapCase(key, c[1], span=self._s(meta))

    def map_otherwise(self, meta, c):
        return S.MapCase(None, c[0], span=self._s(meta))

    def band_expr(self, meta, c):
        return S.BandExpr(c[0], tuple(c[1:]), span=self._s(meta))

    def band_case(self, meta, c):
        return S.BandCase(str(c[0]), c[1], c[2], span=self._s(meta))

    def band_otherwise(self, meta, c):
        return S.BandCase(None, None, c[0], span=self._s(meta))

    def weighted_argument(self, meta, c):
        return S.Weighted(c[0], c[1], span=self._s(meta))

    def polarity(self, meta, c):
        return S.Polarity(str(c[0]).split()[0], span=self._s(meta))

    def within(self, meta, c):
        return S.Within(str(c[0]), span=self._s(meta))

    def skip_missing(self, meta, c):
        return S.SkipMissing(span=self._s(meta))

    def require(self, meta, c):
        value = number_value(str(c[0]))
        if not float(value).is_integer() or value < 0 or str(c[0]).endswith("%"):
            self.diagnostics.append(Diagnostic(ERROR, "bad-require", f"`require` needs a whole number, not {c[0]}",
                                               self._tok(c[0]), "write e.g. `require 2`."))
            value = 0
        return S.Require(int(value), span=self._s(meta))

    def normalise(self, meta, c):
        return S.Normalise(span=self._s(meta))

    def method_option(self, meta, c):
        token = c[0]
        return S.Method(unquote(token) if token.type == "STRING" else str(token), span=self._s(meta))

    def if_expr(self, meta, c):
        return S.IfElse(c[0], c[1], c[2], span=self._s(meta))

    def _binary(op):
        def build(self, meta, c):
            return S.Binary(op, c[0], c[1], span=self._s(meta))

        return build

    or_op = _binary("or")
    and_op = _binary("and")
    add = _binary("+")
    sub = _binary("-")
    mul = _binary("*")
    div = _binary("/")
    power = _binary("^")

    def compare(self, meta, c):
        return S.Binary(str(c[1]), c[0], c[2], span=self._s(meta))

    def not_op(self, meta, c):
        return S.Unary("not", c[0], span=self._s(meta))

    def neg(self, meta, c):
        return S.Unary("-", c[0], span=self._s(meta))

    def is_missing(self, meta, c):
        return S.IsMissing(c[0], False, span=self._s(meta))

    def is_not_missing(self, meta, c):
        return S.IsMissing(c[0], True, span=self._s(meta))

    def pick(self, meta, c):
        return S.Pick(c[0], unquote(c[1]), span=self._s(meta))
