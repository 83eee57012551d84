"""Syntax tree → canonical text.

    format_module(module)              the canonical text of a tree (comments are not in the tree)
    format_source(text, path)          parse, then format, putting the comments back
    format_preserves_comments(text)    whether formatting the tree alone would keep every comment
    format_expr(expr)                  one expression on one line (for messages and reports)

For every tree the parser builds, `parse(format_module(tree)) == tree` and formatting is
idempotent. Layout is decided by a small Wadler-style pretty printer (groups that are written
flat when they fit in LINE_WIDTH columns, else broken), so the layout is a function of the tree
alone: comments never change where lines break.

Comments are re-attached by source position: a comment on a line of its own goes before the
next statement, tier rule, test item or map/band case (or before the `}` of the block it is
in); a comment after code goes at the end of the output line that renders that code.
"""

from __future__ import annotations

import inspect
import re
import sys
import threading
from collections.abc import Sequence
from functools import cache

import attrs
import lark

from dsl import syntax as S
from dsl.errors import TierError
from dsl.parser import GRAMMAR, number_value, parse

LINE_WIDTH = 100
INDENT = 2

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _grammar_keywords() -> frozenset[str]:
    """Every word the grammar spells as a literal ("if", "score", ...)."""
    code = "\n".join(line for line in GRAMMAR.read_text(encoding="utf-8").splitlines()
                     if not line.lstrip().startswith("//"))
    return frozenset(re.findall(r'"([A-Za-z_][A-Za-z0-9_]*)"', code))


KEYWORDS = _grammar_keywords()


class FormatError(ValueError):
    """The tree cannot be written as text that reads back as the same tree."""


# ================================================================ public functions


def format_module(module: S.Module) -> str:
    """The canonical text of a module. Comments are not part of the tree, so none are written."""
    return _assemble(_module_units(module, _SourceFacts()), [])


def format_source(text: str, path: str = "<string>", *, keep_comments: bool = True) -> str:
    """Parse `text` (raising TierError on syntax errors) and return its canonical text.

    With keep_comments (the default) every `#` comment is kept, attached to the statement,
    rule or case it precedes or ends. The result is checked to read back as the same tree with
    the same comments; FormatError is raised rather than returning text that would not.
    """
    module = parse(text, path)
    if not keep_comments:
        return format_module(module)
    facts = _scan_source(text)
    output = _assemble(_module_units(module, facts), facts.comments)
    _verify(output, module, path, facts.comments)
    return output


def format_preserves_comments(text: str) -> bool:
    """False when `text` has `#` comments (outside strings), which format_module would drop."""
    try:
        return not _scan_source(text).comments
    except lark.exceptions.LarkError:
        return "#" not in text  # unreadable: only a text without any `#` is surely comment-free


def format_expr(expr: S.Expr) -> str:
    """One expression as text on a single line, with the fewest parentheses."""
    return "".join(line.text for line in _layout(_expr(expr), width=sys.maxsize))


# ================================================================ layout engine
# Documents: Text is written as is; Line is a line break, or `flat` when its group fits on the
# line; Group tries its contents flat; Nest indents the breaks inside it; Align indents them to
# the current column; Fill breaks only the separators that must break; Mark records which
# source construct starts the output line it lands on (for re-attaching comments).


@attrs.frozen
class Text:
    text: str


@attrs.frozen
class Line:
    flat: str = " "


@attrs.frozen
class Concat:
    parts: tuple


@attrs.frozen
class Nest:
    indent: int
    doc: object


@attrs.frozen
class Align:
    doc: object


@attrs.frozen
class Group:
    doc: object


@attrs.frozen
class Fill:
    parts: tuple  # content, separator, content, separator, ..., content


@attrs.frozen
class IfBreak:
    broken: str
    flat: str = ""


@attrs.frozen
class Anchor:
    """Where a construct was in the source: comments on these lines belong to it."""

    line: int
    column: int
    end_line: int

    def contains(self, line: int) -> bool:
        return self.line <= line <= self.end_line


@attrs.frozen
class Mark:
    anchor: Anchor | None
    kind: str  # "header", "statement", "item" (rule, test item), "case", "close" (a block's `}`)
    takes_trailing: bool = True


Doc = Text | Line | Concat | Nest | Align | Group | Fill | IfBreak | Mark

