"""Syntax tree → canonical text.

    format_module(module)              the canonical text of a tree (comments are not in the tree)
    format_source(text, path)          parse, then format, putting the comments back
    format_preserves_comments(text)    whether formatting the tree alone would keep every comment
    format_expr(expr)                  one expression on one line (for messages and reports)

For every tree the parser builds, `parse(format_module(tree)) == tree` and formatting is
idempotent. Each statement becomes a document that dsl.layout lays out (groups written flat
when they fit in LINE_WIDTH columns, else broken), so the layout is a function of the tree
alone: comments never change where lines break. dsl.comments puts the comments back. How names,
labels, strings, numbers and operators are written is dsl.text's, shared with dsl.printer.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence

import lark

from dsl import syntax as S
from dsl import text as X
from dsl.comments import SourceFacts, Unit, assemble, scan_source, verify
from dsl.layout import (
    INDENT,
    LINE_WIDTH,
    Align,
    Anchor,
    Doc,
    Group,
    IfBreak,
    Line,
    Mark,
    Nest,
    OutputLine,
    Text,
    cat,
    filled,
    layout,
)
from dsl.parser import parse
from dsl.text import KEYWORDS, FormatError, docstring, identifier, quote

LOWEST = X.LOWEST

# ================================================================ public functions


def format_module(module: S.Module) -> str:
    """The canonical text of a module. Comments are not part of the tree, so none are written."""
    return assemble(_module_units(module, SourceFacts()), [])


def format_source(text: str, path: str = "<string>", *, keep_comments: bool = True) -> str:
    """Parse `text` (raising TierError on syntax errors) and return its canonical text.

    With keep_comments (the default) every `#` comment is kept, attached to the statement,
    rule or case it precedes or ends. The result is checked to read back as the same tree with
    the same comments; FormatError is raised rather than returning text that would not.
    """
    module = parse(text, path)
    if not keep_comments:
        return format_module(module)
    facts = scan_source(text)
    output = assemble(_module_units(module, facts), facts.comments)
    verify(output, module, path, facts.comments)
    return output


def format_preserves_comments(text: str) -> bool:
    """False when `text` has `#` comments (outside strings), which format_module would drop."""
    try:
        return not scan_source(text).comments
    except lark.exceptions.LarkError:
        return "#" not in text  # unreadable: only a text without any `#` is surely comment-free


def format_expr(expr: S.Expr) -> str:
    """One expression as text on a single line, with the fewest parentheses."""
    return "".join(line.text for line in layout(_expr(expr), width=sys.maxsize))


# ================================================================ expressions


def _level(expr: S.Expr) -> int:
    match expr:
        case S.IfElse():
            return X.IF
        case S.Binary(op):
            return _binary_levels(op)[0]
        case S.Unary(op):
            return X.UNARY.get(op, X.ATOM)
        case S.IsMissing():
            return X.IS
        case S.Pick():
            return X.POSTFIX
    return X.ATOM


def _binary_levels(op: str) -> tuple[int, int, int]:
    if op not in X.BINARY:
        raise FormatError(f"unknown operator {op!r}")
    return X.BINARY[op]


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
            doc = cat("not ", _expr(operand, X.UNARY["not"]))
        case S.Unary("-", operand):
            inner = _expr(operand, X.UNARY["-"])
            doc = cat("- " if _starts_with_minus(operand) else "-", inner)
        case S.IsMissing(operand, negated):
            doc = cat(_expr(operand, X.IS_OPERAND), " is not missing" if negated else " is missing")
        case S.IfElse(condition, then, otherwise):
            doc = cat("if ", _expr(condition), " then ", _expr(then), " else ", _expr(otherwise))
        case S.ListExpr(items):
            doc = cat("[", Align(filled([_expr(item) for item in items])), "]")
        case S.Pick(operand, key):
            doc = cat(_expr(operand, X.PICK_OPERAND), " for ", quote(key))
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
    return X.written_number(number.text, number.value)


def label(label: S.Label) -> str:
    """Bare when it reads as a name and is no keyword of the language, else quoted."""
    return X.label(label.text)


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


def _module_units(module: S.Module, facts: SourceFacts) -> list[Unit]:
    units = []
    header = _header_lines(module.header, facts.header)
    if header:
        units.append(Unit(header, "header"))
    units += [_statement_unit(s) for s in module.statements]
    return units


def _header_lines(header: S.Header, anchors: dict[str, Anchor]) -> list[OutputLine]:
    lines: list[OutputLine] = []

    def add(key: str, text: str, takes_trailing: bool = True) -> None:
        mark = Mark(anchors.get(key), "header", takes_trailing)
        rows = text.split("\n")
        lines.append(OutputLine(rows[0], mark))
        lines.extend(OutputLine(row) for row in rows[1:])

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


def _statement_unit(statement: S.Statement) -> Unit:
    mark = Mark(_anchor(statement.span), "statement")
    doc, group = _statement_doc(statement)
    lines = layout(cat(mark, doc))
    if getattr(statement, "doc", None) is not None:
        lines += [OutputLine(row) for row in docstring(statement.doc).split("\n")]
    return Unit(lines, group)


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
            if statement.lets:
                return _function_block(head, statement), "function"
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
    return "".join(line.text for line in layout(_expr(value), width=sys.maxsize))


def _assignment(head: str, expr: S.Expr) -> Doc:
    """`head = expr`: a map or band breaks into cases; anything else first moves to the next
    line (indented), then breaks inside if it must."""
    if isinstance(expr, (S.MapExpr, S.BandExpr)):
        return cat(head, " = ", _expr(expr))
    return Group(cat(head, " =", Nest(INDENT, cat(Line(), _expr(expr)))))


def _function_block(head: str, decl: S.FunctionDecl) -> Doc:
    """`head {`, one `let` per line, the result, `}`. A line break does not end an expression, so a
    result starting with `-` or `(` would continue the last let: it is written in parentheses, and
    so is the last let's expression where `(` would make its last name a call."""
    lets = [_assignment(f"let {identifier(let.name)}", let.expr) for let in decl.lets]
    result = _expr(decl.body)
    if format_expr(decl.body).startswith(("-", "(")):
        result = cat("(", result, ")") if format_expr(decl.body).startswith("-") else result
        last = decl.lets[-1]
        if _ENDS_WITH_NAME.search(format_expr(last.expr)):
            lets[-1] = cat(f"let {identifier(last.name)} = (", _expr(last.expr), ")")
    items = [cat(Mark(_anchor(let.span), "item"), doc) for let, doc in zip(decl.lets, lets)]
    items.append(cat(Mark(_anchor(decl.body.span), "item"), result))
    spans = [let.span for let in decl.lets] + [decl.body.span]
    return _block(Text(head), items, _close_anchor(decl.span, spans))


_ENDS_WITH_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


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


__all__ = [
    "KEYWORDS", "LINE_WIDTH", "FormatError", "format_expr", "format_module", "format_preserves_comments",
    "format_source", "label", "number_text", "quote",
]
