"""Typing and name resolution: syntax expressions → resolved, typed model expressions.

Used by dsl.checker, statement by statement in dependency order. Every problem is appended
to the shared diagnostics list; a sub-expression that could not be resolved gets the
`error` type, which is compatible with everything so that one mistake is reported once.
"""

from __future__ import annotations

import math
from pathlib import Path

import attrs

from dsl import builtins as B
from dsl import model as M
from dsl import syntax as S
from dsl import types as T
from dsl.constants import WeightSum, fold
from dsl.errors import ERROR, WARNING, Diagnostic, Span, did_you_mean, source_lines
from dsl.parser import MAX_NESTING
from dsl.paths import PathRefused, methodology_root, resolve_reference
from dsl.tree import children

ERROR_TYPE = T.Type("error")
COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
ORDERINGS = ("<", "<=", ">", ">=")
ARITHMETIC = ("+", "-", "*", "/", "^")
MAX_FUNCTION_DEPTH = 32
# parts (names, operators, calls, constants) of one call of a user function once expanded:
# functions are expanded inline, so one that uses a parameter twice doubles its argument
MAX_EXPANDED_NODES = 100_000


def is_error(t: T.Type | None) -> bool:
    return t is not None and t.base == "error"


@attrs.define
class Symbols:
    level_types: dict = attrs.Factory(dict)  # named level types
    type_spans: dict = attrs.Factory(dict)
    statements: dict = attrs.Factory(dict)  # node name -> (statement, file)
    functions: dict = attrs.Factory(dict)  # name -> FunctionDecl
    broken: set = attrs.Factory(set)  # names of statements lost to syntax errors (already reported)
    levels: object = None  # dsl.levels.Levels: the entity levels (None when the header has none)
    levels_failed: bool = False  # the header's entity lines had errors (already reported)


@attrs.frozen
class Ctx:
    file: str
    deps: list  # names of nodes referenced, in first-use order (shared, mutable)
    env: tuple = ()  # ((param name, syntax argument, caller Ctx), ...) inside a user function
    functions: tuple[str, ...] = ()  # user functions being expanded
    allow_pick: bool = True

    def lookup(self, name: str):
        for param, argument, caller in self.env:
            if param == name:
                return argument, caller
        return None


# ---------------------------------------------------------------- syntactic helpers


def _term_name(value) -> str | None:
    """The name a weighted term is known by: `x`, and also `-x`, `f(x)` (a measure's treatment)."""
    while isinstance(value, (S.Unary, S.Call)):
        value = value.operand if isinstance(value, S.Unary) else (value.arguments[0] if len(value.arguments) == 1
                                                                  else None)
    return value.name if isinstance(value, S.Name) else None


def names_in(root, functions: dict) -> set[str]:
    """Every bare name a statement or expression mentions, following user functions' bodies
    (minus their parameters) and `within` groups. Iterative: safe for deep trees."""
    found: set[str] = set()
    stack = [(root, frozenset())]
    expanded: set[str] = set()
    while stack:
        node, bound = stack.pop()
        if isinstance(node, S.Name):
            if node.name not in bound:
                found.add(node.name)
        elif isinstance(node, S.Within):
            found.add(node.group)
        elif isinstance(node, S.RankCut) and node.within is not None:
            found.add(node.within)
        elif isinstance(node, S.Call) and node.function in functions and node.function not in expanded:
            expanded.add(node.function)
            decl = functions[node.function]
            stack.append((decl.body, frozenset(decl.params)))
        if isinstance(node, (S.LevelTypeExpr, S.NamedType, S.Label)):
            continue
        stack.extend((child, bound) for child in children(node))
    return found


def source_slice(text: str, span: Span | None) -> str:
    if span is None:
        return ""
    lines = source_lines(text)
    if not 1 <= span.line <= len(lines):
        return ""
    if span.line == span.end_line:
        return lines[span.line - 1][span.column - 1:span.end_column - 1]
    parts = [lines[span.line - 1][span.column - 1:]]
    parts += lines[span.line:span.end_line - 1]
    if span.end_line <= len(lines):
        parts.append(lines[span.end_line - 1][:span.end_column - 1])
    return "\n".join(parts)


def _item(t: T.Type) -> T.Type:
    return t.item.as_scalar(t.scalar) if t.base == T.LIST and t.item else t


# ---------------------------------------------------------------- the resolver


