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
- population functions compute over present values (per `within` group; entities whose
  group is missing stay missing, reason `component_missing`). Values are sorted before any
  sum so that the row order of the data never changes a result. `zscore` and `minmax` of a
  population whose values are all (decimal-safe) equal, and sample sds of fewer than two
  values, give `division_by_zero`. A quantile level outside 0..1 gives `out_of_domain`.

Statistics recorded (see interpreter.evaluate for how they are named on the node):
rank, percentile: n; quantile_band, quartile: cut_1..cut_{n-1}, n; zscore: mean, sd, n;
minmax: min, max, n; winsorize: low, high, n; population_mean/median/sd/quantile: value, n;
count of a single per-entity condition (a population count): value, n (entities with a known
condition). With `within G`, each is recorded per group as `name[GROUP]`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from dsl.builtins import BUILTINS
from dsl.model import Call
from dsl.types import BOOLEAN, LEVEL, NUMBER, Type
from interpreter import numeric
from interpreter.trace import BELOW_REQUIRE, COMPONENT_MISSING, DIVISION_BY_ZERO, OUT_OF_DOMAIN
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
    if digits is None or not np.isfinite(digits):
        return finish(call.type, np.full(ev.n, np.nan), np.where(x.missing, x.reasons, COMPONENT_MISSING))
    return _row(call.type, ev.n, [x], lambda v: numeric.round_half_away(v, int(digits)))


@builtin("goalpost")
def _goalpost(ev, call: Call) -> Val:
    lower = call.polarity == "lower"

    def compute(x, lo, hi):
        g = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
        return 1.0 - g if lower else g

    return _row(call.type, ev.n, _args(ev, call), compute,
                ((DIVISION_BY_ZERO, lambda x, lo, hi: hi == lo),))


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


def _spread(ev, call: Call) -> tuple[list[Val], list[Val] | None]:
    """The components of an aggregation (lists spread) and their weights (or None)."""
    values: list[Val] = []
    weights: list[Val] | None = [] if call.weights is not None else None
    for i, expr in enumerate(call.args):
        v = ev.eval(expr)
        items = list(v.items) if v.is_list else [v]
        values.extend(items)
        if weights is not None:
            w = ev.eval(call.weights[i])
            weights.extend([w] * len(items))
    return values, weights


class _Components:
    """The components of an aggregation as (entities x components) arrays."""

    def __init__(self, ev, call: Call):
        values, weights = _spread(ev, call)
        n, k = ev.n, len(values)
        self.n, self.k = n, k
        self.values = values
        self.x = np.column_stack([v.data for v in values]) if k else np.zeros((n, 0))
        self.missing = np.column_stack([v.missing for v in values]) if k else np.zeros((n, 0), bool)
        self.present = ~self.missing
        self.count = self.present.sum(axis=1)
        self.skip = call.skip_missing or call.require is not None
        self.need = call.require if call.require is not None else (1 if self.skip else k)
        self.xz = np.where(self.missing, 0.0, self.x)
        self.weighted = weights is not None
        if self.skip:
            self.invalid = self.count < self.need
            reason = BELOW_REQUIRE if call.require is not None else COMPONENT_MISSING
            reasons = np.where(self.invalid, reason, None).astype(object)
        else:
            self.invalid = self.count < k
            reasons = first_reason(n, *values)
        if weights is not None:
            self.w = np.column_stack([w.data for w in weights])
            w_missing = np.column_stack([w.missing for w in weights]).any(axis=1)
            reasons = np.where(~self.invalid & w_missing, COMPONENT_MISSING, reasons)
            self.invalid |= w_missing
            self.wz = np.where(self.missing, 0.0, np.nan_to_num(self.w))
            self.w_all = np.nan_to_num(self.w).sum(axis=1)
            self.w_present = self.wz.sum(axis=1)
        else:
            self.w = np.ones((n, k))
            self.wz = self.present.astype(float)
            self.w_all = np.full(n, float(k))
            self.w_present = self.count.astype(float)
        self.reasons = reasons

    def fail(self, mask: np.ndarray, reason: str) -> None:
        """Make the result missing with `reason` where mask holds (and it is not yet invalid)."""
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


@builtin("sum")
def _sum(ev, call: Call) -> Val:
    c = _Components(ev, call)
    if not c.weighted:
        return c.result(call.type, c.xz.sum(axis=1))
    return c.result(call.type, c.renormalised((c.wz * c.xz).sum(axis=1), normalise=call.normalise))


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
    return c.result(call.type, data)


@builtin("max")
def _max(ev, call: Call) -> Val:
    c = _Components(ev, call)
    data = np.where(c.missing, -np.inf, c.x).max(axis=1) if c.k else np.full(c.n, np.nan)
    return c.result(call.type, data)


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
    value = float(holds.sum())
    ev.record(call, {"value": value, "n": float(cond.present.sum())})
    return const_val(value, call.type, ev.n)


# ---------------------------------------------------------------- population functions


def _group_names(g: Val) -> np.ndarray:
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
    names = _group_names(ev.eval_ref(call.within))
    codes, uniques = pd.factorize(names, use_na_sentinel=True)  # None -> -1
    ungrouped = codes < 0
    order = sorted(range(len(uniques)), key=lambda k: str(uniques[k]))  # over groups, by name
    return [(str(uniques[k]), codes == k) for k in order], ungrouped


