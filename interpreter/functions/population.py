"""One implementation per built-in of dsl.builtins.BUILTINS, registered under the same name.

Every implementation has the signature `fn(ev, call) -> Val`: `ev` is the evaluator
(interpreter.evaluate.Evaluator; it evaluates argument expressions with `ev.eval(expr)`, gives
constant arguments with `ev.const(expr)` and collects population statistics with
`ev.record(call, stats)`), `call` the resolved dsl.model.Call. Implementations work on whole
columns (numpy arrays over every entity); the only Python loops are over a call's arguments
and, for `within`, over the groups.

Missing values and their reasons (docs/semantics.md):
- row functions: a missing argument gives missing with that argument's reason (the first
  missing argument's); log/log10 of x <= 0, sqrt of x < 0 and geometric_mean of a value <= 0
  give `out_of_domain`; a zero divisor (goalpost with lo == hi, weights summing to 0 over the
  present components) gives `division_by_zero`.
- aggregations spread list arguments (a weighted list gives every item that weight). Without
  `skip missing` or `require`, a missing component makes the result missing (with the
  component's reason). `skip missing` drops missing components and needs at least one
  present (else `component_missing`); `require N` needs N present (else `below_require`) and
  implies dropping the missing ones. Re-normalised weights: with components missing, a
  weighted sum / weighted_mean / weighted geometric_mean is scaled by
  (sum of all weights) / (sum of present weights); `normalise` and weighted `mean` always
  divide by the sum of present weights. Unweighted, `sum` adds the present values and `mean`
  averages them (no scaling).
- population functions compute over present values (per `within` group: the values of an
  input or of a per-entity definition; entities whose group is missing stay missing, reason
  `component_missing`). `method:` picks numpy.quantile's method for the quantiles. Values are sorted before any
  sum so that the row order of the data never changes a result. `zscore` and `minmax` of a
  population whose values are all (decimal-safe) equal, and sample sds of fewer than two
  values, give `division_by_zero`. A quantile level outside 0..1 gives `out_of_domain`.

Statistics recorded (see interpreter.evaluate for how they are named on the node):
rank, percentile: n; quantile_band, quartile: cut_1..cut_{n-1}, n; zscore: mean, sd, n;
minmax: min, max, n; winsorize: low, high, n; population_mean/median/sd/quantile: value, n;
kmeans_band: seed_1..k, centroid_1..k (by band), iterations_1, iterations_2, outliers, n;
the further statistics of interpreter.statistics: value, n (winsorize_count: low, high, n);
count of a single per-entity condition (a population count): value, n (entities with a known
condition). With `within G`, each is recorded per group as `name[GROUP]`.

Blocks (interpreter.evaluate.Evaluator, `ev.blocks` > 1: many param samples evaluated at once,
docs/sensitivity.md): population functions compute within each block, with the same numpy
operations row by row (`_population_blocks`); constant arguments may then differ by block
(`ev.const` gives one value per block). Statistics are not recorded.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from dsl.builtins import BUILTINS, DEFAULT_QUANTILE_METHOD, MAX_BANDS
from dsl.model import Call, Const, ListOf, Ref
from dsl.printer import Printer
from dsl.types import BOOLEAN, LEVEL, NUMBER, Type
from interpreter import clustering, numeric
from interpreter.trace import (
    BELOW_REQUIRE,
    COMPONENT_MISSING,
    DIVISION_BY_ZERO,
    EXCLUDED,
    OUT_OF_DOMAIN,
    BranchTrace,
    ComponentTrace,
)
from interpreter.values import Val, const_val, empty_like_type, finish, first_reason, nones

FUNCTIONS: dict[str, Callable] = {}


def builtin(name: str):
    assert name in BUILTINS, f"{name} is not declared in dsl.builtins"

    def register(fn):
        FUNCTIONS[name] = fn
        return fn

    return register


# ---------------------------------------------------------------- helpers


def _args(ev, call: Call) -> list[Val]:
    return [ev.eval(a) for a in call.args]


def _row(t: Type, n: int, args: list[Val], compute, bad: tuple[tuple[str, Callable], ...] = ()) -> Val:
    """A row function: missing if an argument is missing, else compute(*arrays); `bad` lists
    (reason, predicate(*arrays)) making the result missing with that reason."""
    arrays = [a.data for a in args]
    reasons = first_reason(n, *args)
    any_missing = np.zeros(n, dtype=bool)
    for a in args:
        any_missing |= a.missing
    with np.errstate(all="ignore"):
        data = np.asarray(compute(*arrays), dtype=float)
        for reason, predicate in bad:
            hit = ~any_missing & np.asarray(predicate(*arrays), dtype=bool)
            data = np.where(hit, np.nan, data)
            reasons = np.where(hit & pd_isnone(reasons), reason, reasons)
    data = np.where(any_missing, np.nan, data)
    return finish(t, data, reasons)


def pd_isnone(a: np.ndarray) -> np.ndarray:
    return np.equal(a, None)


def _unary(fn, bad=()):
    def impl(ev, call: Call) -> Val:
        return _row(call.type, ev.n, _args(ev, call), fn, bad)

    return impl


# ---------------------------------------------------------------- row-wise arithmetic

FUNCTIONS.update({
    "abs": _unary(np.abs),
    "exp": _unary(np.exp),
    "log": _unary(np.log, ((OUT_OF_DOMAIN, lambda x: x <= 0),)),
    "log10": _unary(np.log10, ((OUT_OF_DOMAIN, lambda x: x <= 0),)),
    "sqrt": _unary(np.sqrt, ((OUT_OF_DOMAIN, lambda x: x < 0),)),
    "floor": _unary(numeric.floor),
    "ceil": _unary(numeric.ceil),
})


@builtin("clip")
def _clip(ev, call: Call) -> Val:
    return _row(call.type, ev.n, _args(ev, call), lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi))


@builtin("round")
def _round(ev, call: Call) -> Val:
    x = ev.eval(call.args[0])
    digits = ev.const(call.args[1])
    if isinstance(digits, np.ndarray):
        return _per_block(ev, digits, lambda d: _round_to(ev, call, x, d))
    return _round_to(ev, call, x, digits)


def _round_to(ev, call: Call, x: Val, digits) -> Val:
    if digits is None or not np.isfinite(digits):
        return finish(call.type, np.full(ev.n, np.nan), np.where(x.missing, x.reasons, COMPONENT_MISSING))
    return _row(call.type, ev.n, [x], lambda v: numeric.round_half_away(v, digits))


@builtin("goalpost")
def _goalpost(ev, call: Call) -> Val:
    lower = call.polarity == "lower"

    def compute(x, lo, hi):
        g = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
        return 1.0 - g if lower else g

    return _row(call.type, ev.n, _args(ev, call), compute,
                ((DIVISION_BY_ZERO, lambda x, lo, hi: hi == lo),))


@builtin("only")
def _only(ev, call: Call) -> Val:
    """x where the condition is true; elsewhere missing, reason `excluded` (a missing x keeps
    its own reason where the condition holds)."""
    x, condition = _args(ev, call)
    keep = condition.present & (condition.data == 1.0)
    data = np.where(keep, x.data, np.nan)
    reasons = np.where(keep, x.reasons, EXCLUDED).astype(object)
    return finish(call.type, data, reasons)


@builtin("coalesce")
def _coalesce(ev, call: Call) -> Val:
    args = _args(ev, call)
    data = empty_like_type(call.type, ev.n)
    done = np.zeros(ev.n, dtype=bool)
    for a in args:
        take = ~done & a.present
        data[take] = a.data[take]
        done |= take
    return finish(call.type, data, args[0].reasons)


# ---------------------------------------------------------------- aggregations


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


def _trace_components(ev, call: Call, c: _Components, coefficients: np.ndarray, result: Val) -> None:
    """Records the components of the node's aggregation (interpreter.trace.ComponentTrace):
    only while tracing a run, and only for the call that is the node's whole expression."""
    if not (ev.shared.tracing and call is ev.shared.top):
        return
    valid = (~result.missing)[:, None] & c.present
    with np.errstate(all="ignore"):
        coefficients = np.where(valid, coefficients, np.nan)
        contributions = coefficients * c.xz
    weights = c.w if c.weighted else np.ones((c.n, c.k))
    ev.shared.components = ComponentTrace(tuple(ev.shared.component_names), c.x.copy(), np.asarray(weights, dtype=float),
                                          coefficients, contributions)