class Resolver:
    def __init__(self, symbols: Symbols, diagnostics: list[Diagnostic], texts: dict[str, str]):
        self.symbols = symbols
        self.diagnostics = diagnostics
        self.texts = texts
        self.types: dict[str, T.Type] = {}  # resolved node types
        self.param_values: dict[str, object] = {}
        self.definitions: dict[str, M.Expr] = {}  # scalar definitions, for the constant folder
        self.current: str | None = None  # the statement being resolved
        self.list_lengths: dict[str, int] = {}
        self.levels: list[T.LevelType] = list(symbols.level_types.values())
        self._depth = 0  # expressions being resolved, one inside the other
        self._too_deep_reported = False
        self._outer_calls: list[Span] = []  # user-function calls written in the statement itself
        self._expanded = 0  # expression parts resolved within the current outer call
        self._too_large_reported = False

    def error(self, code, message, span, hint=None, notes=()):
        self.diagnostics.append(Diagnostic(ERROR, code, message, span, hint, tuple(notes)))

    def warning(self, code, message, span, hint=None):
        self.diagnostics.append(Diagnostic(WARNING, code, message, span, hint))

    def text_of(self, file: str, span: Span | None) -> str:
        return source_slice(self.texts.get(file, ""), span)

    def group(self, name: str, span, ctx) -> bool:
        """`within NAME`: the groups are the distinct values of an input or definition with one
        text, level, boolean or number value per entity (a computed peer group may depend on
        params, so it may differ between the samples of a sensitivity analysis)."""
        entry = self.symbols.statements.get(name)
        if entry is None or not isinstance(entry[0], (S.InputDecl, S.Definition, S.TierDecl)):
            candidates = [n for n, (s, _) in self.symbols.statements.items()
                          if isinstance(s, (S.InputDecl, S.Definition, S.TierDecl))]
            suggestion = did_you_mean(name, candidates)
            what = "not defined" if entry is None else f"a {_statement_kind(entry[0])}"
            self.error("bad-group", f"`within {name}`: a group is an input or a definition with one value per "
                       f"entity, and '{name}' is {what}", span, f"did you mean '{suggestion}'?" if suggestion else
                       "declare the grouping column as an input, e.g. `input region: text`, or define it, e.g. "
                       "`let peer_group = count(reported)`.")
            return False
        t = self.types.get(name)
        if t is None:
            return False  # in a cycle or unresolved: reported there
        if is_error(t):
            return False
        if t.scalar or t.base == T.LIST:
            self.error("bad-group", f"`within {name}`: '{name}' is {t}, which does not give each entity a group",
                       span, "group by a value with one text, level, boolean or number per entity.")
            return False
        ctx.deps.append(name)
        return True

    # ------------------------------------------------------------ statements → nodes

    def constant(self, expr: M.Expr) -> float | None:
        """The value of a constant number expression (dsl.constants) at the declared params;
        None when it is not one."""
        return fold(expr, self.param_values, self.definitions)

    def node(self, statement, file: str) -> M.Node | None:
        self.current = statement.name
        if isinstance(statement, S.InputDecl):
            node = self._input(statement, file)
        elif isinstance(statement, S.ParamDecl):
            node = self._param(statement, file)
        elif isinstance(statement, S.Definition):
            node = self._definition(statement, file)
        else:
            node = self._tier(statement, file)
        self.types[node.name] = node.type
        return node

    def _common(self, statement, file: str) -> dict:
        return dict(
            name=statement.name,
            label=getattr(statement, "display", None),
            doc=statement.doc,
            source_text=self.text_of(file, statement.span),
            span=statement.name_span,
        )

    def _input(self, decl: S.InputDecl, file: str) -> M.Node:
        kind = self._type_ref(decl.type, decl.name)
        value_range = None
        if decl.range is not None:
            if kind.base != T.NUMBER:
                self.error("range-not-number", f"input '{decl.name}' is {kind}: only number inputs take a range",
                           decl.range.span, "remove the range.")
            else:
                value_range = self._range(decl.range)
        if decl.optional and decl.required:
            self.error("optional-required", f"input '{decl.name}' is both `optional` and `required`", decl.span,
                       "an optional input's column may be absent; a required one's cells must all be filled: "
                       "keep one.")
        return M.Node(kind=M.INPUT, type=kind, deps=(), column=decl.column or decl.name, range=value_range,
                      required=decl.required, optional=decl.optional, **self._common(decl, file))

    def _range(self, r: S.Range) -> tuple[float, float] | None:
        if r.low.value > r.high.value:
            self.error("bad-range", f"the range {r.low.text}..{r.high.text} is empty: its low end is above its high end",
                       r.span, "write the smaller bound first.")
            return None
        return (r.low.value, r.high.value)

    def _type_ref(self, ref, owner: str) -> T.Type:
        if isinstance(ref, S.NumberType):
            return T.number()
        if isinstance(ref, S.BooleanType):
            return T.boolean()
        if isinstance(ref, S.TextType):
            return T.text()
        if isinstance(ref, S.LevelTypeExpr):
            labels = []
            for label in ref.labels:
                if label.text in labels:
                    self.error("duplicate-label", f"label {label.text!r} appears twice", label.span,
                               "each label of a level type must be distinct.")
                else:
                    labels.append(label.text)
            level = T.LevelType(owner, tuple(labels), not_rated_spellings(self, owner, ref))
            self.levels.append(level)
            return T.level(level)
        level = self.symbols.level_types.get(ref.name)
        if level is None:
            suggestion = did_you_mean(ref.name, [*self.symbols.level_types, "number", "boolean", "text"])
            self.error("unknown-type", f"unknown type '{ref.name}'", ref.span,
                       f"did you mean '{suggestion}'?" if suggestion else
                       "use number, boolean, text, a `level a < b` list, or declare it with `type`.")
            return ERROR_TYPE
        return T.level(level)

    def _param(self, decl: S.ParamDecl, file: str) -> M.Node:
        ctx = Ctx(file, [])
        value_expr = self.expr(decl.value, ctx)
        value = value_expr.value if isinstance(value_expr, M.Const) else (
            value_expr.label if isinstance(value_expr, M.LabelConst) else None)
        kind = value_expr.type.as_scalar() if not is_error(value_expr.type) else ERROR_TYPE
        value_range = None
        distribution = None
        if isinstance(decl.range, S.OneOf):
            if not is_error(kind):
                distribution = self._one_of(decl, value_expr, ctx)
        elif decl.range is not None:
            if kind.base != T.NUMBER:
                self.error("range-not-number", f"param '{decl.name}' is {kind.base}: only numbers take a range",
                           decl.range.span, "remove the range, or list the options: `one of [...]`.")
            elif isinstance(decl.range, S.Normal):
                distribution = self._normal(decl, value)
            else:
                value_range = self._range(decl.range)
                if value_range and not (value_range[0] <= value <= value_range[1]):
                    self.error("param-out-of-range", f"param '{decl.name}' = {decl.value.text} is outside its range "
                               f"{decl.range.low.text}..{decl.range.high.text}", decl.value.span,
                               "change the value or widen the range.")
                elif value_range:
                    distribution = M.Distribution(M.UNIFORM, value_range,
                                                  f"{decl.range.low.text}..{decl.range.high.text}")
        self.param_values[decl.name] = value
        return M.Node(kind=M.PARAM, type=kind, deps=(), value=value, range=value_range, distribution=distribution,
                      **self._common(decl, file))

    def _normal(self, decl: S.ParamDecl, value: float) -> M.Distribution | None:
        """`range normal(mean, sd)`: sd must be above 0; a value far from the mean is suspicious."""
        mean, sd = decl.range.mean, decl.range.sd
        if not sd.value > 0 or not math.isfinite(sd.value) or not math.isfinite(mean.value):
            self.error("bad-sd", f"param '{decl.name}': the standard deviation {sd.text} must be above 0",
                       sd.span, "write e.g. `range normal(50%, 5%)`.")
            return None
        if abs(value - mean.value) > 3 * sd.value:
            self.warning("param-far-from-mean", f"param '{decl.name}' = {decl.value.text} is more than 3 standard "
                         f"deviations from the mean {mean.text} of its range", decl.value.span,
                         "a param's value is usually the centre of its plausible values.")
        return M.Distribution(M.NORMAL, (mean.value, sd.value), f"normal({mean.text}, {sd.text})")

    def _one_of(self, decl: S.ParamDecl, value_expr: M.Expr, ctx: Ctx) -> M.Distribution | None:
        """`one of [a, b, c]`: options of the value's type, distinct, the value among them."""
        options, texts = [], []
        for option in decl.range.options:
            resolved = self.expr(option, ctx, expect=value_expr.type)
            if is_error(resolved.type):
                return None
            plain = _plain(resolved)
            if not resolved.type.same_kind(value_expr.type) or plain is None:
                self._type_error(option.span, f"param '{decl.name}' is {value_expr.type.as_scalar(False)}: "
                                 f"an option cannot be {resolved.type.as_scalar(False)}")
                return None
            if any(_same_option(plain, seen) for seen in options):
                self.error("duplicate-option", f"param '{decl.name}': the option {_literal_text(option)} is listed "
                           "twice", option.span, "list each option once.")
                return None
            options.append(plain)
            texts.append(_literal_text(option))
        value = _plain(value_expr)
        if not any(_same_option(value, option) for option in options):
            self.error("param-not-an-option", f"param '{decl.name}' = {_literal_text(decl.value)} is not one of its "
                       f"options [{', '.join(texts)}]", decl.value.span, "add the value to the options.")
            return None
        return M.Distribution(M.ONE_OF, tuple(options), f"one of [{', '.join(texts)}]")

    def _definition(self, decl: S.Definition, file: str) -> M.Node:
        ctx = Ctx(file, [])
        expr = self.expr(decl.expr, ctx)
        if isinstance(expr, M.ListOf):
            self.list_lengths[decl.name] = len(expr.items)
        if expr.type.scalar and expr.type.base == T.NUMBER:
            self.definitions[decl.name] = expr
        return M.Node(kind=decl.kind, type=expr.type, deps=tuple(dict.fromkeys(ctx.deps)), expr=expr,
                      **self._common(decl, file))

    # ------------------------------------------------------------ tiers

    def _tier(self, decl: S.TierDecl, file: str) -> M.Node:
        ctx = Ctx(file, [])
        scale = self._scale(decl)
        source = None
        if decl.source is not None:
            source = self.expr(decl.source, ctx)
            t = source.type
            if not is_error(t) and (t.base != T.NUMBER or t.scalar):
                self.error("tier-from-type", f"tier '{decl.name}' is assigned from a {t}: it needs a number for "
                           "each entity", decl.source.span, "use a score or indicator as the `from` value.")
        rules = []
        for position, rule in enumerate(decl.rules):
            rules.append(self._tier_rule(decl, rule, scale, source, ctx, file))
            if isinstance(rule.condition, S.Otherwise) and position < len(decl.rules) - 1:
                after = decl.rules[position + 1]
                self.error("unreachable-rule", f"the rule for {after.label.text!r} can never apply: it comes after "
                           "`otherwise`", after.span, "move `otherwise` to the last rule.")
        self._check_tier_reachability(decl)
        if not any(isinstance(r.condition, S.Otherwise) for r in decl.rules):
            self.warning("tier-no-otherwise", f"tier '{decl.name}' has no `otherwise`: an entity that meets no "
                         "rule gets no tier", decl.name_span, "add a last rule `LABEL: otherwise`.")
        self.levels.append(scale)
        spec = M.TierSpec(scale=scale, source=source, rules=tuple(rules),
                          missing_label=decl.missing_label.text if decl.missing_label else None, limits=())
        return M.Node(kind=M.TIER, type=T.level(scale), deps=tuple(dict.fromkeys(ctx.deps)), tier=spec,
                      **self._common(decl, file))

    def _scale(self, decl: S.TierDecl) -> T.LevelType:
        if decl.type is not None:
            kind = self._type_ref(decl.type, decl.name)
            if kind.base == T.LEVEL:
                return kind.level
            if not is_error(kind):
                self.error("tier-type", f"a tier's type must be a level type, not {kind}", decl.type.span,
                           "declare `type NAME = level worst < ... < best` and write `tier t: NAME`.")
        written = list(dict.fromkeys(rule.label.text for rule in decl.rules))
        return T.LevelType(decl.name, tuple(reversed(written)))  # written best first; scales are worst first

    def _tier_rule(self, decl, rule: S.TierRule, scale, source, ctx, file) -> M.TierRule:
        label = rule.label.text
        if label not in scale.labels and decl.type is not None:
            self._bad_label(label, scale, rule.label.span)
        condition = rule.condition
        text = self.text_of(file, condition.span if hasattr(condition, "span") else None)
        if isinstance(condition, (S.Threshold, S.RankCut)) and decl.source is None:
            self.error("tier-needs-from", f"the rule for {label!r} compares the tier's value, but tier "
                       f"'{decl.name}' has no `from`", condition.span,
                       f"write `tier {decl.name} from SCORE {{`, or make the rule a condition.")
        if isinstance(condition, S.Threshold):
            value = self.expr(condition.value, ctx, T.number(scalar=True))
            self._expect_number(value, condition.value.span, "a threshold")
            resolved = M.ThresholdRule(condition.op, value, span=condition.span)
        elif isinstance(condition, S.RankCut):
            resolved = self._rank_cut(condition)
            if condition.within is not None and not self.group(condition.within, condition.span, ctx):
                resolved = M.RankRule(resolved.direction, resolved.count, resolved.percent, span=condition.span)
        elif isinstance(condition, S.Otherwise):
            resolved = M.OtherwiseRule(span=condition.span)
        else:
            expr = self.expr(condition, ctx)
            self._expect_boolean(expr, condition.span, f"the condition for {label!r}")
            resolved = M.ConditionRule(expr, span=condition.span)
        return M.TierRule(label, resolved, source_text=text, span=rule.span)

    def _rank_cut(self, cut: S.RankCut) -> M.RankRule:
        percent = cut.count.text.endswith("%")
        value = cut.count.value
        if percent and not 0 < value <= 1:
            self.error("bad-rank-cut", f"`{cut.direction} {cut.count.text}` must be a share between 0% and 100%",
                       cut.count.span, "write e.g. `top 10%`.")
        elif not percent and (value < 1 or not float(value).is_integer()):
            self.error("bad-rank-cut", f"`{cut.direction} {cut.count.text}` needs a whole number of entities",
                       cut.count.span, "write e.g. `top 5`, or a share such as `top 10%`.")
        return M.RankRule(cut.direction, value, percent, cut.within, span=cut.span)

    def _check_tier_reachability(self, decl: S.TierDecl) -> None:
        earlier_thresholds: list[tuple[str, float, S.TierRule]] = []
        earlier_cuts: list[tuple[str, bool, float]] = []
        for rule in decl.rules:
            c = rule.condition
            if isinstance(c, S.Threshold) and isinstance(c.value, (S.Number, S.Unary)):
                value = _literal_number(c.value)
                if value is None:
                    continue
                for op, earlier, earlier_rule in earlier_thresholds:
                    if _threshold_covered(earlier, op, value, c.op):
                        self.error("unreachable-rule", f"the rule for {rule.label.text!r} can never apply: "
                                   f"`{c.op} {_fmt(value)}` is already caught by the rule for "
                                   f"{earlier_rule.label.text!r} (`{op} {_fmt(earlier)}`)", c.span,
                                   "order thresholds from the strictest to the loosest.")
                        break
                earlier_thresholds.append((c.op, value, rule))
            elif isinstance(c, S.RankCut):
                percent = c.count.text.endswith("%")
                for direction, was_percent, count, within in earlier_cuts:
                    if (direction == c.direction and was_percent == percent and c.count.value <= count
                            and within == c.within):
                        self.error("unreachable-rule", f"the rule for {rule.label.text!r} can never apply: "
                                   f"`{c.direction} {c.count.text}` is inside an earlier `{direction}` rule",
                                   c.span, "put the smaller group first.")
                        break
                earlier_cuts.append((c.direction, percent, c.count.value, c.within))

    # ------------------------------------------------------------ limits and tests

    def limit(self, decl: S.LimitDecl, file: str, scale: T.LevelType):
        if decl.label.text not in scale.labels:
            self._bad_label(decl.label.text, scale, decl.label.span)
        ctx = Ctx(file, [])
        condition = self.expr(decl.condition, ctx)
        self._expect_boolean(condition, decl.condition.span, "a limit's `when` condition")
        limit = M.Limit(decl.direction, decl.label.text, condition,
                        source_text=self.text_of(file, decl.span), span=decl.span)
        return limit, ctx.deps

    def test(self, decl: S.TestDecl, file: str) -> M.TestCase | None:
        givens, expects, texts, data_path = [], [], [], None
        tables: dict[str, str] = {}
        seen: set[str] = set()
        for item in decl.items:
            if isinstance(item, S.GivenData) and item.level is not None:
                level = self.symbols.levels.find(item.level) if self.symbols.levels is not None else None
                if level is None:
                    otherwise = "name the table of a level declared with `entity`."
                    hint = self.symbols.levels.unknown_hint(item.level, otherwise) if self.symbols.levels else otherwise
                    self.error("unknown-level", f"given data: no entity level called '{item.level}'", item.span, hint)
                elif level in tables:
                    self.error("test-two-datasets", f"a test can read one data file for level '{level}'",
                               item.span, "split it into two tests.")
                else:
                    tables[level] = item.path
                self._check_data_path(item, file)
            elif isinstance(item, S.GivenData):
                if data_path is not None:
                    several = self.symbols.levels is not None and len(self.symbols.levels.levels) > 1
                    self.error("test-two-datasets", "a test can read one data file" + (
                        " (and one for each lower entity level: `given data LEVEL \"FILE\"`)" if several else ""),
                        item.span, "split it into two tests.")
                data_path = item.path
                self._check_data_path(item, file)
            elif isinstance(item, S.GivenValues):
                for given in item.values:
                    resolved = self._given(given, file, seen)
                    if resolved is not None:
                        givens.append(resolved)
            else:
                ctx = Ctx(file, [])
                expr = self.expr(item.expr, ctx)
                self._expect_boolean(expr, item.expr.span, "`expect`")
                expects.append(expr)
                texts.append(self.text_of(file, item.expr.span))
        if (data_path is not None or tables) and givens and any(
                self.symbols.statements[g.name][0].__class__ is S.InputDecl for g in givens):
            self.error("test-data-and-values", "this test reads a data file and also gives input values",
                       decl.span, "give input values in a separate test (params may be given with data).")
        if not expects:
            self.warning("test-no-expect", f"test {decl.name!r} expects nothing", decl.span,
                         "add `expect CONDITION`.")
        return M.TestCase(decl.name, tuple(givens), data_path, tuple(expects), tuple(texts),
                          tables=tuple(tables.items()), span=decl.span)

    def _check_data_path(self, item: S.GivenData, file: str) -> None:
        try:
            target = resolve_reference(file, item.path, methodology_root(file))
        except PathRefused as refused:
            self.error(refused.code, f"given data: {refused.message}", item.span, refused.hint)
            return
        if file == "<string>":
            return  # text without a file: the data is looked for when the test runs
        try:
            found = target.is_file()
        except (OSError, ValueError):  # e.g. a name too long for the file system
            found = False
        if not found and _is_dir(target):
            self.error("test-data-missing", f"{item.path} is a folder, not a data file", item.span,
                       "name a .csv, .tsv or .xlsx file.")
        elif not found:
            self.error("test-data-missing", f"data file not found: {item.path}", item.span,
                       f"the path is relative to {Path(file).name}'s folder.")

    def _given(self, given: S.GivenValue, file: str, seen: set[str]) -> M.TestGiven | None:
        if given.name in seen:
            self.error("duplicate-given", f"'{given.name}' is given twice", given.span, "keep one value.")
            return None
        seen.add(given.name)
        entry = self.symbols.statements.get(given.name)
        givable = (S.InputDecl, S.ParamDecl, S.Definition)  # a given definition replaces its computation
        if entry is None or not isinstance(entry[0], givable):
            candidates = [n for n, (s, _) in self.symbols.statements.items() if isinstance(s, givable)]
            if entry is None:
                suggestion = did_you_mean(given.name, candidates)
                hint = f"did you mean '{suggestion}'?" if suggestion else "give values to inputs and params."
                self.error("unknown-name", f"unknown input '{given.name}'", given.span, hint)
            else:
                what = "a tier, computed by its rules" if isinstance(entry[0], S.TierDecl) else \
                    "not an input, param or definition"
                self.error("given-not-input", f"'{given.name}' is {what}: a test cannot give it",
                           given.span, "give values to the definitions or inputs it depends on.")
            return None
        expected = self.types.get(given.name, ERROR_TYPE)
        value = self.expr(given.value, Ctx(file, []), expected)
        if not _is_literal(value):
            self.error("given-not-literal", f"the value given for '{given.name}' must be a literal",
                       given.value.span, "write a number, a label, text in quotes, true or false.")
        elif not (is_error(expected) or is_error(value.type) or value.type.same_kind(expected)):
            self.error("type-mismatch", f"'{given.name}' is {expected.as_scalar(False)}, but the value given is "
                       f"{value.type.as_scalar(False)}", given.value.span, f"give a {expected.as_scalar(False)}.")
        return M.TestGiven(given.name, value)

    # ------------------------------------------------------------ expressions

    def expr(self, e, ctx: Ctx, expect: T.Type | None = None) -> M.Expr:
        if self._depth > MAX_NESTING:  # only through user functions: the parser limits the rest
            if not self._too_deep_reported:
                self._too_deep_reported = True
                where = self._outer_calls[0] if self._outer_calls else e.span
                self.error("too-deep", f"with its functions expanded, this expression is nested more than "
                           f"{MAX_NESTING} levels deep", where,
                           "split it into named definitions (`let`), or simplify the functions.")
            return M.Const(None, ERROR_TYPE, span=e.span)
        if self._outer_calls:  # inside a user function: the expansion is bounded in size
            self._expanded += 1
            if self._expanded > MAX_EXPANDED_NODES:
                if not self._too_large_reported:
                    self._too_large_reported = True
                    self.error("too-large", f"with its functions expanded, this expression has more than "
                               f"{MAX_EXPANDED_NODES:,} parts", self._outer_calls[0],
                               "a function that uses a parameter more than once copies its argument each "
                               "time: name the argument with `let`, or simplify the functions.")
                return M.Const(None, ERROR_TYPE, span=e.span)
        method = getattr(self, f"_e_{type(e).__name__}")
        self._depth += 1
        try:
            return method(e, ctx, expect)
        finally:
            self._depth -= 1
            if self._depth == 0:
                self._too_deep_reported = False

    def _e_Number(self, e: S.Number, ctx, expect):
        return M.Const(float(e.value), T.number(scalar=True), span=e.span)

    def _e_Boolean(self, e: S.Boolean, ctx, expect):
        return M.Const(e.value, T.boolean(scalar=True), span=e.span)

    def _e_String(self, e: S.String, ctx, expect):
        if expect is not None and _item(expect).base == T.LEVEL:
            level = _item(expect).level
            if e.value in level.labels:
                return M.LabelConst(level, e.value, T.level(level, scalar=True), span=e.span)
            self._bad_label(e.value, level, e.span)
            return M.Const(None, ERROR_TYPE, span=e.span)
        return M.Const(e.value, T.text(scalar=True), span=e.span)

    def _e_Name(self, e: S.Name, ctx: Ctx, expect):
        bound = ctx.lookup(e.name)
        if bound is not None:
            argument, caller = bound
            return self.expr(argument, caller, expect)
        item = _item(expect) if expect is not None else None
        if item is not None and item.base == T.LEVEL and e.name in item.level.labels:
            return M.LabelConst(item.level, e.name, T.level(item.level, scalar=True), span=e.span)
        if e.name in self.symbols.statements:
            if e.name not in self.types:
                return M.Const(None, ERROR_TYPE, span=e.span)  # in a cycle or unresolved: reported there
            ctx.deps.append(e.name)
            return M.Ref(e.name, self.types[e.name], span=e.span)
        if e.name in self.symbols.broken:
            return M.Const(None, ERROR_TYPE, span=e.span)
        if item is not None and item.base == T.LEVEL:
            self._bad_label(e.name, item.level, e.span)
            return M.Const(None, ERROR_TYPE, span=e.span)
        owners = [lvl for lvl in dict.fromkeys(self.levels) if e.name in lvl.labels]
        if len({lvl for lvl in owners}) == 1:
            return M.LabelConst(owners[0], e.name, T.level(owners[0], scalar=True), span=e.span)
        if item is not None and is_error(item):
            # typed by an operand that has an error (already reported): it may be a label of it
            return M.Const(None, ERROR_TYPE, span=e.span)
        if len(owners) > 1:
            self.error("ambiguous-label", f"'{e.name}' is a label of several level types ("
                       f"{', '.join(lvl.name for lvl in owners)})", e.span,
                       "compare it with a value of the level type you mean.")
            return M.Const(None, ERROR_TYPE, span=e.span)
        self._unknown_name(e.name, e.span, ctx)
        return M.Const(None, ERROR_TYPE, span=e.span)

    def _unknown_name(self, name: str, span, ctx: Ctx) -> None:
        candidates = list(self.symbols.statements) + [p for p, _, _ in ctx.env]
        candidates += [label for lvl in self.levels for label in lvl.labels]
        suggestion = did_you_mean(name, candidates)
        if name in self.symbols.functions or name in B.BUILTINS:
            self.error("function-as-value", f"'{name}' is a function: call it with arguments", span,
                       f"write {name}(...).")
            return
        self.error("unknown-name", f"unknown name '{name}'", span,
                   f"did you mean '{suggestion}'?" if suggestion else
                   "define it with `input`, `param`, `indicator`, `domain`, `score` or `let`.")

    def _bad_label(self, label: str, level: T.LevelType, span) -> None:
        suggestion = did_you_mean(label, level.labels)
        hint = f"did you mean {suggestion!r}?" if suggestion else f"the labels are: {', '.join(level.labels)}."
        self.error("unknown-label", f"{label!r} is not a label of '{level.name}' ({level.describe()})", span, hint)

    def _e_Unary(self, e: S.Unary, ctx, expect):
        operand = self.expr(e.operand, ctx)
        t = operand.type
        if e.op == "-":
            if not is_error(t) and t.base != T.NUMBER:
                self._type_error(e.operand.span, f"'-' needs a number, not {t}")
                return M.Unary("-", operand, ERROR_TYPE, span=e.span)
            if isinstance(operand, M.Const) and isinstance(operand.value, float):
                return M.Const(-operand.value, t, span=e.span)
            return M.Unary("-", operand, t, span=e.span)
        if not is_error(t) and _item(t).base != T.BOOLEAN:
            self._type_error(e.operand.span, f"'not' needs a condition (true/false), not {t}")
            return M.Unary("not", operand, ERROR_TYPE, span=e.span)
        return M.Unary("not", operand, t, span=e.span)

    def _bare(self, expr, ctx: Ctx) -> bool:
        """A name or string whose meaning depends on what it is compared with: a string, or a
        name that is not a definition (nor a function parameter standing for one)."""
        if isinstance(expr, S.Name):
            bound = ctx.lookup(expr.name)
            if bound is not None:
                return self._bare(*bound)
            return expr.name not in self.symbols.statements
        return isinstance(expr, S.String)

    def _type_error(self, span, message, hint=None):
        self.error("type-error", message, span, hint or "check the types: see docs/language.md, 'Types'.")

    def _e_Binary(self, e: S.Binary, ctx, expect):
        if e.op in ARITHMETIC:
            return self._arithmetic(e, ctx)
        if e.op in ("and", "or"):
            left, right = self.expr(e.left, ctx), self.expr(e.right, ctx)
            for side, syntax in ((left, e.left), (right, e.right)):
                if not is_error(side.type) and _item(side.type).base != T.BOOLEAN:
                    self._type_error(syntax.span, f"'{e.op}' needs conditions (true/false) on both sides, "
                                     f"not {side.type}")
                    return M.Binary(e.op, left, right, ERROR_TYPE, span=e.span)
            return M.Binary(e.op, left, right, _combine(T.boolean(), left.type, right.type), span=e.span)
        return self._comparison(e, ctx)

    def _arithmetic(self, e: S.Binary, ctx) -> M.Expr:
        left, right = self.expr(e.left, ctx), self.expr(e.right, ctx)
        for side, syntax in ((left, e.left), (right, e.right)):
            t = side.type
            if is_error(t):
                return M.Binary(e.op, left, right, ERROR_TYPE, span=e.span)
            if t.base != T.NUMBER:
                what = "a level" if t.base == T.LEVEL else t.base
                hint = ("map level labels to numbers first, e.g. `map x { good: 3, ... }`." if t.base == T.LEVEL
                        else "arithmetic works on numbers only.")
                self.error("type-error", f"'{e.op}' needs numbers, but this is {what} ({t})", syntax.span, hint)
                return M.Binary(e.op, left, right, ERROR_TYPE, span=e.span)
        return M.Binary(e.op, left, right, T.number(scalar=left.type.scalar and right.type.scalar), span=e.span)

    def _comparison(self, e: S.Binary, ctx) -> M.Expr:
        if self._bare(e.left, ctx) and not self._bare(e.right, ctx):
            right = self.expr(e.right, ctx)
            left = self.expr(e.left, ctx, right.type)
        else:
            left = self.expr(e.left, ctx)
            right = self.expr(e.right, ctx, left.type)
        lt, rt = left.type, right.type
        if is_error(lt) or is_error(rt):
            return M.Binary(e.op, left, right, ERROR_TYPE, span=e.span)
        if lt.base == T.LIST and rt.base == T.LIST:
            self._type_error(e.span, "cannot compare two lists", "compare a list with a single value.")
            return M.Binary(e.op, left, right, ERROR_TYPE, span=e.span)
        li, ri = _item(lt), _item(rt)
        if not li.same_kind(ri):
            self._type_error(e.span, f"cannot compare {li.as_scalar(False)} with {ri.as_scalar(False)}")
            return M.Binary(e.op, left, right, ERROR_TYPE, span=e.span)
        if e.op in ORDERINGS and li.base not in (T.NUMBER, T.LEVEL):
            self._type_error(e.span, f"'{e.op}' needs numbers or level labels, not {li.base}",
                             "use == or != for text and conditions.")
            return M.Binary(e.op, left, right, ERROR_TYPE, span=e.span)
        result = T.boolean(scalar=lt.scalar and rt.scalar)
        if T.LIST in (lt.base, rt.base):
            result = T.list_of(result)
        return M.Binary(e.op, left, right, result, span=e.span)

    def _e_IsMissing(self, e: S.IsMissing, ctx, expect):
        operand = self.expr(e.operand, ctx)
        scalar = operand.type.scalar if not is_error(operand.type) else False
        return M.IsMissing(operand, e.negated, T.boolean(scalar=scalar), span=e.span)

    def _e_IfElse(self, e: S.IfElse, ctx, expect):
        condition = self.expr(e.condition, ctx)
        self._expect_boolean(condition, e.condition.span, "`if`", allow_list=False)
        then, otherwise = self._pair(e.then, e.otherwise, ctx, expect)
        t = self._same_type(then, otherwise, e.otherwise.span, "`then` and `else`")
        if not is_error(t) and not is_error(condition.type):
            t = t.as_scalar(t.scalar and condition.type.scalar)
        return M.IfElse(condition, then, otherwise, t, span=e.span)

    def _pair(self, a, b, ctx, expect):
        """Resolve two expressions that must share a type, typing bare labels by the other."""
        if self._bare(a, ctx) and not self._bare(b, ctx):
            second = self.expr(b, ctx, expect)
            first = self.expr(a, ctx, expect or second.type)
        else:
            first = self.expr(a, ctx, expect)
            second = self.expr(b, ctx, expect or first.type)
        return first, second

    def _same_type(self, a: M.Expr, b: M.Expr, span, what: str) -> T.Type:
        if is_error(a.type) or is_error(b.type):
            return ERROR_TYPE
        if not a.type.same_kind(b.type):
            self._type_error(span, f"{what} must have the same type, but they are {a.type.as_scalar(False)} "
                             f"and {b.type.as_scalar(False)}")
            return ERROR_TYPE
        return a.type.as_scalar(a.type.scalar and b.type.scalar)

    def _e_ListExpr(self, e: S.ListExpr, ctx, expect):
        if not e.items:
            self.error("empty-list", "a list needs at least one item", e.span, "write e.g. [a, b].")
            return M.ListOf((), ERROR_TYPE, span=e.span)
        anchor = next((i for i, item in enumerate(e.items) if not self._bare(item, ctx)), 0)
        item_expect = _item(expect) if expect is not None else None
        first = self.expr(e.items[anchor], ctx, item_expect)
        items: list[M.Expr] = []
        t = first.type
        for i, item in enumerate(e.items):
            resolved = first if i == anchor else self.expr(item, ctx, item_expect or t)
            if not is_error(t) and not is_error(resolved.type):
                if resolved.type.base == T.LIST:
                    self._type_error(item.span, "lists cannot contain lists")
                    t = ERROR_TYPE
                elif not resolved.type.same_kind(t):
                    self._type_error(item.span, f"list items must have one type: this is "
                                     f"{resolved.type.as_scalar(False)}, the list holds {t.as_scalar(False)}")
                    t = ERROR_TYPE
                else:
                    t = t.as_scalar(t.scalar and resolved.type.scalar)
            items.append(resolved)
        return M.ListOf(tuple(items), ERROR_TYPE if is_error(t) else T.list_of(t), span=e.span)

    def _e_Pick(self, e: S.Pick, ctx, expect):
        operand = self.expr(e.operand, ctx, expect)
        t = operand.type
        if not is_error(t) and t.scalar:
            self._type_error(e.span, "`for \"KEY\"` picks one entity's value, but this value is the same for all",
                             "remove `for`.")
            return M.Pick(operand, e.key, ERROR_TYPE, span=e.span)
        return M.Pick(operand, e.key, t if is_error(t) else t.as_scalar(), span=e.span)

    # ------------------------------------------------------------ map and band

    def _e_MapExpr(self, e: S.MapExpr, ctx, expect):
        subject = self.expr(e.subject, ctx)
        st = subject.type
        if not is_error(st) and st.base == T.LIST:  # as `band`: one value per entity (or a scalar)
            self._type_error(e.subject.span, f"`map` needs one value, not {st}",
                             "map each item: `[map a { ... }, map b { ... }]`.")
            st = ERROR_TYPE
        keys, values, otherwise = [], [], None
        anchor_type = self._case_anchor([c.value for c in e.cases], ctx, expect)
        value_type: T.Type | None = None
        for case in e.cases:
            value = self.expr(case.value, ctx, anchor_type)
            if anchor_type is None and not is_error(value.type):
                anchor_type = value.type
            if case.key is None:
                if otherwise is not None:
                    self.error("duplicate-key", "`otherwise` appears twice in this map", case.span, "keep one.")
                otherwise = value
            else:
                key = self._map_key(case.key, st)
                if key is not None and key in keys:
                    self.error("duplicate-key", f"the key {key!r} appears twice in this map", case.key.span,
                               "keep one case per key.")
                keys.append(key)
                values.append(value)
            value_type = self._merge_case_type(value_type, value, case.value.span, "map")
        if st.base == T.LEVEL and otherwise is None and not is_error(st):
            uncovered = [label for label in st.level.labels if label not in keys]
            if uncovered:
                self.warning("map-not-exhaustive", f"this map has no value for {', '.join(map(repr, uncovered))}",
                             e.span, "add those labels or an `otherwise:` case; otherwise they give missing.")
        t = value_type or ERROR_TYPE
        if not is_error(t) and not is_error(st):
            t = t.as_scalar(t.scalar and st.scalar)
        return M.MapOf(subject, tuple(keys), tuple(values), otherwise, t, span=e.span)

    def _case_anchor(self, values: list, ctx: Ctx, expect: T.Type | None) -> T.Type | None:
        """The type that bare labels among a map's or band's values take: the expected type,
        else the type of the first value that is not a bare label (resolved on a scratch
        context, so its dependencies are counted once, in the loop over cases)."""
        if expect is not None:
            return expect
        anchor = next((v for v in values if not self._bare(v, ctx)), None)
        if anchor is None:
            return None
        found = self.expr(anchor, Ctx(ctx.file, [], ctx.env, ctx.functions), None).type
        return None if is_error(found) else found

    def _map_key(self, key, subject_type: T.Type):
        if is_error(subject_type):
            return None
        if subject_type.base == T.LIST:
            self._type_error(key.span, "cannot map a list", "map each item, or aggregate the list first.")
            return None
        if subject_type.base == T.LEVEL and isinstance(key, (S.Name, S.String)):
            text = key.name if isinstance(key, S.Name) else key.value
            if text not in subject_type.level.labels:
                self._bad_label(text, subject_type.level, key.span)
            return text
        if subject_type.base == T.TEXT and isinstance(key, S.String):
            return key.value
        if subject_type.base == T.NUMBER and isinstance(key, S.Number):
            return float(key.value)
        if subject_type.base == T.BOOLEAN and isinstance(key, S.Boolean):
            return key.value
        self._type_error(key.span, f"this key does not match the mapped value, which is {subject_type.as_scalar(False)}",
                         "keys are level labels, \"text\", numbers or true/false, matching the mapped value.")
        return None

    def _merge_case_type(self, current: T.Type | None, value: M.Expr, span, what: str) -> T.Type | None:
        if current is None or is_error(current):
            return value.type if current is None else current
        if is_error(value.type):
            return ERROR_TYPE
        if not current.same_kind(value.type):
            self._type_error(span, f"every {what} value must have one type: this is {value.type.as_scalar(False)}, "
                             f"earlier ones are {current.as_scalar(False)}")
            return ERROR_TYPE
        return current.as_scalar(current.scalar and value.type.scalar)

    def _e_BandExpr(self, e: S.BandExpr, ctx, expect):
        subject = self.expr(e.subject, ctx)
        st = subject.type
        if not is_error(st) and st.base not in (T.NUMBER, T.LEVEL):
            self._type_error(e.subject.span, f"`band` needs a number or a level, not {st}")
            st = ERROR_TYPE
        ops, thresholds, values, otherwise, value_type = [], [], [], None, None
        anchor_type = self._case_anchor([c.value for c in e.cases], ctx, expect)
        for case in e.cases:
            value = self.expr(case.value, ctx, anchor_type)
            if anchor_type is None and not is_error(value.type):
                anchor_type = value.type
            if case.op is None:
                if otherwise is not None:
                    self.error("duplicate-key", "`otherwise` appears twice in this band", case.span, "keep one.")
                otherwise = value
            else:
                # a threshold may differ by entity (e.g. a target per region): compared entity by entity
                threshold = self.expr(case.threshold, ctx, None if is_error(st) else st.as_scalar())
                if not is_error(threshold.type) and not is_error(st) and not threshold.type.same_kind(st):
                    self._type_error(case.threshold.span, f"this threshold is {threshold.type.as_scalar(False)}, "
                                     f"but the banded value is {st.as_scalar(False)}")
                ops.append(case.op)
                thresholds.append(threshold)
                values.append(value)
            value_type = self._merge_case_type(value_type, value, case.value.span, "band")
        self._check_band_order(e)
        t = value_type or ERROR_TYPE
        if not is_error(t) and not is_error(st):
            t = t.as_scalar(t.scalar and st.scalar)
        return M.BandOf(subject, tuple(ops), tuple(thresholds), tuple(values), otherwise, t, span=e.span)

    def _check_band_order(self, e: S.BandExpr) -> None:
        earlier: list[tuple[str, float]] = []
        for case in e.cases:
            if case.op is None:
                continue
            value = _literal_number(case.threshold)
            if value is None:
                continue
            for op, previous in earlier:
                if _threshold_covered(previous, op, value, case.op):
                    self.error("band-order", f"`{case.op} {_fmt(value)}` can never apply: `{op} {_fmt(previous)}` "
                               "comes first and already catches it", case.span,
                               "order the cases from the strictest threshold to the loosest.")
                    break
            earlier.append((case.op, value))
        if e.cases and e.cases[-1].op is not None and any(c.op is None for c in e.cases):
            self.error("band-order", "`otherwise` must be the last case of a band",
                       next(c for c in e.cases if c.op is None).span, "move `otherwise` to the end.")

    # ------------------------------------------------------------ calls

    def _e_Call(self, e: S.Call, ctx: Ctx, expect):
        if e.function in self.symbols.functions:
            return self._user_call(e, ctx, expect)
        spec = B.BUILTINS.get(e.function)
        if spec is None:
            suggestion = did_you_mean(e.function, [*B.BUILTINS, *self.symbols.functions])
            self.error("unknown-function", f"unknown function '{e.function}'", e.name_span,
                       f"did you mean '{suggestion}'?" if suggestion else
                       "see the list of built-in functions in docs/language.md, or declare it with `function`.")
            for argument in e.arguments:
                if isinstance(argument, S.Weighted):
                    self.expr(argument.value, ctx)
                elif not isinstance(argument, (S.Polarity, S.Within, S.SkipMissing, S.Require, S.Normalise, S.Method)):
                    self.expr(argument, ctx)
            return M.Const(None, ERROR_TYPE, span=e.span)
        return _CallResolver(self, spec, e, ctx, expect).resolve()

    def _user_call(self, e: S.Call, ctx: Ctx, expect):
        decl = self.symbols.functions[e.function]
        if e.function in ctx.functions:
            self.error("recursive-function", f"function '{e.function}' calls itself", e.name_span,
                       "functions cannot be recursive.")
            return M.Const(None, ERROR_TYPE, span=e.span)
        if len(ctx.functions) >= MAX_FUNCTION_DEPTH:
            self.error("too-deep", "functions call each other too deeply", e.span, "simplify the functions.")
            return M.Const(None, ERROR_TYPE, span=e.span)
        plain = [a for a in e.arguments if not isinstance(a, (S.Weighted, S.Polarity, S.Within, S.SkipMissing,
                                                             S.Require, S.Normalise, S.Method))]
        if len(plain) != len(e.arguments):
            self.error("bad-argument", f"function '{e.function}' takes plain values, not weights or options",
                       e.span, f"call it as {e.function}({', '.join(decl.params)}).")
            return M.Const(None, ERROR_TYPE, span=e.span)
        if len(plain) != len(decl.params):
            self.error("wrong-arity", f"function '{e.function}' takes {len(decl.params)} argument"
                       f"{'s' if len(decl.params) != 1 else ''} ({', '.join(decl.params)}), not {len(plain)}",
                       e.span, f"call it as {e.function}({', '.join(decl.params)}).")
            return M.Const(None, ERROR_TYPE, span=e.span)
        env = tuple((param, argument, ctx) for param, argument in zip(decl.params, plain))
        inner = Ctx(ctx.file, ctx.deps, env, ctx.functions + (e.function,))
        if ctx.functions:
            return self.expr(decl.body, inner, expect)
        self._outer_calls.append(e.span)
        self._expanded, self._too_large_reported = 0, False
        try:
            return self.expr(decl.body, inner, expect)
        finally:
            self._outer_calls.pop()

    # ------------------------------------------------------------ small checks

    def _expect_boolean(self, expr: M.Expr, span, what: str, allow_list: bool = False) -> None:
        t = expr.type
        if is_error(t):
            return
        if t.base != T.BOOLEAN and not (allow_list and t.base == T.LIST and t.item.base == T.BOOLEAN):
            self._type_error(span, f"{what} needs a condition (true/false), but this is {t}",
                             "compare it, e.g. `x >= 3` or `rating == good`.")

    def _expect_number(self, expr: M.Expr, span, what: str) -> None:
        """A number, one for all entities or one per entity (a threshold that differs by group)."""
        t = expr.type
        if not is_error(t) and (t.base != T.NUMBER or t.base == T.LIST):
            self._type_error(span, f"{what} must be a number, but this is {t}",
                             "use a number, a param, a statistic or a per-entity number.")


