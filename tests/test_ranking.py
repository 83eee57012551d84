"""interpreter.ranking: the one tie rule of a run's ranks, by its two implementations (one row,
many rows) and by a brute-force reading of the rule."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from interpreter import numeric, ranking

# scores that collide: repeats, values one tolerance apart, missing, infinite, negative
_SCORE = st.one_of(
    st.sampled_from([0.0, 1.0, 1.0 + 5e-13, 1.0 + 2e-12, -3.5, 100.0, 1e15, np.nan, np.inf, -np.inf]),
    st.floats(-1e6, 1e6, allow_nan=False),
)
_CODE = st.sampled_from([-1.0, np.nan, 0.0, 1.0, 2.0, 3.0])


def _brute_force(codes: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """The rule read literally, entity by entity (docs/semantics.md, "Numbers")."""
    out = np.full(len(codes), np.nan)
    for i, (code, score) in enumerate(zip(codes, scores)):
        if not code >= 0:
            continue
        mine = -np.inf if np.isnan(score) else score
        rank = 1
        for other_code, other in zip(codes, scores):
            theirs = -np.inf if np.isnan(other) else other
            better_tier = other_code > code
            above = other_code == code and theirs > mine and not (
                np.isfinite(mine) and np.isfinite(theirs) and numeric.close(theirs, mine))
            rank += better_tier or above
        out[i] = rank
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_CODE, _SCORE), min_size=1, max_size=40))
def test_one_row_ranks_as_many_rows_and_as_the_rule_reads(entities):
    codes = np.array([c for c, _ in entities])
    scores = np.array([s for _, s in entities])
    one = ranking.rank_rows(codes[None, :], scores[None, :])[0]
    many = ranking._rank_many_rows(codes[None, :], scores[None, :])[0]
    np.testing.assert_array_equal(one, many)
    np.testing.assert_array_equal(one, _brute_force(codes, scores))


@settings(max_examples=300, deadline=None)
@given(st.lists(_SCORE, min_size=0, max_size=40))
def test_both_competition_ranks_from_one_sort_are_each_direction_s(values):
    values = np.array(values, dtype=float)
    top, bottom = ranking.competition_ranks_both(values)
    np.testing.assert_array_equal(top, ranking.competition_ranks(values, "top"))
    np.testing.assert_array_equal(bottom, ranking.competition_ranks(values, "bottom"))


def test_many_rows_rank_each_row_as_one_row():
    rng = np.random.default_rng(3)
    codes = rng.integers(-1, 4, size=(6, 50)).astype(float)
    scores = rng.integers(0, 8, size=(6, 50)).astype(float)
    scores[rng.random(scores.shape) < 0.1] = np.nan
    together = ranking.rank_rows(codes, scores)
    for row in range(6):
        np.testing.assert_array_equal(together[row], ranking.rank_rows(codes[row:row + 1], scores[row:row + 1])[0])


def test_ties_take_the_best_rank():
    ranks = ranking.competition_ranks(np.array([3.0, 5.0, 5.0 + 1e-13, np.nan, 1.0]), "top")
    np.testing.assert_array_equal(ranks, [3.0, 1.0, 1.0, np.nan, 4.0])