def _block_weight(ev, expr) -> np.ndarray:
    """A scalar weight's value in each block (NaN where missing)."""
    if isinstance(expr, Const):
        return np.full(ev.blocks, np.nan if expr.value is None else float(expr.value))
    once = ev.block_scalar(expr)  # once per block, not for every entity of every block
    if once is not None:
        return once
    return np.asarray(ev.eval(expr).data[:: ev.entities], dtype=float)


def _columns(arrays: list[np.ndarray]) -> np.ndarray:
    """np.column_stack(arrays), built faster (one contiguous stack, then one transposing copy)."""
    return np.ascontiguousarray(np.stack(arrays).T)


class _Components:
    """The components of an aggregation as (entities x components) arrays."""

    def __init__(self, ev, call: Call):
        values, weights = _spread(ev, call)
        n, k = ev.n, len(values)
        self.n, self.k = n, k
        self.values = values
        self.x = _columns([v.data for v in values]) if k else np.zeros((n, 0))
        self.missing = np.isnan(self.x)  # components are numbers or booleans: NaN is missing
        any_missing = bool(self.missing.any())
        self.present = ~self.missing
        self.count = self.present.sum(axis=1) if any_missing else np.full(n, k, dtype=np.int64)
        self.skip = call.skip_missing or call.require is not None
        self.need = call.require if call.require is not None else (1 if self.skip else k)
        self.xz = np.where(self.missing, 0.0, self.x) if any_missing else self.x
        self.weighted = weights is not None
        if self.skip:
            self.invalid = self.count < self.need
            reason = BELOW_REQUIRE if call.require is not None else COMPONENT_MISSING
            reasons = np.where(self.invalid, reason, None).astype(object) if self.invalid.any() else nones(n)
        else:
            self.invalid = self.count < k
            reasons = first_reason(n, *values) if any_missing else nones(n)
        if weights is not None:
            if isinstance(weights[0], np.ndarray):  # one value per block: repeated per entity
                per_block = np.column_stack(weights)
                w_missing = np.repeat(np.isnan(per_block).any(axis=1), ev.entities)
                w_block = np.nan_to_num(per_block)
                w = np.repeat(w_block, ev.entities, axis=0)
                self.w = w if not w_missing.any() else np.repeat(per_block, ev.entities, axis=0)
                self.w_all = np.repeat(w_block.sum(axis=1), ev.entities)
            else:
                self.w = _columns([w.data for w in weights])
                w_missing = np.isnan(self.w).any(axis=1)
                w = np.nan_to_num(self.w)
                self.w_all = w.sum(axis=1)
            if w_missing.any():
                reasons = np.where(~self.invalid & w_missing, COMPONENT_MISSING, reasons)
            self.invalid |= w_missing
            self.wz = np.where(self.missing, 0.0, w) if any_missing else w
            self.w_present = self.wz.sum(axis=1) if any_missing else self.w_all
        else:
            self.w = np.ones((n, k))
            self.wz = self.present.astype(float)
            self.w_all = np.full(n, float(k))
            self.w_present = self.count.astype(float)
        self.reasons = reasons

    def fail(self, mask: np.ndarray, reason: str) -> None:
        """Make the result missing with `reason` where mask holds (and it is not yet invalid)."""
        if mask.any():
            self.reasons = np.where(~self.invalid & mask, reason, self.reasons)
            self.invalid = self.invalid | mask

    def renormalised(self, total: np.ndarray, normalise: bool) -> np.ndarray:
        """total (a weighted sum over present components) re-normalised per the semantics."""
        with np.errstate(all="ignore"):
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
        result = c.result(call.type, c.xz.sum(axis=1))
        _trace_components(ev, call, c, c.present.astype(float), result)
        return result
    result = c.result(call.type, c.renormalised((c.wz * c.xz).sum(axis=1), normalise=call.normalise))
    _trace_components(ev, call, c, c.coefficients(call.normalise), result)
    return result