class _CallResolver:
    """Checks one built-in call against its declared signature (dsl.builtins)."""

    def __init__(self, resolver: Resolver, spec: B.Builtin, call: S.Call, ctx: Ctx, expect):
        self.r = resolver
        self.spec = spec
        self.call = call
        self.ctx = ctx
        self.expect = expect
        self.options: dict = {}

    def error(self, code, message, span, hint=None):
        self.r.error(code, message, span, hint or f"the signature is {self.spec.signature()}.")

    def resolve(self) -> M.Expr:
        spec, call = self.spec, self.call
        if call.over is not None:
            return self._resolve_over()
        positional = [a for a in call.arguments if not isinstance(a, (S.Polarity, S.Within, S.SkipMissing,
                                                                     S.Require, S.Normalise, S.Method))]
        ok = self._options() & self._arity(positional)
        weighted = [a for a in positional if isinstance(a, S.Weighted)]
        if weighted and B.WEIGHTS not in spec.options:
            self.error("bad-argument", f"{spec.name} does not take weights", weighted[0].span,
                       f"remove the weights, or use weighted_mean. The signature is {spec.signature()}.")
            ok = False
        elif weighted and len(weighted) != len(positional):
            plain = next(a for a in positional if not isinstance(a, S.Weighted))
            self.error("missing-weight", "give every argument a weight, or none", plain.span,
                       "write `value: weight` for each argument.")
            ok = False
        elif spec.name == "weighted_mean" and not weighted and positional:
            self.error("missing-weight", "weighted_mean needs a weight for each argument", call.span,
                       "write e.g. weighted_mean(a: 25%, b: 75%), or use mean(...).")
            ok = False
        args = self._arguments(positional)
        weights = self._weights(weighted) if weighted and ok else None
        if any(is_error(a.type) for a in args) or not ok or (weights is not None and any(
                is_error(w.type) for w in weights)):
            return M.Const(None, ERROR_TYPE, span=call.span)
        return self._build(args, weights)

    def _resolve_over(self) -> M.Expr:
        """`count(x == good, skip missing) over services`: one value per member, aggregated."""
        spec, call = self.spec, self.call
        ok = self._options()
        if spec.name not in B.OVER_FUNCTIONS:
            self.error("bad-over", f"{spec.name} does not aggregate `over` a level", call.over_span,
                       f"`over` works with {', '.join(sorted(B.OVER_FUNCTIONS))}.")
            ok = False
        levels = self.r.symbols.levels
        level = levels.find(call.over) if levels is not None else None
        if level is None and self.r.symbols.levels_failed:
            ok = False
        elif level is None:
            if levels is None or len(levels.levels) < 2:
                self.r.error("unknown-level", f"`over {call.over}`: this methodology has no entity levels below its "
                             "top level", call.over_span, "declare one in the header, e.g. `entity service within "
                             "trust key service_id`.")
            else:
                self.r.error("unknown-level", f"no entity level called '{call.over}'", call.over_span,
                             levels.unknown_hint(call.over))
            ok = False
        elif level == levels.top:
            self.r.error("over-not-below", f"`over {call.over}`: '{level}' is the top level, which lies within no "
                         "other", call.over_span, "aggregate over a lower level.")
            ok = False
        positional = [a for a in call.arguments if not isinstance(a, (S.Polarity, S.Within, S.SkipMissing,
                                                                     S.Require, S.Normalise, S.Method))]
        if len(positional) != 1 or isinstance(positional[0], S.Weighted):
            problem = "takes no weights" if len(positional) == 1 else \
                f"takes one value per member, not {len(positional)} argument{'s' if len(positional) != 1 else ''}"
            self.error("wrong-arity", f"{spec.name}(...) over {call.over} {problem}", call.span,
                       f"write e.g. {spec.name}(x) over {call.over}.")
            return M.Const(None, ERROR_TYPE, span=call.span)
        kind = spec.variadic
        syntax = positional[0]
        arg = self.r.expr(syntax, self.ctx, T.number() if kind == B.NUM else None)
        if not ok or is_error(arg.type):
            return M.Const(None, ERROR_TYPE, span=call.span)
        if arg.type.base == T.LIST:
            self.r._type_error(syntax.span, f"{spec.name}(...) over {call.over} takes one value per member, "
                               f"not {arg.type}", f"aggregate each item: {spec.name}(item) over {call.over}.")
            return M.Const(None, ERROR_TYPE, span=call.span)
        self._check_kind(arg, kind, syntax.span)
        if getattr(self, "poisoned", False):
            return M.Const(None, ERROR_TYPE, span=call.span)
        require = self.options.get(B.REQUIRE)
        t = T.boolean() if spec.returns == B.R_BOOLEAN else T.number()
        return M.Call(spec.name, (arg,), t, skip_missing=B.SKIP in self.options,
                      require=require.count if require else None, over=level, span=call.span)

    def _options(self) -> bool:
        ok = True
        for argument in self.call.arguments:
            name = {S.Polarity: B.POLARITY, S.Within: B.WITHIN, S.SkipMissing: B.SKIP, S.Require: B.REQUIRE,
                    S.Normalise: B.NORMALISE, S.Method: B.METHOD}.get(type(argument))
            if name is None:
                continue
            if name not in self.spec.options:
                self.error("bad-option", f"{self.spec.name} does not take `{_option_text(argument)}`", argument.span)
                ok = False
            elif name in self.options:
                self.error("duplicate-option", f"`{_option_text(argument)}` is given twice", argument.span,
                           "keep one.")
                ok = False
            else:
                self.options[name] = argument
        within = self.options.get(B.WITHIN)
        if within is not None and not self.r.group(within.group, within.span, self.ctx):
            ok = False
        method = self.options.get(B.METHOD)
        if method is not None and method.name.lower() not in B.QUANTILE_METHODS:
            names = [m for m in B.QUANTILE_METHODS if not m.isdigit()]
            suggestion = did_you_mean(method.name.lower(), names)
            self.r.error("bad-method", f"unknown quantile method {method.name!r}", method.span,
                         f"did you mean {suggestion!r}?" if suggestion else
                         "write a type 1..9 (Hyndman & Fan, R's quantile types), a numpy method name such as "
                         "\"median_unbiased\", or a SAS definition \"sas1\"..\"sas5\" (docs/language.md).")
            ok = False
        return ok

    def _arity(self, positional: list) -> bool:
        spec, n = self.spec, len(positional)
        fixed = len(spec.params)
        if spec.variadic is None and n != fixed:
            self.error("wrong-arity", f"{spec.name} takes {fixed} argument{'s' if fixed != 1 else ''}, not {n}",
                       self.call.span)
            return False
        if spec.variadic is not None and n < max(spec.min_args, fixed):
            need = max(spec.min_args, fixed)
            self.error("wrong-arity", f"{spec.name} needs at least {need} argument{'s' if need != 1 else ''}",
                       self.call.span)
            return False
        return True

    def _kind_of(self, index: int) -> str:
        return self.spec.params[index] if index < len(self.spec.params) else self.spec.variadic

    def _arguments(self, positional: list) -> list[M.Expr]:
        values = [a.value if isinstance(a, S.Weighted) else a for a in positional]
        if self.spec.returns == B.R_SAME:
            return self._same_typed(values)
        out = []
        for i, syntax in enumerate(values):
            kind = self._kind_of(i)
            expr = self.r.expr(syntax, self.ctx, T.number() if kind in (B.NUM, B.CONST) else None)
            out.append(expr)
            self._check_kind(expr, kind, syntax.span)
        return out

    def _same_typed(self, values: list) -> list[M.Expr]:
        if not values:
            return []  # `coalesce()`: reported by the arity check
        anchor = next((i for i, v in enumerate(values) if not self.r._bare(v, self.ctx)), 0)
        first = self.r.expr(values[anchor], self.ctx, self.expect)
        out = []
        for i, v in enumerate(values):
            out.append(first if i == anchor else self.r.expr(
                v, self.ctx, self.expect or first.type))
        t = first.type
        for expr, syntax in zip(out, values):
            if not is_error(t) and not is_error(expr.type) and not expr.type.same_kind(t):
                self.r._type_error(syntax.span, f"{self.spec.name} needs arguments of one type: this is "
                                   f"{expr.type.as_scalar(False)}, the first is {t.as_scalar(False)}")
                return [M.Const(None, ERROR_TYPE, span=syntax.span)]
        return out

    def _check_kind(self, expr: M.Expr, kind: str, span) -> None:
        t = expr.type
        if is_error(t):
            return
        item = _item(t)
        if kind == B.CONST:
            if not (isinstance(expr, M.Const) and t.base == T.NUMBER) and not (
                    isinstance(expr, M.Ref) and expr.name in self.r.param_values and t.base == T.NUMBER):
                self.r.error("not-constant", f"this argument of {self.spec.name} must be a number known before data "
                             "is read", span, "write a number or the name of a param.")
                self._poison(expr)
            return
        wanted = {B.NUM: T.NUMBER, B.BOOL: T.BOOLEAN}.get(kind)
        if wanted is None:
            return
        if t.base == T.LIST and self.spec.variadic is None:
            self.r._type_error(span, f"{self.spec.name} needs a single {wanted} here, not a list")
            self._poison(expr)
        elif item.base != wanted:
            what = "a condition (true/false)" if wanted == T.BOOLEAN else "a number"
            hint = ("map level labels to numbers first, e.g. `map x { good: 3, ... }`."
                    if item.base == T.LEVEL and wanted == T.NUMBER else None)
            self.r._type_error(span, f"{self.spec.name} needs {what} here, not {t}", hint)
            self._poison(expr)

    def _poison(self, expr) -> None:
        self.poisoned = True

    def _weights(self, weighted: list[S.Weighted]) -> list[M.Expr] | None:
        weights = []
        for w in weighted:
            expr = self.r.expr(w.weight, self.ctx, T.number())
            if not is_error(expr.type) and (expr.type.base != T.NUMBER or expr.type.base == T.LIST):
                self.r.error("bad-weight", f"a weight must be a number, not {expr.type}", w.weight.span,
                             "write a number such as 25% or the name of a numeric param.")
                return None
            weights.append(expr)
        if self.spec.name == "weighted_mean" and B.NORMALISE not in self.options:
            constants = [self.r.constant(w) for w in weights]
            if all(c is not None for c in constants):
                terms = tuple((_term_name(w.value) or f"component {i + 1}",
                               e.name if isinstance(e, M.Ref) else None, c)
                              for i, (w, e, c) in enumerate(zip(weighted, weights, constants)))
                found = WeightSum(self.r.current or "", self.call.span, terms, math.fsum(constants), False)
                if found.off:
                    self.r.error("weights-sum", found.message(), self.call.span,
                                 "adjust the weights so they sum to 100%, or add `normalise` to divide by their sum.")
            if any(c is not None and c < 0 for c in constants):
                self.r.error("bad-weight", "a weight is negative", self.call.span, "weights must be >= 0.")
        return weights

    def _components(self, args: list[M.Expr]) -> int | None:
        total = 0
        for a in args:
            if a.type.base != T.LIST:
                total += 1
            elif isinstance(a, M.ListOf):
                total += len(a.items)
            elif isinstance(a, M.Ref) and a.name in self.r.list_lengths:
                total += self.r.list_lengths[a.name]
            else:
                return None
        return total

    # Bounds of constant arguments: (function, argument index) -> (test, what it must be).
    CONSTANT_RULES = {
        ("round", 1): (lambda v: float(v).is_integer(), "a whole number of digits"),
        ("quantile_band", 1): (lambda v: float(v).is_integer() and 2 <= v <= B.MAX_BANDS,
                               f"a whole number of bands from 2 to {B.MAX_BANDS:,}"),
        ("population_quantile", 1): (lambda v: 0 <= v <= 1, "a share between 0% and 100%"),
        ("winsorize", 1): (lambda v: 0 <= v <= 1, "a share between 0% and 100%"),
        ("winsorize", 2): (lambda v: 0 <= v <= 1, "a share between 0% and 100%"),
        ("kmeans_band", 1): (lambda v: float(v).is_integer() and v >= 2, "a whole number of clusters, 2 or more"),
        ("kmeans_band", 2): (lambda v: v >= 0, "a distance of 0 or more"),
        ("population_weighted_quantile", 2): (lambda v: 0 <= v <= 1, "a share between 0% and 100%"),
        ("winsorize_count", 1): (lambda v: float(v).is_integer() and v >= 0, "a whole number of values, 0 or more"),
        ("winsorize_count", 2): (lambda v: float(v).is_integer() and v >= 0, "a whole number of values, 0 or more"),
    }

    def _check_constants(self, args: list[M.Expr]) -> None:
        values = [self.r.constant(a) for a in args]
        for index, value in enumerate(values):
            rule = self.CONSTANT_RULES.get((self.spec.name, index))
            if rule is None or value is None:
                continue
            test, what = rule
            if not test(value):
                self.r.error("bad-constant", f"argument {index + 1} of {self.spec.name} must be {what}, "
                             f"not {_fmt(value)}", args[index].span, f"the signature is {self.spec.signature()}.")
        if self.spec.name == "winsorize" and None not in values[1:3] and len(values) == 3 and values[1] >= values[2]:
            self.r.error("bad-constant", f"winsorize's low share ({_fmt(values[1])}) must be below its high share "
                         f"({_fmt(values[2])})", self.call.span, "write e.g. winsorize(x, 5%, 95%).")

    def _build(self, args: list[M.Expr], weights) -> M.Expr:
        spec, call = self.spec, self.call
        if getattr(self, "poisoned", False):
            return M.Const(None, ERROR_TYPE, span=call.span)
        self._check_constants(args)
        require = self.options.get(B.REQUIRE)
        if require is not None:
            components = self._components(args)
            if components is not None and require.count > components:
                self.r.error("require-too-many", f"`require {require.count}` asks for more components than the "
                             f"{components} given", require.span, f"require at most {components}.")
        polarity = self.options.get(B.POLARITY)
        within = self.options.get(B.WITHIN)
        common = dict(
            weights=tuple(weights) if weights else None,
            polarity=polarity.direction if polarity else None,
            within=within.group if within else None,
            skip_missing=B.SKIP in self.options,
            require=require.count if require else None,
            normalise=B.NORMALISE in self.options,
            span=call.span,
        )
        method = self.options.get(B.METHOD)
        if method is not None:
            common["method"] = B.QUANTILE_METHODS[method.name.lower()]
        all_scalar = all(a.type.scalar for a in args) and all(w.type.scalar for w in (weights or ()))
        if (spec.name == "count" and len(args) == 1 and isinstance(args[0], M.IsMissing)
                and args[0].operand.type.base == T.LIST):
            # `count([a, b] is not missing)` counts the items of each entity's list, one test per
            # item, never the entities (`[a, b] is missing` alone is one test of the whole list)
            item = T.boolean(scalar=args[0].type.scalar)
            args = [attrs.evolve(args[0], type=T.list_of(item))]
        if spec.name == "count" and len(args) == 1 and args[0].type.base != T.LIST and not args[0].type.scalar:
            return M.Call(spec.name, tuple(args), T.number(scalar=True), population_count=True, **common)
        if spec.scope == B.POPULATION:
            if args[0].type.scalar or args[0].type.base == T.LIST:
                self.r._type_error(call.span, f"{spec.name} works across entities and needs one value per entity, "
                                   f"not {args[0].type}")
                return M.Const(None, ERROR_TYPE, span=call.span)
            if spec.returns == B.R_SCALAR:
                return M.Call(spec.name, tuple(args), T.number(scalar=within is None), **common)
            return M.Call(spec.name, tuple(args), T.number(), **common)
        if spec.returns == B.R_SAME:
            t = args[0].type.as_scalar(all_scalar)
        elif spec.returns == B.R_BOOLEAN:
            t = T.boolean(scalar=all_scalar)
        else:
            t = T.number(scalar=all_scalar)
        return M.Call(spec.name, tuple(args), t, **common)


