"""A recorded run as pandas tables, read from the audit store alone.

    ranked_table(store, run_id)      # key -> label, score, tier, rank (as `tierlang run` shows)
    tier_dtype(scale, missing_label) # the ordered categorical of a tier's labels

Nothing is evaluated: the score is the headline tier's recorded `from` value, the tier its
recorded label (tier steps), the rank the one `tierlang diff` shows (audit.compare reads the
run once and ranks by tier then score, with interpreter.ranking, the ranking `tierlang run`
uses).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from audit.compare import _read_run  # one reading of a run's tiers, scores and ranks
from audit.store import AuditStore


def tier_dtype(scale: Sequence[str], missing_label: str | None = None) -> pd.CategoricalDtype:
    """Tier labels as an ordered categorical, worst first as declared; a `missing:` label that
    is not on the scale comes before the worst (it rates nothing better)."""
    categories = list(scale)
    if missing_label and missing_label not in categories:
        categories.insert(0, missing_label)
    return pd.CategoricalDtype(categories, ordered=True)


def as_tiers(
    values, scale: Sequence[str], missing_label: str | None = None, index=None
) -> pd.Series:
    """`values` (labels, None for no tier) as an ordered categorical Series."""
    dtype = tier_dtype(scale, missing_label)
    series = pd.Series(list(values), index=index, dtype=object)
    known = series.where(series.isin(dtype.categories))
    return known.astype(dtype)


def ranked_table(store: AuditStore, run_id: int) -> pd.DataFrame:
    """One row per top-level entity, in data order, indexed by key: `label`, `score` (the
    headline tier's `from` value), `tier` (ordered categorical, worst first) and `rank`
    (Int64; none without a tier). A run without a tier has no `tier` and no `rank` values."""
    run = _read_run(store, run_id)
    index = pd.Index(run.keys, name="key")
    table = pd.DataFrame(index=index)
    table["label"] = pd.Series(run.labels, index=index, dtype=object)
    table["score"] = pd.Series(np.asarray(run.scores, dtype=np.float64), index=index)
    scale = list(run.tier.scale or ()) if run.tier is not None else []
    table["tier"] = as_tiers(run.display, scale, run.missing_label, index=index)
    table["rank"] = pd.array(run.ranks, dtype="Int64")
    return table