def _mean_like(ev, call: Call, geometric: bool) -> Val:
    c = _Components(ev, call)
    x = c.xz
    if geometric:
        c.fail((c.present & ~(c.x > 0)).any(axis=1), OUT_OF_DOMAIN)
        with np.errstate(all="ignore"):
            x = np.where(c.present & (c.x > 0), np.log(np.where(c.x > 0, c.x, 1.0)), 0.0)
    total = (c.wz * x).sum(axis=1)
    if not c.weighted:
        with np.errstate(all="ignore"):
            data = total / c.count
    else:
        # `mean` with weights always normalises; weighted_mean / geometric_mean unless normalise
        normalise = call.normalise or call.function == "mean"
        data = c.renormalised(total, normalise)
    if geometric:
        with np.errstate(all="ignore"):
            data = np.exp(data)
        return c.result(call.type, data)
    result = c.result(call.type, data)
    if c.weighted:
        _trace_components(ev, call, c, c.coefficients(call.normalise or call.function == "mean"), result)
    else:
        with np.errstate(all="ignore"):
            _trace_components(ev, call, c, c.present / c.count[:, None], result)
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
        chosen = names[pick(np.where(c.missing, fill, c.x), axis=1)]
        taken = np.where(result.missing, None, chosen).astype(object)
        index = ev.index
        ev.shared.branch = lambda: BranchTrace(pd.Series(taken, index=index, dtype=object))  # built when read
    return result


@builtin("count")
def _count(ev, call: Call) -> Val:
    if call.population_count:
        return _population_count(ev, call)
    c = _Components(ev, call)
    return c.result(call.type, (c.present & (c.x == 1.0)).sum(axis=1).astype(float))


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


# ---------------------------------------------------------------- population functions


def group_names(g: Val) -> np.ndarray:
    """Group values as display strings (None where missing)."""
    t = g.type
    miss = g.missing
    if t.base == LEVEL:
        labels = np.array(list(t.level.labels) + [None], dtype=object)
        return labels[np.where(miss, -1, g.data).astype(np.int64)]
    if t.base == BOOLEAN:
        return np.where(miss, None, np.where(g.data == 1.0, "true", "false")).astype(object)
    if t.base == NUMBER:
        return np.where(miss, None, np.char.mod("%.15g", np.nan_to_num(g.data))).astype(object)
    return np.where(miss, None, g.data).astype(object)


