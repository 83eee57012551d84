"""Rewriting a checked methodology (dsl.model) into a variant of itself, for sensitivity analysis:
the weights of a weighted aggregation scaled by multiplier params, an indicator dropped from
every aggregation it feeds (weights re-normalised), the nodes an expression reads.

Pure: model trees in, model trees out; no data, no pandas. `map_expression` is not
dsl.tree.transform: it goes through expression fields only and applies `fn` at every occurrence
of a shared subexpression (function bodies inlined twice are two occurrences), which is what
the weight choices count and name.
"""

from __future__ import annotations

import attrs

from dsl import builtins as B
from dsl import model as M
from dsl import types as T
from dsl.model import Methodology

# the aggregations of their arguments (dsl.builtins): an indicator can be dropped from them
AGGREGATIONS = B.AGGREGATIONS


_NUMBER = T.number(scalar=True)


def map_expression(e, fn):
    """Rebuild a resolved expression bottom-up: fn(expr with children already mapped)."""
    if isinstance(e, tuple):
        items = tuple(map_expression(item, fn) for item in e)
        return e if all(a is b for a, b in zip(items, e)) else items
    if not isinstance(e, (M.Unary, M.Binary, M.IsMissing, M.IfElse, M.ListOf, M.Pick, M.Call, M.MapOf,
                          M.BandOf)):
        return fn(e)
    changes = {}
    for field in attrs.fields(type(e)):
        if field.name in ("type", "span"):
            continue
        value = getattr(e, field.name)
        if isinstance(value, tuple) or _is_expr(value):
            mapped = map_expression(value, fn)
            if mapped is not value:
                changes[field.name] = mapped
    return fn(attrs.evolve(e, **changes) if changes else e)


def _is_expr(value) -> bool:
    return isinstance(value, (M.Const, M.LabelConst, M.Ref, M.Unary, M.Binary, M.IsMissing, M.IfElse,
                              M.ListOf, M.Pick, M.Call, M.MapOf, M.BandOf))


def map_node(node: M.Node, fn) -> M.Node:
    """The node with fn applied to every expression it holds (definition, tier, limits)."""
    if node.expr is not None:
        expr = map_expression(node.expr, fn)
        return node if expr is node.expr else attrs.evolve(node, expr=expr)
    if node.tier is None:
        return node
    spec = node.tier
    source = None if spec.source is None else map_expression(spec.source, fn)
    rules = []
    for rule in spec.rules:
        c = rule.condition
        if isinstance(c, M.ThresholdRule):
            c = attrs.evolve(c, value=map_expression(c.value, fn))
        elif isinstance(c, M.ConditionRule):
            c = attrs.evolve(c, condition=map_expression(c.condition, fn))
        rules.append(attrs.evolve(rule, condition=c))
    limits = tuple(attrs.evolve(limit, condition=map_expression(limit.condition, fn)) for limit in spec.limits)
    return attrs.evolve(node, tier=attrs.evolve(spec, source=source, rules=tuple(rules), limits=limits))


def calls_in(e) -> list[M.Call]:
    found: list[M.Call] = []

    def visit(x):
        if isinstance(x, M.Call):
            found.append(x)
        return x

    map_expression(e, visit)
    return found


def reads(e) -> tuple[str, ...]:
    """The nodes an expression reads: its references and `within` groups."""
    found: list[str] = []

    def visit(x):
        if isinstance(x, M.Ref):
            found.append(x.name)
        elif isinstance(x, M.Call) and x.within:
            found.append(x.within)
        return x

    map_expression(e, visit)
    return tuple(dict.fromkeys(found))


def binary(op: str, left: M.Expr, right: M.Expr) -> M.Binary:
    return M.Binary(op, left, right, T.number(scalar=left.type.scalar and right.type.scalar))


def total(exprs) -> M.Expr:
    out = exprs[0]
    for e in exprs[1:]:
        out = binary("+", out, e)
    return out


def weighted_calls(node: M.Node) -> list[M.Call]:
    """The weighted calls (`value: weight` arguments) of a node's expressions, in order."""
    return [c for e in node.expressions() for c in calls_in(e) if c.weights is not None]


