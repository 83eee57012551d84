"""Aggregations over a call's components (sum, mean, weighted_mean, geometric_mean, min, max,
count, any, all), and the components and choices they record for explain.

Lists are spread (a weighted list gives every item that weight); the semantics of missing
components, `skip missing`, `require N` and re-normalised weights are those of the package
docstring (interpreter.functions). `count` of a single per-entity condition is a population
count (the number of entities where it holds).
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from dsl.model import Call, Const, ListOf, Ref
from dsl.printer import Printer
from dsl.types import Type
from interpreter.functions.registry import builtin
from interpreter.reason_codes import (
    BELOW_REQUIRE,
    COMPONENT_MISSING,
    DIVISION_BY_ZERO,
    OUT_OF_DOMAIN,
    no_reasons,
)
from interpreter.trace import BranchTrace, ComponentTrace
from interpreter.values import Val, const_val, finish, first_reason


def _spread(ev, call: Call) -> tuple[list[Val], list | None]:
    """The components of an aggregation (lists spread) and their weights (or None). With
    blocks, scalar weights are given as their value per block (a float array) instead."""
    values: list[Val] = []
    weights: list | None = [] if call.weights is not None else None
    per_block = ev.blocks > 1 and weights is not None and all(w.type.scalar for w in call.weights)
    for i, expr in enumerate(call.args):
        v = ev.eval(expr)
        items = list(v.items) if v.is_list else [v]
        values.extend(items)
        if ev.shared.tracing and call is ev.shared.top:
            ev.shared.component_names.extend(_component_names(expr, len(items)) if v.is_list else [_text(expr)])
        if weights is not None:
            w = _block_weight(ev, call.weights[i]) if per_block else ev.eval(call.weights[i])
            weights.extend([w] * len(items))
    return values, weights


def _text(expr) -> str:
    return expr.name if isinstance(expr, Ref) else Printer().text(expr)


def _component_names(expr, count: int) -> list[str]:
    """The names of a list argument's items: `[a, b]` gives a, b; a list `l` gives l[1], l[2]."""
    if isinstance(expr, ListOf) and len(expr.items) == count:
        return [_text(item) for item in expr.items]
    return [f"{_text(expr)}[{i + 1}]" for i in range(count)]


def _trace_components(ev, call: Call, c: _Components, coefficients, result: Val) -> None:
    """Records the components of the node's aggregation (interpreter.trace.ComponentTrace):
    only while tracing a run, and only for the call that is the node's whole expression."""
    if not (ev.shared.tracing and call is ev.shared.top):
        return
    names = tuple(ev.shared.component_names)

    def components() -> ComponentTrace:  # built when read (NodeTrace.components)
        valid = (~result.missing)[:, None] & c.present
        with np.errstate(all="ignore"):
            effective = np.where(valid, coefficients(), np.nan)
            contributions = effective * c.xz
        weights = c.w if c.weighted else np.ones((c.n, c.k))
        return ComponentTrace(names, c.x.copy(), np.asarray(weights, dtype=float), effective, contributions)

    ev.shared.components = components


def _block_weight(ev, expr) -> np.ndarray:
    """A scalar weight's value in each block (NaN where missing)."""
    if isinstance(expr, Const):
        return np.full(ev.blocks, np.nan if expr.value is None else float(expr.value))
    once = ev.block_scalar(expr)  # once per block, not for every entity of every block
    if once is not None:
        return once
    return np.asarray(ev.eval(expr).data[:: ev.entities], dtype=float)


# numpy sums a row of fewer than 8 numbers one after another, starting from 0.0; a reduction
# along short rows is slow (one call per row), so such rows are summed column by column
_SHORT_ROW = 8


def row_sums(matrix: np.ndarray) -> np.ndarray:
    """`matrix.sum(axis=1)` bit for bit, faster for a few columns (floats: added in the order
    numpy adds them; booleans: counted as int64)."""
    k = matrix.shape[1]
    if k == 0 or k >= _SHORT_ROW:
        return matrix.sum(axis=1)
    return add_in_order([matrix[:, j] for j in range(k)])


