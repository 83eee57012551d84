"""Evaluate a checked methodology over a table of entities, recording every node.

`evaluate(methodology, inputs, params, tracer, labels) -> RunResult` walks `methodology.nodes`
in their (dependency) order, each over the entities of its level (interpreter.evaluator), and
gives each node's trace (interpreter.trace): its values and missing reasons, the statistics its
population calls and tier rules used (named as interpreter.call_statistics says), its
components, branch and, for an index's score, its ranks. `evaluate_expression` evaluates an
expression against a finished run. Many param samples at once: interpreter.samples.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from dsl.model import INPUT, PARAM, TIER, Expr, Methodology
from dsl.types import NUMBER
from interpreter import numeric, ranking
from interpreter.call_statistics import tier_statistics
from interpreter.evaluator import Evaluator
from interpreter.inputs import input_value, level_table, parents
from interpreter.levels import LevelInputs, build_frames
from interpreter.params import resolve_params, weight_notes
from interpreter.samples import SampleEvaluator, needed_nodes, varying_nodes
from interpreter.tiers import evaluate_tier
from interpreter.trace import LevelResult, NodeTrace, RunResult, Statistic, Tracer
from interpreter.values import (
    Val,
    block_constant,
    constant,
    from_series,
    plain_values,
    reasons_series,
    retype,
    to_series,
)

# what other modules import from here
__all__ = ["evaluate", "evaluate_expression", "evaluate_value", "scalar_value", "Evaluator", "SampleEvaluator",
           "block_constant", "needed_nodes", "resolve_params", "varying_nodes"]


@numeric.float_errors_ignored
def evaluate(methodology: Methodology, inputs: pd.DataFrame, params: dict | None = None,
             tracer: Tracer | None = None, labels: pd.Series | None = None,
             members: Mapping[str, LevelInputs] | None = None) -> RunResult:
    """Evaluate every node for every entity (rows of `inputs`, indexed by entity key).

    `members` holds the entities and inputs of each lower level (interpreter/levels.py); each
    node is evaluated over the entities of its own level, and a lower level's traces go to
    `RunResult.members`."""
    used = resolve_params(methodology, params)
    notes = weight_notes(methodology, used) if params else ()
    index = inputs.index
    frames = build_frames(methodology, index, members) if methodology.is_multilevel else None
    top = Evaluator(methodology, index, used, frames=frames)
    top.shared.tracing = True
    traces: dict[str, NodeTrace] = {}
    level_traces: dict[str, dict[str, NodeTrace]] = {lv.name: {} for lv in methodology.lower_levels}
    last_reader = {dep: node.name for node in methodology.nodes for dep in node.deps}
    read_last = {}
    for dep, reader in last_reader.items():
        read_last.setdefault(reader, []).append(dep)
    indices = {ranking.index_score(methodology, level) for level in
               (None, *(lv.name for lv in methodology.lower_levels))} - {None}
    for node in methodology.nodes:
        ev = top.at(node.level or node.context)
        tier_trace = None
        scalars: dict = {}
        typed: list[Statistic] = []
        if node.kind == INPUT:
            value = input_value(node, level_table(members, node.level, inputs), ev.index)
        elif node.kind == PARAM:
            value = constant(used[node.name], node.type, ev.n)
            scalars["value"] = used[node.name]
        elif node.kind == TIER:
            ev.begin(node.tier.source)
            value, tier_trace, tier_stats = evaluate_tier(ev, node)
            scalars.update(ev.statistics(node_is_scalar=False))
            scalars.update(tier_stats)
            typed = [t for t in top.shared.typed if t.key not in tier_stats] + tier_statistics(node, tier_stats)
        else:
            ev.begin(node.expr)
            value = ev.eval(node.expr)
            scalars.update(ev.statistics(node_is_scalar=node.type.scalar))
            typed = list(top.shared.typed)
        value = retype(value, node.type)
        if node.type.scalar:
            value = ev.to_top_scalar(value)
            if node.kind != PARAM:
                scalars["value"] = scalar_value(value)
            ev = top
        ev.env[node.name] = value
        shared = top.shared
        components = shared.components if node.kind not in (INPUT, PARAM, TIER) else None
        branch = shared.branch if node.kind not in (INPUT, PARAM, TIER) else None
        if "value" in scalars and node.type.scalar:  # the node's own value is no statistic
            typed = [t for t in typed if t.key != "value"]
        rank = None
        if node.name in indices:  # an index's score: its entities ranked once, here
            rank = pd.Series(ranking.competition_ranks(to_series(value, ev.index).to_numpy(dtype="float64"), "top"),
                             index=ev.index, dtype="float64")
        trace = NodeTrace(node, None, None, scalars, tier_trace, components=components, branch=branch,
                          statistics=tuple(typed), rank=rank, series=_trace_series(value, ev.index))
        (level_traces[node.level] if node.level else traces)[node.name] = trace
        for dep in read_last.get(node.name, ()):
            top.shared.reads.pop(dep, None)
        if tracer is not None:
            tracer.on_node(trace)
    top.done()
    lower = {lv.name: LevelResult(lv, frames[lv.name].index, members[lv.name].labels if lv.name in (members or {})
                                  else None, parents(members, lv.name, frames), level_traces[lv.name])
             for lv in methodology.lower_levels}
    return RunResult(methodology, index, labels, used, traces, members=lower, notes=notes)


def _trace_series(value: Val, index: pd.Index):
    """A function building the trace.py representation of a node's value and reasons."""
    return lambda: (to_series(value, index), reasons_series(value, index))



def scalar_value(v: Val):
    """The plain value of a scalar (NaN for a missing number, None for other missing values)."""
    if len(v) == 0:
        return float("nan") if v.type.base == NUMBER else None
    plain = plain_values(v)[0]
    if v.type.base == NUMBER and plain is None:
        return float("nan")
    return plain



@numeric.float_errors_ignored
def evaluate_value(result: RunResult, expr: Expr, level: str | None = None) -> Val:
    """The internal value of `expr` evaluated against a finished run (every node readable),
    for the entities of `level` (None: the top level)."""
    index = result.keys

    def lookup(name: str) -> Val:
        trace = result.traces.get(name)
        keys = index
        if trace is None:
            level_result = next(m for m in result.members.values() if name in m.traces)
            trace, keys = level_result.traces[name], level_result.keys
        return from_series(trace.values, trace.node.type, keys,
                           reasons=trace.reasons.to_numpy(dtype=object))

    frames = build_frames(result.methodology, index, result.members) if result.methodology.is_multilevel else None
    ev = Evaluator(result.methodology, index, result.params, lookup=lookup, frames=frames).at(level)
    ev.begin(expr)
    value = ev.eval(expr)
    ev.done()
    return value


def evaluate_expression(result: RunResult, expr: Expr, level: str | None = None) -> pd.Series:
    """`expr` evaluated for every entity of a finished run (of `level`; None: the top level),
    in the trace.py representation (a boolean expression gives a nullable boolean Series; a
    scalar one, its value repeated)."""
    if level is not None and level != result.methodology.entity:
        keys = result.members[level].keys
    else:
        keys = result.keys
    return to_series(evaluate_value(result, expr, level), keys)

