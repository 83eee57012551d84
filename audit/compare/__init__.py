"""Outcome diff and attribution of two recorded runs, read from the audit store alone.

    from audit.compare import compare
    comparison = compare(store, old_run, new_run, structural=dsl.diff.diff(old, new))

By job: `outcome` (compare two runs, record the comparison; the method is in its docstring),
`reading` (one run as comparing needs it), `correlation` (rank correlations), `attribution`
(a score change split into its causes), `results` (the result objects), `serial` (the JSON
recorded and printed). tierlang/render/compare.py shows a comparison as text and CSV.
"""

from audit.compare.correlation import _inversions, kendall_tau_b, spearman
from audit.compare.outcome import compare, comparisons, record_comparison
from audit.compare.reading import _read_run
from audit.compare.results import (
    UNRATED,
    Attribution,
    Cause,
    Comparison,
    EntityDiff,
    ParamChange,
    Part,
)
from audit.compare.serial import entity_json, to_json

__all__ = [
    "UNRATED",
    "Attribution",
    "Cause",
    "Comparison",
    "EntityDiff",
    "ParamChange",
    "Part",
    "_inversions",
    "_read_run",
    "compare",
    "comparisons",
    "entity_json",
    "kendall_tau_b",
    "record_comparison",
    "spearman",
    "to_json",
]