_FLAT, _BREAK = "flat", "break"


def cat(*parts: str | Doc) -> Concat:
    return Concat(tuple(Text(p) if isinstance(p, str) else p for p in parts))


def filled(items: Sequence[Doc]) -> Fill:
    """Items separated by ", ", as many on each line as fit."""
    parts: list[Doc] = []
    for i, item in enumerate(items):
        if i:
            parts.append(cat(",", Line()))
        parts.append(item)
    return Fill(tuple(parts))


@attrs.define
class _Line:
    text: str
    mark: Mark | None = None
    comments_before: list[_Comment] = attrs.Factory(list)
    comments_after: list[_Comment] = attrs.Factory(list)

    @property
    def anchor(self) -> Anchor | None:
        return self.mark.anchor if self.mark else None

    @property
    def indent(self) -> str:
        return self.text[: len(self.text) - len(self.text.lstrip(" "))]


def _layout(doc: Doc, width: int = LINE_WIDTH) -> list[_Line]:
    """Lay a document out in `width` columns (Wadler's algorithm, run on an explicit stack)."""
    lines = [_Line("")]
    stack: list[tuple[int, str, Doc]] = [(0, _BREAK, doc)]
    while stack:
        indent, mode, d = stack.pop()
        current = lines[-1]
        match d:
            case Text(text):
                current.text += text
            case Concat(parts):
                stack.extend((indent, mode, p) for p in reversed(parts))
            case Nest(extra, inner):
                stack.append((indent + extra, mode, inner))
            case Align(inner):
                stack.append((len(current.text), mode, inner))
            case Group(inner):
                fits = mode == _FLAT or _fits([(indent, _FLAT, inner)], stack, width - len(current.text))
                stack.append((indent, _FLAT if fits else _BREAK, inner))
            case Line(flat):
                if mode == _FLAT:
                    current.text += flat
                else:
                    current.text = current.text.rstrip(" ")
                    lines.append(_Line(" " * indent))
            case IfBreak(broken, flat):
                current.text += broken if mode == _BREAK else flat
            case Mark():
                if current.mark is None and not current.text.strip():
                    current.mark = d
            case Fill(parts):
                if mode == _FLAT:
                    stack.extend((indent, mode, p) for p in reversed(parts))
                else:
                    stack.extend(_fill_step(indent, parts, stack, width - len(current.text)))
    return lines


def _fill_step(indent: int, parts: tuple, rest: list, width: int) -> list[tuple[int, str, Doc]]:
    """The next commands for a broken Fill: its first item, and a separator broken only if the
    item after it does not fit on the line (the items after that stay a Fill)."""
    if not parts:
        return []
    content = parts[0]
    last = len(parts) == 1
    content_fits = _fits([(indent, _FLAT, content)], rest if last else [], width)
    content_cmd = (indent, _FLAT if content_fits else _BREAK, content)
    if last:
        return [content_cmd]
    separator, following = parts[1], parts[2]
    pair_last = len(parts) == 3
    pair_fits = _fits([(indent, _FLAT, Concat((content, separator, following)))], rest if pair_last else [], width)
    separator_mode = _FLAT if pair_fits else _BREAK
    return [(indent, _BREAK, Fill(parts[2:])), (indent, separator_mode, separator), content_cmd]


def _fits(commands: list, rest: list, width: int) -> bool:
    """Whether `commands`, then `rest` up to its next line break, fit in `width` columns."""
    pending = list(commands)
    rest_index = len(rest)
    while width >= 0:
        if not pending:
            if rest_index == 0:
                return True
            rest_index -= 1
            pending.append(rest[rest_index])
            continue
        indent, mode, d = pending.pop()
        match d:
            case Text(text):
                width -= len(text)
            case Concat(parts) | Fill(parts):
                pending.extend((indent, mode, p) for p in reversed(parts))
            case Nest(_, inner) | Align(inner) | Group(inner):
                pending.append((indent, mode, inner))
            case Line(flat):
                if mode == _BREAK:
                    return True
                width -= len(flat)
            case IfBreak(broken, flat):
                width -= len(broken if mode == _BREAK else flat)
    return False


# ================================================================ expressions

LOWEST = 0  # the level of `if ... then ... else ...`: anything can stand there
_ATOM = 11

