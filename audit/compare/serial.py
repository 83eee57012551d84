"""A comparison as JSON: the form recorded in the store's `comparisons` table (audit/compare/outcome.py)
and printed by `tierlang diff --format json`.
"""

from __future__ import annotations

import math
from typing import Any

from audit.compare.results import Comparison, EntityDiff
from audit.store import (
    RunInfo,
)


def _num(x: float | None) -> Any:
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else x


def _run_json(info: RunInfo) -> dict:
    return {
        "run": info.id,
        "methodology": {"name": info.methodology_name, "version": info.methodology_version,
                        "path": info.methodology_path, "sha256": info.methodology_sha256},
        "dataset": {"path": info.dataset_path, "sha256": info.dataset_sha256},
        "params": info.params,
        "entities": info.entity_count,
    }


def entity_json(d: EntityDiff) -> dict:
    a = d.attribution
    return {
        "key": d.key,
        "label": d.label,
        "old": {"tier": d.old_tier, "score": _num(d.old_score), "rank": d.old_rank},
        "new": {"tier": d.new_tier, "score": _num(d.new_score), "rank": d.new_rank},
        "move": d.move,
        "score_change": _num(d.score_change),
        "summary": d.summary(),
        "attribution": None if a is None else {
            "score_change": _num(a.score_change),
            "causes": [{"cause": c.cause, "text": c.text, "amount": c.amount} for c in a.causes],
            "parts": [
                {"cause": p.cause, "text": p.text, "node": p.node, "component": p.component,
                 "effect": p.effect, "amount": p.amount}
                for p in a.parts
            ],
            "tier_causes": list(a.tier_causes),
            "changed_nodes": list(a.changed_nodes),
        },
    }


def to_json(c: Comparison) -> dict:
    """The outcome as plain JSON-ready data (the `outcome` object of docs/diff.md)."""
    return {
        "old": _run_json(c.old),
        "new": _run_json(c.new),
        "tier": {"old": c.old_tier, "new": c.new_tier},
        **({"ranked_by": {"old": c.ranked_by[0], "new": c.ranked_by[1]}} if c.ranked_by else {}),
        "entities": {"common": c.common, "only_old": list(c.only_old), "only_new": list(c.only_new)},
        "transitions": {"rows": list(c.rows), "columns": list(c.columns),
                        "counts": [list(r) for r in c.counts]},
        "moved": {
            "up": c.up, "down": c.down, "other": c.other, "unchanged": c.same,
            "share_up": c.up / c.common if c.common else None,
            "share_down": c.down / c.common if c.common else None,
            "share_moved": c.moved / c.common if c.common else None,
        },
        "rank_correlation": {"spearman": _num(c.spearman), "kendall_tau_b": _num(c.kendall),
                             "n": c.correlated},
        "params": [
            {"name": p.name, "old": p.old, "new": p.new, "old_declared": p.old_declared,
             "new_declared": p.new_declared, "overridden": p.overridden}
            for p in c.params
        ],
        "movers": [entity_json(d) for d in c.movers],
    }