def add_in_order(columns) -> np.ndarray:
    """The columns added one after another into a new array, as numpy sums a short row
    (booleans counted as int64)."""
    # + 0.0: a sum of negative zeros is 0.0, as numpy's
    out = columns[0].astype(np.int64) if columns[0].dtype == bool else columns[0] + 0.0
    for column in columns[1:]:
        out += column
    return out


def zero_where(mask: np.ndarray, x: np.ndarray) -> np.ndarray:
    """`np.where(mask, 0.0, x)` bit for bit for float64 x, without a branch per value (np.where
    mispredicts where the mask is irregular): x's bits kept, or all cleared (0.0)."""
    if x.dtype != np.float64 or mask.dtype != bool or mask.shape != x.shape:
        return np.where(mask, 0.0, x)
    keep = mask.view(np.uint8).astype(np.uint64)
    keep -= np.uint64(1)  # 0 where masked, all ones elsewhere
    keep &= x.view(np.uint64)
    return keep.view(np.float64)


def _columns(arrays: list[np.ndarray]) -> np.ndarray:
    """np.column_stack(arrays): for fewer than 8 columns, a column-major view of one stack (no
    transposing copy: every row sum of such a matrix is `row_sums`, one column at a time);
    for more, row-major, so that numpy's own row sums add each row as they always have."""
    stacked = np.stack(arrays)
    return stacked.T if len(arrays) < _SHORT_ROW else np.ascontiguousarray(stacked.T)


def _present_counts(k: int, missing: list[np.ndarray], n: int) -> np.ndarray:
    """Per entity, k less the number of `missing` masks that hold there (int64): the missing
    ones counted as bytes, one conversion at the end (fewer than 256 masks)."""
    if not missing:
        return np.full(n, k, dtype=np.int64)
    if len(missing) > 255:
        return k - np.sum(missing, axis=0, dtype=np.int64)
    gone = missing[0].view(np.uint8).copy()
    for mask in missing[1:]:
        gone += mask.view(np.uint8)
    return np.subtract(k, gone, dtype=np.int64)