# Binding levels, loosest first (see the expression rules in grammar.lark):
# if 0 < or 1 < and 2 < not 3 < comparison 4 < is missing 5 < + - 6 < * / 7 < unary - 8 < ^ 9
# < x for "KEY" 10 < atoms 11. Each entry: (level of the node, least level of its left operand,
# least level of its right operand).
_BINARY = {
    "or": (1, 1, 2),
    "and": (2, 2, 3),
    **{op: (4, 5, 5) for op in ("==", "!=", "<", "<=", ">", ">=")},  # not associative
    "+": (6, 6, 7),
    "-": (6, 6, 7),
    "*": (7, 7, 8),
    "/": (7, 7, 8),
    "^": (9, 10, 8),  # right-associative, and its right operand may be negated: 2 ^ -x
}
_UNARY = {"not": 3, "-": 8}


def _level(expr: S.Expr) -> int:
    match expr:
        case S.IfElse():
            return LOWEST
        case S.Binary(op):
            return _binary_levels(op)[0]
        case S.Unary(op):
            return _UNARY.get(op, _ATOM)
        case S.IsMissing():
            return 5
        case S.Pick():
            return 10
    return _ATOM


def _binary_levels(op: str) -> tuple[int, int, int]:
    if op not in _BINARY:
        raise FormatError(f"unknown operator {op!r}")
    return _BINARY[op]


def _expr(expr: S.Expr, least: int = LOWEST) -> Doc:
    """The document for `expr`, in parentheses if it binds looser than `least`."""
    match expr:
        case S.Number():
            doc: Doc = Text(number_text(expr))
        case S.String(value):
            doc = Text(quote(value))
        case S.Boolean(value):
            doc = Text("true" if value else "false")
        case S.Name(name):
            doc = Text(identifier(name))
        case S.Binary(op, left, right):
            _, left_least, right_least = _binary_levels(op)
            doc = cat(_expr(left, left_least), f" {op} ", _expr(right, right_least))
        case S.Unary("not", operand):
            doc = cat("not ", _expr(operand, _UNARY["not"]))
        case S.Unary("-", operand):
            inner = _expr(operand, _UNARY["-"])
            doc = cat("- " if _starts_with_minus(operand) else "-", inner)
        case S.IsMissing(operand, negated):
            doc = cat(_expr(operand, 6), " is not missing" if negated else " is missing")
        case S.IfElse(condition, then, otherwise):
            doc = cat("if ", _expr(condition), " then ", _expr(then), " else ", _expr(otherwise))
        case S.ListExpr(items):
            doc = cat("[", Align(filled([_expr(item) for item in items])), "]")
        case S.Pick(operand, key):
            doc = cat(_expr(operand, _ATOM), " for ", quote(key))
        case S.Call():
            doc = _call(expr)
        case S.MapExpr() | S.BandExpr():
            doc = _cases(expr)
        case _:
            raise FormatError(f"not an expression: {expr!r}")
    return cat("(", doc, ")") if _level(expr) < least else doc


def _starts_with_minus(expr: S.Expr) -> bool:
    """`- -x` rather than `--x`, which reads like a typo."""
    while True:
        match expr:
            case S.Unary("-"):
                return True
            case S.Number():
                return number_text(expr).startswith("-")
            case S.Binary(op, left) if _level(left) >= _binary_levels(op)[1]:
                expr = left
            case S.IsMissing(operand) | S.Pick(operand) if _level(operand) >= _level(expr) + 1:
                expr = operand
            case _:
                return False


def _call(call: S.Call) -> Doc:
    arguments = [_argument(a) for a in call.arguments]
    over = f" over {identifier(call.over)}" if call.over is not None else ""
    return cat(identifier(call.function), "(", Align(filled(arguments)), ")" + over)


def _argument(argument: S.Argument) -> Doc:
    match argument:
        case S.Weighted(value, weight):
            return cat(_expr(value), ": ", _expr(weight))
        case S.Polarity(direction):
            return Text(f"{direction} is better")
        case S.Within(group):
            return Text(f"within {identifier(group)}")
        case S.SkipMissing():
            return Text("skip missing")
        case S.Require(count):
            return Text(f"require {count}")
        case S.Normalise():
            return Text("normalise")
        case S.Method(name):
            return Text(f"method: {name}" if name.isdigit() else f'method: "{name}"')
        case S.MeasuresArg(measures, group):
            return Text(f"measures {identifier(measures)}" + (f" group {identifier(group)}" if group else ""))
    return _expr(argument)