def _groups(ev, call: Call) -> tuple[list[tuple[str | None, np.ndarray]], np.ndarray]:
    """[(group name or None for the whole population, member mask)], and a mask of entities
    that belong to no group (their group value is missing)."""
    if call.within is None:
        return [(None, np.ones(ev.n, dtype=bool))], np.zeros(ev.n, dtype=bool)
    names = group_names(ev.eval_ref(call.within))
    codes, uniques = pd.factorize(names, use_na_sentinel=True)  # None -> -1
    ungrouped = codes < 0
    order = sorted(range(len(uniques)), key=lambda k: str(uniques[k]))  # over groups, by name
    return [(str(uniques[k]), codes == k) for k in order], ungrouped


def _key(stat: str, group: str | None) -> str:
    return stat if group is None else f"{stat}[{group}]"


def _population(ev, call: Call, kernel, scalar_result: bool, kernel2d=None) -> Val:
    """Apply kernel(values) -> (out, bad, stats) to the present values of each group.

    Per-entity functions (`scalar_result` False): `out` is aligned with the present values,
    `bad` is None or a reason for all of them (a degenerate statistic). Scalar functions:
    `out` is one number given to every member of the group. With blocks, `kernel2d` does the
    same for many blocks at once (see _population_blocks)."""
    if ev.blocks > 1:
        return _population_blocks(ev, call, kernel2d or _kernel_by_row(kernel, scalar_result), scalar_result)
    x = ev.eval(call.args[0])
    data = np.full(ev.n, np.nan)
    reasons = nones(ev.n) if scalar_result else np.where(x.missing, x.reasons, None).astype(object)
    groups, ungrouped = _groups(ev, call)
    reasons = np.where(ungrouped & np.equal(reasons, None), COMPONENT_MISSING, reasons)
    stats: dict[str, float] = {}
    grouped: dict[str, tuple[str, str]] = {}  # key -> (statistic, group), for Evaluator.record
    for group, members in groups:
        use = members & x.present
        values = x.data[use]
        out, bad, group_stats = kernel(np.sort(values), values)
        for name, value in group_stats.items():
            stats[_key(name, group)] = value
            if group is not None:
                grouped[_key(name, group)] = (name, group)
        target = members if scalar_result else use
        if bad is not None:
            reasons = np.where(target, bad, reasons)
        else:
            data[target] = out
    ev.record(call, stats, grouped)
    return finish(call.type, data, reasons)


def _polarity_lower(call: Call) -> bool:
    return call.polarity == "lower"


def _degenerate(sorted_values: np.ndarray) -> bool:
    return len(sorted_values) < 2 or bool(numeric.close(sorted_values[0], sorted_values[-1]))


@builtin("rank")
def _rank(ev, call: Call) -> Val:
    lower = _polarity_lower(call)

    def kernel(s, v):
        if lower:
            out = 1.0 + numeric.count_below(s, v)
        else:
            out = 1.0 + (len(s) - numeric.count_at_most(s, v))
        return out, None, {"n": float(len(s))}

    def kernel2d(s, v, rows):
        if lower:
            return 1.0 + _count_below_rows(s, v), None
        return 1.0 + (s.shape[1] - _count_at_most_rows(s, v)), None

    return _population(ev, call, kernel, scalar_result=False, kernel2d=kernel2d)


@builtin("percentile")
def _percentile(ev, call: Call) -> Val:
    lower = _polarity_lower(call)

    def kernel(s, v):
        beaten = (len(s) - numeric.count_below(s, v)) if lower else numeric.count_at_most(s, v)
        return 100.0 * beaten / max(len(s), 1), None, {"n": float(len(s))}

    def kernel2d(s, v, rows):
        m = s.shape[1]
        beaten = (m - _count_below_rows(s, v)) if lower else _count_at_most_rows(s, v)
        return 100.0 * beaten / max(m, 1), None

    return _population(ev, call, kernel, scalar_result=False, kernel2d=kernel2d)


def _quantile_band(ev, call: Call, bands) -> Val:
    lower = _polarity_lower(call)
    # beyond MAX_BANDS (a param overridden at run time): missing, as for no band at all, never
    # n - 1 quantiles computed (quantile_band(x, 1e8) would need gigabytes)
    if bands is None or not np.isfinite(bands) or int(bands) < 1 or bands > MAX_BANDS:
        x = ev.eval(call.args[0])
        return finish(call.type, np.full(ev.n, np.nan), np.where(x.missing, x.reasons, OUT_OF_DOMAIN))
    bands = int(bands)
    levels = [k / bands for k in range(1, bands)]
    method = _method(call)

    def kernel(s, v):
        stats: dict[str, float] = {}
        out = np.ones(len(v))
        cuts = np.quantile(s, levels, method=method) if len(s) else [np.nan] * len(levels)
        for k, cut in enumerate(cuts, start=1):
            stats[f"cut_{k}"] = float(cut)
            out += numeric.compare("<" if lower else ">", v, cut)
        stats["n"] = float(len(s))
        return out, None, stats

    def kernel2d(s, v, rows):
        out = np.ones(v.shape)
        if s.shape[1]:
            cuts = np.quantile(s, levels, axis=1, method=method)
        else:
            cuts = np.full((len(levels), len(s)), np.nan)
        for cut in cuts:
            out += numeric.compare("<" if lower else ">", v, cut[:, None])
        return out, None

    return _population(ev, call, kernel, scalar_result=False, kernel2d=kernel2d)


