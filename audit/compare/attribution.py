"""Attribution of one entity's score change to the changes that caused it, walked down the
recorded tree (the derivation is in docs/diff.md and audit/compare/outcome.py).
"""

from __future__ import annotations

import math
import re
from typing import Any

import attrs
import numpy as np

from audit.compare.reading import _Run
from audit.compare.results import _ARROW, Attribution, Cause, ParamChange, Part, value_text
from dsl.diff import StructuralDiff


class _Attributor:
    def __init__(self, old: _Run, new: _Run, structural: StructuralDiff | None):
        self.old, self.new = old, new
        self.changes = structural.node_changes() if structural is not None else {}
        self.param_changes: dict[str, tuple[Any, Any]] = {}
        for name, node in new.nodes.items():
            if node.kind == "param" and name in old.nodes and name in old.info.params \
                    and name in new.info.params:
                a, b = old.info.params[name], new.info.params[name]
                if a != b:
                    self.param_changes[name] = (a, b)
        self.stats_changed = set()
        for name in set(old.scalars) | set(new.scalars):
            a = {k: v for k, v in old.scalars.get(name, {}).items() if k != "value"}
            b = {k: v for k, v in new.scalars.get(name, {}).items() if k != "value"}
            if a != b:
                self.stats_changed.add(name)
        self.texts: dict[str, str] = {}
        self.path: list[str] | None = None  # the nodes the headline tier depends on, in order

    def params_list(self) -> tuple[ParamChange, ...]:
        out = []
        for name, node in self.new.nodes.items():
            if node.kind != "param" or name not in self.old.nodes:
                continue
            used_old = self.old.info.params.get(name, self.old.nodes[name].declared_value)
            used_new = self.new.info.params.get(name, node.declared_value)
            change = ParamChange(name, used_old, used_new, self.old.nodes[name].declared_value,
                                 node.declared_value)
            if change.old != change.new or change.overridden:
                out.append(change)
        return tuple(out)

    # -- causes
    def cause_text(self, cause: str) -> str:
        if cause in self.texts:
            return self.texts[cause]
        kind, _, name = cause.partition(":")
        if kind == "change":
            text = self.changes[name].cause
        elif kind == "param":
            a, b = self.param_changes[name]
            text = f"param {name} {value_text(a)} {_ARROW} {value_text(b)} (as run)"
        elif kind == "data":
            text = f"data of input {name} differ"
        elif kind == "population":
            text = f"population statistics of {name} changed"
        else:
            text = f"{name} changed"
        self.texts[cause] = text
        return text

    def joint(self, causes: set[str]) -> tuple[str, str]:
        ordered = sorted(causes)
        cid = " + ".join(ordered)
        return cid, " + ".join(self.cause_text(c) for c in ordered)

    # -- per entity
    def entity(self, eo: int, en: int) -> Attribution:
        ctx = _Entity(self, eo, en)
        return ctx.attribution()


