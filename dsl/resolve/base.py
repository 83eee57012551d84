"""What every job of the resolver shares: the error type, the symbol table, the context of an
expression, the names a statement mentions, and the resolver's state and diagnostics (`ResolverBase`).
"""

from __future__ import annotations

import attrs

from dsl import model as M
from dsl import syntax as S
from dsl import types as T
from dsl.constants import fold
from dsl.errors import ERROR, WARNING, Diagnostic, Span, did_you_mean, source_lines
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


def item_type(t: T.Type) -> T.Type:
    return t.item.as_scalar(t.scalar) if t.base == T.LIST and t.item else t


class ResolverBase:
    """The resolver's state, its diagnostics and the checks every job makes."""

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
            what = "not defined" if entry is None else f"a {statement_kind(entry[0])}"
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

    def constant(self, expr: M.Expr) -> float | None:
        """The value of a constant number expression (dsl.constants) at the declared params;
        None when it is not one."""
        return fold(expr, self.param_values, self.definitions)

    def _bad_label(self, label: str, level: T.LevelType, span) -> None:
        suggestion = did_you_mean(label, level.labels)
        hint = f"did you mean {suggestion!r}?" if suggestion else f"the labels are: {', '.join(level.labels)}."
        self.error("unknown-label", f"{label!r} is not a label of '{level.name}' ({level.describe()})", span, hint)

    def _type_error(self, span, message, hint=None):
        self.error("type-error", message, span, hint or "check the types: see docs/language.md, 'Types'.")

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


# ---------------------------------------------------------------- helpers


def literal_number(expr) -> float | None:
    if isinstance(expr, S.Number):
        return expr.value
    if isinstance(expr, S.Unary) and expr.op == "-" and isinstance(expr.operand, S.Number):
        return -expr.operand.value
    return None


def threshold_covered(earlier: float, earlier_op: str, value: float, op: str) -> bool:
    """Is every x with `x op value` already caught by `x earlier_op earlier`?"""
    upward = (">", ">=")
    downward = ("<", "<=")
    if earlier_op in upward and op in upward:
        return value > earlier or (value == earlier and (earlier_op == ">=" or op == ">"))
    if earlier_op in downward and op in downward:
        return value < earlier or (value == earlier and (earlier_op == "<=" or op == "<"))
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


def statement_kind(statement) -> str:
    if isinstance(statement, S.ParamDecl):
        return "param (one value for every entity)"
    return "function" if isinstance(statement, S.FunctionDecl) else "statement"


def fmt(value: float) -> str:
    return f"{value:.10g}"