def _key(stat: str, group: str | None) -> str:
    return stat if group is None else f"{stat}[{group}]"


def _population(ev, call: Call, kernel, scalar_result: bool) -> Val:
    """Apply kernel(values) -> (out, bad, stats) to the present values of each group.

    Per-entity functions (`scalar_result` False): `out` is aligned with the present values,
    `bad` is None or a reason for all of them (a degenerate statistic). Scalar functions:
    `out` is one number given to every member of the group."""
    x = ev.eval(call.args[0])
    data = np.full(ev.n, np.nan)
    reasons = nones(ev.n) if scalar_result else np.where(x.missing, x.reasons, None).astype(object)
    groups, ungrouped = _groups(ev, call)
    reasons = np.where(ungrouped & np.equal(reasons, None), COMPONENT_MISSING, reasons)
    stats: dict[str, float] = {}
    for group, members in groups:
        use = members & x.present
        values = x.data[use]
        out, bad, group_stats = kernel(np.sort(values), values)
        for name, value in group_stats.items():
            stats[_key(name, group)] = value
        target = members if scalar_result else use
        if bad is not None:
            reasons = np.where(target, bad, reasons)
        else:
            data[target] = out
    ev.record(call, stats)
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

    return _population(ev, call, kernel, scalar_result=False)


@builtin("percentile")
def _percentile(ev, call: Call) -> Val:
    lower = _polarity_lower(call)

    def kernel(s, v):
        beaten = (len(s) - numeric.count_below(s, v)) if lower else numeric.count_at_most(s, v)
        return 100.0 * beaten / max(len(s), 1), None, {"n": float(len(s))}

    return _population(ev, call, kernel, scalar_result=False)


def _quantile_band(ev, call: Call, bands) -> Val:
    lower = _polarity_lower(call)
    if bands is None or not np.isfinite(bands) or int(bands) < 1:
        x = ev.eval(call.args[0])
        return finish(call.type, np.full(ev.n, np.nan), np.where(x.missing, x.reasons, OUT_OF_DOMAIN))
    bands = int(bands)
    levels = [k / bands for k in range(1, bands)]

    def kernel(s, v):
        stats: dict[str, float] = {}
        out = np.ones(len(v))
        cuts = np.quantile(s, levels, method="linear") if len(s) else [np.nan] * len(levels)
        for k, cut in enumerate(cuts, start=1):
            stats[f"cut_{k}"] = float(cut)
            out += numeric.compare("<" if lower else ">", v, cut)
        stats["n"] = float(len(s))
        return out, None, stats

    return _population(ev, call, kernel, scalar_result=False)


@builtin("quantile_band")
def _quantile_band_builtin(ev, call: Call) -> Val:
    return _quantile_band(ev, call, ev.const(call.args[1]))


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

    return _population(ev, call, kernel, scalar_result=False)


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

    return _population(ev, call, kernel, scalar_result=False)


def _valid_level(q) -> bool:
    return q is not None and np.isfinite(q) and 0.0 <= q <= 1.0


@builtin("winsorize")
def _winsorize(ev, call: Call) -> Val:
    lo_q, hi_q = ev.const(call.args[1]), ev.const(call.args[2])

    def kernel(s, v):
        if not (_valid_level(lo_q) and _valid_level(hi_q)):
            return None, OUT_OF_DOMAIN, {"n": float(len(s))}
        low = float(np.quantile(s, lo_q, method="linear")) if len(s) else np.nan
        high = float(np.quantile(s, hi_q, method="linear")) if len(s) else np.nan
        return np.minimum(np.maximum(v, low), high), None, {"low": low, "high": high, "n": float(len(s))}

    return _population(ev, call, kernel, scalar_result=False)


def _scalar_stat(ev, call: Call, statistic, minimum: int = 1, short_reason: str = COMPONENT_MISSING,
                 level=None) -> Val:
    def kernel(s, v):
        if level is not None and not _valid_level(level):
            return None, OUT_OF_DOMAIN, {"n": float(len(s))}
        if len(s) < minimum:
            reason = COMPONENT_MISSING if len(s) == 0 else short_reason
            return None, reason, {"value": np.nan, "n": float(len(s))}
        value = float(statistic(s))
        return value, None, {"value": value, "n": float(len(s))}

    return _population(ev, call, kernel, scalar_result=True)


@builtin("population_mean")
def _population_mean(ev, call: Call) -> Val:
    return _scalar_stat(ev, call, np.mean)


@builtin("population_median")
def _population_median(ev, call: Call) -> Val:
    return _scalar_stat(ev, call, np.median)


@builtin("population_sd")
def _population_sd(ev, call: Call) -> Val:
    def sd(s):
        return 0.0 if numeric.close(s[0], s[-1]) else np.std(s, ddof=1)

    return _scalar_stat(ev, call, sd, minimum=2, short_reason=DIVISION_BY_ZERO)


@builtin("population_quantile")
def _population_quantile(ev, call: Call) -> Val:
    q = ev.const(call.args[1])
    return _scalar_stat(ev, call, lambda s: np.quantile(s, q, method="linear"), level=q)


POPULATION_FUNCTIONS = frozenset(n for n, b in BUILTINS.items() if b.scope == "population")

assert set(FUNCTIONS) == set(BUILTINS), sorted(set(BUILTINS) ^ set(FUNCTIONS))
