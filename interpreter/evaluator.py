"""The Evaluator: a resolved expression evaluated over every entity of one level at once.

`Evaluator.eval(expr)` dispatches on the expression's node type; each node is a handful of
numpy operations over whole columns (interpreter.operators, interpreter.functions), never a
loop over entities. The internal representation is described in interpreter.values.

A reference to another node that is missing gives `component_missing` (an input's own empty
cells are `input_missing`); `x for "KEY"` with an unknown key gives `key_not_in_data`; the
operators' reasons are in interpreter.operators, the functions' in interpreter.functions.

While a run is traced (interpreter.evaluate), the node's whole expression also records what
explain shows besides its value: the terms of a sum (ComponentTrace), the branch an `if`
took (BranchTrace), and the statistics of its population calls (interpreter.call_statistics).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dsl.model import (
    PARAM,
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
    Pick,
    Ref,
    Unary,
)
from dsl.printer import Printer
from dsl.types import NUMBER, Type
from interpreter import numeric, operators
from interpreter.call_statistics import call_statistics
from interpreter.functions import FUNCTIONS
from interpreter.levels import (
    LevelFrame,
    aggregate,
    ancestor_positions,
    gather,
    in_blocks,
    rescale_scalar,
)
from interpreter.reason_codes import NOT_IN_DATA
from interpreter.trace import BranchTrace, ComponentTrace
from interpreter.values import (
    Val,
    as_component,
    constant,
    empty_like_type,
    finish,
    item_type,
    list_val,
    per_block_or_one,
)


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
        self._constants: dict[tuple, Val] = {}
        self.shared.evaluators.setdefault(self.level, self)

    def done(self) -> None:
        """The evaluation is over: the evaluators of its levels let go of one another (they
        refer to each other through what they share, a reference cycle that would keep every
        node's values until Python's cycle collector runs)."""
        self.shared.evaluators.clear()

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
        """The statistics of the node's population calls (interpreter.call_statistics); their
        typed form goes to `shared.typed` (interpreter.trace.Statistic)."""
        out, self.shared.typed = call_statistics(self.shared.calls, node_is_scalar)
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
        # made once per evaluator for each literal value (a Val is never changed): the same
        # literal is written in many nodes, and read again in every block of samples
        key = _literal_key(e)
        found = self._constants.get(key)
        if found is None:
            found = self._constants[key] = constant(e.value, e.type, self.n)
        return found

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
        return operators.unary(e.op, self.eval(e.operand), e.type)

    def _binary(self, e: Binary) -> Val:
        if self.shared.tracing and e is self.shared.top and e.op in ("+", "-") and e.type.base == NUMBER:
            return self._additive(e)
        return operators.binary(e.op, self.eval(e.left), self.eval(e.right), e.type, self.n)

    def _terms(self, x: Expr, sign: float, terms: list) -> Val:
        """`x` evaluated as written, each term of a sum appended to `terms` with its sign (a
        method, not a recursive closure: that would be a reference cycle holding the terms)."""
        if isinstance(x, Binary) and x.op in ("+", "-") and x.type.base == NUMBER:
            left = self._terms(x.left, sign, terms)
            right = self._terms(x.right, sign if x.op == "+" else -sign, terms)
            return operators.binary(x.op, left, right, x.type, self.n)
        v = self.eval(x)
        terms.append((x, sign, v))
        return v

    def _additive(self, e: Binary) -> Val:
        """A node that is a sum of terms (`a + b - c`): evaluated as written, each term once,
        its terms recorded as components with coefficient +1 or -1 (ComponentTrace)."""
        terms: list[tuple[Expr, float, Val]] = []
        value = self._terms(e, 1.0, terms)
        if any(v.is_list for _, _, v in terms):
            return value

        def components() -> ComponentTrace:  # built when read (NodeTrace.components)
            values = np.column_stack([np.asarray(v.data, dtype=float) for _, _, v in terms])
            signs = np.array([sign for _, sign, _ in terms])
            valid = (~value.missing)[:, None] & ~np.isnan(values)
            coefficients = np.where(valid, np.broadcast_to(signs, values.shape), np.nan)
            names = tuple(x.name if isinstance(x, Ref) else Printer().text(x) for x, _, _ in terms)
            return ComponentTrace(names, values, np.broadcast_to(signs, values.shape).copy(),
                                  coefficients, coefficients * values)

        self.shared.components = components
        return value

    def _is_missing(self, e: IsMissing) -> Val:
        return operators.is_missing(self.eval(e.operand), e.negated, e.type, self.n)

    def _if(self, e: IfElse) -> Val:
        if not (self.shared.tracing and e is self.shared.top):
            return operators.where(self.eval(e.condition), self.eval(e.then), self.eval(e.otherwise), e.type, self.n)
        cond = e.condition
        left = right = None
        if isinstance(cond, Binary) and cond.op in numeric.COMPARISONS and cond.left.type.base == NUMBER \
                and cond.right.type.base == NUMBER:
            left, right = self.eval(cond.left), self.eval(cond.right)
            c = operators.binary(cond.op, left, right, cond.type, self.n)
        else:
            c = self.eval(cond)
        index = self.index
        self.shared.branch = lambda: BranchTrace(  # built when read (NodeTrace.branch)
            pd.Series(_BRANCHES[np.where(c.data == 1.0, 0, np.where(c.data == 0.0, 1, 2))], index=index,
                      dtype=object),
            None if left is None else pd.Series(left.data, index=index, dtype="float64"),
            None if right is None else pd.Series(right.data, index=index, dtype="float64"),
            cond.op if left is not None else None)
        return operators.where(c, self.eval(e.then), self.eval(e.otherwise), e.type, self.n)

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
            return finish(t, empty_like_type(t, self.n), NOT_IN_DATA)
        if self.blocks > 1:  # the entity's value in each block
            rows = position + self.entities * np.arange(self.blocks)
            return finish(t, np.repeat(v.data[rows], self.entities),
                          np.repeat(v.codes[rows], self.entities))
        data = np.full(self.n, v.data[position], dtype=v.data.dtype)
        return finish(t, data, v.codes[position])

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
        choice = operators.Choice(e.type, self.n)
        choice.fail(s.missing, s.codes)
        for key, value in zip(e.keys, e.values):
            choice.take(operators.matches(s, key), self.eval(value))
        if e.otherwise is not None:
            choice.take(np.ones(self.n, dtype=bool), self.eval(e.otherwise))
        return choice.result()

    def _band(self, e: BandOf) -> Val:
        s = self.eval(e.subject)
        choice = operators.Choice(e.type, self.n)
        choice.fail(s.missing, s.codes)
        for op, threshold, value in zip(e.ops, e.thresholds, e.values):
            limit = self.eval(threshold)
            choice.fail(limit.missing, limit.codes)
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


def _literal_key(e: Const) -> tuple:
    """What makes two literals the same value: their type, and the value's own class and
    exact value (a float by its bits: 0.0 == -0.0 and 1 == True, but they are not the same)."""
    value = e.value
    return (e.type, value.__class__, value.hex() if isinstance(value, float) else value)


def _first_of_blocks(v: Val, entities: int) -> Val:
    if v.is_list:
        return list_val(v.type, [_first_of_blocks(item, entities) for item in v.items])
    return Val(v.type, v.data[::entities], v.codes[::entities])

