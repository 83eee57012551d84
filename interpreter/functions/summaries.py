"""One number for a population, given to every entity: population_mean, population_median,
population_sd, population_quantile (the further statistics are in interpreter.statistics).

No present value gives `component_missing`; a sample sd of fewer than two values
`division_by_zero`; a quantile level outside 0..1 `out_of_domain`.
"""

from __future__ import annotations

import numpy as np

from dsl.model import Call
from interpreter import numeric
from interpreter.functions.population import (
    _method,
    _per_row,
    _population,
    _quantile_rows,
    _quantile_rows_by,
    _reasons,
    _valid_level,
    _valid_levels,
)
from interpreter.functions.registry import builtin
from interpreter.reason_codes import COMPONENT_MISSING, DIVISION_BY_ZERO, OUT_OF_DOMAIN
from interpreter.values import Val


def _scalar_stat(ev, call: Call, statistic, minimum: int = 1, short_reason: int = COMPONENT_MISSING,
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
        return value, np.where(invalid, OUT_OF_DOMAIN, bad)

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

