"""Further population statistics (dsl.builtins): min and max, skewness and kurtosis in their
sample and population forms (scipy.stats), weighted variance, sd and quantile, and
winsorizing by a count of values. Registered in interpreter.functions.FUNCTIONS.

Missing values and reasons follow interpreter.functions: statistics are computed over the
present values of each `within` group (for the weighted ones, the entities with both a value
and a weight); too few values give `component_missing` (none) or `division_by_zero`; all
values equal give `division_by_zero` for skewness and kurtosis (their sd is 0); a negative
weight gives `out_of_domain`, weights summing to 0 `division_by_zero`.

Statistics recorded: the scalar functions `value`, `n`; `winsorize_count` `low`, `high`, `n`
(per group `name[GROUP]`). With blocks (sensitivity), each block is computed as a single run
would compute it.
"""

from __future__ import annotations

import numpy as np

from dsl.model import Call
from interpreter import numeric
from interpreter.functions.population import _groups, _key, _per_block, _population, group_names
from interpreter.functions.registry import builtin
from interpreter.reason_codes import COMPONENT_MISSING, DIVISION_BY_ZERO, OUT_OF_DOMAIN, no_reasons
from interpreter.values import Val, finish


def _scipy_stats():
    """scipy.stats, imported on first use: importing it takes about half a second (it parses
    its distributions' docstrings), which every `tierlang run` would pay otherwise."""
    from scipy import stats

    return stats


def _scalar(ev, call: Call, statistic, minimum: int, degenerate_is_zero_sd: bool = False) -> Val:
    """A scalar statistic of the sorted present values of each group (block by block)."""

    def kernel(s, v):
        if len(s) < minimum:
            reason = COMPONENT_MISSING if len(s) == 0 else DIVISION_BY_ZERO
            return None, reason, {"value": np.nan, "n": float(len(s))}
        if degenerate_is_zero_sd and numeric.close(s[0], s[-1]):
            return None, DIVISION_BY_ZERO, {"value": np.nan, "n": float(len(s))}
        value = float(statistic(s))
        return value, None, {"value": value, "n": float(len(s))}

    return _population(ev, call, kernel, scalar_result=True)


@builtin("population_min")
def _population_min(ev, call: Call) -> Val:
    return _scalar(ev, call, lambda s: s[0], 1)


@builtin("population_max")
def _population_max(ev, call: Call) -> Val:
    return _scalar(ev, call, lambda s: s[-1], 1)


@builtin("population_skewness")
def _population_skewness(ev, call: Call) -> Val:
    return _scalar(ev, call, lambda s: _scipy_stats().skew(s, bias=False), 3, degenerate_is_zero_sd=True)


@builtin("population_skewness_p")
def _population_skewness_p(ev, call: Call) -> Val:
    return _scalar(ev, call, lambda s: _scipy_stats().skew(s, bias=True), 2, degenerate_is_zero_sd=True)


@builtin("population_kurtosis")
def _population_kurtosis(ev, call: Call) -> Val:
    return _scalar(ev, call, lambda s: _scipy_stats().kurtosis(s, fisher=True, bias=False), 4,
                   degenerate_is_zero_sd=True)


@builtin("population_kurtosis_p")
def _population_kurtosis_p(ev, call: Call) -> Val:
    return _scalar(ev, call, lambda s: _scipy_stats().kurtosis(s, fisher=True, bias=True), 2,
                   degenerate_is_zero_sd=True)


@builtin("winsorize_count")
def _winsorize_count(ev, call: Call) -> Val:
    """COINr's winsorising by a number of points, as one step: the low_n lowest values take the
    (low_n + 1)-th lowest, the high_n highest the (high_n + 1)-th highest; asking for as many
    points as there are values or more gives out_of_domain."""
    low_n, high_n = ev.const(call.args[1]), ev.const(call.args[2])
    if isinstance(low_n, np.ndarray):
        return _per_block(ev, low_n, lambda lo: _winsorize_count_with(ev, call, lo, high_n))
    return _winsorize_count_with(ev, call, low_n, high_n)


