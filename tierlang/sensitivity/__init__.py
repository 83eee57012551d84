"""How robust is each tier? Uncertainty and sensitivity analysis over a methodology's own
choices (docs/sensitivity.md).

    data = Tables("examples/stp_2017/stp_2017.csv", {"organisation": "examples/stp_2017/organisations.csv"})
    analysis = analyse("methodologies/stp_dashboard_2017.tier", data, samples=10_000, seed=1,
                       audit="tierlang.db")
    analysis.entities[0].probabilities     # {"outstanding": 0.93, "advanced": 0.07, ...}
    analysis.choices[0].name               # the choice that matters most

What is sampled (the "choices"): every param with a `range lo..hi` (uniform), `range
normal(mean, sd)` or `one of [...]` (equally likely); with `weights=C` the weights of every
weighted aggregation, perturbed around their values by a Dirichlet draw of concentration C.
`drop_one` re-evaluates the methodology with each indicator removed from its aggregations in
turn (weights re-normalised).

Design (Saltelli et al. 2010): two independent sample matrices A and B of `ceil(samples / 2)`
rows each; for each choice i, AB_i (A with choice i's column taken from B) and OAT_i (every
choice at its declared value but choice i, taken from B). A and B rows are the uncertainty
samples (tier probabilities, ranks); first-order indices use Saltelli 2010's estimator
V_i = mean(f(B) (f(AB_i) - f(A))), total-order indices Jansen's VT_i = mean((f(A) - f(AB_i))^2) / 2,
both over V, the variance of f over A and B; OAT_i gives the share of tier changes choice i
causes alone. Every evaluation is a block of interpreter.evaluate.SampleEvaluator: the samples
are a second axis of the evaluation (entities x samples, in chunks), never a loop of runs.

Model rewriting (weights scaled by multiplier params, an indicator dropped) is dsl/rewrite.py's.
Orchestration only: the nominal run is `tierlang.api.run` (so it equals `tierlang run`), the
interpreter evaluates, audit.analyses stores the summary tables (never the sample runs).

Modules: `analysis` (analyse(): orchestration), `choices` (what is sampled), `sampling` (the
design and running sums), `summary` (probabilities, ranks, indices), `results` (the result
objects), `record` (the rows the store keeps), `constants`.
"""

from dsl.rewrite import AGGREGATIONS, drop_candidates, without
from tierlang.sensitivity.analysis import analyse
from tierlang.sensitivity.choices import Choice, param_choices, weight_choices
from tierlang.sensitivity.constants import (
    CHUNK_ROWS,
    INDEX_LABEL,
    INDEX_TIER,
    KIND,
    MAX_SAMPLES,
    MAX_STORED_RANKS,
    RANK_INTERVAL,
    SCORE_NODE,
    STABLE_SHARE,
)
from tierlang.sensitivity.record import analysis_rows
from tierlang.sensitivity.results import Analysis, ChoiceResult, DropResult, EntityResult
from tierlang.sensitivity.sampling import _Design, sample_ranks

__all__ = [
    "AGGREGATIONS",
    "CHUNK_ROWS",
    "INDEX_LABEL",
    "INDEX_TIER",
    "KIND",
    "MAX_SAMPLES",
    "MAX_STORED_RANKS",
    "RANK_INTERVAL",
    "SCORE_NODE",
    "STABLE_SHARE",
    "Analysis",
    "Choice",
    "ChoiceResult",
    "DropResult",
    "EntityResult",
    "_Design",
    "analyse",
    "analysis_rows",
    "drop_candidates",
    "param_choices",
    "sample_ranks",
    "weight_choices",
    "without",
]