class _Components:
    """The components of an aggregation as (entities x components) arrays."""

    def __init__(self, ev, call: Call):
        values, weights = _spread(ev, call)
        n, k = ev.n, len(values)
        self.n, self.k = n, k
        self.values = values
        self._lacking = [v for v in values if v.missing_somewhere]
        any_missing = bool(self._lacking)
        self.count = _present_counts(k, [v.missing for v in self._lacking], n)  # row_sums(present)
        self.skip = call.skip_missing or call.require is not None
        self.need = call.require if call.require is not None else (1 if self.skip else k)
        self.weighted = weights is not None
        if self.skip:
            self.invalid = self.count < self.need
            reason = BELOW_REQUIRE if call.require is not None else COMPONENT_MISSING
            reasons = self.invalid.view(np.uint8) * np.uint8(reason) if self.invalid.any() else no_reasons(n)
        else:
            self.invalid = self.count < k
            reasons = first_reason(n, *values) if any_missing else no_reasons(n)
        if weights is not None:
            if isinstance(weights[0], np.ndarray):  # one value per block: repeated per entity
                per_block = np.column_stack(weights)
                w_missing = np.repeat(np.isnan(per_block).any(axis=1), ev.entities)
                w_block = np.nan_to_num(per_block)
                w = np.repeat(w_block, ev.entities, axis=0)
                self.w = w if not w_missing.any() else np.repeat(per_block, ev.entities, axis=0)
                self.w_all = np.repeat(row_sums(w_block), ev.entities)
            else:
                self.w = _columns([w.data for w in weights])
                w_missing = np.isnan(self.w).any(axis=1)
                w = np.nan_to_num(self.w)
                self.w_all = row_sums(w)
            if w_missing.any():
                reasons = np.where(~self.invalid & w_missing, COMPONENT_MISSING, reasons)
            self.invalid |= w_missing
            self.wz = np.where(self.missing, 0.0, w) if any_missing else w
            self.w_present = row_sums(self.wz) if any_missing else self.w_all
        self.reasons = reasons

    # The (entities x components) matrices, made on first read (explain's components,
    # `coefficients`, the other aggregations): an unweighted sum or mean of a few components
    # adds their columns (present_total) and needs none of them.

    @functools.cached_property
    def x(self) -> np.ndarray:
        return _columns([v.data for v in self.values]) if self.k else np.zeros((self.n, 0))

    @functools.cached_property
    def missing(self) -> np.ndarray:
        return np.isnan(self.x)  # components are numbers or booleans: NaN is missing

    @functools.cached_property
    def present(self) -> np.ndarray:
        return ~self.missing

    @functools.cached_property
    def xz(self) -> np.ndarray:
        return zero_where(self.missing, self.x) if self._lacking else self.x

    # The weights of unweighted components, each 1 (__init__ sets these four when weighted).

    @functools.cached_property
    def w(self) -> np.ndarray:
        return np.ones((self.n, self.k))

    @functools.cached_property
    def wz(self) -> np.ndarray:
        return self.present.astype(float)

    @functools.cached_property
    def w_all(self) -> np.ndarray:
        return np.full(self.n, float(self.k))

    @functools.cached_property
    def w_present(self) -> np.ndarray:
        return self.count.astype(float)

    def present_total(self) -> np.ndarray:
        """row_sums(xz): the sum of the present components, per entity (0.0 if none); for a few
        components, their columns added in row_sums' order without making the matrix."""
        if "xz" in self.__dict__ or not 0 < self.k < _SHORT_ROW:
            return row_sums(self.xz)
        lacking = {id(v) for v in self._lacking}
        return add_in_order([zero_where(v.missing, v.data) if id(v) in lacking else v.data
                             for v in self.values])

    def fail(self, mask: np.ndarray, reason: int) -> None:
        """Make the result missing with `reason` where mask holds (and it is not yet invalid)."""
        if mask.any():
            self.reasons = np.where(~self.invalid & mask, reason, self.reasons)
            self.invalid = self.invalid | mask

    def renormalised(self, total: np.ndarray, normalise: bool) -> np.ndarray:
        """total (a weighted sum over present components) re-normalised per the semantics."""
        if normalise:
            self.fail(self.w_present == 0, DIVISION_BY_ZERO)
            return total / self.w_present
        partial = self.count < self.k
        self.fail(partial & (self.w_present == 0), DIVISION_BY_ZERO)
        return np.where(partial, total * self.w_all / self.w_present, total)

    def result(self, t: Type, data: np.ndarray) -> Val:
        return finish(t, np.where(self.invalid, np.nan, data), self.reasons)

    def coefficients(self, normalise: bool) -> np.ndarray:
        """Each present component's effective weight in `renormalised(total, normalise)`: the
        weight, re-normalised as that total is (entities x components)."""
        with np.errstate(all="ignore"):
            if normalise:
                return self.wz / self.w_present[:, None]
            partial = (self.count < self.k)[:, None]
            return np.where(partial, self.wz * (self.w_all / self.w_present)[:, None], self.wz)


@builtin("sum")
def _sum(ev, call: Call) -> Val:
    c = _Components(ev, call)
    if not c.weighted:
        result = c.result(call.type, c.present_total())
        _trace_components(ev, call, c, lambda: c.present.astype(float), result)
        return result
    result = c.result(call.type, c.renormalised(row_sums(c.wz * c.xz), normalise=call.normalise))
    _trace_components(ev, call, c, lambda: c.coefficients(call.normalise), result)
    return result