@builtin("quantile_band")
def _quantile_band_builtin(ev, call: Call) -> Val:
    bands = ev.const(call.args[1])
    if isinstance(bands, np.ndarray):
        return _per_block(ev, bands, lambda b: _quantile_band(ev, call, b))
    return _quantile_band(ev, call, bands)


@builtin("scaled_rank")
def _scaled_rank(ev, call: Call) -> Val:
    """NOF 2025/26 standard ranking model (the formula is inferred, see docs/semantics.md):
    best + (worst - best) × (r - 1) / (M - 1), r the competition rank (1 = best), M the
    entities with a value; best when M = 1."""
    lower = _polarity_lower(call)
    best, worst = ev.const(call.args[1]), ev.const(call.args[2])

    def scale(r, m, lo, hi):
        with np.errstate(all="ignore"):
            return np.where(m > 1, lo + (hi - lo) * (r - 1.0) / max(m - 1, 1), lo + 0.0 * r)

    def kernel(s, v):
        r = 1.0 + (numeric.count_below(s, v) if lower else len(s) - numeric.count_at_most(s, v))
        lo, hi = (np.nan if b is None else float(b) for b in (best, worst))
        return scale(r, len(s), lo, hi), None, {"n": float(len(s))}

    def kernel2d(s, v, rows):
        m = s.shape[1]
        r = 1.0 + (_count_below_rows(s, v) if lower else m - _count_at_most_rows(s, v))
        return scale(r, m, _per_row(best, rows)[:, None], _per_row(worst, rows)[:, None]), None

    return _population(ev, call, kernel, scalar_result=False, kernel2d=kernel2d)


@builtin("quartile")
def _quartile(ev, call: Call) -> Val:
    return _quantile_band(ev, call, 4)


@builtin("zscore")
def _zscore(ev, call: Call) -> Val:
    sign = -1.0 if _polarity_lower(call) else 1.0

    def kernel(s, v):
        mean = float(np.mean(s)) if len(s) else np.nan
        sd = float(np.std(s, ddof=1)) if len(s) > 1 else np.nan
        if _degenerate(s):
            sd = 0.0 if len(s) > 1 else sd
            return None, DIVISION_BY_ZERO, {"mean": mean, "sd": sd, "n": float(len(s))}
        return sign * (v - mean) / sd, None, {"mean": mean, "sd": sd, "n": float(len(s))}

    def kernel2d(s, v, rows):
        if s.shape[1] < 2:
            return np.full(v.shape, np.nan), _reasons(len(s), DIVISION_BY_ZERO)
        mean = np.mean(s, axis=1)
        sd = np.std(s, axis=1, ddof=1)
        with np.errstate(all="ignore"):
            out = sign * (v - mean[:, None]) / sd[:, None]
        return out, _reasons(len(s), DIVISION_BY_ZERO, numeric.close(s[:, 0], s[:, -1]))

    return _population(ev, call, kernel, scalar_result=False, kernel2d=kernel2d)


@builtin("minmax")
def _minmax(ev, call: Call) -> Val:
    lower = _polarity_lower(call)

    def kernel(s, v):
        lo = float(s[0]) if len(s) else np.nan
        hi = float(s[-1]) if len(s) else np.nan
        stats = {"min": lo, "max": hi, "n": float(len(s))}
        if len(s) == 0 or numeric.close(lo, hi):
            return None, DIVISION_BY_ZERO, stats
        out = (hi - v) / (hi - lo) if lower else (v - lo) / (hi - lo)
        return out, None, stats

    def kernel2d(s, v, rows):
        if s.shape[1] == 0:
            return np.full(v.shape, np.nan), _reasons(len(s), DIVISION_BY_ZERO)
        lo, hi = s[:, :1], s[:, -1:]
        with np.errstate(all="ignore"):
            out = (hi - v) / (hi - lo) if lower else (v - lo) / (hi - lo)
        return out, _reasons(len(s), DIVISION_BY_ZERO, numeric.close(lo[:, 0], hi[:, 0]))

    return _population(ev, call, kernel, scalar_result=False, kernel2d=kernel2d)


@builtin("kmeans_band")
def _kmeans_band(ev, call: Call) -> Val:
    """interpreter.clustering: bands 1..k numbered by centroid, k = the highest centroid (the
    lowest with `lower is better`). Fewer than k values, an empty quantile group (ties), k not
    a whole number >= 2 or a negative `strict` give out_of_domain. Statistics by band b:
    seed_b, centroid_b; iterations_1, iterations_2 (passes), outliers (left out of the second
    pass's last means), n."""
    k, strict = ev.const(call.args[1]), ev.const(call.args[2])
    if isinstance(k, np.ndarray):  # sampled params: each block with its own value
        return _per_block(ev, k, lambda value: _kmeans_band_with(ev, call, value, strict))
    return _kmeans_band_with(ev, call, k, strict)


