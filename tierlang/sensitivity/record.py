"""An analysis as the audit store keeps it (audit.analyses.record_analysis)."""

from __future__ import annotations

import attrs

from tierlang import __version__, api
from tierlang.sensitivity.constants import KIND
from tierlang.sensitivity.results import Analysis


def _record(analysis: Analysis, path: str) -> Analysis:
    from audit import open_store
    from audit.analyses import record_analysis

    outcome = analysis.outcome
    store = open_store(path)
    try:
        if outcome.run_id is None or outcome.audit_path != path:
            run_id = store.record(outcome.result, dataset=outcome.dataset, tool_version=__version__,
                                  user=api.current_user())
            outcome = attrs.evolve(outcome, run_id=run_id, audit_path=path)
        analysis_id = record_analysis(store, outcome.run_id, analysis_rows(analysis), tool_version=__version__)
    finally:
        store.close()
    return attrs.evolve(analysis, outcome=outcome, analysis_id=analysis_id, audit_path=path)


def analysis_rows(analysis: Analysis) -> dict:
    """The analysis as the audit store keeps it (audit.analyses.record_analysis)."""
    entities = [
        {"key": e.key, "nominal_tier": e.nominal_tier, "nominal_rank": e.nominal_rank,
         "probabilities": e.probabilities, "held": e.held, "median_rank": e.median_rank,
         "rank_low": e.rank_low, "rank_high": e.rank_high, "stable": e.stable,
         "most_sensitive": e.most_sensitive}
        for e in analysis.entities
    ]
    choices = [
        {"choice": c.name, "kind": c.kind, "rank": c.rank, "first_order_index": c.first_order,
         "total_order_index": c.total_order, "first_order_tier": c.first_order_tier,
         "total_order_tier": c.total_order_tier, "tier_change_share": c.tier_change_share,
         "detail": {"distribution": c.description, "declared": c.declared}}
        for c in analysis.choices
    ]
    choices += [
        {"choice": f"drop:{d.indicator}", "kind": "drop", "rank": None, "first_order_index": None,
         "total_order_index": None, "first_order_tier": None, "total_order_tier": None,
         "tier_change_share": d.tier_change_share,
         "detail": {"changed": d.changed, "mean_abs_rank_shift": d.mean_abs_rank_shift}}
        for d in analysis.drop_one
    ]
    from audit.recorder import methodology_sha256

    return {
        "kind": KIND,
        "methodology_sha256": methodology_sha256(analysis.methodology),
        "dataset_sha256": analysis.outcome.dataset.sha256,
        "tier": analysis.tier,
        "spec": analysis.spec,
        "seed": analysis.seed,
        "samples": analysis.samples,
        "evaluations": analysis.evaluations,
        "summary": {
            "entities": len(analysis.entities),
            "stable": analysis.stable_count,
            "stable_share": analysis.stable_share,
            "mean_abs_rank_shift": analysis.mean_abs_rank_shift,
            "most_important": analysis.choices[0].name if analysis.choices else None,
            "seconds": round(analysis.seconds, 3),
        },
        "entities": entities,
        "choices": choices,
    }