def _mean_like(ev, call: Call, geometric: bool) -> Val:
    c = _Components(ev, call)
    x = c.xz if c.weighted or geometric else None  # unweighted: present_total
    if geometric:
        c.fail((c.present & ~(c.x > 0)).any(axis=1), OUT_OF_DOMAIN)
        x = np.where(c.present & (c.x > 0), np.log(np.where(c.x > 0, c.x, 1.0)), 0.0)
    # unweighted, each present component's weight is 1.0 and each missing one's (then 0.0) 0.0:
    # `wz * x` would be x itself, bit for bit
    total = row_sums(c.wz * x) if c.weighted or geometric else c.present_total()
    if not c.weighted:
        data = total / c.count
    else:
        # `mean` with weights always normalises; weighted_mean / geometric_mean unless normalise
        normalise = call.normalise or call.function == "mean"
        data = c.renormalised(total, normalise)
    if geometric:
        data = np.exp(data)
        return c.result(call.type, data)
    result = c.result(call.type, data)
    if c.weighted:
        _trace_components(ev, call, c, lambda: c.coefficients(call.normalise or call.function == "mean"), result)
    else:
        _trace_components(ev, call, c, lambda: c.present / c.count[:, None], result)
    return result


@builtin("mean")
def _mean(ev, call: Call) -> Val:
    return _mean_like(ev, call, geometric=False)


@builtin("weighted_mean")
def _weighted_mean(ev, call: Call) -> Val:
    return _mean_like(ev, call, geometric=False)


@builtin("geometric_mean")
def _geometric_mean(ev, call: Call) -> Val:
    return _mean_like(ev, call, geometric=True)


@builtin("min")
def _min(ev, call: Call) -> Val:
    c = _Components(ev, call)
    data = np.where(c.missing, np.inf, c.x).min(axis=1) if c.k else np.full(c.n, np.nan)
    return _trace_choice(ev, call, c, c.result(call.type, data), np.argmin, np.inf)


@builtin("max")
def _max(ev, call: Call) -> Val:
    c = _Components(ev, call)
    data = np.where(c.missing, -np.inf, c.x).max(axis=1) if c.k else np.full(c.n, np.nan)
    return _trace_choice(ev, call, c, c.result(call.type, data), np.argmax, -np.inf)


def _trace_choice(ev, call: Call, c: _Components, result: Val, pick, fill: float) -> Val:
    """Records which component `max` / `min` gave (the first of equal ones), when the call is
    the node's whole expression of a traced run (interpreter.trace.BranchTrace)."""
    if ev.shared.tracing and call is ev.shared.top and c.k:
        names = np.array(ev.shared.component_names, dtype=object)
        index = ev.index

        def branch() -> BranchTrace:  # built when read (NodeTrace.branch)
            chosen = names[pick(np.where(c.missing, fill, c.x), axis=1)]
            return BranchTrace(pd.Series(np.where(result.missing, None, chosen).astype(object), index=index,
                                         dtype=object))

        ev.shared.branch = branch
    return result


@builtin("count")
def _count(ev, call: Call) -> Val:
    if call.population_count:
        return _population_count(ev, call)
    c = _Components(ev, call)
    return c.result(call.type, row_sums(c.present & (c.x == 1.0)).astype(float))


@builtin("any")
def _any(ev, call: Call) -> Val:
    c = _Components(ev, call)
    return c.result(call.type, (c.present & (c.x == 1.0)).any(axis=1).astype(float))


@builtin("all")
def _all(ev, call: Call) -> Val:
    c = _Components(ev, call)
    return c.result(call.type, (c.missing | (c.x == 1.0)).all(axis=1).astype(float))


def _population_count(ev, call: Call) -> Val:
    cond = ev.eval(call.args[0])
    holds = cond.present & (cond.data == 1.0)
    if ev.blocks > 1:
        counts = ev.block_rows(holds).sum(axis=1).astype(float)
        ev.record(call, {})
        return finish(call.type, np.repeat(counts, ev.entities))
    value = float(holds.sum())
    ev.record(call, {"value": value, "n": float(cond.present.sum())})
    return const_val(value, call.type, ev.n)

