"""The analysis summarised: tier probabilities, rank statistics and intervals, first- and
total-order indices per choice, the choice each entity is most sensitive to."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from dsl import model as M
from tierlang import __version__
from tierlang.render.cells import number
from tierlang.results import UNRATED
from tierlang.sensitivity.constants import KIND, RANK_INTERVAL, STABLE_SHARE
from tierlang.sensitivity.results import Analysis, ChoiceResult, EntityResult
from tierlang.sensitivity.sampling import _Accumulated


def _summarise(outcome, tier_node, choices, design, state: _Accumulated, drops, seed, notes, seconds,
               weights, drop_one) -> Analysis:
    ref = state.ref
    labels_best_first = tuple(reversed(ref.scale.labels))
    k, n = len(choices), len(ref.keys)
    first, total = state.score.pooled() if k else ([], [])
    first_t, total_t = state.tier.pooled() if k else ([], [])
    entity_first = state.score.per_entity() if k else np.zeros((0, n))
    draws = max(state.alone_draws, 1)
    alone_share = [float(state.alone[i].sum() / (draws * n)) if n else 0.0 for i in range(k)]

    def importance(i):
        return tuple(-(x if x is not None and not math.isnan(x) else -1.0)
                     for x in (first_t[i], first[i], alone_share[i]))

    order = sorted(range(k), key=importance)
    ranked = tuple(
        ChoiceResult(choices[i].name, choices[i].kind, choices[i].description, choices[i].declared,
                     first[i], total[i], first_t[i], total_t[i], alone_share[i], position)
        for position, i in enumerate(order, start=1))

    unrated = tier_node.tier.missing_label or UNRATED
    table = ref.table.set_index("key").reindex(ref.keys)
    tiers, labels = table["tier"].tolist(), table["label"].tolist()
    nominal_ranks, nominal_scores = table["rank"].tolist(), table["score"].tolist()
    uncertainty = max(state.uncertainty, 1)
    shares = state.counts / uncertainty
    median, low, high = _rank_statistics(state.ranks[: state.stored], n)
    entities = []
    for e, key in enumerate(ref.keys):
        probabilities = {}
        if k:
            for label in labels_best_first:
                probabilities[label] = float(shares[ref.scale.order(label), e])
            if state.counts[-1, e]:
                probabilities[unrated] = float(shares[-1, e])
        nominal_code = ref.codes[e]
        if not k:
            held = 1.0
        else:
            held = float(shares[-1 if np.isnan(nominal_code) else int(nominal_code), e])
        most = _most_sensitive(e, choices, state, entity_first) if k else None
        rank, score = nominal_ranks[e], nominal_scores[e]
        entities.append(EntityResult(
            str(key), None if _missing(labels[e]) else str(labels[e]),
            None if _missing(tiers[e]) else str(tiers[e]),
            None if _missing(rank) else int(rank), None if _missing(score) else float(score),
            probabilities, held, held >= STABLE_SHARE, median[e], low[e], high[e], most))
    entities.sort(key=lambda x: (x.nominal_rank is None, x.nominal_rank or 0))
    shift = state.shift_sum / state.shift_count if state.shift_count else None
    spec = {
        "kind": KIND,
        "tier": tier_node.name,
        "score": _score_text(tier_node),
        "samples": design.samples,
        "base_samples": design.base,
        "evaluations": design.evaluations,
        "seed": seed,
        "design": "Saltelli 2010 (A, B, AB_i) with one-at-a-time rows OAT_i",
        "estimators": {"first_order": "Saltelli 2010", "total_order": "Jansen 1999"},
        "choices": [c.spec() for c in choices],
        "weights": None if weights is None else f"dirichlet({number(weights)})",
        "drop_one": bool(drop_one),
        "stable_share": STABLE_SHARE,
        "rank_interval": list(RANK_INTERVAL),
        "notes": list(notes),
        "tool_version": __version__,
    }
    return Analysis(
        outcome=outcome, tier=tier_node.name, tier_title=tier_node.label or tier_node.name,
        score=_score_text(tier_node), labels=labels_best_first, unrated=unrated, seed=seed, samples=design.samples if k else 0,
        base_samples=design.base if k else 0, evaluations=design.evaluations, choices=ranked,
        entities=tuple(entities), drop_one=tuple(drops), stable_count=sum(e.stable for e in entities),
        mean_abs_rank_shift=shift, notes=tuple(notes), spec=spec, seconds=seconds)


def _rank_statistics(ranks: np.ndarray, n: int) -> tuple[list, list, list]:
    """Per entity (column), over the samples where it has a rank: the median, and the 90%
    interval as np.quantile's "lower" 5% and "higher" 95% (None where it never has a rank)."""
    if not len(ranks):
        return [None] * n, [None] * n, [None] * n
    ordered = np.sort(ranks, axis=0)  # missing (NaN) last
    count = (~np.isnan(ranks)).sum(axis=0)
    last = np.maximum(count - 1, 0)

    def at(position):
        return np.take_along_axis(ordered, np.minimum(position, last)[None, :].astype(np.int64), axis=0)[0]

    median = (at(last // 2) + at((last + 1) // 2)) / 2
    low = at(np.floor(last * RANK_INTERVAL[0]))
    high = at(np.ceil(last * RANK_INTERVAL[1]))

    def plain(values):
        return [None if c == 0 else float(v) for v, c in zip(values, count)]

    return plain(median), plain(low), plain(high)


def _score_text(tier_node: M.Node) -> str:
    from audit.recorder import expression_text

    source = tier_node.tier.source
    return expression_text(source) if source is not None else "tier position"


def _missing(value) -> bool:
    return value is None or bool(pd.isna(value))


def _most_sensitive(e: int, choices, state: _Accumulated, entity_first: np.ndarray) -> str | None:
    alone = state.alone[:, e]
    if alone.max() > 0:
        return choices[int(np.argmax(alone))].name
    indices = entity_first[:, e]
    if np.isnan(indices).all() or not np.nanmax(indices) > 0:
        return None
    return choices[int(np.nanargmax(indices))].name