def _cases(expr: S.MapExpr | S.BandExpr) -> Doc:
    """`map s { k: v, ... }` flat when it fits, else one case per line (with a trailing comma)."""
    keyword = "map" if isinstance(expr, S.MapExpr) else "band"
    cases = [_case(c) for c in expr.cases]
    body: list[Doc] = []
    for i, (case, doc) in enumerate(zip(expr.cases, cases)):
        body += [Line(), Mark(_anchor(case.span), "case"), doc, "," if i < len(cases) - 1 else IfBreak(",")]
    return Group(cat(
        f"{keyword} ", _expr(expr.subject), " {",
        Nest(INDENT, cat(*body)),
        Line(), Mark(_close_anchor(expr.span, [c.span for c in expr.cases]), "close"), "}",
    ))


def _case(case: S.MapCase | S.BandCase) -> Doc:
    if isinstance(case, S.MapCase):
        key = "otherwise" if case.key is None else _map_key(case.key)
        return cat(key, ": ", _expr(case.value))
    if case.op is None:
        return cat("otherwise: ", _expr(case.value))
    return cat(case.op, " ", _expr(case.threshold), ": ", _expr(case.value))


def _map_key(key: S.Expr) -> str:
    match key:
        case S.Name(name):
            return identifier(name)
        case S.String(value):
            return quote(value)
        case S.Number():
            return number_text(key)
        case S.Boolean(value):
            return "true" if value else "false"
    raise FormatError(f"a map key must be a name, text, number or boolean, not {key!r}")


# ================================================================ small pieces


def number_text(number: S.Number) -> str:
    """As written (`0.800`, `25%`), unless the text does not match the value."""
    if number.text:
        try:
            if number_value(number.text) == number.value:
                return number.text
        except (ValueError, ArithmeticError):
            pass
    return repr(float(number.value))


def quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


def identifier(name: str) -> str:
    if not _IDENTIFIER.fullmatch(name):
        raise FormatError(f"{name!r} is not a name")
    return name


def label(label: S.Label) -> str:
    """Bare when it reads as a name and is no keyword of the language, else quoted."""
    text = label.text
    return text if _IDENTIFIER.fullmatch(text) and text not in KEYWORDS else quote(text)


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


def _type(type_ref: S.TypeRef) -> str:
    match type_ref:
        case S.NumberType():
            return "number"
        case S.BooleanType():
            return "boolean"
        case S.TextType():
            return "text"
        case S.LevelTypeExpr(labels, not_rated):
            spellings = f" missing {', '.join(label(x) for x in not_rated)}" if not_rated else ""
            return "level " + " < ".join(label(x) for x in labels) + spellings
        case S.NamedType(name):
            return identifier(name)
    raise FormatError(f"not a type: {type_ref!r}")


def _range(bounds: S.Range | None) -> str:
    return f" range {number_text(bounds.low)}..{number_text(bounds.high)}" if bounds else ""


def _param_range(bounds: S.Range | S.Normal | S.OneOf | None) -> str:
    """A param's range: `range lo..hi`, `range normal(mean, sd)` or `one of [a, b]`."""
    if isinstance(bounds, S.Normal):
        return f" range normal({number_text(bounds.mean)}, {number_text(bounds.sd)})"
    if isinstance(bounds, S.OneOf):
        return f" one of [{', '.join(_literal(option) for option in bounds.options)}]"
    return _range(bounds)


def _display(display: str | None) -> str:
    return f" {quote(display)}" if display is not None else ""


def _anchor(span) -> Anchor | None:
    return Anchor(span.line, span.column, span.end_line) if span else None


def _close_anchor(span, item_spans: Sequence) -> Anchor | None:
    """The lines from after a block's last item to its end (its `}`, and a docstring after it)."""
    if span is None or any(s is None for s in item_spans):
        return None
    after = max((s.end_line for s in item_spans), default=span.line) + 1
    return Anchor(after, 0, span.end_line)


# ================================================================ statements


