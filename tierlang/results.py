"""The results of a run as tables: one row per entity, the headline tier and its score."""

from __future__ import annotations

import numpy as np
import pandas as pd

from interpreter.ranking import index_score
from interpreter.trace import RunResult

UNRATED = "(no tier)"


def headline_tier(result: RunResult, level: str | None = None) -> str | None:
    """The last tier the methodology declares for its top level (or for `level`, a lower
    level): the one a run reports and ranks by."""
    tiers = [t for t in result.methodology.tiers if t.level == level]
    return tiers[-1].name if tiers else None


def headline_score(result: RunResult, level: str | None = None) -> str | None:
    """For a methodology without a tier (of that level): the last `score` it declares for
    the level, with a number per entity (an index). Runs rank entities by it, highest first
    (interpreter.ranking.index_score; the ranks are the score trace's `rank`)."""
    return index_score(result.methodology, level)


def _entities(result: RunResult, level: str | None):
    """(keys, labels, traces, parents) of the top level's entities or of a lower level's."""
    if level is None:
        return result.keys, result.labels, result.traces, None
    lower = result.members[level]
    return lower.keys, lower.labels, lower.traces, lower.parents


def summary_table(result: RunResult, level: str | None = None) -> pd.DataFrame:
    """key, label, score (the headline tier's `from` value), tier, rank; for a lower level
    also `within`, the key of each entity's parent.

    Rank orders entities by tier (best first), then by score (higher first); ties share the
    best rank. Entities with no tier have no rank.
    """
    keys, labels, traces, parents = _entities(result, level)
    table = pd.DataFrame(index=pd.Index(keys, name="key"))
    table["label"] = labels.reindex(keys) if labels is not None else None
    if parents is not None:
        table["within"] = parents.reindex(keys)
    name = headline_tier(result, level)
    score_name = headline_score(result, level)
    if name is None and score_name is not None:  # an index without tiers: ranked by its score
        table["score"] = traces[score_name].values.reindex(keys).astype("float64")
        table["tier"] = None
        ranks = traces[score_name].rank.reindex(keys).to_numpy(dtype="float64")  # as the interpreter ranked them
        table["rank"] = _ranks(ranks)
        return table.reset_index()
    if name is None:
        table["score"] = np.nan
        table["tier"] = None
        table["rank"] = pd.array([pd.NA] * len(keys), dtype="Int64")
        return table.reset_index()
    trace = traces[name]
    tier = trace.tier
    table["score"] = tier.from_values.reindex(keys).astype("float64") if tier.from_values is not None else np.nan
    table["tier"] = tier.display.reindex(keys)
    ranks = tier.rank.reindex(keys).to_numpy(dtype="float64")  # as the interpreter ranked them
    table["rank"] = _ranks(ranks)
    return table.reset_index()


def _ranks(ranks: np.ndarray) -> pd.arrays.IntegerArray:
    """Ranks (whole numbers, NaN for none) as Int64, none as <NA>."""
    missing = np.isnan(ranks)
    return pd.arrays.IntegerArray(np.where(missing, 0, ranks).astype(np.int64), missing)


def tier_counts(result: RunResult, level: str | None = None) -> list[tuple[str, int]]:
    """(label, count) per tier label, best first, with the `missing:` label and unrated last."""
    name = headline_tier(result, level)
    if name is None:
        return []
    trace = _entities(result, level)[2][name]
    scale = trace.node.tier.scale.labels
    display = trace.tier.display
    shown = display.value_counts()  # of every label shown
    counts = [(label, int(shown.get(label, 0))) for label in reversed(scale)]
    missing_label = trace.node.tier.missing_label
    if missing_label and missing_label not in scale:
        counts.append((missing_label, int(shown.get(missing_label, 0))))
    unrated = int(display.isna().sum())
    if unrated:
        counts.append((UNRATED, unrated))
    return counts


def node_frame(result: RunResult, level: str | None = None) -> pd.DataFrame:
    """Every node's value per entity (of the top level, or of `level`), one column per node,
    as plain values (labels as text)."""
    keys, _, traces, _ = _entities(result, level)
    columns = {}
    for name, trace in traces.items():
        values = trace.values
        if isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype(object).where(values.notna(), None)
        elif values.dtype == object:
            values = values.map(lambda v: "; ".join(map(str, v)) if isinstance(v, tuple) else v)
        columns[name] = values
    return pd.DataFrame(columns, index=keys)