def _kmeans_band_with(ev, call: Call, k, strict) -> Val:
    if isinstance(strict, np.ndarray):
        return _per_block(ev, strict, lambda value: _kmeans_band_with(ev, call, k, value))
    lower = _polarity_lower(call)

    def kernel(s, v):
        stats: dict[str, float] = {"n": float(len(s))}
        if k is None or strict is None or not float(k).is_integer() or k < 2 or not strict >= 0:
            return None, OUT_OF_DOMAIN, stats
        bands = int(k)
        if len(s) < bands or np.isnan(clustering.quantile_group_seeds(s, bands)).any():
            return None, OUT_OF_DOMAIN, stats
        found = clustering.kmeans(v.astype(float), bands, float(strict))
        band = (bands - found.cluster if lower else found.cluster + 1).astype(float)
        by_band = (lambda a: a[::-1]) if lower else (lambda a: a)
        for b, (seed, centroid) in enumerate(zip(by_band(found.seeds), by_band(found.centroids)), start=1):
            stats[f"seed_{b}"] = float(seed)
            stats[f"centroid_{b}"] = float(centroid)
        stats.update(iterations_1=float(found.iterations[0]), iterations_2=float(found.iterations[1]),
                     outliers=float(found.outliers))
        return band, None, stats

    return _population(ev, call, kernel, scalar_result=False)


def _valid_level(q) -> bool:
    return q is not None and np.isfinite(q) and 0.0 <= q <= 1.0


@builtin("winsorize")
def _winsorize(ev, call: Call) -> Val:
    lo_q, hi_q = ev.const(call.args[1]), ev.const(call.args[2])
    method = _method(call)

    def kernel(s, v):
        if not (_valid_level(lo_q) and _valid_level(hi_q)):
            return None, OUT_OF_DOMAIN, {"n": float(len(s))}
        low = float(np.quantile(s, lo_q, method=method)) if len(s) else np.nan
        high = float(np.quantile(s, hi_q, method=method)) if len(s) else np.nan
        return np.minimum(np.maximum(v, low), high), None, {"low": low, "high": high, "n": float(len(s))}

    def kernel2d(s, v, rows):
        lo, hi = _per_row(lo_q, rows), _per_row(hi_q, rows)
        valid = _valid_levels(lo) & _valid_levels(hi)
        quantile = _quantile_rows if method == "linear" else _quantile_rows_by(method)
        if s.shape[1] == 0:
            low = high = np.full(len(s), np.nan)
        else:
            low, high = quantile(s, np.where(valid, lo, 0.0)), quantile(s, np.where(valid, hi, 0.0))
        out = np.minimum(np.maximum(v, low[:, None]), high[:, None])
        return out, _reasons(len(s), OUT_OF_DOMAIN, ~valid)

    return _population(ev, call, kernel, scalar_result=False, kernel2d=kernel2d)


def _scalar_stat(ev, call: Call, statistic, minimum: int = 1, short_reason: str = COMPONENT_MISSING,
                 level=None, statistic2d=None) -> Val:
    """`statistic(sorted values)`; with blocks, `statistic2d(sorted rows, levels per row)`."""

    def kernel(s, v):
        if level is not None and not _valid_level(level):
            return None, OUT_OF_DOMAIN, {"n": float(len(s))}
        if len(s) < minimum:
            reason = COMPONENT_MISSING if len(s) == 0 else short_reason
            return None, reason, {"value": np.nan, "n": float(len(s))}
        value = float(statistic(s))
        return value, None, {"value": value, "n": float(len(s))}

    def kernel2d(s, v, rows):
        m = s.shape[1]
        levels = None if level is None else _per_row(level, rows)
        invalid = np.zeros(len(s), dtype=bool) if levels is None else ~_valid_levels(levels)
        if m < minimum:
            value = np.full(len(s), np.nan)
            bad = _reasons(len(s), COMPONENT_MISSING if m == 0 else short_reason)
        else:
            safe = None if levels is None else np.where(invalid, 0.0, levels)
            value = np.asarray(statistic2d(s, safe), dtype=float)
            bad = _reasons(len(s), None)
        return value, np.where(invalid, OUT_OF_DOMAIN, bad).astype(object)

    return _population(ev, call, kernel, scalar_result=True, kernel2d=kernel2d)


@builtin("population_mean")
def _population_mean(ev, call: Call) -> Val:
    return _scalar_stat(ev, call, np.mean, statistic2d=lambda s, _: np.mean(s, axis=1))


@builtin("population_median")
def _population_median(ev, call: Call) -> Val:
    return _scalar_stat(ev, call, np.median, statistic2d=lambda s, _: np.median(s, axis=1))