def _winsorize_count_with(ev, call: Call, low_n, high_n) -> Val:
    if isinstance(high_n, np.ndarray):
        return _per_block(ev, high_n, lambda hi: _winsorize_count_with(ev, call, low_n, hi))

    def kernel(s, v):
        counts = [c for c in (low_n, high_n) if c is not None and float(c).is_integer() and c >= 0]
        if len(counts) < 2 or int(low_n) + int(high_n) >= len(s):
            return None, OUT_OF_DOMAIN, {"n": float(len(s))}
        low, high = float(s[int(low_n)]), float(s[len(s) - 1 - int(high_n)])
        return np.minimum(np.maximum(v, low), high), None, {"low": low, "high": high, "n": float(len(s))}

    return _population(ev, call, kernel, scalar_result=False)


# ---------------------------------------------------------------- weighted statistics


def _weighted(ev, call: Call, statistic, valid: bool = True) -> Val:
    """statistic(x, w) over the entities of each group with a value and a weight (x, w in
    ascending order of x, ties by weight), given to every member of the group; `valid` False
    (a quantile level outside 0..1) makes every result out_of_domain."""
    x, w = ev.eval(call.args[0]), ev.eval(call.args[1])
    data = np.full(ev.n, np.nan)
    reasons = no_reasons(ev.n)
    recorded: dict[str, float] = {}
    for block in range(ev.blocks):
        rows = np.arange(block * ev.entities, (block + 1) * ev.entities)
        for group, members in _block_groups_of(ev, call, rows):
            use = members & x.present[rows] & w.present[rows]
            xs, ws = x.data[rows][use], w.data[rows][use]
            order = np.lexsort((ws, xs))
            xs, ws = xs[order], ws[order]
            value, reason = np.nan, None
            if not valid:
                reason = OUT_OF_DOMAIN
            elif len(xs) == 0:
                reason = COMPONENT_MISSING
            elif (ws < 0).any():
                reason = OUT_OF_DOMAIN
            elif not ws.sum() > 0:
                reason = DIVISION_BY_ZERO
            else:
                value = float(statistic(xs, ws))
            target = rows[members]
            if reason is None:
                data[target] = value
            else:
                reasons[target] = reason
            if block == 0 and ev.blocks == 1:
                recorded[_key("value", group)] = value
                recorded[_key("n", group)] = float(len(xs))
        ungrouped = rows[_ungrouped(ev, call, rows)]
        reasons[ungrouped] = COMPONENT_MISSING
    ev.record(call, recorded)
    return finish(call.type, data, reasons)


def _block_groups_of(ev, call: Call, rows: np.ndarray) -> list[tuple[str | None, np.ndarray]]:
    if ev.blocks == 1:
        return _groups(ev, call)[0]
    if call.within is None:
        return [(None, np.ones(len(rows), dtype=bool))]
    names = group_names(ev.eval_ref(call.within))[rows]
    return [(g, np.equal(names, g)) for g in sorted({str(v) for v in names if v is not None})]


def _ungrouped(ev, call: Call, rows: np.ndarray) -> np.ndarray:
    if call.within is None:
        return np.zeros(len(rows), dtype=bool)
    return np.equal(group_names(ev.eval_ref(call.within))[rows], None)


def _weighted_variance(x: np.ndarray, w: np.ndarray) -> float:
    mean = np.sum(w * x) / np.sum(w)
    return float(np.sum(w * (x - mean) ** 2) / np.sum(w))


@builtin("population_weighted_variance")
def _population_weighted_variance(ev, call: Call) -> Val:
    return _weighted(ev, call, _weighted_variance)


@builtin("population_weighted_sd")
def _population_weighted_sd(ev, call: Call) -> Val:
    return _weighted(ev, call, lambda x, w: np.sqrt(_weighted_variance(x, w)))


@builtin("population_weighted_quantile")
def _population_weighted_quantile(ev, call: Call) -> Val:
    q = ev.const(call.args[2])
    if isinstance(q, np.ndarray):
        return _per_block(ev, q, lambda level: _weighted_quantile(ev, call, level))
    return _weighted_quantile(ev, call, q)


def _weighted_quantile(ev, call: Call, q) -> Val:
    valid = q is not None and bool(np.isfinite(q)) and 0.0 <= q <= 1.0
    return _weighted(ev, call, lambda x, w: np.quantile(x, q, weights=w, method="inverted_cdf"), valid)
