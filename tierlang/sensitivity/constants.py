"""The bounds and fixed names of a sensitivity analysis (docs/sensitivity.md)."""

from __future__ import annotations

KIND = "sensitivity"


MAX_SAMPLES = 100_000  # --samples at most (docs/sensitivity.md)


STABLE_SHARE = 0.9  # an entity is stable when its nominal tier holds in at least 90% of samples


RANK_INTERVAL = (0.05, 0.95)  # the 90% rank interval


CHUNK_ROWS = 250_000  # entity rows per evaluated chunk (entities x samples); measured faster than 1M


MAX_STORED_RANKS = 50_000_000  # rank values kept for the median rank and the rank interval


SCORE_NODE = "~score"  # the tier's `from` expression, when it is not a node


INDEX_TIER = "~ranked"  # a methodology without tiers: one label for every entity with an index score


INDEX_LABEL = "ranked"