@builtin("population_sd")
def _population_sd(ev, call: Call) -> Val:
    def sd(s):
        return 0.0 if numeric.close(s[0], s[-1]) else np.std(s, ddof=1)

    def sd2d(s, _):
        return np.where(numeric.close(s[:, 0], s[:, -1]), 0.0, np.std(s, axis=1, ddof=1))

    return _scalar_stat(ev, call, sd, minimum=2, short_reason=DIVISION_BY_ZERO, statistic2d=sd2d)


@builtin("population_quantile")
def _population_quantile(ev, call: Call) -> Val:
    q = ev.const(call.args[1])
    method = _method(call)
    return _scalar_stat(ev, call, lambda s: np.quantile(s, q, method=method), level=q,
                        statistic2d=_quantile_rows if method == "linear" else _quantile_rows_by(method))


def _method(call: Call) -> str:
    """The numpy.quantile method of a call's `method:` option (dsl.builtins.QUANTILE_METHODS)."""
    return call.method or DEFAULT_QUANTILE_METHOD


def _quantile_rows_by(method: str):
    """np.quantile(s[r], q[r], method=method) for every row r, one numpy call per distinct q."""

    def statistic2d(s: np.ndarray, q: np.ndarray) -> np.ndarray:
        out = np.empty(len(s))
        for level in np.unique(q):
            rows = q == level
            out[rows] = np.quantile(s[rows], level, axis=1, method=method)
        return out

    return statistic2d


# ---------------------------------------------------------------- blocks (many samples at once)


def _population_blocks(ev, call: Call, kernel2d, scalar_result: bool) -> Val:
    """_population within each block. Within a group, the rows (blocks) with the same number m
    of present values go to kernel2d(s, v, rows) together: s (rows × m) their present values
    sorted, v (rows × group members) the values (NaN where missing), rows the block indices.
    It gives `out` (like v, or one value per row for scalar functions) and None or, per row,
    None or the reason that makes the row's result missing. Each row gets what the 1-d kernel
    gives for that block: the same numpy operations, applied along rows."""
    x = ev.eval(call.args[0])
    blocks, n = ev.blocks, ev.entities
    data = np.full((blocks, n), np.nan)
    initial = nones(ev.n) if scalar_result else np.where(x.missing, x.reasons, None).astype(object)
    all_reasons = ev.block_rows(initial).copy()
    all_values = ev.block_rows(x.data)
    for block_rows, groups, ungrouped in _block_groups(ev, call):
        reasons = all_reasons[block_rows]
        if ungrouped.any():
            stray = reasons[:, ungrouped]
            reasons[:, ungrouped] = np.where(np.equal(stray, None), COMPONENT_MISSING, stray)
        values = all_values[block_rows]
        rows_here = len(values)
        part = np.full(values.shape, np.nan)
        for members in groups:
            v = values[:, members]
            use = ~np.isnan(v)
            counts = use.sum(axis=1)
            ordered = np.sort(v, axis=1)  # missing (NaN) last
            out = np.full(rows_here if scalar_result else v.shape, np.nan)
            bad = nones(rows_here)
            for m in np.unique(counts):
                rows = np.flatnonzero(counts == m)
                o, b = kernel2d(np.ascontiguousarray(ordered[rows, :m]), v[rows], block_rows[rows])
                out[rows] = o
                if b is not None:
                    bad[rows] = b
            failed = ~np.equal(bad, None)[:, None]
            target = np.ones(v.shape, dtype=bool) if scalar_result else use
            wide = np.broadcast_to(out[:, None], v.shape) if scalar_result else out
            part[:, members] = np.where(target & ~failed, wide, np.nan)
            reasons[:, members] = np.where(target & failed, np.broadcast_to(bad[:, None], v.shape),
                                           reasons[:, members])
        data[block_rows] = part
        all_reasons[block_rows] = reasons
    reasons = all_reasons
    ev.record(call, {})
    return finish(call.type, data.ravel(), reasons.ravel())


def _kernel_by_row(kernel, scalar_result: bool):
    """A kernel2d applying the 1-d kernel to each row in turn (for a function without one)."""

    def kernel2d(s, v, rows):
        out = np.full(len(rows) if scalar_result else v.shape, np.nan)
        bad = nones(len(rows))
        for i in range(len(rows)):
            use = ~np.isnan(v[i])
            value, reason, _ = kernel(s[i], v[i][use])
            if reason is not None:
                bad[i] = reason
            elif scalar_result:
                out[i] = value
            else:
                out[i, use] = value
        return out, bad

    return kernel2d


