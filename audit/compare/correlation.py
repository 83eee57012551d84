"""Rank correlations of two runs' scores: Spearman's rho and Kendall's tau-b (exact, with ties).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def spearman(x: np.ndarray, y: np.ndarray) -> float | None:
    """Spearman's rho: Pearson's correlation of the average ranks (ties share their mean
    rank). None with fewer than two pairs or a constant side."""
    if len(x) < 2:
        return None
    rx = pd.Series(x).rank(method="average").to_numpy()
    ry = pd.Series(y).rank(method="average").to_numpy()
    dx, dy = rx - rx.mean(), ry - ry.mean()
    denominator = math.sqrt(float((dx * dx).sum()) * float((dy * dy).sum()))
    if denominator == 0:
        return None
    return float((dx * dy).sum() / denominator)


def kendall_tau_b(x: np.ndarray, y: np.ndarray) -> float | None:
    """Kendall's tau-b, (C - D) / sqrt((n0 - n1)(n0 - n2)), in O(n log^2 n) with numpy: D is
    the number of inversions of y once pairs are sorted by (x, y) (Knight's method), counted
    level by level of a bottom-up merge sort. None with fewer than two pairs or a constant
    side."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = len(x)
    if n < 2:
        return None
    n0 = n * (n - 1) // 2
    _, xr = np.unique(x, return_inverse=True)
    _, yr = np.unique(y, return_inverse=True)
    n1 = _tied_pairs(xr)
    n2 = _tied_pairs(yr)
    n3 = _tied_pairs(xr * (int(yr.max()) + 1) + yr)
    if n0 in (n1, n2):
        return None
    order = np.lexsort((yr, xr))
    discordant = _inversions(yr[order])
    concordant_minus_discordant = n0 - n1 - n2 + n3 - 2 * discordant
    return float(concordant_minus_discordant / math.sqrt((n0 - n1) * (n0 - n2)))


def _tied_pairs(codes: np.ndarray) -> int:
    counts = np.bincount(codes.astype(np.int64))
    return int((counts * (counts - 1) // 2).sum())


def _inversions(a: np.ndarray) -> int:
    """Pairs i < j with a[i] > a[j] (strictly), by a vectorised bottom-up merge sort."""
    a = np.asarray(a, dtype=np.int64).copy()
    n = len(a)
    total = 0
    width = 1
    idx = np.arange(n)
    while width < n:
        block = idx // (2 * width)
        side = (idx // width) % 2  # 0: left half of its block, 1: right half
        # sort each block by value, left before right among equals (equal is not an inversion)
        order = np.lexsort((side, a, block))
        s_side, s_block = side[order], block[order]
        is_left = (s_side == 0).astype(np.int64)
        cum = np.cumsum(is_left)
        starts = np.searchsorted(s_block, s_block, side="left")
        before_block = np.where(starts > 0, cum[starts - 1], 0)
        left_upto = cum - before_block  # left elements of the block up to this position
        left_total = np.bincount(block[side == 0], minlength=int(block.max()) + 1)
        right = s_side == 1
        total += int((left_total[s_block[right]] - left_upto[right]).sum())
        a = a[order]
        width *= 2
    return total


# ---------------------------------------------------------------- comparing

