"""Decimal-safe numerics: comparisons at one part in 10^12, spreadsheet rounding.

Methodologies are written in decimals but evaluated in float64. Two numbers compare as equal
when they differ by at most 1e-12 of the larger magnitude, or by at most 1e-12 absolutely near
zero (docs/semantics.md, "Numbers"):

    close(a, b)  <=>  a == b  or  |a - b| <= 1e-12 * max(|a|, |b|, 1)

Every ordering comparison is derived from `close`: `a < b` holds when a < b in float64 and the
two are not close; `a <= b` when a < b or they are close. Infinities are equal only to
themselves; NaN (missing) compares false with everything (callers handle missing separately).

All functions take and return numpy arrays (or scalars) and never loop over elements.
"""

from __future__ import annotations

import functools

import numpy as np

REL_TOL = 1e-12
"""Relative tolerance of decimal-safe comparisons (and the absolute tolerance near zero)."""

COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")


def float_errors_ignored(function):
    """`function` run with numpy's floating-point warnings off. An evaluation turns 0/0,
    overflow and invalid operations into missing values with reasons (interpreter.operators),
    so the evaluator's entry points (evaluate, evaluate_value, SampleEvaluator.run and its
    first evaluation of the nodes no sample changes) set this once and the operators under
    them set no errstate of their own (one costs about as much as an operation on 5,000
    entities)."""

    @functools.wraps(function)
    def ignoring(*args, **kwargs):
        with np.errstate(all="ignore"):
            return function(*args, **kwargs)

    return ignoring


def close(a, b) -> np.ndarray:
    """Decimal-safe equality, element-wise (False where either side is NaN)."""
    with np.errstate(invalid="ignore", over="ignore"):
        return _close(np.asarray(a, dtype=float), np.asarray(b, dtype=float))