class _Entity:
    """The attribution of one entity's change (old position eo, new position en)."""

    def __init__(self, a: _Attributor, eo: int, en: int):
        self.a, self.old, self.new = a, a.old, a.new
        self.eo, self.en = eo, en
        self.parts: list[Part] = []
        self.memo: dict[str, frozenset[str]] = {}
        self.changed_memo: dict[str, bool] = {}

    # -- values
    def changed(self, name: str) -> bool:
        if name not in self.changed_memo:
            in_old, in_new = self.old.has_values(name), self.new.has_values(name)
            if in_old != in_new:
                result = True
            elif not in_old:
                result = False
            else:
                result = self.old.cell(self.eo, name) != self.new.cell(self.en, name)
            self.changed_memo[name] = result
        return self.changed_memo[name]

    def deps(self, name: str) -> tuple[str, ...]:
        out: dict[str, None] = {}
        for run in (self.new, self.old):
            node = run.nodes.get(name)
            if node is not None:
                out.update(dict.fromkeys(node.dependencies))
        return tuple(out)

    def root(self, name: str) -> frozenset[str]:
        """Why `name`'s value changed for this entity: the cause ids found below it."""
        if name in self.memo:
            return self.memo[name]
        self.memo[name] = frozenset()  # guards against cycles
        a = self.a
        node = self.new.nodes.get(name) or self.old.nodes.get(name)
        if name in a.changes:
            result = {f"change:{name}"}
        elif name not in self.new.nodes or name not in self.old.nodes:
            result = {f"value:{name}"}
        elif node.kind == "param" and name in a.param_changes:
            result = {f"param:{name}"}
        elif node.kind == "input":
            result = {f"data:{name}"}
        else:
            result = set()
            for d in self.deps(name):
                if self.changed(d):
                    result |= self.root(d)
            if name in a.stats_changed:
                result.add(f"population:{name}")
            if not result:
                result = {f"value:{name}"}
        self.memo[name] = frozenset(result)
        return self.memo[name]

    def add(self, causes: set[str] | frozenset[str], node: str, component: str | None, effect: str,
            amount: float) -> None:
        if amount == 0:
            return
        cid, text = self.a.joint(set(causes))
        self.parts.append(Part(cid, text, node, component, effect, amount))

    # -- the walk
    def attribution(self) -> Attribution:
        so, sn = self.old.scores[self.eo], self.new.scores[self.en]
        score_change = None
        if not np.isnan(so) and not np.isnan(sn):
            score_change = float(sn - so)
            if score_change != 0:
                self.score(float(so), float(sn))
        causes: dict[str, list] = {}
        for p in self.parts:
            entry = causes.setdefault(p.cause, [p.text, []])
            entry[1].append(p.amount)
        summed = [Cause(cid, text, math.fsum(amounts)) for cid, (text, amounts) in causes.items()]
        summed.sort(key=lambda c: (-abs(c.amount), c.cause))
        return Attribution(score_change, tuple(self.parts), tuple(summed), tuple(self.tier_causes()),
                           tuple(self.changed_path()))

    def score(self, so: float, sn: float) -> None:
        old_from, new_from = self.old.from_node, self.new.from_node
        tier = self.new.tier.name if self.new.tier is not None else None
        delta = sn - so
        if old_from is not None and old_from == new_from:
            self.walk(new_from, 1.0)
            return
        if tier is not None and tier in self.a.changes and (
                (self.old.tier.tier or {}).get("from") != (self.new.tier.tier or {}).get("from")):
            self.add({f"change:{tier}"}, tier, None, "definition", delta)
            return
        # a `from` expression (round(x, 3) ...): its names, as a node without a definition
        names = [n for n in _names((self.new.tier.tier or {}).get("from") or "")
                 if n in self.new.nodes and n in self.old.nodes]
        self.leaf(tier or "from", names, delta, 1.0, so, sn)

    def walk(self, name: str, scale: float) -> None:
        """Attribute scale x Δname."""
        x0, x1 = self.old.number(self.eo, name), self.new.number(self.en, name)
        if x0 is None or x1 is None or x0 == x1:
            return
        delta = x1 - x0
        if self.aggregation(name, scale, x0, x1):
            return
        if name in self.a.changes:
            self.add({f"change:{name}"}, name, None, "definition", scale * delta)
            return
        self.leaf(name, list(self.deps(name)), delta, scale, x0, x1)

    def leaf(self, name: str, deps: list[str], delta: float, scale: float, x0: float, x1: float) -> None:
        changed = [d for d in deps if self.changed(d)]
        population = name in self.a.stats_changed
        if len(changed) == 1 and not population:
            d = changed[0]
            d0, d1 = self.old.number(self.eo, d), self.new.number(self.en, d)
            if d0 is not None and d1 is not None and abs(d1 - d0) > 1e-12 * max(1.0, abs(d0), abs(d1)):
                self.walk(d, scale * delta / (d1 - d0))
                return
        causes: set[str] = set()
        for d in changed:
            causes |= self.root(d)
        if population:
            causes.add(f"population:{name}")
        if not causes:  # an input (data), a param (as run), or a value without a known cause
            causes = set(self.root(name))
        self.add(causes, name, None, "via", scale * delta)

    def aggregation(self, name: str, scale: float, s0: float, s1: float) -> bool:
        """Decompose a weighted aggregation exactly; False if `name` is not one in both runs."""
        old = _coefficients(self.old, self.eo, name, s0)
        new = _coefficients(self.new, self.en, name, s1)
        if old is None or new is None:
            return False
        (p_old, raw_old, v_old), (p_new, raw_new, v_new) = old, new
        start = len(self.parts)
        components = list(dict.fromkeys([*raw_new, *raw_old]))
        reconstructed = 0.0
        weight_causes = None
        for c in components:
            c0, c1 = p_old.get(c), p_new.get(c)
            x0, x1 = v_old.get(c), v_new.get(c)
            if c0 is not None and c1 is not None:
                pbar, xbar = (c0 + c1) / 2, (x0 + x1) / 2
                weight_effect = xbar * (c1 - c0)
                value_effect = pbar * (x1 - x0)
                reconstructed += weight_effect + value_effect
                if weight_effect != 0:
                    if weight_causes is None:
                        weight_causes = self.weight_causes(name, raw_old, raw_new, p_old, p_new)
                    self.add(weight_causes, name, c, "weight", scale * weight_effect)
                if value_effect != 0:
                    self.walk(c, scale * pbar)
            else:
                amount = (c1 * x1 if c1 is not None else 0.0) - (c0 * x0 if c0 is not None else 0.0)
                reconstructed += amount
                if c not in raw_old or c not in raw_new:
                    causes = {f"change:{name}"} if name in self.a.changes else {f"value:{name}"}
                    effect = "component"
                else:  # in both definitions, present in one run only
                    causes = set(self.root(c))
                    effect = "component"
                self.add(causes, name, c, effect, scale * amount)
        residual = (s1 - s0) - reconstructed  # float rounding of the recorded values only
        own = self.parts[start:]
        if residual and own:
            i = max(range(len(own)), key=lambda k: abs(own[k].amount))
            p = own[i]
            self.parts[start + i] = attrs.evolve(p, amount=p.amount + scale * residual)
        return True

    def weight_causes(self, name: str, raw_old: dict, raw_new: dict, p_old: dict, p_new: dict) -> set[str]:
        causes: set[str] = set()
        if raw_old != raw_new:
            if name in self.a.changes:
                causes.add(f"change:{name}")
            components = set(raw_old) | set(raw_new)
            for d in self.deps(name):
                if d not in components and self.changed(d):
                    causes |= self.root(d)
            if not causes:
                causes.add(f"value:{name}")
        else:  # same weights: re-normalised because a component's presence changed
            for c in set(raw_old) | set(raw_new):
                if (c in p_old) != (c in p_new):
                    causes |= self.root(c)
            if not causes:
                causes.add(f"value:{name}")
        return causes

    # -- the tier
    def tier_causes(self) -> list[str]:
        old, new = self.old, self.new
        if old.tier is None or new.tier is None:
            return []
        ot, nt = old.display[self.eo], new.display[self.en]
        out: list[str] = []
        tier = new.tier.name
        if tier in self.a.changes:
            out.append(self.a.changes[tier].cause)
        old_rule = _rule_text(old, self.eo)
        new_rule = _rule_text(new, self.en)
        if ot != nt and old_rule != new_rule:
            out.append(f"rule {old_rule} {_ARROW} {new_rule}")
        from_names = {old.from_node, new.from_node}
        for d in self.deps(tier):
            if d in from_names or not self.changed(d):
                continue
            for cause in sorted(self.root(d)):
                text = self.a.cause_text(cause)
                if text not in out:
                    out.append(text)
        old_acted, new_acted = old.limits_acted[self.eo], new.limits_acted[self.en]
        if old_acted != new_acted:
            out.append(f"limits acting {_limits(old, old_acted)} {_ARROW} {_limits(new, new_acted)}")
        so, sn = old.scores[self.eo], new.scores[self.en]
        if np.isnan(so) != np.isnan(sn):
            run = old.info.id if np.isnan(so) else new.info.id
            why = []
            for name in dict.fromkeys(n for n in (old.from_node, new.from_node) if n):
                if self.changed(name):
                    why += [self.a.cause_text(c) for c in sorted(self.root(name))]
            out.append(f"no score in run {run}" + (f" ({', '.join(dict.fromkeys(why))})" if why else ""))
        uses_rank = any(_rule(run, e).get("kind") == "rank" for run, e in ((old, self.eo), (new, self.en)))
        if ot != nt and uses_rank and not np.isnan(so) and so == sn:
            out.append("same score, other entities' scores moved (rank rule)")
        return out

    def changed_path(self) -> list[str]:
        """Nodes on the path to the headline tier whose value changed for this entity (in
        evaluation order)."""
        if self.new.tier is None:
            return []
        if self.a.path is None:  # the same for every entity: computed once
            seen: dict[str, None] = {}
            stack = [self.new.tier.name]
            while stack:
                name = stack.pop()
                for d in self.deps(name):
                    if d not in seen:
                        seen[d] = None
                        stack.append(d)
            order = {n: node.position for n, node in self.new.nodes.items()}
            self.a.path = sorted(seen, key=lambda n: (order.get(n, 10**9), n))
        return [n for n in self.a.path if self.changed(n)]