def _block_groups(ev, call: Call) -> list[tuple[np.ndarray, list[np.ndarray], np.ndarray]]:
    """[(block indices, the `within` groups of those blocks as masks over the entities, the
    mask of entities in no group)]. One item for all blocks when the groups are the same in
    every block (an input, or a definition that does not vary with the params sampled);
    otherwise (a computed group that depends on a sampled param) one item per block."""
    every = np.arange(ev.blocks)
    if call.within is None:
        return [(every, [np.ones(ev.entities, dtype=bool)], np.zeros(ev.entities, dtype=bool))]
    if ev.methodology.has(call.within) and ev.methodology.node(call.within).kind == "input":
        first = ev.eval_ref(call.within)  # an input: the same in every block
        first = Val(first.type, first.data[: ev.entities], first.reasons[: ev.entities])
        names = group_names(first)[None, :]
    else:
        names = ev.block_rows(group_names(ev.eval_ref(call.within)))
    if len(names) == 1 or (names == names[:1]).all():
        per_block = [(every, names[0])]
    else:
        per_block = [(np.array([b]), names[b]) for b in range(ev.blocks)]
    out = []
    for rows, row_names in per_block:
        codes, uniques = pd.factorize(row_names, use_na_sentinel=True)
        out.append((rows, [codes == k for k in range(len(uniques))], codes < 0))
    return out


def _per_block(ev, values: np.ndarray, compute) -> Val:
    """compute(value) for each distinct per-block value (None for missing), each block taking
    the result computed with its own value."""
    missing = np.isnan(values)
    choices = ([None] if missing.any() else []) + [float(u) for u in np.unique(values[~missing])]
    data = reasons = result = None
    for choice in choices:
        result = compute(choice)
        rows = np.repeat(missing if choice is None else values == choice, ev.entities)
        if data is None:
            data, reasons = result.data.copy(), result.reasons.copy()
        else:
            data = np.where(rows, result.data, data)
            reasons = np.where(rows, result.reasons, reasons)
    return Val(result.type, data, reasons)


def _reasons(rows: int, reason: str | None, where: np.ndarray | None = None) -> np.ndarray:
    """Per row: `reason` (where `where` holds, or everywhere), else None."""
    out = nones(rows)
    if reason is not None:
        out[:] = reason if where is None else np.where(where, reason, None)
    return out


def _per_row(level, rows: np.ndarray) -> np.ndarray:
    """A constant argument (None, a float, or one value per block) for the given blocks."""
    if isinstance(level, np.ndarray):
        return level[rows]
    return np.full(len(rows), np.nan if level is None else float(level))


def _valid_levels(q: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.isfinite(q) & (q >= 0.0) & (q <= 1.0)


def _count_rows(s: np.ndarray, q: np.ndarray, side: str) -> np.ndarray:
    """np.searchsorted(s[r], q[r], side) for every row r: s is (rows × m) ascending without
    NaN, q (rows × k). Exact: each row of s and q is merged by one stable sort."""
    rows, m = s.shape
    k = q.shape[1]
    if m == 0 or k == 0:
        return np.zeros(q.shape, dtype=np.int64)
    # Ties: a value of s equal to a query counts for side "right" (s sorts first), not "left".
    merged = np.concatenate([s, q], axis=1) if side == "right" else np.concatenate([q, s], axis=1)
    order = np.argsort(merged, axis=1, kind="stable")
    is_query = order >= m if side == "right" else order < k
    queries_before = np.cumsum(is_query, axis=1) - is_query
    s_before = np.arange(m + k)[None, :] - queries_before
    column = order[is_query].reshape(rows, k) - (m if side == "right" else 0)
    out = np.empty(q.shape, dtype=np.int64)
    np.put_along_axis(out, column, s_before[is_query].reshape(rows, k), axis=1)
    return out


def _count_at_most_rows(s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """numeric.count_at_most row by row."""
    return _count_rows(s, v + numeric.tolerance(v), "right")


def _count_below_rows(s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """numeric.count_below row by row."""
    return _count_rows(s, v - numeric.tolerance(v), "left")


def _quantile_rows(s: np.ndarray, q: np.ndarray) -> np.ndarray:
    """np.quantile(s[r], q[r], method="linear") for every row r (s ascending, no NaN, m >= 1),
    computed as numpy does it (virtual index, neighbours, its two-sided linear interpolation)."""
    m = s.shape[1]
    virtual = (m - 1) * np.asarray(q, dtype=float)
    previous = np.floor(virtual)
    above = virtual >= m - 1
    below = virtual < 0
    previous = np.where(above, -1.0, np.where(below, 0.0, previous))
    following = np.where(above, -1.0, np.where(below, 0.0, previous + 1))
    gamma = virtual - previous
    a = np.take_along_axis(s, np.where(previous < 0, m - 1, previous).astype(np.int64)[:, None], axis=1)[:, 0]
    b = np.take_along_axis(s, np.where(following < 0, m - 1, following).astype(np.int64)[:, None], axis=1)[:, 0]
    diff = b - a
    with np.errstate(invalid="ignore"):
        out = a + diff * gamma
        return np.where(gamma >= 0.5, b - diff * (1 - gamma), out)


from interpreter import statistics  # noqa: E402, F401  (registers the further statistics)

POPULATION_FUNCTIONS = frozenset(n for n, b in BUILTINS.items() if b.scope == "population")

assert set(FUNCTIONS) == set(BUILTINS), sorted(set(BUILTINS) ^ set(FUNCTIONS))
