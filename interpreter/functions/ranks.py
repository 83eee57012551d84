"""Ranks and bands of a value within its population: rank, percentile, scaled_rank,
quantile_band, quartile, kmeans_band.

Ranks are competition ranks under the decimal-safe comparison (interpreter.numeric); bands
cut at numpy.quantile's cut points (`method:`) or at k-means clusters (interpreter.clustering).
"""

from __future__ import annotations

import numpy as np

from dsl.builtins import MAX_BANDS
from dsl.model import Call
from interpreter import clustering, numeric
from interpreter.functions.population import (
    _count_at_most_rows,
    _count_below_rows,
    _method,
    _per_block,
    _per_row,
    _polarity_lower,
    _population,
)
from interpreter.functions.registry import builtin
from interpreter.reason_codes import OUT_OF_DOMAIN
from interpreter.values import Val, finish


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
        return finish(call.type, np.full(ev.n, np.nan), np.where(x.missing, x.codes, OUT_OF_DOMAIN))
    bands = int(bands)
    levels = [k / bands for k in range(1, bands)]
    method = _method(call)

    def kernel(s, v):  # s: the values in any order (the quantiles of a partition are a sort's)
        stats: dict[str, float] = {}
        out = np.ones(len(v))
        # + 0.0: a cut of zero is 0.0 whichever of -0.0 and 0.0 (equal) the partition put first
        cuts = np.quantile(s, levels, method=method) + 0.0 if len(s) else [np.nan] * len(levels)
        for k, cut in enumerate(cuts, start=1):
            stats[f"cut_{k}"] = float(cut)
            out += numeric.compare("<" if lower else ">", v, cut)
        stats["n"] = float(len(s))
        return out, None, stats

    def kernel2d(s, v, rows):
        out = np.ones(v.shape)
        if s.shape[1]:
            cuts = np.quantile(s, levels, axis=1, method=method) + 0.0  # (as kernel's)
        else:
            cuts = np.full((len(levels), len(s)), np.nan)
        for cut in cuts:
            out += numeric.compare("<" if lower else ">", v, cut[:, None])
        return out, None

    return _population(ev, call, kernel, scalar_result=False, kernel2d=kernel2d, sorted_values=False)


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