def _close(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`close` of two float arrays, under the caller's errstate."""
    diff = np.abs(a - b)
    scale = np.maximum(np.maximum(np.abs(a), np.abs(b)), 1.0)
    near = np.isfinite(a) & np.isfinite(b) & (diff <= REL_TOL * scale)
    return (a == b) | near


def _close_where_near(a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """`close(a, b)` for two arrays of one shape, computed only for the pairs that may be close:
    every pair's scale max(|a|, |b|, 1) is at most the largest magnitude M, so a pair further
    apart than 1e-12 * M is not close. None when that bound cannot tell (M not finite, or many
    pairs that near): `close` then compares every pair. Under the caller's errstate."""
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        return None
    bound = max(float(np.fmax.reduce(np.abs(a))), float(np.fmax.reduce(np.abs(b))), 1.0)
    if not np.isfinite(bound):
        return None
    near = np.flatnonzero(np.abs(a - b) <= REL_TOL * bound)
    if len(near) > len(a) // 8:
        return None
    eq = np.zeros(a.shape, dtype=bool)
    if len(near):
        eq[near] = _close(a[near], b[near])
    return eq


def compare(op: str, a, b) -> np.ndarray:
    """`a op b` with decimal-safe equality; False where either side is NaN."""
    with np.errstate(invalid="ignore", over="ignore"):
        return compare_unguarded(op, a, b)


def compare_unguarded(op: str, a, b) -> np.ndarray:
    """`compare` under the caller's errstate (an evaluation's: float_errors_ignored)."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    eq = _close_where_near(a, b)
    if eq is None:
        eq = _close(a, b)
    if op == "==":
        return eq
    if op == "!=":
        return ~eq & ~np.isnan(a) & ~np.isnan(b)
    if op == "<":
        return (a < b) & ~eq
    if op == "<=":
        return (a < b) | eq
    if op == ">":
        return (a > b) & ~eq
    if op == ">=":
        return (a > b) | eq
    raise ValueError(f"unknown comparison {op!r}")


def tolerance(x) -> np.ndarray:
    """The decimal-safe tolerance around x: 1e-12 * max(|x|, 1)."""
    x = np.asarray(x, dtype=float)
    return REL_TOL * np.maximum(np.abs(x), 1.0)


def count_at_most(sorted_values: np.ndarray, x) -> np.ndarray:
    """For each x, how many of `sorted_values` (ascending, no NaN) are <= x, decimal-safe."""
    x = np.asarray(x, dtype=float)
    return np.searchsorted(sorted_values, x + tolerance(x), side="right")


def count_below(sorted_values: np.ndarray, x) -> np.ndarray:
    """For each x, how many of `sorted_values` (ascending, no NaN) are < x, decimal-safe."""
    x = np.asarray(x, dtype=float)
    return np.searchsorted(sorted_values, x - tolerance(x), side="left")


def snap_integer(x) -> np.ndarray:
    """x, or the nearest whole number when x is decimal-safe equal to it (2.9999999999999996 -> 3)."""
    x = np.asarray(x, dtype=float)
    nearest = np.rint(x)
    return np.where(close(x, nearest), nearest, x)


def floor(x) -> np.ndarray:
    """Decimal-safe floor: floor((0.7 + 0.1) * 10) is 8, not 7."""
    return np.floor(snap_integer(x))


def ceil(x) -> np.ndarray:
    """Decimal-safe ceiling: ceil(0.1 * 30) is 3, not 4."""
    return np.ceil(snap_integer(x))


_SIGNIFICANT = 15


def _pow10(k: np.ndarray) -> np.ndarray:
    return np.power(10.0, k.astype(float))


def _scale_up(v: np.ndarray, k: np.ndarray) -> np.ndarray:
    """v * 10^k, multiplying by an exact power of ten when k >= 0 and dividing otherwise."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(k >= 0, v * _pow10(np.abs(k)), v / _pow10(np.abs(k)))


def _scale_down(v: np.ndarray, k: np.ndarray) -> np.ndarray:
    """v / 10^k (see _scale_up)."""
    return _scale_up(v, -k)


_MAX_DIGITS = 400


def round_half_away(x, digits: int) -> np.ndarray:
    """Spreadsheet ROUND: half away from zero on the decimal value.

    x is first taken to 15 significant digits (what a spreadsheet shows and what the
    methodologist wrote), then rounded at `digits` decimal places (negative digits round to
    tens, hundreds...). So round(2.675, 2) == 2.68, round(1.005, 2) == 1.01,
    round(-2.5, 0) == -3, round(0.125, 2) == 0.13.

    Method, element-wise and exact for |x| < 1e300: write |x| = N * 10^-k with N a whole number
    of 15 digits (N < 2^53, so exact in float64); dropping m = k - digits digits is then
    floor(N / 10^m + 1/2), where N / 10^m is exact or at least not mistaken for a half.
    """
    x = np.asarray(x, dtype=float)
    # A float64 has no decimal digit beyond 10^309 nor below 10^-340: rounding at more places
    # than that is rounding at that many (round(x, 1e308) is x, round(x, -1e308) is 0).
    digits = int(min(max(float(digits), -_MAX_DIGITS), _MAX_DIGITS))
    out = np.array(x, dtype=float, copy=True)
    finite = np.isfinite(x) & (x != 0)
    # Below 1e-290 the scaling would overflow; such values round to 0 at any sane `digits`.
    tiny = finite & (np.abs(x) < 1e-290)
    out[tiny] = np.where(digits < 290, 0.0 * x[tiny], x[tiny])
    finite &= ~tiny
    if not finite.any():
        return out
    ax = np.abs(x[finite])
    exponent = np.floor(np.log10(ax)).astype(np.int64)
    k = (_SIGNIFICANT - 1) - exponent  # decimal places kept by 15 significant digits
    n = _fifteen_digits(ax, k)
    # log10 may be off by one at exact powers of ten: renormalise N to 15 digits.
    too_big = n >= 10.0**_SIGNIFICANT
    if too_big.any():
        k = np.where(too_big, k - 1, k)
        n = _fifteen_digits(ax, k)
    m = k - digits  # digits to drop from N
    keep = m <= 0  # rounding to more places than 15 significant digits: x15 itself
    with np.errstate(over="ignore", invalid="ignore"):
        dropped = np.floor(_scale_down(n, np.where(keep, 0, m)) + 0.5)
        rounded = np.where(
            keep,
            _scale_down(n, k),
            _scale_down(dropped, np.full_like(k, digits)),
        )
        rounded = np.where(m > _SIGNIFICANT, 0.0, rounded)  # every digit dropped (and 10^-digits overflows)
    out[finite] = np.sign(x[finite]) * rounded + 0.0  # + 0.0: no negative zero
    return out


_SPLITTER = 134217729.0  # 2^27 + 1 (Veltkamp split)


def _two_product(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """p, e with p = fl(a * b) and a * b == p + e exactly (Dekker), element-wise."""
    p = a * b
    c = _SPLITTER * a
    ah = c - (c - a)
    al = a - ah
    c = _SPLITTER * b
    bh = c - (c - b)
    bl = b - bh
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    return p, e


def _fifteen_digits(ax: np.ndarray, k: np.ndarray) -> np.ndarray:
    """rint(ax * 10^k) as Python's '%.15g' would give it: the float product may round the
    exact product onto a half; the exact error term then says which way it really lies."""
    with np.errstate(over="ignore", invalid="ignore"):
        p = _scale_up(ax, k)
        n = np.rint(p)
        exact_power = (k >= 0) & (k <= 22)  # 10^k is exact in float64
        if exact_power.any():
            power = _pow10(np.where(exact_power, k, 0))
            prod, err = _two_product(np.where(exact_power, ax, 0.0), power)
            half = exact_power & (prod - np.floor(prod) == 0.5) & (err != 0) & np.isfinite(err)
            n = np.where(half, np.where(err > 0, np.ceil(prod), np.floor(prod)), n)
    return n
