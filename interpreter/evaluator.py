"""Evaluate a checked methodology over a table of entities, recording every node.

`evaluate(methodology, inputs, params, tracer, labels) -> RunResult` walks `methodology.nodes`
in their (dependency) order. Each node is computed for every entity at once: an expression is
a handful of numpy operations over whole columns, never a loop over entities. The internal
representation is described in interpreter.values; interpreter.trace fixes what is recorded.

Missing values and reasons
--------------------------
Inside one node's expression, an operation whose operand is missing takes that operand's
reason (the left operand's first), so `(a / b) + 1` with b = 0 is missing with
`division_by_zero`. A reference to another node that is missing gives `component_missing`
(an input's own empty cells are `input_missing`). `and`/`or` follow three-valued logic;
`if` with a missing condition takes the condition's reason; `x for "KEY"` with an unknown key
gives `key_not_in_data`. `map`/`band` without a matching case or `otherwise` give
`no_rule_held`; a band threshold that is missing makes the entities it would decide missing.
`^` with a zero base and negative exponent is `division_by_zero`; other undefined arithmetic
(a negative base to a fractional power) is `out_of_domain`. Division checks for an exact zero
divisor. A list value is never missing as a whole (its tuple holds None for missing items), so
list nodes record no reasons; `list is missing` holds when any item is missing.

Statistics (NodeTrace.scalars)
------------------------------
- param and scalar nodes: `value`, the node's value (a plain number, bool or label).
- population functions record what they used (interpreter.functions: `n`, `cut_1`..,
  `mean`, `sd`, `min`, `max`, `low`, `high`, `value`; per `within` group `name[GROUP]`).
  Naming on the node that contains the call(s):
  * exactly one population call in the node: its statistics are unprefixed (`cut_1`,
    `mean[North]`), whether the call is the whole expression or nested in a larger one;
    except in a scalar node whose expression is more than that call, where the call's
    `value` would clash with the node's own `value`: then the rule below applies;
  * otherwise each call's statistics are prefixed by the function name, `quartile.cut_1`,
    `zscore.mean`; when one function is called several times in the node, the calls are
    numbered in evaluation order: `zscore#1.mean`, `zscore#2.mean`.
  A population `count` (count of a single per-entity condition) counts as a population call
  here and records `value` and `n`.
- tier nodes also record rule statistics (interpreter.tiers).
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Mapping

import numpy as np
import pandas as pd

from dsl.constants import WEIGHT_TOLERANCE, WeightRule, walk, weight_sums, weighted_calls
from dsl.model import (
    INPUT,
    ONE_OF,
    PARAM,
    TIER,
    BandOf,
    Binary,
    Call,
    Const,
    Expr,
    IfElse,
    IsMissing,
    LabelConst,
    ListOf,
    MapOf,
    Methodology,
    Node,
    Pick,
    Ref,
    Unary,
)
from dsl.printer import Printer
from dsl.types import BOOLEAN, LEVEL, LIST, NUMBER, TEXT, Type
from interpreter import numeric, ranking
from interpreter.functions import FUNCTIONS
from interpreter.levels import (
    LevelFrame,
    LevelInputs,
    aggregate,
    ancestor_positions,
    build_frames,
    gather,
    in_blocks,
    rescale_scalar,
)
from interpreter.param_errors import ParamError
from interpreter.tiers import evaluate_tier
from interpreter.trace import (
    COLUMN_ABSENT,
    COMPONENT_MISSING,
    DIVISION_BY_ZERO,
    INPUT_MISSING,
    NO_RULE,
    NOT_IN_DATA,
    OUT_OF_DOMAIN,
    BranchTrace,
    ComponentTrace,
    LevelResult,
    NodeTrace,
    RunResult,
    Statistic,
    Tracer,
    rule_prefix,
)
from interpreter.values import (
    Val,
    empty_like_type,
    finish,
    first_reason,
    from_series,
    item_type,
    list_val,
    nones,
    plain_values,
    reasons_series,
    to_series,
)

ARITHMETIC = ("+", "-", "*", "/", "^")
LOGIC = ("and", "or")


# ---------------------------------------------------------------- the evaluator


class Evaluator:
    """Evaluates resolved expressions over every entity of `index`.

    `env` holds the internal value of every node evaluated so far; `lookup`, if given, is
    asked for a node not in env (used to evaluate expressions against a finished run).

    `blocks` > 1 evaluates `blocks` copies of the entities at once (sample-major: row
    `b * len(index) + e` is entity e in block b; see SampleEvaluator): values may differ from
    block to block, and every population computation (population functions, `count` of a
    condition, `x for "KEY"`, tier rank rules) is done within each block."""

    def __init__(self, methodology: Methodology, index: pd.Index, params: dict, lookup=None, *,
                 blocks: int = 1, frames: dict[str, LevelFrame] | None = None, level: str | None = None,
                 shared: _Shared | None = None):
        self.methodology = methodology
        self.level = level or methodology.entity
        self.index = index
        self.blocks = blocks
        self.entities = len(index)
        self.n = len(index) * blocks
        self.params = params
        self._lookup = lookup
        self.shared = shared or _Shared(methodology, frames)
        self.env: dict[str, Val] = self.shared.env
        self.shared.evaluators.setdefault(self.level, self)

    def at(self, level: str | None) -> Evaluator:
        """The evaluator of the entities of another level (docs/language.md, "Entities at
        several levels"), sharing this one's values and statistics."""
        level = level or self.methodology.entity
        found = self.shared.evaluators.get(level)
        if found is None:
            frame = self.shared.frames[level]
            found = Evaluator(self.methodology, frame.index, self.params, self._lookup, blocks=self.blocks,
                              level=level, shared=self.shared)
        return found

    # -- statistics of population calls
    def begin(self, top: Expr | None) -> None:
        self.shared.calls = []
        self.shared.top = top
        self.shared.components = None
        self.shared.component_names = []
        self.shared.branch = None

    def record(self, call: Call, stats: dict, groups: dict | None = None) -> None:
        """A population call's statistics; `groups`: key -> (statistic, `within` group) for
        the keys computed per group."""
        self.shared.calls.append((call, stats, call is self.shared.top, groups or {}))

    def statistics(self, node_is_scalar: bool) -> dict:
        """The statistics of the node's population calls, named as the module docstring says;
        their typed form goes to `shared.typed` (interpreter.trace.Statistic)."""
        calls = self.shared.calls
        self.shared.typed = []
        if not calls:
            return {}
        single = len(calls) == 1 and (not node_is_scalar or calls[0][2])
        totals = Counter(call.function for call, _, _, _ in calls)
        seen: Counter = Counter()
        out: dict = {}
        for call, stats, _, groups in calls:
            seen[call.function] += 1
            prefix = None if single else (
                call.function if totals[call.function] == 1 else f"{call.function}#{seen[call.function]}")
            for key, value in stats.items():
                full = key if prefix is None else f"{prefix}.{key}"
                out[full] = value
                name, group = groups.get(key, (key, None))
                base, _, number = name.rpartition("_")  # a series: cut_1, cut_2 (functions.py)
                series = bool(base) and number.isdigit()
                self.shared.typed.append(Statistic(
                    full, name if prefix is None else f"{prefix}.{name}", base if series else name,
                    int(number) if series else None, group, call.function, prefix))
        return out
    # -- values
    def eval_ref(self, name: str) -> Val:
        """A node's value for the entities of this evaluator's level: a scalar repeated, an
        upper level's value gathered for each of its members (interpreter/levels.py)."""
        if name not in self.env:
            if self._lookup is None:
                raise KeyError(f"node {name!r} is used before it is evaluated")
            self.env[name] = self._lookup(name)
        value = self.env[name]
        if self.shared.frames is None:
            return value
        node = self.shared.nodes[name]
        if node.type.scalar:
            return self.from_top_scalar(value)
        level = node.level or self.methodology.entity
        if level == self.level:
            return value
        return gather(value, self.shared.positions(self.level, level, self.blocks))

    def from_top_scalar(self, value: Val) -> Val:
        """A scalar held for the top level's rows, for this level's rows."""
        top = self.shared.frames[self.methodology.entity]
        if self.level == top.name:
            return value
        return rescale_scalar(value, len(top.index), self.entities, self.blocks)

    def to_top_scalar(self, value: Val) -> Val:
        """A scalar computed for this level's rows, for the top level's rows."""
        if self.shared.frames is None or self.level == self.methodology.entity:
            return value
        top = self.shared.frames[self.methodology.entity]
        return rescale_scalar(value, self.entities, len(top.index), self.blocks)

    def const(self, expr: Expr):
        """The value of a constant argument (a literal, a param or -constant); None if missing.

        With blocks, a value that differs between blocks is a float array with one value per
        block (NaN where missing)."""
        if self.blocks > 1:
            return self._block_const(expr)
        if isinstance(expr, Const):
            return None if expr.value is None else float(expr.value)
        if isinstance(expr, Ref) and self.methodology.has(expr.name) \
                and self.methodology.node(expr.name).kind == PARAM:
            value = self.params[expr.name]
            return None if value is None else float(value)
        if isinstance(expr, Unary) and expr.op == "-":
            inner = self.const(expr.operand)
            return None if inner is None else -inner
        if self.n == 0:
            return None
        v = self.eval(expr)
        return None if v.missing[0] else float(v.data[0])

    def _block_const(self, expr: Expr):
        if isinstance(expr, Const):
            return None if expr.value is None else float(expr.value)
        if self.entities == 0:
            return None
        per_block = np.asarray(self.eval(expr).data[:: self.entities], dtype=float)
        return per_block_or_one(per_block)

    def block_scalar(self, expr: Expr) -> np.ndarray | None:
        """With blocks, the value in each block (NaN where missing) of a scalar expression
        made of constants, names and operators only, computed over one row per block instead
        of every row (the same value for every entity of a block: sampled weights, for
        instance). None for any other expression, or no entities."""
        if self.blocks <= 1 or self.entities == 0 or not _rowwise_scalar(expr):
            return None
        one = self.__dict__.get("_one_per_block")
        if one is None:  # the first row of each block of this evaluator's values
            entities = self.entities
            one = Evaluator(self.methodology, self.index[:1], self.params, blocks=self.blocks,
                            lookup=lambda name: _first_of_blocks(self.eval_ref(name), entities))
            self._one_per_block = one
        return np.asarray(one.eval(expr).data, dtype=float)

    def block_rows(self, data: np.ndarray) -> np.ndarray:
        """A per-row array as (blocks, entities)."""
        return data.reshape(self.blocks, self.entities)

    def eval(self, expr: Expr) -> Val:
        method = _DISPATCH.get(type(expr))
        if method is None:  # pragma: no cover
            raise AssertionError(f"cannot evaluate {expr!r}")
        return method(self, expr)

    def _const(self, e: Const) -> Val:
        return constant(e.value, e.type, self.n)

    def _label(self, e: LabelConst) -> Val:
        return finish(e.type, np.full(self.n, float(e.level.order(e.label))))

    def _ref(self, e: Ref) -> Val:
        value = self.eval_ref(e.name)
        read = self.shared.reads.setdefault(e.name, {})
        made = read.get(e.type)
        if made is None or made[0] is not value:
            made = read[e.type] = (value, as_component(value, e.type))
        return made[1]

    def _unary(self, e: Unary) -> Val:
        return self.unary(e.op, self.eval(e.operand), e.type)

    def unary(self, op: str, a: Val, t: Type) -> Val:
        if a.is_list:
            return list_val(t, [self.unary(op, item, item_type(t)) for item in a.items])
        data = -a.data if op == "-" else 1.0 - a.data
        return finish(t, data, a.reasons)

    def _binary(self, e: Binary) -> Val:
        if self.shared.tracing and e is self.shared.top and e.op in ("+", "-") and e.type.base == NUMBER:
            return self._additive(e)
        return self.binary(e.op, self.eval(e.left), self.eval(e.right), e.type)

    def _additive(self, e: Binary) -> Val:
        """A node that is a sum of terms (`a + b - c`): evaluated as written, each term once,
        its terms recorded as components with coefficient +1 or -1 (ComponentTrace)."""
        terms: list[tuple[Expr, float, Val]] = []

        def walk(x: Expr, sign: float) -> Val:
            if isinstance(x, Binary) and x.op in ("+", "-") and x.type.base == NUMBER:
                left = walk(x.left, sign)
                right = walk(x.right, sign if x.op == "+" else -sign)
                return self.binary(x.op, left, right, x.type)
            v = self.eval(x)
            terms.append((x, sign, v))
            return v

        value = walk(e, 1.0)
        if any(v.is_list for _, _, v in terms):
            return value
        values = np.column_stack([np.asarray(v.data, dtype=float) for _, _, v in terms])
        signs = np.array([sign for _, sign, _ in terms])
        valid = (~value.missing)[:, None] & ~np.isnan(values)
        coefficients = np.where(valid, np.broadcast_to(signs, values.shape), np.nan)
        names = tuple(x.name if isinstance(x, Ref) else Printer().text(x) for x, _, _ in terms)
        self.shared.components = ComponentTrace(names, values, np.broadcast_to(signs, values.shape).copy(),
                                                coefficients, coefficients * values)
        return value

    def binary(self, op: str, a: Val, b: Val, t: Type) -> Val:
        if a.is_list or b.is_list:
            count = len(a.items) if a.is_list else len(b.items)
            left = a.items if a.is_list else (a,) * count
            right = b.items if b.is_list else (b,) * count
            assert len(left) == len(right), "lists of different lengths"
            return list_val(t, [self.binary(op, x, y, item_type(t)) for x, y in zip(left, right)])
        if op in ARITHMETIC:
            return self._arithmetic(op, a, b, t)
        if op in numeric.COMPARISONS:
            return self._comparison(op, a, b, t)
        if op in LOGIC:
            return self._logic(op, a, b, t)
        raise AssertionError(f"unknown operator {op!r}")  # pragma: no cover

    def _arithmetic(self, op: str, a: Val, b: Val, t: Type) -> Val:
        x, y = a.data, b.data
        missing = a.missing | b.missing
        reasons = first_reason(self.n, a, b)
        with np.errstate(all="ignore"):
            if op == "+":
                out = x + y
            elif op == "-":
                out = x - y
            elif op == "*":
                out = x * y
            elif op == "/":
                out = x / y
            else:
                out = np.power(x, y)
        if op == "/":
            zero = ~missing & (y == 0)
        elif op == "^":
            zero = ~missing & (x == 0) & (y < 0)
        else:
            zero = np.zeros(self.n, dtype=bool)
        undefined = ~missing & ~zero & np.isnan(out)
        failed = zero | undefined
        if failed.any():
            out = np.where(failed, np.nan, out)
            reasons = np.where(zero, DIVISION_BY_ZERO, np.where(undefined, OUT_OF_DOMAIN, reasons))
        return finish(t, out, reasons)

    def _comparison(self, op: str, a: Val, b: Val, t: Type) -> Val:
        missing = a.missing | b.missing
        if a.type.base == TEXT or b.type.base == TEXT:
            x = np.where(a.missing, "", a.data).astype(str)
            y = np.where(b.missing, "", b.data).astype(str)
            holds = {"==": x == y, "!=": x != y, "<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]
        else:
            holds = numeric.compare(op, a.data, b.data)
        out = np.where(missing, np.nan, holds.astype(float))
        return finish(t, out, first_reason(self.n, a, b))

    def _logic(self, op: str, a: Val, b: Val, t: Type) -> Val:
        x, y = a.data, b.data
        missing = a.missing | b.missing
        if op == "and":
            out = np.where((x == 0.0) | (y == 0.0), 0.0, np.where(missing, np.nan, 1.0))
        else:
            out = np.where((x == 1.0) | (y == 1.0), 1.0, np.where(missing, np.nan, 0.0))
        return finish(t, out, first_reason(self.n, a, b))

    def _is_missing(self, e: IsMissing) -> Val:
        return self.is_missing(self.eval(e.operand), e.negated, e.type)

    def is_missing(self, a: Val, negated: bool, t: Type) -> Val:
        if a.is_list:
            if t.base == LIST:
                return list_val(t, [self.is_missing(item, negated, item_type(t)) for item in a.items])
            missing = np.zeros(self.n, dtype=bool)
            for item in a.items:
                missing |= item.missing
        else:
            missing = a.missing
        return finish(t, (~missing if negated else missing).astype(float))

    def _if(self, e: IfElse) -> Val:
        if not (self.shared.tracing and e is self.shared.top):
            return self.where(self.eval(e.condition), self.eval(e.then), self.eval(e.otherwise), e.type)
        cond = e.condition
        left = right = None
        if isinstance(cond, Binary) and cond.op in numeric.COMPARISONS and cond.left.type.base == NUMBER \
                and cond.right.type.base == NUMBER:
            left, right = self.eval(cond.left), self.eval(cond.right)
            c = self.binary(cond.op, left, right, cond.type)
        else:
            c = self.eval(cond)
        taken = _BRANCHES[np.where(c.data == 1.0, 0, np.where(c.data == 0.0, 1, 2))]
        index = self.index
        self.shared.branch = lambda: BranchTrace(  # built when read (NodeTrace.branch)
            pd.Series(taken, index=index, dtype=object),
            None if left is None else pd.Series(left.data, index=index, dtype="float64"),
            None if right is None else pd.Series(right.data, index=index, dtype="float64"),
            cond.op if left is not None else None)
        return self.where(c, self.eval(e.then), self.eval(e.otherwise), e.type)
    def where(self, c: Val, a: Val, b: Val, t: Type) -> Val:
        if a.is_list or b.is_list:
            assert a.is_list and b.is_list and len(a.items) == len(b.items)
            return list_val(t, [self.where(c, x, y, item_type(t)) for x, y in zip(a.items, b.items)])
        take_a = c.data == 1.0
        take_b = c.data == 0.0
        data = np.where(take_a, a.data, np.where(take_b, b.data, empty_like_type(t, self.n)))
        reasons = nones(self.n)
        for mask, chosen in ((take_b, b), (take_a, a), (c.missing, c)):
            mask = mask & chosen.missing
            if mask.any():
                reasons[mask] = chosen.reasons[mask]
        return finish(t, data, reasons)

    def _list(self, e: ListOf) -> Val:
        return list_val(e.type, [self.eval(item) for item in e.items])

    def _pick(self, e: Pick) -> Val:
        if self.level != self.methodology.entity:  # the operand is per top-level entity
            top = self.at(None)
            return self.from_top_scalar(top.pick(top.eval(e.operand), e.key, e.type))
        return self.pick(self.eval(e.operand), e.key, e.type)

    def pick(self, v: Val, key: str, t: Type) -> Val:
        if v.is_list:
            return list_val(t, [self.pick(item, key, item_type(t)) for item in v.items])
        position = self.index.get_indexer([key])[0] if self.n else -1
        if position < 0:
            return finish(t, empty_like_type(t, self.n), np.full(self.n, NOT_IN_DATA, dtype=object))
        if self.blocks > 1:  # the entity's value in each block
            rows = position + self.entities * np.arange(self.blocks)
            return finish(t, np.repeat(v.data[rows], self.entities),
                          np.repeat(v.reasons[rows], self.entities).astype(object))
        data = np.full(self.n, v.data[position], dtype=v.data.dtype)
        return finish(t, data, np.full(self.n, v.reasons[position], dtype=object))

    def _call(self, e: Call) -> Val:
        if e.over is not None:
            return self._over(e)
        return FUNCTIONS[e.function](self, e)

    def _over(self, e: Call) -> Val:
        """`F(x) over LEVEL`: x per member, reduced per entity of this level at once."""
        members = self.at(e.over).eval(e.args[0])
        return aggregate(e, members, self.shared.positions(e.over, self.level, self.blocks), self.n)

    def _map(self, e: MapOf) -> Val:
        s = self.eval(e.subject)
        choice = _Choice(e.type, self.n)
        choice.fail(s.missing, s.reasons)
        for key, value in zip(e.keys, e.values):
            choice.take(_matches(s, key), self.eval(value))
        if e.otherwise is not None:
            choice.take(np.ones(self.n, dtype=bool), self.eval(e.otherwise))
        return choice.result()

    def _band(self, e: BandOf) -> Val:
        s = self.eval(e.subject)
        choice = _Choice(e.type, self.n)
        choice.fail(s.missing, s.reasons)
        for op, threshold, value in zip(e.ops, e.thresholds, e.values):
            limit = self.eval(threshold)
            choice.fail(limit.missing, limit.reasons)
            choice.take(numeric.compare(op, s.data, limit.data), self.eval(value))
        if e.otherwise is not None:
            choice.take(np.ones(self.n, dtype=bool), self.eval(e.otherwise))
        return choice.result()


_DISPATCH = {
    Const: Evaluator._const,
    LabelConst: Evaluator._label,
    Ref: Evaluator._ref,
    Unary: Evaluator._unary,
    Binary: Evaluator._binary,
    IsMissing: Evaluator._is_missing,
    IfElse: Evaluator._if,
    ListOf: Evaluator._list,
    Pick: Evaluator._pick,
    Call: Evaluator._call,
    MapOf: Evaluator._map,
    BandOf: Evaluator._band,
}


class _Shared:
    """What the evaluators of the levels of one evaluation share: the values of the nodes
    (each over its own level's entities; scalars over the top level's), the statistics of the
    node being evaluated, and the evaluator of each level."""

    def __init__(self, methodology: Methodology, frames: dict[str, LevelFrame] | None):
        self.frames = frames if methodology.is_multilevel else None
        self.nodes = {n.name: n for n in methodology.nodes} if self.frames is not None else {}
        self.env: dict[str, Val] = {}
        self.calls: list[tuple[Call, dict, bool, dict]] = []
        self.typed: list = []  # the statistics of the node being evaluated, typed
        self.top: Expr | None = None
        # while tracing a run (evaluate): what the node's whole expression records besides its
        # value (interpreter.trace.ComponentTrace, BranchTrace)
        self.tracing = False
        self.components = None
        self.component_names: list[str] = []
        self.branch = None
        # each node's value as expressions read it (as_component), by type, with the value it
        # was made of; evaluate forgets a node's after the last node that reads it
        self.reads: dict[str, dict[Type, tuple[Val, Val]]] = {}
        self.evaluators: dict[str, Evaluator] = {}
        self._positions: dict[tuple[str, str, int], np.ndarray] = {}

    def positions(self, lower: str, upper: str, blocks: int) -> np.ndarray:
        """For each row of `lower`, the row of the `upper` entity it lies within (computed once
        per pair of levels)."""
        key = (lower, upper, blocks)
        if key not in self._positions:
            within = ancestor_positions(self.frames, lower, upper)
            self._positions[key] = in_blocks(within, blocks, len(self.frames[upper].index))
        return self._positions[key]


_BRANCHES = np.array(["then", "else", None], dtype=object)


class _Choice:
    """First case that holds wins (map, band): a value built case by case, vectorised."""

    def __init__(self, t: Type, n: int):
        assert t.base != LIST, "map and band give single values"
        self.type = t
        self.data = empty_like_type(t, n)
        self.reasons = nones(n)
        self.decided = np.zeros(n, dtype=bool)

    def take(self, mask: np.ndarray, value: Val) -> None:
        m = mask & ~self.decided
        self.data = np.where(m, value.data, self.data)
        self.reasons = np.where(m, value.reasons, self.reasons)
        self.decided |= m

    def fail(self, mask: np.ndarray, reasons: np.ndarray) -> None:
        m = mask & ~self.decided
        self.reasons = np.where(m, reasons, self.reasons)
        self.decided |= m

    def result(self) -> Val:
        reasons = np.where(self.decided, self.reasons, NO_RULE).astype(object)
        return finish(self.type, self.data, reasons)


def _matches(s: Val, key) -> np.ndarray:
    t = s.type
    if t.base == LEVEL:
        return s.data == float(t.level.order(str(key)))
    if t.base == TEXT:
        return np.asarray(s.data == key, dtype=bool) & s.present
    if t.base == BOOLEAN:
        return s.data == (1.0 if key else 0.0)
    return numeric.close(s.data, float(key))


def _rowwise_scalar(expr: Expr) -> bool:
    """A scalar expression of constants, names and operators (no call, no population)."""
    if not expr.type.scalar:
        return False
    if isinstance(expr, (Const, Ref)):
        return True
    if isinstance(expr, Unary):
        return _rowwise_scalar(expr.operand)
    if isinstance(expr, Binary):
        return _rowwise_scalar(expr.left) and _rowwise_scalar(expr.right)
    return False


def _first_of_blocks(v: Val, entities: int) -> Val:
    if v.is_list:
        return list_val(v.type, [_first_of_blocks(item, entities) for item in v.items])
    return Val(v.type, v.data[::entities], v.reasons[::entities])


def constant(value, t: Type, n: int) -> Val:
    """A literal or param value broadcast to n entities (labels become level positions)."""
    if value is None:
        return finish(t, empty_like_type(t, n))
    if t.base == LEVEL:
        return finish(t, np.full(n, float(t.level.order(str(value)))))
    if t.base == TEXT:
        return finish(t, np.full(n, value, dtype=object))
    return finish(t, np.full(n, float(value)))


def per_block_or_one(values: np.ndarray):
    """One value per block as a float (None if missing) when every block has the same, else
    the float array itself."""
    first = values[0]
    if np.isnan(first):
        return None if np.isnan(values).all() else values
    return float(first) if (values == first).all() else values


def block_constant(values, t: Type, n: int) -> Val:
    """A param's sampled values (one per block: numbers, booleans, labels or texts), each
    repeated for the n entities of its block."""
    values = np.asarray(values, dtype=object if t.base in (LEVEL, TEXT) else None)
    if t.base == LEVEL:
        codes = np.array([np.nan if v is None else float(t.level.order(str(v))) for v in values])
        return finish(t, np.repeat(codes, n))
    if t.base == TEXT:
        return finish(t, np.repeat(values.astype(object), n))
    return finish(t, np.repeat(values.astype(float), n))


def tile(v: Val, blocks: int) -> Val:
    """A value over the entities, repeated for each block."""
    if v.is_list:
        return list_val(v.type, [tile(item, blocks) for item in v.items])
    return Val(v.type, np.tile(v.data, blocks), np.tile(v.reasons, blocks))


def as_component(v: Val, t: Type) -> Val:
    """A node's value read by another expression: its missing values become component_missing."""
    if v.is_list:
        return list_val(t, [as_component(item, item_type(t)) for item in v.items])
    if t.base != v.type.base:  # pragma: no cover - the checker guarantees the type
        t = v.type.as_scalar(t.scalar)
    missing = v.missing
    if not missing.any():  # its reasons are all None already
        return Val(t, v.data, v.reasons)
    reasons = nones(len(missing))
    reasons[missing] = COMPONENT_MISSING
    return Val(t, v.data, reasons)


def retype(v: Val, t: Type) -> Val:
    if v.is_list:
        return list_val(t, [retype(item, item_type(t)) for item in v.items])
    return Val(t, v.data, v.reasons)


# ---------------------------------------------------------------- params


def resolve_params(methodology: Methodology, overrides: dict | None) -> dict:
    """Declared param values with `overrides` applied; raises ParamError for an unknown name,
    a value of the wrong type or one outside the param's range, or when the values make the
    weights of a `weighted_mean` stop summing to 100% (dsl.constants, the checker's rule)."""
    declared = {p.name: p for p in methodology.params}
    used = {name: p.value for name, p in declared.items()}
    for name, value in (overrides or {}).items():
        if name not in declared:
            raise ParamError(_unknown_param(name, declared))
        used[name] = _check_param(declared[name], value)
    if overrides:
        weight_notes(methodology, used)
    return used


def weight_notes(methodology: Methodology, used: dict, rule: WeightRule | None = None,
                 what: str = "with these params") -> tuple[str, ...]:
    """The weights rule of the checker (dsl.constants) run again with the params a run uses:
    a ParamError for a `weighted_mean` whose weights no longer sum to 100%; with `normalise`,
    a note (the weights are divided by their sum)."""
    notes = []
    for found in (rule or WeightRule(methodology)).changed(used):
        if not found.normalise:
            raise ParamError(f"{found.where()}{found.message()} {what}; add `normalise` to divide by their sum")
        notes.append(f"{found.where()}note: {found.message()} {what}; `normalise` divides them by their sum")
    return tuple(notes)


def _describe_param(p: Node) -> str:
    if p.range is not None:
        return f"{p.name} (range {p.range[0]:g}..{p.range[1]:g})"
    if p.distribution is not None:
        return f"{p.name} ({p.distribution.text})"
    if p.type.base == LEVEL:
        return f"{p.name} (one of {', '.join(p.type.level.labels)})"
    return f"{p.name} ({p.type.base})"


def _unknown_param(name: str, declared: dict[str, Node]) -> str:
    if not declared:
        return f"unknown param {name!r}: this methodology declares no params"
    close = difflib.get_close_matches(name, list(declared), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    allowed = ", ".join(_describe_param(p) for p in declared.values())
    return f"unknown param {name!r}{hint}; the params are: {allowed}"


def _check_param(p: Node, value):
    value = _check_param_type(p, value)
    if p.distribution is not None and p.distribution.kind == ONE_OF:
        options = p.distribution.values
        if not any(numeric.close(value, o) if p.type.base == NUMBER else value == o for o in options):
            raise ParamError(f"param {p.name} = {value!r} is not one of its options ({p.distribution.text})")
    return value


def _check_param_type(p: Node, value):
    base = p.type.base
    if base == NUMBER:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise ParamError(f"param {p.name} needs a number, not {value!r}")
        value = float(value)
        if not np.isfinite(value):
            raise ParamError(f"param {p.name} needs a finite number, not {value!r}")
        if p.range is not None:
            lo, hi = p.range
            if not (numeric.compare(">=", value, lo) and numeric.compare("<=", value, hi)):
                raise ParamError(f"param {p.name} = {value:g} is outside its range {lo:g}..{hi:g}")
        return value
    if base == BOOLEAN:
        if not isinstance(value, (bool, np.bool_)):
            raise ParamError(f"param {p.name} needs true or false, not {value!r}")
        return bool(value)
    if base == LEVEL:
        if not isinstance(value, str) or value not in p.type.level.labels:
            raise ParamError(f"param {p.name} needs one of {', '.join(p.type.level.labels)}, not {value!r}")
        return value
    if not isinstance(value, str):
        raise ParamError(f"param {p.name} needs a text, not {value!r}")
    return value


# ---------------------------------------------------------------- running a methodology


def evaluate(methodology: Methodology, inputs: pd.DataFrame, params: dict | None = None,
             tracer: Tracer | None = None, labels: pd.Series | None = None,
             members: Mapping[str, LevelInputs] | None = None) -> RunResult:
    """Evaluate every node for every entity (rows of `inputs`, indexed by entity key).

    `members` holds the entities and inputs of each lower level (interpreter/levels.py); each
    node is evaluated over the entities of its own level, and a lower level's traces go to
    `RunResult.members`."""
    used = resolve_params(methodology, params)
    notes = weight_notes(methodology, used) if params else ()
    index = inputs.index
    frames = build_frames(methodology, index, members) if methodology.is_multilevel else None
    top = Evaluator(methodology, index, used, frames=frames)
    top.shared.tracing = True
    traces: dict[str, NodeTrace] = {}
    level_traces: dict[str, dict[str, NodeTrace]] = {lv.name: {} for lv in methodology.lower_levels}
    last_reader = {dep: node.name for node in methodology.nodes for dep in node.deps}
    read_last = {}
    for dep, reader in last_reader.items():
        read_last.setdefault(reader, []).append(dep)
    indices = {ranking.index_score(methodology, level) for level in
               (None, *(lv.name for lv in methodology.lower_levels))} - {None}
    for node in methodology.nodes:
        ev = top.at(node.level or node.context)
        tier_trace = None
        scalars: dict = {}
        typed: list[Statistic] = []
        if node.kind == INPUT:
            value = _input_value(node, _level_table(members, node.level, inputs), ev.index)
        elif node.kind == PARAM:
            value = constant(used[node.name], node.type, ev.n)
            scalars["value"] = used[node.name]
        elif node.kind == TIER:
            ev.begin(node.tier.source)
            value, tier_trace, tier_stats = evaluate_tier(ev, node)
            scalars.update(ev.statistics(node_is_scalar=False))
            scalars.update(tier_stats)
            typed = [t for t in top.shared.typed if t.key not in tier_stats] + _tier_statistics(node, tier_stats)
        else:
            ev.begin(node.expr)
            value = ev.eval(node.expr)
            scalars.update(ev.statistics(node_is_scalar=node.type.scalar))
            typed = list(top.shared.typed)
        value = retype(value, node.type)
        if node.type.scalar:
            value = ev.to_top_scalar(value)
            if node.kind != PARAM:
                scalars["value"] = scalar_value(value)
            ev = top
        ev.env[node.name] = value
        shared = top.shared
        components = shared.components if node.kind not in (INPUT, PARAM, TIER) else None
        branch = shared.branch if node.kind not in (INPUT, PARAM, TIER) else None
        if "value" in scalars and node.type.scalar:  # the node's own value is no statistic
            typed = [t for t in typed if t.key != "value"]
        rank = None
        if node.name in indices:  # an index's score: its entities ranked once, here
            rank = pd.Series(ranking.competition_ranks(to_series(value, ev.index).to_numpy(dtype="float64"), "top"),
                             index=ev.index, dtype="float64")
        trace = NodeTrace(node, None, None, scalars, tier_trace, components=components, branch=branch,
                          statistics=tuple(typed), rank=rank, series=_trace_series(value, ev.index))
        (level_traces[node.level] if node.level else traces)[node.name] = trace
        for dep in read_last.get(node.name, ()):
            top.shared.reads.pop(dep, None)
        if tracer is not None:
            tracer.on_node(trace)
    lower = {lv.name: LevelResult(lv, frames[lv.name].index, members[lv.name].labels if lv.name in (members or {})
                                  else None, _parents(members, lv.name, frames), level_traces[lv.name])
             for lv in methodology.lower_levels}
    return RunResult(methodology, index, labels, used, traces, members=lower, notes=notes)


def _trace_series(value: Val, index: pd.Index):
    """A function building the trace.py representation of a node's value and reasons."""
    return lambda: (to_series(value, index), reasons_series(value, index))


def _tier_statistics(node: Node, stats: dict) -> list[Statistic]:
    """The tier rules' statistics (interpreter.tiers), typed."""
    labels = [r.label for r in node.tier.rules]
    out = []
    for i in range(len(labels)):
        prefix = rule_prefix(labels, i)
        for name in ("threshold", "count", "edge"):
            key = f"{prefix}.{name}"
            if key in stats:
                out.append(Statistic(key, key, name, rule=prefix))
    if "n" in stats:
        out.append(Statistic("n", "n", "n"))
    return out


def _level_table(members, level: str | None, inputs: pd.DataFrame) -> pd.DataFrame:
    """The inputs of a level (the top level's when None); a level with no data given (a test
    of one top-level entity) has no entities."""
    if level is None:
        return inputs
    if members and level in members:
        return members[level].frame
    return pd.DataFrame(index=pd.Index([], dtype=object))


def _parents(members, level: str, frames) -> pd.Series:
    frame = frames[level]
    if members and level in members:
        return members[level].parents.reindex(frame.index).astype(object)
    return pd.Series([], index=frame.index, dtype=object)


def scalar_value(v: Val):
    """The plain value of a scalar (NaN for a missing number, None for other missing values)."""
    if len(v) == 0:
        return float("nan") if v.type.base == NUMBER else None
    plain = plain_values(v)[0]
    if v.type.base == NUMBER and plain is None:
        return float("nan")
    return plain


def _input_value(node: Node, inputs: pd.DataFrame, index: pd.Index) -> Val:
    if node.name in inputs.columns:
        column = inputs[node.name]
    elif node.column is not None and node.column in inputs.columns:
        column = inputs[node.column]
    else:
        column = pd.Series([None] * len(index), index=index, dtype=object)
        if node.optional:  # an `optional` input whose column the data lacks
            value = from_series(column, node.type, index)
            return finish(node.type, value.data, np.full(len(index), COLUMN_ABSENT, dtype=object))
    value = from_series(column, node.type, index)
    return finish(node.type, value.data, np.where(value.missing, INPUT_MISSING, None))


def evaluate_value(result: RunResult, expr: Expr, level: str | None = None) -> Val:
    """The internal value of `expr` evaluated against a finished run (every node readable),
    for the entities of `level` (None: the top level)."""
    index = result.keys

    def lookup(name: str) -> Val:
        trace = result.traces.get(name)
        keys = index
        if trace is None:
            level_result = next(m for m in result.members.values() if name in m.traces)
            trace, keys = level_result.traces[name], level_result.keys
        return from_series(trace.values, trace.node.type, keys,
                           reasons=trace.reasons.to_numpy(dtype=object))

    frames = build_frames(result.methodology, index, result.members) if result.methodology.is_multilevel else None
    ev = Evaluator(result.methodology, index, result.params, lookup=lookup, frames=frames).at(level)
    ev.begin(expr)
    return ev.eval(expr)


def evaluate_expression(result: RunResult, expr: Expr, level: str | None = None) -> pd.Series:
    """`expr` evaluated for every entity of a finished run (of `level`; None: the top level),
    in the trace.py representation (a boolean expression gives a nullable boolean Series; a
    scalar one, its value repeated)."""
    if level is not None and level != result.methodology.entity:
        keys = result.members[level].keys
    else:
        keys = result.keys
    return to_series(evaluate_value(result, expr, level), keys)


# ---------------------------------------------------------------- many param samples at once


def varying_nodes(methodology: Methodology, sampled) -> frozenset[str]:
    """The sampled params and every node that reads one of them, directly or not."""
    varying = set(sampled)
    for node in methodology.nodes:
        if node.name not in varying and any(d in varying for d in node.deps):
            varying.add(node.name)
    return frozenset(varying)


def needed_nodes(methodology: Methodology, wanted) -> frozenset[str]:
    """The wanted nodes and every node they read, directly or not."""
    needed = set(wanted)
    for node in reversed(methodology.nodes):
        if node.name in needed:
            needed.update(node.deps)
    return frozenset(needed)


class SampleEvaluator:
    """Evaluates a methodology for many samples of its params at once (docs/sensitivity.md).

    The entities are stacked once per sample (a table of entities × samples rows, sample-major)
    and each sampled param becomes a per-row value: its sampled value repeated for the
    entities of its sample. Every population computation is done within each sample, so each
    sample's values are those a single run with that sample's params gives. Nodes that no
    sampled param reaches are evaluated once over the entities and repeated per sample (unless
    `share_invariant` is False); only the `wanted` nodes and what they read are evaluated.
    Nothing is traced: `run` gives internal values (interpreter.values), and each sampled
    block is as long as the input table.

        ev = SampleEvaluator(m, inputs, sampled=["w"], wanted=["rating"])
        values = ev.run({"w": np.array([0.4, 0.5, 0.6])})   # 3 samples
        ev.matrix(values["rating"])                          # (3, entities) tier positions
    """

    def __init__(self, methodology: Methodology, inputs: pd.DataFrame, params: dict | None = None, *,
                 sampled, wanted=None, share_invariant: bool = True,
                 members: Mapping[str, LevelInputs] | None = None):
        self.methodology = methodology
        self.inputs = inputs
        self.members = members or {}
        self.frames = build_frames(methodology, inputs.index, members) if methodology.is_multilevel else None
        self.index = inputs.index
        self.entities = len(inputs.index)
        self.params = resolve_params(methodology, params)
        self.sampled = tuple(sampled)
        for name in self.sampled:
            if not methodology.has(name) or methodology.node(name).kind != PARAM:
                raise ParamError(_unknown_param(name, {p.name: p for p in methodology.params}))
        wanted = [n.name for n in methodology.nodes] if wanted is None else list(wanted)
        self.wanted = tuple(wanted)
        needed = needed_nodes(methodology, wanted)
        varying = varying_nodes(methodology, self.sampled)
        if not share_invariant:
            varying = frozenset(needed)
        self.order = tuple(n for n in methodology.nodes if n.name in needed and n.name in varying)
        self.varying = frozenset(n.name for n in self.order)
        self._shared = self._evaluate_once([n for n in methodology.nodes if n.name in needed
                                            and n.name not in varying])
        self._last_use = self._last_uses()
        sampled_reach = varying_nodes(methodology, self.sampled)
        weighted = [(n, c) for n, c in weighted_calls(methodology) if n in needed
                    and any(isinstance(e, Ref) and e.name in sampled_reach for w in c.weights for e in walk(w))]
        self._weights_rule = WeightRule(methodology, weighted) if weighted else None
        self._tiled: dict[str, Val] = {}
        self._tiled_blocks = 0

    def _evaluate_once(self, nodes: list[Node]) -> dict[str, Val]:
        ev = Evaluator(self.methodology, self.index, self.params, frames=self.frames)
        for node in nodes:
            ev.env[node.name] = self._value_at_level(ev, node, self.params)
        return ev.env

    def _value_at_level(self, ev: Evaluator, node: Node, params: dict) -> Val:
        at = ev.at(node.level or node.context)
        value = retype(self._node_value(at, node, params), node.type)
        return at.to_top_scalar(value) if node.type.scalar else value

    def _last_uses(self) -> dict[str, int]:
        """For each node, the position in `order` of the last node reading it."""
        last: dict[str, int] = {}
        for i, node in enumerate(self.order):
            for d in node.deps:
                last[d] = i
        return last

    def _node_value(self, ev: Evaluator, node: Node, params: dict) -> Val:
        if node.kind == INPUT:
            table = _level_table(self.members, node.level, self.inputs)
            value = _input_value(node, table, ev.index)
            return tile(value, ev.blocks) if ev.blocks > 1 else value
        if node.kind == PARAM:
            if node.name in params and isinstance(params[node.name], np.ndarray):
                return block_constant(params[node.name], node.type, self.entities)
            return constant(params[node.name], node.type, ev.n)
        if node.kind == TIER:
            ev.begin(node.tier.source)
            return evaluate_tier(ev, node, trace=False)[0]
        ev.begin(node.expr)
        return ev.eval(node.expr)

    def run(self, samples: dict) -> dict[str, Val]:
        """The wanted nodes' values for these samples: {param: one value per sample} for every
        sampled param (numbers, booleans, labels or texts), all of the same length."""
        if set(samples) != set(self.sampled):
            raise ParamError(f"samples are given for {sorted(samples)}, expected {sorted(self.sampled)}")
        lengths = {len(v) for v in samples.values()}
        if len(lengths) > 1:
            raise ParamError("every sampled param needs the same number of samples")
        blocks = lengths.pop() if lengths else 1
        params = dict(self.params)
        for name, values in samples.items():
            params[name] = _check_samples(self.methodology.node(name), values)
        if self._weights_rule is not None:
            self._check_weights(params, samples)
        shared = self._shared
        if self._tiled_blocks != blocks:  # chunks of the same size share the repeated values
            self._tiled, self._tiled_blocks = {}, blocks
        tiled = self._tiled

        def lookup(name: str) -> Val:
            if name not in tiled:
                tiled[name] = tile(shared[name], blocks)
            return tiled[name]

        ev = Evaluator(self.methodology, self.index, params, lookup=lookup, blocks=blocks, frames=self.frames)
        keep = set(self.wanted)
        for i, node in enumerate(self.order):
            ev.env[node.name] = self._value_at_level(ev, node, params)
            for d in node.deps:
                if self._last_use.get(d) == i and d not in keep:
                    ev.env.pop(d, None)
        return {name: ev.env[name] if name in ev.env else lookup(name) for name in self.wanted}

    def _check_weights(self, params: dict, samples: dict) -> None:
        """The checker's weights rule for every sample at once (dsl.constants folds the sampled
        params element-wise); the first sample that breaks it is reported as an override is."""
        rule = self._weights_rule
        sums = weight_sums(self.methodology, params, rule.calls, rule.definitions)
        for found, declared in zip(sums, rule.declared):
            if found is None or declared is None or found.normalise:
                continue
            total = np.broadcast_to(np.asarray(found.total, dtype=float), (len(next(iter(samples.values()))),))
            bad = ~(np.abs(total - 1.0) <= WEIGHT_TOLERANCE) & ~(np.abs(total - declared.total) <= WEIGHT_TOLERANCE)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                sample = {**self.params, **{name: params[name][i].item() for name in samples}}
                weight_notes(self.methodology, sample, rule, what=f"in sample {i + 1}")

    def matrix(self, v: Val) -> np.ndarray:
        """A (not list) value of `run` as a (samples, entities) array."""
        return v.data.reshape(-1, self.entities)


def _check_samples(p: Node, values) -> np.ndarray:
    """Sampled values of one param as an array, checked like overrides (type, range, options)."""
    base = p.type.base
    if base == NUMBER:
        arr = np.asarray(values, dtype=float)
        if not np.isfinite(arr).all():
            raise ParamError(f"param {p.name} needs finite numbers")
        if p.range is not None:
            lo, hi = p.range
            inside = numeric.compare(">=", arr, lo) & numeric.compare("<=", arr, hi)
            if not inside.all():
                bad = arr[~inside][0]
                raise ParamError(f"param {p.name} = {bad:g} is outside its range {lo:g}..{hi:g}")
        if p.distribution is not None and p.distribution.kind == ONE_OF:
            allowed = np.zeros(len(arr), dtype=bool)
            for option in p.distribution.values:
                allowed |= numeric.close(arr, option)
            if not allowed.all():
                raise ParamError(f"param {p.name} = {arr[~allowed][0]:g} is not one of its options "
                                 f"({p.distribution.text})")
        return arr
    distinct = {(type(v), v) for v in values}
    for _, value in distinct:
        _check_param(p, value)
    if base == BOOLEAN:
        return np.asarray(values, dtype=bool)
    return np.asarray(values, dtype=object)
