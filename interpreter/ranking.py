"""The one tie rule of a run's ranks (docs/semantics.md, "Numbers"): one score ranks above
another when it is greater and not decimal-safe equal to it (interpreter.numeric: within one
part in 10^12), the comparison `top N` / `bottom N` tier rules make. Ties take the best rank
("1224"). One rule, `rank_rows`, used for a run (interpreter.tiers records the ranks; `run`'s
table, explain, diff and reconcile only read them) and for every sample of a sensitivity
analysis alike. It has two implementations of that one rule: many rows (samples) at once, and
one row (a run: sorting each tier's scores once is ~10x faster on millions of entities);
tests/test_ranking.py checks that they agree.

- `rank_rows`: per row, the rank by tier (best first), then by score (higher first); an
  entity with no tier has no rank; a missing score ranks below every score of its tier.
- `rank_by_tier_and_score`: the same for one row (a run).
- `competition_ranks`: the rank of each present value among the present values, from the
  top (1 = the highest) or from the bottom (1 = the lowest): what a rank rule took.
- `index_score`: for a level without tiers (an index), the score its entities are ranked by
  (highest first); interpreter.evaluate records those ranks on the score's trace.
"""

from __future__ import annotations

import numpy as np

from interpreter import numeric


def rank_rows(codes, scores) -> np.ndarray:
    """`codes` (rows x entities): tier positions (worst 0), -1 or NaN for no tier; `scores`
    (rows x entities, NaN allowed). Each entity's rank is 1 + the number of entities of its
    row in a better tier + those of its tier whose score is above its own and not
    decimal-safe equal to it. Float ranks, NaN without a tier. Vectorised: no loop over rows
    or entities."""
    codes = np.asarray(codes, dtype="float64")
    scores = np.asarray(scores, dtype="float64")
    if codes.shape[0] == 1:
        return _rank_one_row(codes[0], scores[0])[None, :]
    return _rank_many_rows(codes, scores)


def _rank_many_rows(codes: np.ndarray, scores: np.ndarray) -> np.ndarray:
    rows, n = codes.shape
    out = np.full((rows, n), np.nan)
    rated = codes >= 0
    if not rated.any():
        return out
    row, col = np.nonzero(rated)
    code = codes[row, col].astype(np.int64)
    span = int(code.max()) + 1
    # entities of the same row in a better tier
    per_tier = np.zeros((rows, span + 1), dtype=np.int64)
    np.add.at(per_tier, (row, code), 1)
    better = np.cumsum(per_tier[:, ::-1], axis=1)[:, ::-1]  # better[r, c]: codes >= c
    above_tier = better[row, code + 1]
    # within a tier: scores above s + tolerance(s); a missing score is -inf, tied with another
    s = scores[row, col]
    s = np.where(np.isnan(s), -np.inf, s)
    finite = np.isfinite(s)
    t = s.copy()
    t[finite] += numeric.tolerance(s[finite])
    levels, inverse = np.unique(np.concatenate([s, t]), return_inverse=True)
    m = len(levels)
    group = (row * span + code).astype(np.int64)
    key_s = group * m + inverse[: len(s)]
    key_t = group * m + inverse[len(s):]
    ordered = np.sort(key_s)
    greater = np.searchsorted(ordered, (group + 1) * m, side="left") - np.searchsorted(ordered, key_t, side="right")
    out[row, col] = 1.0 + above_tier + greater
    return out


def _rank_one_row(codes: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """`rank_rows` of one row: each tier's scores sorted once, then each entity's count of
    scores above its own + tolerance found by a binary search over its tier's (the searched
    values come in ascending order, which keeps numpy's search in cache)."""
    out = np.full(len(codes), np.nan)
    rated = np.flatnonzero(codes >= 0)
    if not len(rated):
        return out
    code = codes[rated].astype(np.int64)
    s = scores[rated]
    s[np.isnan(s)] = -np.inf  # a missing score ranks below every score of its tier
    per_tier = np.bincount(code)
    better = np.cumsum(per_tier[::-1])[::-1]  # better[c]: entities with codes >= c
    for tier in np.flatnonzero(per_tier):  # a loop over tiers, not entities
        members = rated if len(per_tier) == 1 else rated[code == tier]
        scored = s if len(per_tier) == 1 else s[code == tier]
        order = np.argsort(scored)  # the order of ties is immaterial: tied scores get one rank
        ascending = scored[order]
        above_tier = better[tier + 1] if tier + 1 < len(better) else 0
        out[members[order]] = 1.0 + above_tier + _count_above(ascending)
    return out


def _count_above(ascending: np.ndarray) -> np.ndarray:
    """For each of the ascending values, how many are above it and not decimal-safe equal."""
    return len(ascending) - np.searchsorted(ascending, _bounds(ascending, +1), side="right")


def _bounds(ascending: np.ndarray, side: int) -> np.ndarray:
    """Each value + (side +1) or - (side -1) its tolerance; an infinite value itself."""
    bounds = numeric.tolerance(ascending)
    with np.errstate(invalid="ignore"):  # inf - inf: replaced below
        if side > 0:
            np.add(ascending, bounds, out=bounds)
        else:
            np.subtract(ascending, bounds, out=bounds)
    np.copyto(bounds, ascending, where=~np.isfinite(ascending))
    return bounds


def competition_ranks_both(values) -> tuple[np.ndarray, np.ndarray]:
    """`competition_ranks(values, "top")` and `(values, "bottom")` from one sort: below v -
    tolerance(v) is, negated, above -v + tolerance(-v), exactly (IEEE rounding is symmetric)."""
    values = np.asarray(values, dtype="float64")
    top = np.full(len(values), np.nan)
    bottom = np.full(len(values), np.nan)
    present = np.flatnonzero(~np.isnan(values))
    order = np.argsort(values[present])
    ascending = values[present][order]
    entities = present[order]
    top[entities] = 1.0 + _count_above(ascending)
    bottom[entities] = 1.0 + np.searchsorted(ascending, _bounds(ascending, -1), side="left")
    return top, bottom


def rank_by_tier_and_score(tier_codes, scores) -> np.ndarray:
    """`rank_rows` for one row: a run's ranks."""
    codes = np.asarray(tier_codes, dtype="float64")[None, :]
    return rank_rows(codes, np.asarray(scores, dtype="float64")[None, :])[0]


def competition_ranks(values, direction: str = "top") -> np.ndarray:
    """Each present value's rank among the present values (NaN where missing)."""
    values = np.asarray(values, dtype="float64")
    present = ~np.isnan(values)
    signed = values if direction == "top" else -values
    return rank_by_tier_and_score(np.where(present, 0.0, -1.0), signed)


def index_score(methodology, level: str | None = None) -> str | None:
    """For a methodology declaring no tier of `level` (None: the top level), the last per-entity
    number `score` it declares for that level: an index, whose entities a run ranks by that
    score, highest first (interpreter.evaluate records the ranks in `NodeTrace.rank`). None
    when the level has a tier or no such score."""
    if any(t.level == level for t in methodology.tiers):
        return None
    scores = [n for n in methodology.nodes
              if n.kind == "score" and n.level == level and n.type.base == "number" and not n.type.scalar]
    return scores[-1].name if scores else None