# ---------------------------------------------------------------- helpers


def _combine(result: T.Type, *operands: T.Type) -> T.Type:
    scalar = all(o.scalar for o in operands)
    if any(o.base == T.LIST for o in operands):
        return T.list_of(result.as_scalar(scalar))
    return result.as_scalar(scalar)


def _literal_number(expr) -> float | None:
    if isinstance(expr, S.Number):
        return expr.value
    if isinstance(expr, S.Unary) and expr.op == "-" and isinstance(expr.operand, S.Number):
        return -expr.operand.value
    return None


def _threshold_covered(earlier: float, earlier_op: str, value: float, op: str) -> bool:
    """Is every x with `x op value` already caught by `x earlier_op earlier`?"""
    upward = (">", ">=")
    downward = ("<", "<=")
    if earlier_op in upward and op in upward:
        return value > earlier or (value == earlier and (earlier_op == ">=" or op == ">"))
    if earlier_op in downward and op in downward:
        return value < earlier or (value == earlier and (earlier_op == "<=" or op == "<"))
    return False


def _is_literal(expr: M.Expr) -> bool:
    return isinstance(expr, (M.Const, M.LabelConst))


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except (OSError, ValueError):
        return False


def not_rated_spellings(reporter, name: str, expr: S.LevelTypeExpr) -> tuple[str, ...]:
    """The `missing "..."` spellings of a level type; one that is also a label (ignoring case
    and surrounding spaces, as data cells are read) is an error."""
    labels = {label.text.strip().casefold() for label in expr.labels}
    out: list[str] = []
    for spelling in expr.not_rated:
        folded = spelling.text.strip().casefold()
        if folded in labels:
            reporter.error("not-rated-is-label", f"{spelling.text!r} is a label of level type '{name}', so it "
                           "cannot also mean missing", spelling.span, "remove it from the `missing` spellings.")
        elif folded not in {s.strip().casefold() for s in out}:
            out.append(spelling.text)
    return tuple(out)