@attrs.define
class _Unit:
    """Output lines of the header, one statement, or the comments at the end of the file."""

    lines: list[_Line]
    group: str | None = None  # consecutive one-line statements of one group share a paragraph
    one_line: bool = attrs.field(init=False)  # before comments are put in
    commented: bool = False  # comments go before its first line

    def __attrs_post_init__(self) -> None:
        self.one_line = len(self.lines) == 1


@attrs.frozen
class _Comment:
    line: int
    column: int
    text: str
    trailing: bool  # after code on its line
    after_blank: bool = False  # the source line before it is blank


@attrs.define
class _SourceFacts:
    """What the tree does not keep: comments, and where the header lines were."""

    comments: list[_Comment] = attrs.Factory(list)
    header: dict[str, Anchor] = attrs.Factory(dict)


def _module_units(module: S.Module, facts: _SourceFacts) -> list[_Unit]:
    units = []
    header = _header_lines(module.header, facts.header)
    if header:
        units.append(_Unit(header, "header"))
    units += [_statement_unit(s) for s in module.statements]
    return units


def _header_lines(header: S.Header, anchors: dict[str, Anchor]) -> list[_Line]:
    lines: list[_Line] = []

    def add(key: str, text: str, takes_trailing: bool = True) -> None:
        mark = Mark(anchors.get(key), "header", takes_trailing)
        rows = text.split("\n")
        lines.append(_Line(rows[0], mark))
        lines.extend(_Line(row) for row in rows[1:])

    if header.name is not None:
        add("methodology", f"methodology {quote(header.name)}")
    if header.version is not None:
        add("version", f"version {quote(header.version)}")
    if header.effective is not None:
        add("effective", f"effective {header.effective}")
    if header.entity is not None:
        add("entity", _entity_text(header.entity, header.within, header.key, header.label))
    for i, more in enumerate(header.more_entities, start=1):
        add(f"entity:{i}", _entity_text(more.name, more.within, more.key, more.label))
    if header.extends is not None:
        add("extends", f"extends {quote(header.extends)}")
    if header.library is not None:
        add("library", f"library {quote(header.library)}")
    if header.doc is not None:
        written = docstring(header.doc)
        add("doc", written, takes_trailing="\n" not in written)
    return lines


def _entity_text(name: str, within: tuple[str, ...], key: str | None, shown: str | None) -> str:
    text = f"entity {identifier(name)}" + "".join(f" within {identifier(w)}" for w in within)
    if key is not None:
        text += f" key {identifier(key)}"
    return text + (f" label {identifier(shown)}" if shown is not None else "")


def _per(level: str | None) -> str:
    return f" per {identifier(level)}" if level is not None else ""


def _statement_unit(statement: S.Statement) -> _Unit:
    mark = Mark(_anchor(statement.span), "statement")
    doc, group = _statement_doc(statement)
    lines = _layout(cat(mark, doc))
    if getattr(statement, "doc", None) is not None:
        lines += [_Line(row) for row in docstring(statement.doc).split("\n")]
    return _Unit(lines, group)


def _statement_doc(statement: S.Statement) -> tuple[Doc, str | None]:
    """The statement's document, and the group of statements it is listed with."""
    match statement:
        case S.TypeDecl(name, level):
            return Text(f"type {identifier(name)} = {_type(level)}"), "type"
        case S.InputDecl():
            return Text(_input_text(statement)), "input"
        case S.ParamDecl(name, value, bounds):
            return Text(f"param {identifier(name)} = {_literal(value)}{_param_range(bounds)}"), "param"
        case S.Definition(kind, name, expr, display):
            if kind not in ("indicator", "domain", "score", "let"):
                raise FormatError(f"unknown definition kind {kind!r}")
            head = f"{kind} {identifier(name)}{_display(display)}{_per(statement.per)}"
            return _assignment(head, expr), kind
        case S.FunctionDecl(name, params, body):
            head = f"function {identifier(name)}({', '.join(identifier(p) for p in params)})"
            return _assignment(head, body), "function"
        case S.TierDecl():
            return _tier_doc(statement), None
        case S.TableDecl():
            return _table_doc(statement), None
        case S.MeasuresDecl():
            return _measures_doc(statement), None
        case S.LimitDecl(tier, direction, limit_label, condition):
            if direction not in ("at most", "at least"):
                raise FormatError(f"unknown limit direction {direction!r}")
            head = f"limit {identifier(tier)} to {direction} {label(limit_label)} when "
            return cat(head, _expr(condition)), "limit"
        case S.TestDecl():
            return _test_doc(statement), None
    raise FormatError(f"not a statement: {statement!r}")