def with_weight_multipliers(methodology: Methodology,
                            multipliers: dict[tuple[str, int], tuple[str, ...]]) -> Methodology:
    """The methodology with the weights w_i of chosen weighted calls replaced by
    w_i r_i (sum w) / (sum w r): `multipliers[(node, k)]` names the params r_i (declared 1, added
    before every node) of the k-th weighted call of `node` (weighted_calls order, from 0). With
    every r_i at 1 each weight is what it was; the total weight is kept whatever the r_i."""
    if not multipliers:
        return methodology
    nodes = list(methodology.nodes)
    extra: list[M.Node] = []
    for position, node in enumerate(methodology.nodes):
        replacements = {}
        added: list[str] = []
        for k, call in enumerate(weighted_calls(node)):
            params = multipliers.get((node.name, k))
            if params is None:
                continue
            refs = [M.Ref(p, _NUMBER) for p in params]
            scaled = [binary("*", w, r) for w, r in zip(call.weights, refs)]
            factor = binary("/", total(list(call.weights)), total(scaled))
            new_weights = tuple(binary("*", s, factor) for s in scaled)
            replacements[id(call)] = attrs.evolve(call, weights=new_weights)
            extra += [M.Node(p, M.PARAM, _NUMBER, (), value=1.0) for p in params]
            added += params
        if replacements:
            new = map_node(node, lambda e, r=replacements: r.get(id(e), e))
            nodes[position] = attrs.evolve(new, deps=tuple(dict.fromkeys(node.deps + tuple(added))))
    return attrs.evolve(methodology, nodes=tuple(extra) + tuple(nodes))


def drop_candidates(methodology: Methodology) -> list[str]:
    """Indicators that are a direct argument of an aggregation, in methodology order."""
    used: set[str] = set()
    for node in methodology.nodes:
        for e in node.expressions():
            for call in calls_in(e):
                if call.function in AGGREGATIONS and not call.population_count:
                    used.update(a.name for a in call.args if isinstance(a, M.Ref))
    return [n.name for n in methodology.nodes if n.kind == "indicator" and n.name in used]


def without(methodology: Methodology, indicator: str) -> Methodology:
    """The methodology with `indicator` removed from every aggregation it is an argument of,
    weights re-normalised: a weighted mean or geometric mean divides by the weights left, a
    sum scales them up to the total weight it had, `require N` asks at most what is left. An
    aggregation left with nothing makes its node missing, and that node is removed in turn."""
    dropped = {indicator}
    nodes = []
    for node in methodology.nodes:
        emptied = []

        def drop(e, emptied=emptied):
            if not (isinstance(e, M.Call) and e.function in AGGREGATIONS and not e.population_count):
                return e
            keep = [i for i, a in enumerate(e.args) if not (isinstance(a, M.Ref) and a.name in dropped)]
            if len(keep) == len(e.args):
                return e
            if not keep:
                emptied.append(e)
                return e
            return _drop_components(e, keep)

        new = map_node(node, drop) if node.name not in dropped else node
        if emptied and new.expr is not None:
            new = attrs.evolve(new, expr=M.Const(None, new.type))
            dropped.add(node.name)
        nodes.append(new)
    return attrs.evolve(methodology, nodes=tuple(nodes))


def _drop_components(call: M.Call, keep: list[int]) -> M.Call:
    args = tuple(call.args[i] for i in keep)
    weights = call.weights
    changes: dict = {"args": args}
    if call.require is not None:
        changes["require"] = min(call.require, len(args))
    if call.function == "sum":
        if weights is None:
            factor = M.Const(len(call.args) / len(args), _NUMBER)
            changes["weights"] = tuple(factor for _ in args)
        elif not call.normalise:
            kept = [weights[i] for i in keep]
            factor = binary("/", total(list(weights)), total(kept))
            changes["weights"] = tuple(binary("*", w, factor) for w in kept)
        else:
            changes["weights"] = tuple(weights[i] for i in keep)
    elif weights is not None:
        changes["weights"] = tuple(weights[i] for i in keep)
        if call.function in ("weighted_mean", "geometric_mean"):
            changes["normalise"] = True
    return attrs.evolve(call, **changes)