def _statement_kind(statement) -> str:
    if isinstance(statement, S.ParamDecl):
        return "param (one value for every entity)"
    return "function" if isinstance(statement, S.FunctionDecl) else "statement"


def _option_text(option) -> str:
    if isinstance(option, S.Polarity):
        return f"{option.direction} is better"
    if isinstance(option, S.Within):
        return f"within {option.group}"
    if isinstance(option, S.SkipMissing):
        return "skip missing"
    if isinstance(option, S.Require):
        return f"require {option.count}"
    if isinstance(option, S.Method):
        return f"method: {option.name}"
    return "normalise"


def _fmt(value: float) -> str:
    return f"{value:.10g}"


def _plain(expr: M.Expr) -> float | bool | str | None:
    """The plain value of a resolved literal (a label as its text); None if it is not one."""
    if isinstance(expr, M.LabelConst):
        return expr.label
    if isinstance(expr, M.Const):
        return expr.value
    return None


def _same_option(a, b) -> bool:
    """Equal options; numbers compare as the language does (one part in 10^12)."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or abs(a - b) <= 1e-12 * max(abs(a), abs(b), 1.0)
    return type(a) is type(b) and a == b


def _literal_text(literal) -> str:
    """A param value or option as written."""
    if isinstance(literal, S.Number):
        return literal.text or f"{literal.value:g}"
    if isinstance(literal, S.Boolean):
        return "true" if literal.value else "false"
    if isinstance(literal, S.String):
        return f'"{literal.value}"'
    if isinstance(literal, S.Name):
        return literal.name
    return "?"