def _input_text(decl: S.InputDecl) -> str:
    text = f"input {identifier(decl.name)}: {_type(decl.type)}{_display(decl.display)}"
    if decl.column is not None:
        text += f" from {quote(decl.column)}"
    text += _range(decl.range)
    return text + (" required" if decl.required else "") + (" optional" if decl.optional else "") + _per(decl.per)


def _literal(value: S.Expr) -> str:
    """A param's value: a number (perhaps negative), text, true/false or a level label."""
    if isinstance(value, S.Number):
        return number_text(value)
    return "".join(line.text for line in _layout(_expr(value), width=sys.maxsize))


def _assignment(head: str, expr: S.Expr) -> Doc:
    """`head = expr`: a map or band breaks into cases; anything else first moves to the next
    line (indented), then breaks inside if it must."""
    if isinstance(expr, (S.MapExpr, S.BandExpr)):
        return cat(head, " = ", _expr(expr))
    return Group(cat(head, " =", Nest(INDENT, cat(Line(), _expr(expr)))))


def _tier_doc(tier: S.TierDecl) -> Doc:
    head = f"tier {identifier(tier.name)}{_display(tier.display)}{_per(tier.per)}"
    if tier.type is not None:
        head += f": {_type(tier.type)}"
    source = cat(" from ", _expr(tier.source)) if tier.source is not None else cat()
    prefixes = [f"{label(rule.label)}:" for rule in tier.rules]
    if tier.missing_label is not None:
        prefixes.append("missing:")
    width = max((len(p) for p in prefixes), default=0) + 1
    items: list[Doc] = []
    for prefix, rule in zip(prefixes, tier.rules):
        items.append(cat(Mark(_anchor(rule.span), "item"), prefix.ljust(width), _condition(rule.condition)))
    if tier.missing_label is not None:
        items.append(cat(Mark(_anchor(tier.missing_label.span), "item"), "missing:".ljust(width),
                         label(tier.missing_label)))
    item_spans = [r.span for r in tier.rules] + ([tier.missing_label.span] if tier.missing_label else [])
    return _block(cat(head, source), items, _close_anchor(tier.span, item_spans))


def _table_doc(table: S.TableDecl) -> Doc:
    keys = ", ".join(f"{identifier(k.name)}: {_table_domain(k.domain)}" for k in table.keys)
    head = f"table {identifier(table.name)}{_display(table.display)}{' ' if table.display else ''}({keys})"
    prefixes = [", ".join(_map_key(k) for k in row.keys) + ":" for row in table.rows]
    width = max((len(p) for p in prefixes), default=0) + 1
    items = [cat(Mark(_anchor(row.span), "item"), prefix.ljust(width), _expr(row.value))
             for prefix, row in zip(prefixes, table.rows)]
    return _block(Text(head), items, _close_anchor(table.span, [r.span for r in table.rows]))


def _measures_doc(table: S.MeasuresDecl) -> Doc:
    head = f"measures {identifier(table.name)}{_display(table.display)}"
    prefixes = [f"{identifier(row.name)}:" for row in table.rows]
    width = max((len(p) for p in prefixes), default=0) + 1
    items = [cat(Mark(_anchor(row.span), "item"), prefix.ljust(width), ", ".join(_measure_attr(a) for a in row.attrs))
             for prefix, row in zip(prefixes, table.rows)]
    return _block(Text(head), items, _close_anchor(table.span, [r.span for r in table.rows]))


def _measure_attr(attr: S.MeasureAttr) -> str:
    match attr.kind:
        case "weight":
            return f"weight {_literal(attr.value)}"
        case "direction":
            return f"{attr.value} is better"
        case "group":
            return f"group {identifier(attr.value)}"
        case "treatment":
            return f"treated by {identifier(attr.value)}"
    raise FormatError(f"unknown measure attribute {attr.kind!r}")


def _table_domain(domain) -> str:
    if isinstance(domain, S.Range):
        return f"{number_text(domain.low)}..{number_text(domain.high)}"
    return _type(domain)