def _coefficients(run: _Run, e: int, name: str, value: float) -> tuple[dict, dict, dict] | None:
    """({component: effective coefficient} over present components, {component: raw weight},
    {component: value}) of an additive aggregation, as the run recorded them (audit schema
    version 7); None when it recorded none (not such a node, or a run recorded before)."""
    node = run.nodes.get(name)
    if node is None or run.store is None or (node.call or {}).get("over"):
        return None  # (the components of an additive node: an aggregation or a sum of terms)
    recorded = run.store.components(run.info.id, name, e)
    if not recorded:
        return None
    coef: dict[str, float] = {}
    weights: dict[str, float] = {}
    values: dict[str, float] = {}
    for c in recorded:
        weights[c.name] = weights.get(c.name, 0.0) + (c.weight or 0.0)
        if c.value is not None and c.coefficient is not None:
            coef[c.name] = coef.get(c.name, 0.0) + c.coefficient
            values[c.name] = c.value
    return (coef, weights, values) if coef else None


def _names(text: str) -> list[str]:
    return list(dict.fromkeys(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text)))


def _rule(run: _Run, e: int) -> dict:
    rules = (run.tier.tier or {}).get("rules", []) if run.tier is not None else []
    i = run.rule_index[e]
    return rules[i] if 0 <= i < len(rules) else {}


def _rule_text(run: _Run, e: int) -> str:
    rule = _rule(run, e)
    if not rule:
        return "(none)"
    text = re.sub(r"\s+", " ", rule.get("text") or rule.get("condition") or "").strip()
    recorded = run.recorded_ranks.get(e)
    if rule.get("kind") == "rank" and not rule.get("within") and recorded is not None:
        rank = recorded[1] if rule["direction"] == "top" else recorded[2]
        if rank is not None:
            scored = sum(1 for r in run.recorded_ranks.values() if r[1] is not None)
            text += f", rank {rank} of {scored}"
    return f"{rule['label']} ({text})"


def _limits(run: _Run, acted: tuple[int, ...]) -> str:
    if not acted:
        return "none"
    limits = (run.tier.tier or {}).get("limits", [])
    return "; ".join(f"{i + 1} ({re.sub(r'[ ]+', ' ', limits[i]['text'])})" if i < len(limits) else str(i + 1)
                     for i in acted)
