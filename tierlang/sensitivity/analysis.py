"""analyse(): the nominal run, the design evaluated in chunks (entities x samples), drop-one
variants, the summary, and recording it: orchestration only."""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable
from pathlib import Path

import attrs
import numpy as np

from dsl import model as M
from dsl import rewrite
from dsl import types as T
from dsl.model import Methodology
from interpreter import ranking
from interpreter.evaluate import SampleEvaluator, evaluate
from tierlang import api
from tierlang.results import summary_table, tier_counts
from tierlang.sensitivity.choices import param_choices, weight_choices
from tierlang.sensitivity.constants import (
    CHUNK_ROWS,
    INDEX_LABEL,
    INDEX_TIER,
    MAX_SAMPLES,
    SCORE_NODE,
)
from tierlang.sensitivity.record import _record
from tierlang.sensitivity.results import Analysis, DropResult
from tierlang.sensitivity.sampling import _Accumulated, _Design, _Reference, sample_ranks
from tierlang.sensitivity.summary import _summarise


def analyse(methodology: Methodology | str | Path, data, *, samples: int = 1000, seed: int | None = None,
            weights: float | None = None, drop_one: bool = False, tier: str | None = None,
            audit=None, encoding: str = "utf-8", sheet: str | None = None,
            progress: Callable[[int, int], None] | None = None, chunk_rows: int = CHUNK_ROWS,
            weights_of: tuple[str, ...] = ()) -> Analysis:
    """Run the nominal methodology (recorded in `audit` if given), sample its choices, and
    summarise per entity and per choice; the analysis is recorded with the nominal run.

    Raises what api.run raises, and api.UsageError for a request that cannot be analysed."""
    started = time.perf_counter()
    if not isinstance(methodology, Methodology):
        methodology = api.load(methodology)
    if samples < 2:
        raise api.UsageError(f"--samples {samples}: take at least 2 samples")
    if samples > MAX_SAMPLES:  # the design matrices and the time grow with the samples
        raise api.UsageError(f"--samples {samples:,}: take at most {MAX_SAMPLES:,} samples "
                             f"(the tier probabilities' sampling error is then below 0.2 percentage points)")
    if weights is not None and not (weights > 0 and math.isfinite(weights)):
        raise api.UsageError(f"dirichlet({weights}): the concentration must be a number above 0")
    if weights_of and weights is None:
        raise api.UsageError("--weights-of names aggregations whose weights --weights perturbs: give --weights too")
    seed = secrets.randbelow(2**31) if seed is None else int(seed)
    tier_node = _tier_node(methodology, tier)
    analysed = methodology if tier_node.name != INDEX_TIER else attrs.evolve(
        methodology, nodes=methodology.nodes + (tier_node,))
    outcome, prepared = _nominal_run(methodology, data, encoding, sheet)
    inputs, members = prepared.frame, prepared.members
    nominal = outcome.result

    choices = param_choices(methodology)
    sampled_methodology, notes = methodology, []
    if weights is not None:
        sampled_methodology, weight_sets, notes = weight_choices(methodology, nominal, weights)
        if weights_of:  # only the named aggregations (the others keep their weights: multipliers at 1)
            available = [c.name.removeprefix("weights:") for c in weight_sets]
            unknown = [w for w in weights_of if w not in available]
            if unknown:
                raise api.UsageError(f"--weights-of {unknown[0]}: no weighted aggregation of that name whose "
                                     f"weights can be perturbed (there are: {', '.join(available) or 'none'})")
            weight_sets = [c for c in weight_sets if c.name.removeprefix("weights:") in weights_of]
        choices += weight_sets
        if not weight_sets:
            notes.append("--weights: no weighted aggregation whose weights can be perturbed")
    if drop_one and not rewrite.drop_candidates(methodology):
        notes.append("--drop-one: no indicator is an argument of an aggregation")
    if not choices and not drop_one:
        raise api.UsageError(
            "nothing to sample: no param of this methodology has a `range`, `range normal(...)` or "
            "`one of [...]`; declare one, or use --weights dirichlet(C) or --drop-one")
    if tier_node.name == INDEX_TIER:
        sampled_methodology = attrs.evolve(sampled_methodology, nodes=sampled_methodology.nodes + (tier_node,))
    sampled_methodology, score_name = _with_score(sampled_methodology, tier_node)

    reference = _Reference(nominal, tier_node, outcome)
    base = -(-samples // 2)
    design = _Design(choices, base, samples, np.random.default_rng(seed))
    state = _Accumulated(reference, len(choices), design)
    if choices:
        evaluator = SampleEvaluator(sampled_methodology, inputs, sampled=[p for c in choices for p in c.params],
                                    wanted=[tier_node.name, score_name], members=members)
        n = max(len(inputs), 1)
        per_chunk = max(1, chunk_rows // (design.row_types * n))
        for start in range(0, base, per_chunk):
            stop = min(base, start + per_chunk)
            values = evaluator.run(design.chunk(start, stop))
            rows = design.row_types, stop - start, len(inputs)
            f = evaluator.matrix(values[score_name]).reshape(rows)
            g = evaluator.matrix(values[tier_node.name]).reshape(rows)
            state.add(start, f, g)
            if progress is not None:
                progress(stop * design.row_types, design.evaluations)
    drops = _drop_one(analysed, prepared, tier_node, score_name, reference, nominal) if drop_one else []

    analysis = _summarise(outcome, tier_node, choices, design, state, drops, seed, notes,
                          time.perf_counter() - started, weights, drop_one)
    if audit is not None:
        analysis = _record(analysis, str(audit))
    return analysis


def _nominal_run(methodology: Methodology, data, encoding: str, sheet: str | None):
    """What `api.run` does without recording (the nominal run is recorded with the analysis),
    keeping the prepared inputs for the samples."""
    prepared = api.prepare(methodology, api.read_data(data, encoding=encoding, sheet=sheet))
    result = evaluate(methodology, prepared.frame, params={}, labels=prepared.labels, members=prepared.members)
    outcome = api.RunOutcome(result, prepared.dataset, None, None, summary_table(result), tier_counts(result))
    return outcome, prepared


def _tier_node(methodology: Methodology, name: str | None) -> M.Node:
    tiers = tuple(t for t in methodology.tiers if t.level is None)  # tiers of the rated (top) entities
    if not tiers:
        index = ranking.index_score(methodology)
        if index is not None and name is None:  # an index: its score and ranks are analysed
            return _index_tier(methodology.node(index))
        raise api.UsageError("this methodology declares no tier of its top level and no per-entity `score`: "
                             "there is nothing to analyse")
    if name is None:
        return tiers[-1]
    for node in tiers:
        if node.name == name:
            return node
    raise api.UsageError(f"--tier {name}: no such tier (tiers: {', '.join(n.name for n in tiers)})")


def _index_tier(score: M.Node) -> M.Node:
    """For a methodology without tiers: a tier with one label, held by every entity with an
    index score, so that the samples' ranks are the index's ranks (by score, highest first) and
    the indices are those of the score. It is never recorded: the nominal run is the
    methodology's own."""
    scale = T.LevelType(INDEX_TIER, (INDEX_LABEL,))
    rule = M.TierRule(INDEX_LABEL, M.OtherwiseRule())
    spec = M.TierSpec(scale, M.Ref(score.name, score.type), (rule,), None, ())
    return M.Node(INDEX_TIER, M.TIER, T.level(scale), (score.name,), label=score.label or score.name, tier=spec)


def _with_score(methodology: Methodology, tier_node: M.Node) -> tuple[Methodology, str]:
    """The node holding the tier's `from` value (added when it is an expression), or the tier
    itself for a rule-based tier (its position on the scale is then the score)."""
    source = tier_node.tier.source
    if source is None:
        return methodology, tier_node.name
    if isinstance(source, M.Ref):
        return methodology, source.name
    node = M.Node(SCORE_NODE, "let", source.type, rewrite.reads(source), expr=source)
    return attrs.evolve(methodology, nodes=methodology.nodes + (node,)), SCORE_NODE


def _drop_one(methodology, prepared, tier_node, score_name, ref: _Reference, nominal) -> list[DropResult]:
    out = []
    for name in rewrite.drop_candidates(methodology):
        variant, variant_score = _with_score(rewrite.without(methodology, name), tier_node)
        evaluator = SampleEvaluator(variant, prepared.frame, dict(nominal.params), sampled=[],
                                    wanted=[tier_node.name, variant_score], members=prepared.members)
        values = evaluator.run({})
        codes = evaluator.matrix(values[tier_node.name])
        scores = evaluator.matrix(values[variant_score])
        changed = (codes[0] != ref.codes) & ~(np.isnan(codes[0]) & np.isnan(ref.codes))
        shift = np.abs(sample_ranks(codes, scores)[0] - ref.ranks)
        n = len(ref.codes)
        node = methodology.node(name)
        out.append(DropResult(name, node.label, float(changed.sum() / n) if n else 0.0, int(changed.sum()),
                              float(np.nanmean(shift)) if (~np.isnan(shift)).any() else None))
    return out
