"""Many samples of a methodology's params evaluated at once (docs/sensitivity.md)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from dsl.constants import WEIGHT_TOLERANCE, WeightRule, walk, weight_sums, weighted_calls
from dsl.model import INPUT, PARAM, TIER, Methodology, Node, Ref
from interpreter import numeric
from interpreter.evaluator import Evaluator
from interpreter.inputs import input_value, level_table
from interpreter.levels import LevelInputs, build_frames
from interpreter.param_errors import ParamError
from interpreter.params import check_samples, resolve_params, unknown_param, weight_notes
from interpreter.tiers import evaluate_tier
from interpreter.values import Val, block_constant, constant, retype, tile


def varying_nodes(methodology: Methodology, sampled) -> frozenset[str]:
    """The sampled params and every node that reads one of them, directly or not."""
    varying = set(sampled)
    for node in methodology.nodes:
        if node.name not in varying and any(d in varying for d in node.deps):
            varying.add(node.name)
    return frozenset(varying)


def needed_nodes(methodology: Methodology, wanted) -> frozenset[str]:
    """The wanted nodes and every node they read, directly or not."""
    needed = set(wanted)
    for node in reversed(methodology.nodes):
        if node.name in needed:
            needed.update(node.deps)
    return frozenset(needed)


class SampleEvaluator:
    """Evaluates a methodology for many samples of its params at once (docs/sensitivity.md).

    The entities are stacked once per sample (a table of entities × samples rows, sample-major)
    and each sampled param becomes a per-row value: its sampled value repeated for the
    entities of its sample. Every population computation is done within each sample, so each
    sample's values are those a single run with that sample's params gives. Nodes that no
    sampled param reaches are evaluated once over the entities and repeated per sample (unless
    `share_invariant` is False); only the `wanted` nodes and what they read are evaluated.
    Nothing is traced: `run` gives internal values (interpreter.values), and each sampled
    block is as long as the input table.

        ev = SampleEvaluator(m, inputs, sampled=["w"], wanted=["rating"])
        values = ev.run({"w": np.array([0.4, 0.5, 0.6])})   # 3 samples
        ev.matrix(values["rating"])                          # (3, entities) tier positions
    """

    def __init__(self, methodology: Methodology, inputs: pd.DataFrame, params: dict | None = None, *,
                 sampled, wanted=None, share_invariant: bool = True,
                 members: Mapping[str, LevelInputs] | None = None):
        self.methodology = methodology
        self.inputs = inputs
        self.members = members or {}
        self.frames = build_frames(methodology, inputs.index, members) if methodology.is_multilevel else None
        self.index = inputs.index
        self.entities = len(inputs.index)
        self.params = resolve_params(methodology, params)
        self.sampled = tuple(sampled)
        for name in self.sampled:
            if not methodology.has(name) or methodology.node(name).kind != PARAM:
                raise ParamError(unknown_param(name, {p.name: p for p in methodology.params}))
        wanted = [n.name for n in methodology.nodes] if wanted is None else list(wanted)
        self.wanted = tuple(wanted)
        needed = needed_nodes(methodology, wanted)
        varying = varying_nodes(methodology, self.sampled)
        if not share_invariant:
            varying = frozenset(needed)
        self.order = tuple(n for n in methodology.nodes if n.name in needed and n.name in varying)
        self.varying = frozenset(n.name for n in self.order)
        self._shared = self._evaluate_once([n for n in methodology.nodes if n.name in needed
                                            and n.name not in varying])
        self._last_use = self._last_uses()
        sampled_reach = varying_nodes(methodology, self.sampled)
        weighted = [(n, c) for n, c in weighted_calls(methodology) if n in needed
                    and any(isinstance(e, Ref) and e.name in sampled_reach for w in c.weights for e in walk(w))]
        self._weights_rule = WeightRule(methodology, weighted) if weighted else None
        self._tiled: dict[str, Val] = {}
        self._tiled_blocks = 0

    @numeric.float_errors_ignored
    def _evaluate_once(self, nodes: list[Node]) -> dict[str, Val]:
        ev = Evaluator(self.methodology, self.index, self.params, frames=self.frames)
        for node in nodes:
            ev.env[node.name] = self._value_at_level(ev, node, self.params)
        ev.done()
        return ev.env

    def _value_at_level(self, ev: Evaluator, node: Node, params: dict) -> Val:
        at = ev.at(node.level or node.context)
        value = retype(self._node_value(at, node, params), node.type)
        return at.to_top_scalar(value) if node.type.scalar else value

    def _last_uses(self) -> dict[str, int]:
        """For each node, the position in `order` of the last node reading it."""
        last: dict[str, int] = {}
        for i, node in enumerate(self.order):
            for d in node.deps:
                last[d] = i
        return last

    def _node_value(self, ev: Evaluator, node: Node, params: dict) -> Val:
        if node.kind == INPUT:
            table = level_table(self.members, node.level, self.inputs)
            value = input_value(node, table, ev.index)
            return tile(value, ev.blocks) if ev.blocks > 1 else value
        if node.kind == PARAM:
            if node.name in params and isinstance(params[node.name], np.ndarray):
                return block_constant(params[node.name], node.type, self.entities)
            return constant(params[node.name], node.type, ev.n)
        if node.kind == TIER:
            ev.begin(node.tier.source)
            return evaluate_tier(ev, node, trace=False)[0]
        ev.begin(node.expr)
        return ev.eval(node.expr)

    @numeric.float_errors_ignored
    def run(self, samples: dict) -> dict[str, Val]:
        """The wanted nodes' values for these samples: {param: one value per sample} for every
        sampled param (numbers, booleans, labels or texts), all of the same length."""
        if set(samples) != set(self.sampled):
            raise ParamError(f"samples are given for {sorted(samples)}, expected {sorted(self.sampled)}")
        lengths = {len(v) for v in samples.values()}
        if len(lengths) > 1:
            raise ParamError("every sampled param needs the same number of samples")
        blocks = lengths.pop() if lengths else 1
        params = dict(self.params)
        for name, values in samples.items():
            params[name] = check_samples(self.methodology.node(name), values)
        if self._weights_rule is not None:
            self._check_weights(params, samples)
        shared = self._shared
        if self._tiled_blocks != blocks:  # chunks of the same size share the repeated values
            self._tiled, self._tiled_blocks = {}, blocks
        tiled = self._tiled

        def lookup(name: str) -> Val:
            if name not in tiled:
                tiled[name] = tile(shared[name], blocks)
            return tiled[name]

        ev = Evaluator(self.methodology, self.index, params, lookup=lookup, blocks=blocks, frames=self.frames)
        keep = set(self.wanted)
        for i, node in enumerate(self.order):
            ev.env[node.name] = self._value_at_level(ev, node, params)
            for d in node.deps:
                if self._last_use.get(d) == i and d not in keep:
                    ev.env.pop(d, None)
        ev.done()
        return {name: ev.env[name] if name in ev.env else lookup(name) for name in self.wanted}

    def _check_weights(self, params: dict, samples: dict) -> None:
        """The checker's weights rule for every sample at once (dsl.constants folds the sampled
        params element-wise); the first sample that breaks it is reported as an override is."""
        rule = self._weights_rule
        sums = weight_sums(self.methodology, params, rule.calls, rule.definitions)
        for found, declared in zip(sums, rule.declared):
            if found is None or declared is None or found.normalise:
                continue
            total = np.broadcast_to(np.asarray(found.total, dtype=float), (len(next(iter(samples.values()))),))
            bad = ~(np.abs(total - 1.0) <= WEIGHT_TOLERANCE) & ~(np.abs(total - declared.total) <= WEIGHT_TOLERANCE)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                sample = {**self.params, **{name: params[name][i].item() for name in samples}}
                weight_notes(self.methodology, sample, rule, what=f"in sample {i + 1}")

    def matrix(self, v: Val) -> np.ndarray:
        """A (not list) value of `run` as a (samples, entities) array."""
        return v.data.reshape(-1, self.entities)

