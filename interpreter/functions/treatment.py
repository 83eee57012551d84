"""Treating a value against its population: zscore and minmax (standardising) and winsorize
(clipping at two quantiles).

`zscore` and `minmax` of a population whose values are all (decimal-safe) equal give
`division_by_zero`; a winsorize level outside 0..1 gives `out_of_domain`.
"""

from __future__ import annotations

import numpy as np

from dsl.model import Call
from interpreter import numeric
from interpreter.functions.population import (
    _degenerate,
    _method,
    _per_row,
    _polarity_lower,
    _population,
    _quantile_rows,
    _quantile_rows_by,
    _reasons,
    _valid_level,
    _valid_levels,
)
from interpreter.functions.registry import builtin
from interpreter.reason_codes import DIVISION_BY_ZERO, OUT_OF_DOMAIN
from interpreter.values import Val


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