def _condition(condition: S.Condition) -> Doc:
    match condition:
        case S.Threshold(op, value):
            return cat(op, " ", _expr(value))
        case S.RankCut(direction, count, within):
            return Text(f"{direction} {number_text(count)}" + (f" within {identifier(within)}" if within else ""))
        case S.Otherwise():
            return Text("otherwise")
    return _expr(condition)


def _test_doc(test: S.TestDecl) -> Doc:
    items = [cat(Mark(_anchor(item.span), "item"), _test_item(item)) for item in test.items]
    return _block(Text(f"test {quote(test.name)}"), items, _close_anchor(test.span, [i.span for i in test.items]))


def _test_item(item: S.TestItem) -> Doc:
    match item:
        case S.GivenData(path, level):
            return Text(f"given data {identifier(level) + ' ' if level else ''}{quote(path)}")
        case S.GivenValues(values):
            given = [cat(identifier(v.name), " = ", _expr(v.value)) for v in values]
            return cat("given ", Align(filled(given)))
        case S.Expect(expr):
            return cat("expect ", _expr(expr))
    raise FormatError(f"not a test item: {item!r}")


def _block(head: Doc, items: list[Doc], close: Anchor | None) -> Doc:
    body = [cat(Line(), item) for item in items]
    return cat(head, " {", Nest(INDENT, cat(*body)), Line(), Mark(close, "close"), "}")


# ================================================================ comments


class _TokenSink(threading.local):
    tokens: list | None = None


_SINK = _TokenSink()
_RECORDED = ("COMMENT", "DOCSTRING", "METHODOLOGY", "VERSION", "EFFECTIVE", "ENTITY", "EXTENDS", "LIBRARY")


def _record(token: lark.Token) -> lark.Token:
    if _SINK.tokens is not None:
        _SINK.tokens.append(token)
    return token


@cache
def _recording_lark() -> lark.Lark:
    """The language's grammar, with the lexer reporting comments and header keywords (the
    parser's own tree keeps neither)."""
    return lark.Lark(GRAMMAR.read_text(encoding="utf-8"), parser="lalr",
                     lexer_callbacks={name: _record for name in _RECORDED})


def _scan_source(text: str) -> _SourceFacts:
    work = text
    if work.startswith("\ufeff"):
        work = " " + work.lstrip("\ufeff")  # as the parser does: columns stay true
    _SINK.tokens = []
    try:
        _recording_lark().parse(work)
        tokens = _SINK.tokens
    finally:
        _SINK.tokens = None
    source_lines = work.split("\n")
    facts = _SourceFacts()
    for token in tokens:
        if token.type == "COMMENT":
            before = source_lines[token.line - 1][: token.column - 1]
            after_blank = token.line > 1 and not source_lines[token.line - 2].strip()
            facts.comments.append(_Comment(token.line, token.column, token.value.rstrip(), bool(before.strip()),
                                           after_blank))
    facts.header = _header_anchors(tokens)
    return facts


def _header_anchors(tokens: list[lark.Token]) -> dict[str, Anchor]:
    """Source positions of the header lines. Header keywords appear nowhere else; the first
    docstring is the header's when the header has one (the others follow statements)."""
    keys = {"METHODOLOGY": "methodology", "VERSION": "version", "EFFECTIVE": "effective",
            "ENTITY": "entity", "EXTENDS": "extends", "LIBRARY": "library", "DOCSTRING": "doc"}
    anchors: dict[str, Anchor] = {}
    entities = 0
    for token in tokens:
        if token.type == "COMMENT":
            continue
        key = keys[token.type]
        if key == "entity":  # every entity line has its own anchor: entity, entity:1, entity:2...
            key = f"entity:{entities}" if entities else key
            entities += 1
        if key in anchors:
            continue
        anchors[key] = Anchor(token.line, token.column, token.end_line)
    return anchors


def _assemble(units: list[_Unit], comments: list[_Comment]) -> str:
    """Put the comments in, then join the units: a blank line between statements, except
    within a run of one-line statements of the same group."""
    end_comments = _attach_comments([line for unit in units for line in unit.lines], comments)
    for unit in units:
        unit.commented = bool(unit.lines[0].comments_before)
        unit.lines = _with_comment_lines(unit.lines)
    if end_comments:
        units.append(_Unit([_Line(c.text) for c in end_comments]))
    out: list[str] = []
    previous: _Unit | None = None
    for unit in units:
        if previous is not None and not _same_paragraph(previous, unit):
            out.append("")
        out += [line.text for line in unit.lines]
        previous = unit
    return "\n".join(out) + "\n" if out else ""


