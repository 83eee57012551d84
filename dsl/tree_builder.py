"""Lark's parse tree → syntax tree (dsl.syntax): the Transformer that only builds nodes.

As Lark's create_ast example: the grammar shapes the tree, and each method here builds the node
of one rule. It evaluates nothing; the few problems only a built node shows (a header line
given twice, a number too large for a float, `require` with a fraction) are added to the
parser's diagnostics. Used by dsl.parser.
"""

from __future__ import annotations

import math
from decimal import Decimal

from lark import Token, Transformer, v_args

from dsl import syntax as S
from dsl.errors import ERROR, Diagnostic, Span
from dsl.text import number_value, undoc, unquote


def _span(path: str, meta_or_token) -> Span | None:
    line = getattr(meta_or_token, "line", None)
    if line is None:
        return None
    return Span(path, line, meta_or_token.column, meta_or_token.end_line, meta_or_token.end_column)



def _written_nonzero(text: str) -> bool:
    try:
        return Decimal(text.rstrip("%")) != 0
    except ArithmeticError:
        return True



@v_args(meta=True)
class Builder(Transformer):
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
        lets = tuple(x for x in c[1:] if isinstance(x, S.LocalLet))
        body = next(x for x in c[1:] if x is not None and not isinstance(x, (Token, tuple, S.LocalLet)))
        return S.FunctionDecl(str(name), params, body, doc=self._opt(c, "doc"), lets=lets, span=self._s(meta),
                              name_span=self._tok(name))

    def local_let(self, meta, c):
        return S.LocalLet(str(c[0]), c[1], span=self._s(meta), name_span=self._tok(c[0]))

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
