"""How a run's entities are ranked: by tier (best first), then by the tier's `from` score
(higher first). Scores equal at 12 significant digits share a rank, as comparisons in the
language do; ties take the best rank ("1224"); an entity with no tier has no rank."""

from __future__ import annotations

import numpy as np
import pandas as pd


def rank_by_tier_and_score(tier_codes, scores) -> np.ndarray:
    """`tier_codes`: position on the tier's scale (worst 0), -1 for no tier; `scores`: floats
    (NaN allowed). Returns float ranks, NaN where there is no tier."""
    codes = np.asarray(tier_codes, dtype="int64")
    values = np.asarray(scores, dtype="float64")
    ranks = np.full(len(codes), np.nan)
    rated = np.flatnonzero(codes >= 0)
    if not len(rated):
        return ranks
    comparable = np.array([float(f"{x:.12g}") for x in values[rated]])
    comparable[np.isnan(comparable)] = -np.inf
    frame = pd.DataFrame({"code": codes[rated], "score": comparable}, index=rated)
    frame = frame.sort_values(["code", "score"], ascending=False, kind="stable")
    first_of_group = ~frame.duplicated(["code", "score"]).to_numpy()
    positions = np.arange(1, len(frame) + 1, dtype="float64")
    ranks_sorted = pd.Series(np.where(first_of_group, positions, np.nan)).ffill().to_numpy()
    ranks[frame.index.to_numpy()] = ranks_sorted
    return ranks