def _same_paragraph(previous: _Unit, unit: _Unit) -> bool:
    return (unit.group is not None and unit.group == previous.group and unit.group != "header"
            and previous.one_line and unit.one_line and not unit.commented)


def _attach_comments(lines: list[_Line], comments: list[_Comment]) -> list[_Comment]:
    """Record on each output line the comments that go before it and at its end; return those
    that go at the end of the file."""
    anchored = [(i, line.anchor) for i, line in enumerate(lines) if line.anchor is not None]
    at_end: list[_Comment] = []
    for comment in comments:
        if comment.trailing:
            target = _trailing_target(anchored, comment.line, lines)
        else:
            target = _leading_target(anchored, comment.line)
        if target is None:
            at_end.append(comment)
        elif comment.trailing:
            lines[target].comments_after.append(comment)
        else:
            lines[target].comments_before.append(comment)
    return at_end


def _innermost(anchored: list[tuple[int, Anchor]], line: int) -> tuple[int, Anchor] | None:
    holding = [(i, a) for i, a in anchored if a.contains(line)]
    return max(holding, key=lambda ia: (ia[1].line, ia[1].column, -ia[1].end_line, -ia[0]), default=None)


def _trailing_target(anchored: list[tuple[int, Anchor]], line: int, lines: list[_Line]) -> int | None:
    """The output line rendering the innermost construct that holds the comment's line (or the
    construct before it)."""
    candidates = [(i, a) for i, a in anchored if lines[i].mark.takes_trailing]
    inner = _innermost(candidates, line)
    if inner is not None:
        return inner[0]
    before = [(i, a) for i, a in candidates if a.line <= line]
    if before:
        return max(before, key=lambda ia: (ia[1].line, ia[1].column, -ia[0]))[0]
    return candidates[0][0] if candidates else None


def _leading_target(anchored: list[tuple[int, Anchor]], line: int) -> int | None:
    """The output line of the next construct; but a comment inside a construct (between two lines
    of one expression, say) stays with it rather than moving past its end."""
    inner = _innermost(anchored, line)
    following = [(i, a) for i, a in anchored if a.line > line]
    nearest = min(following, key=lambda ia: (ia[1].line, ia[1].column, ia[0]), default=None)
    if inner is not None and (nearest is None or nearest[1].line > inner[1].end_line):
        return inner[0]
    return nearest[0] if nearest is not None else None


def _with_comment_lines(lines: list[_Line]) -> list[_Line]:
    out: list[_Line] = []
    follows_opening = True  # the previous line's code opens a block (or there is none)
    for line in lines:
        before, after = line.comments_before, line.comments_after
        if before:
            kind = line.mark.kind if line.mark else None
            indent = line.indent + (" " * INDENT if kind == "close" else "")
            if kind == "item" and not follows_opening:
                out.append(_Line(""))  # an item with its own comments starts a paragraph
            for position, comment in enumerate(before):
                if position and comment.after_blank:
                    out.append(_Line(""))  # comment paragraphs stay apart, as written
                out.append(_Line(indent + comment.text))
        follows_opening = line.text.endswith("{")
        if after:
            line.text = "  ".join([line.text] + [c.text for c in after])
        out.append(line)
    return out


def _verify(output: str, module: S.Module, path: str, comments: list[_Comment]) -> None:
    """The formatter's promise, checked: same tree, same comments."""
    try:
        same_tree = parse(output, path) == module
    except TierError:
        same_tree = False
    if not same_tree:
        raise FormatError(f"{path}: formatting would change the meaning of the file; it was left as is")
    kept = _comment_words(_scan_source(output).comments)
    if kept != _comment_words(comments):
        raise FormatError(f"{path}: formatting would lose or change comments; it was left as is")


def _comment_words(comments: list[_Comment]) -> list[str]:
    # Two trailing comments of one output line are written as one, so compare their pieces.
    return sorted(piece.strip() for c in comments for piece in c.text.split("#") if piece.strip())


__all__ = [
    "KEYWORDS", "LINE_WIDTH", "FormatError", "format_expr", "format_module", "format_preserves_comments",
    "format_source", "label", "number_text", "quote",
]
