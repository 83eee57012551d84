"""Why did this organisation get this tier? Answered from the audit store alone.

`explain(store, "Dorset")` reads one run's nodes, the entity's values (one index range), the
run's population statistics and the entity's tier steps, and builds the derivation tree of
each tier back to the inputs. Nothing is recomputed from the methodology: every number shown
is a recorded value, except the arithmetic that explains a recorded value (a component's
contribution, the distance to a threshold, a rank among the recorded `from` values).

Text rendering is deterministic: the same store gives the same text, byte for byte.
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

import attrs

from audit.analyses import robustness_line
from audit.store import AuditStore, EntityRef, NodeInfo, RunInfo, TierStep
from dsl import types as T

_AVERAGES = ("mean", "weighted_mean")
_WEIGHTED = (*_AVERAGES, "sum")
_BANDS = ("quartile", "quantile_band")


# ---------------------------------------------------------------- formatting


def format_number(value: float | None) -> str:
    """A number as a spreadsheet would show it: the value taken to 15 significant digits, then
    rounded half away from zero to 4 decimals (to 4 significant digits below 1), trailing
    zeros dropped: 2.71, 0.3333, 88.25, 0.0001235, 1234.5679. Beyond 1e15 or below 1e-6 in
    magnitude, scientific with 4 decimals: 1.7977e+308, 4.9407e-324."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "missing"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    d = Decimal(format(float(value), ".15g"))
    if d == 0:
        return "0"
    with localcontext(prec=60):
        if abs(d) >= _LARGE or abs(d) < _SMALL:
            exponent = d.adjusted()
            mantissa = d.scaleb(-exponent).quantize(_FOUR, rounding=ROUND_HALF_UP)
            if abs(mantissa) >= 10:
                mantissa, exponent = (
                    (mantissa / 10).quantize(_FOUR, rounding=ROUND_HALF_UP),
                    exponent + 1,
                )
            return f"{_strip(format(mantissa, 'f'))}e{exponent:+03d}"
        exponent = -4 if abs(d) >= 1 else min(-4, d.adjusted() - 3)
        text = format(d.quantize(Decimal(1).scaleb(exponent), rounding=ROUND_HALF_UP), "f")
    text = _strip(text)
    return "0" if text in ("-0", "") else text


_LARGE, _SMALL, _FOUR = Decimal("1e15"), Decimal("1e-6"), Decimal("0.0001")


def _strip(text: str) -> str:
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_value(value: Any, base: str) -> str:
    if value is None:
        return "missing"
    if base == T.NUMBER or (isinstance(value, float) and not isinstance(value, bool)):
        return format_number(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return "[" + ", ".join(format_value(v, "") for v in value) + "]"
    if base == T.TEXT:
        return f'"{value}"'
    return str(value)


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# ---------------------------------------------------------------- the explanation


@attrs.frozen
class Component:
    name: str
    title: str
    weight: float
    value: float | None
    missing_reason: str | None
    contribution: float | None


@attrs.frozen
class LimitActed:
    index: int
    direction: str
    label: str
    condition: str
    before: str | None
    after: str | None


@attrs.frozen
class TierDetail:
    label: str | None  # final: after limits, or the `missing:` label
    before_limits: str | None
    rule_index: int  # 0-based, -1 if no rule assigned the tier
    rule: dict | None  # the rule as recorded (label, kind, text, op, threshold, ...)
    from_text: str | None
    from_value: float | None
    limits: tuple[LimitActed, ...]
    next_up: dict | None  # {label, op, threshold, distance}
    ranks: tuple[dict, ...]  # {rule_index, label, direction, count, percent, rank, n, held}


@attrs.frozen
class NodeExplanation:
    name: str
    title: str  # display label, or the name
    label: str | None
    kind: str
    type: str
    value: Any  # plain Python value, None if missing
    display: str  # the value as shown
    missing_reason: str | None
    expression: str | None
    file: str | None
    line: int | None
    components: tuple[Component, ...]
    statistics: tuple[tuple[str, Any], ...]
    tier: TierDetail | None
    details: tuple[str, ...]  # the sentences shown under the node, in order
    children: tuple[NodeExplanation, ...]
    see_above: bool = False


@attrs.frozen
class Explanation:
    run: RunInfo
    entity: EntityRef
    headline: str  # name of the headline tier (the run's last tier)
    roots: tuple[NodeExplanation, ...]  # the headline tier first, then any other tier not shown
    robustness: str | None = None  # from the run's latest sensitivity analysis (audit.analyses)

    @property
    def headline_node(self) -> NodeExplanation:
        return self.roots[0]


def explain(store: AuditStore, entity_text: str, run_id: int | None = None) -> Explanation:
    """The derivation of one entity's tiers in one run (the latest run by default)."""
    run = store.run(store.latest_run_id() if run_id is None else run_id)
    entity = store.find_entity(run.id, entity_text)
    builder = _Builder(store, run, entity)
    tiers = [n for n in builder.nodes.values() if n.kind == "tier"]
    if not tiers:
        # no tier: explain the last node evaluated instead
        tiers = [list(builder.nodes.values())[-1]] if builder.nodes else []
    headline = tiers[-1]
    roots = [builder.build(headline)]
    for node in tiers[:-1]:
        if node.name not in builder.shown:
            roots.append(builder.build(node))
    return Explanation(run=run, entity=entity, headline=headline.name, roots=tuple(roots),
                       robustness=robustness_line(store, run.id, entity.key))


class _Builder:
    def __init__(self, store: AuditStore, run: RunInfo, entity: EntityRef):
        self.store = store
        self.run = run
        self.entity = entity
        self.nodes: dict[str, NodeInfo] = {n.name: n for n in store.nodes(run.id)}
        self.values = store.entity_values(run.id, entity.position)
        self.scalars = store.scalars(run.id)
        self.shown: set[str] = set()

    def value(self, name: str) -> tuple[Any, str | None]:
        return self.values.get(name, (None, None))

    def build(self, node: NodeInfo) -> NodeExplanation:
        value, reason = self.value(node.name)
        display = format_value(value, node.base)
        if reason:
            display = f"{display} ({reason})"
        common = dict(
            name=node.name,
            title=node.title,
            label=node.label,
            kind=node.kind,
            type=node.type,
            value=value,
            missing_reason=reason,
            expression=node.expression,
            file=node.file,
            line=node.line,
        )
        if node.name in self.shown:
            return NodeExplanation(
                **common,
                display=display,
                components=(),
                statistics=(),
                tier=None,
                details=(),
                children=(),
                see_above=True,
            )
        self.shown.add(node.name)
        details: list[str] = []
        tier = None
        if node.tier is not None:
            tier = self.tier_detail(node)
            if tier.label is not None and value is None:
                display = f"{tier.label} ({reason})" if reason else tier.label
            details += self.tier_sentences(node, tier)
        details += self.definition_sentences(node, value)
        components = self.components(node, value)
        details += self.component_sentences(node, components, value)
        statistics = self.statistics(node)
        if statistics:
            details.append(self.statistics_sentence(node, value, statistics))
        children = tuple(self.build(self.nodes[d]) for d in node.dependencies if d in self.nodes)
        return NodeExplanation(
            **common,
            display=display,
            components=components,
            statistics=statistics,
            tier=tier,
            details=tuple(details),
            children=children,
        )

    # ------------------------------------------------------------ definitions

    def definition_sentences(self, node: NodeInfo, value: Any) -> list[str]:
        where = f" [{node.file}:{node.line}]" if node.file else ""
        if node.kind == "input":
            column = f'data column "{node.data_column}"' if node.data_column else "data"
            return [f"from {column}{where}"]
        if node.kind == "param":
            declared = node.declared_value
            used = self.run.params.get(node.name, value)
            if declared is not None and used is not None and declared != used:
                return [
                    f"parameter declared {format_value(declared, node.base)}, set to "
                    f"{format_value(used, node.base)} for this run{where}"
                ]
            return [f"parameter{where}"] if where else []
        if node.kind == "tier":
            return []
        if node.expression:
            return [f"= {_squash(node.expression)}{where}"]
        return []

    # ------------------------------------------------------------ weighted aggregations

    def components(self, node: NodeInfo, value: Any) -> tuple[Component, ...]:
        call = node.call
        if not call or call.get("function") not in _WEIGHTED:
            return ()
        weights = node.weights
        if weights is None:
            refs = call.get("refs") or []
            if not refs or any(r is None for r in refs) or call["function"] == "weighted_mean":
                return ()
            weights = {}
            for r in refs:
                weights[r] = weights.get(r, 0.0) + 1.0
        present = {}
        for name in weights:
            v, _ = self.value(name)
            if isinstance(v, float) and not math.isnan(v):
                present[name] = v
        total = sum(weights[n] for n in present)
        out = []
        for name, weight in weights.items():
            v, reason = self.value(name)
            contribution = None
            if value is not None and name in present:
                if call["function"] == "sum":
                    contribution = weight * present[name]
                elif total:
                    contribution = weight * present[name] / total
            info = self.nodes.get(name)
            out.append(
                Component(
                    name,
                    info.title if info else name,
                    weight,
                    present.get(name),
                    reason,
                    contribution,
                )
            )
        return tuple(out)

    def component_sentences(
        self, node: NodeInfo, components: tuple[Component, ...], value: Any
    ) -> list[str]:
        out = []
        for c in components:
            head = f"{c.name}: " if c.title == c.name else f"{c.title} ({c.name}): "
            if c.value is None:
                reason = f" ({c.missing_reason})" if c.missing_reason else ""
                tail = "not counted" if value is not None else "makes the result missing"
                out.append(f"{head}missing{reason}, weight {format_number(c.weight)}, {tail}")
            else:
                contribution = (
                    ""
                    if c.contribution is None
                    else f", contribution {format_number(c.contribution)}"
                )
                out.append(
                    f"{head}value {format_number(c.value)}, weight "
                    f"{format_number(c.weight)}{contribution}"
                )
        if value is not None and node.call and node.call.get("function") in _AVERAGES:
            missing = [c for c in components if c.value is None]
            if missing and len(missing) < len(components):
                total = sum(c.weight for c in components if c.value is not None)
                out.append(
                    f"weights re-normalised over the components present (sum of weights "
                    f"{format_number(total)})"
                )
        return out

    # ------------------------------------------------------------ population statistics

    def statistics(self, node: NodeInfo) -> tuple[tuple[str, Any], ...]:
        recorded = self.scalars.get(node.name, {})
        within = (node.call or {}).get("within")
        group = None
        if within:
            group, _ = self.value(within)
        out = []
        for name, v in recorded.items():
            base_name, _, rest = name.partition("[")
            if rest and (group is None or rest[:-1] != str(group)):
                continue
            if base_name == "value":
                continue
            out.append((base_name, v))
        return tuple(out)

    def statistics_sentence(
        self, node: NodeInfo, value: Any, statistics: tuple[tuple[str, Any], ...]
    ) -> str:
        call = node.call or {}
        stats = dict(statistics)
        within = call.get("within")
        group_value = self.value(within)[0] if within else None
        group = f" within {within} {format_value(group_value, '')}" if within else ""
        cuts = [
            stats[k]
            for k in sorted(
                (k for k in stats if re.fullmatch(r"cut_\d+", k)), key=lambda k: int(k[4:])
            )
        ]
        if call.get("function") in _BANDS and cuts:
            bands = len(cuts) + 1
            word = "quartile" if call["function"] == "quartile" else "band"
            head = (
                f"{word} {format_value(value, T.NUMBER)} of {bands}: "
                if value is not None
                else f"{word}s of {bands}: "
            )
            n = f" (n = {format_number(stats['n'])})" if "n" in stats else ""
            polarity = "; lower is better" if call.get("polarity") == "lower" else ""
            return (
                f"{head}cut points {' / '.join(format_number(c) for c in cuts)}{n}{group}{polarity}"
            )
        parts = [f"{k} {format_value(v, '')}" for k, v in statistics]
        return f"statistics{group}: {', '.join(parts)}"

    # ------------------------------------------------------------ tiers

    def tier_detail(self, node: NodeInfo) -> TierDetail:
        spec = node.tier or {}
        steps = self.store.tier_steps(self.run.id, node.name, self.entity.position)
        step = (
            steps[0]
            if steps
            else TierStep(node.name, self.entity.position, None, -1, None, (), (), None)
        )
        rules = spec.get("rules", [])
        rule = rules[step.rule_index] if 0 <= step.rule_index < len(rules) else None
        limits = []
        for index in step.limits_acted:
            limit = spec["limits"][index]
            before = step.before_limits if index == 0 else step.after[index - 1]
            after = step.after[index] if index < len(step.after) else None
            limits.append(
                LimitActed(
                    index, limit["direction"], limit["label"], limit["condition"], before, after
                )
            )
        ranks = []
        if step.from_value is not None:
            tried = rules if step.rule_index < 0 else rules[: step.rule_index + 1]
            for r in tried:
                if r.get("kind") != "rank":
                    continue
                rank, n = self.store.from_value_rank(
                    self.run.id, node.name, step.from_value, r["direction"]
                )
                ranks.append(
                    {
                        "rule_index": r["index"],
                        "label": r["label"],
                        "direction": r["direction"],
                        "count": r["count"],
                        "percent": r["percent"],
                        "rank": rank,
                        "n": n,
                        "held": r["index"] == step.rule_index,
                    }
                )
        return TierDetail(
            label=step.display,
            before_limits=step.before_limits,
            rule_index=step.rule_index,
            rule=rule,
            from_text=spec.get("from"),
            from_value=step.from_value,
            limits=tuple(limits),
            next_up=self.next_up(spec, step),
            ranks=tuple(ranks),
        )

    @staticmethod
    def next_up(spec: dict, step: TierStep) -> dict | None:
        """How far the `from` value is from the next tier up, when a single threshold rule
        assigns that tier."""
        scale = spec.get("scale") or []
        if step.before_limits is None or step.from_value is None or step.before_limits not in scale:
            return None
        position = scale.index(step.before_limits)
        if position + 1 >= len(scale):
            return None
        up = scale[position + 1]
        assigning = [r for r in spec.get("rules", []) if r["label"] == up]
        if len(assigning) != 1 or assigning[0].get("kind") != "threshold":
            return None
        rule = assigning[0]
        threshold = rule.get("threshold")
        if threshold is None:
            return None
        if rule["op"] in (">=", ">"):
            distance, side = threshold - step.from_value, "below"
        elif rule["op"] in ("<=", "<"):
            distance, side = step.from_value - threshold, "above"
        else:
            return None
        if not distance > 0:
            return None
        return {
            "label": up,
            "op": rule["op"],
            "threshold": threshold,
            "distance": distance,
            "side": side,
        }

    def tier_sentences(self, node: NodeInfo, tier: TierDetail) -> list[str]:
        spec = node.tier or {}
        rules = spec.get("rules", [])
        from_part = ""
        if tier.from_text is not None and tier.from_value is not None:
            from_part = f"{_squash(tier.from_text)} {format_number(tier.from_value)}"
        out = []
        for r in tier.ranks:
            if r["held"]:
                continue
            out.append(
                f"not {self.rank_words(r)} for {r['label']}: {from_part} ranks "
                f"{r['rank']} of {r['n']} {self.rank_side(r)}"
            )
        rule = tier.rule
        if rule is not None:
            head = (
                f"rule {tier.rule_index + 1} of {len(rules)} ({_squash(rule['text'])}) "
                f"assigned {tier.before_limits}"
            )
            kind = rule.get("kind")
            if kind == "threshold":
                threshold = (
                    format_number(rule["threshold"])
                    if rule.get("threshold") is not None
                    else rule.get("threshold_text", "")
                )
                out.append(f"{head}: {from_part} {rule['op']} {threshold}")
            elif kind == "rank":
                r = next(x for x in tier.ranks if x["held"]) if tier.ranks else None
                if r is not None:
                    out.append(
                        f"{head}: {from_part} ranks {r['rank']} of {r['n']} "
                        f"{self.rank_side(r)}, {self.rank_words(r)}"
                    )
                else:
                    out.append(head)
            elif kind == "otherwise":
                out.append(
                    f"{head}: no earlier rule held" + (f" for {from_part}" if from_part else "")
                )
            else:
                out.append(f"{head}: {_squash(rule['condition'])} held")
        else:
            _, reason = self.value(node.name)
            if tier.from_text is not None and tier.from_value is None:
                sentence = f"no tier: {_squash(tier.from_text)} is missing"
            elif reason == "no_rule_held":
                sentence = "no tier: no rule held and there is no otherwise"
            else:
                sentence = "no tier: a rule's condition was missing before any rule held"
            if tier.label is not None:
                sentence += f"; given the missing label {tier.label}"
            out.append(sentence)
        for limit in tier.limits:
            verb = "limited to at most" if limit.direction == "at most" else "raised to at least"
            out.append(
                f"limit {limit.index + 1}: {verb} {limit.label} because "
                f"{_squash(limit.condition)} ({limit.before} -> {limit.after})"
            )
        if tier.next_up is not None:
            up = tier.next_up
            out.append(
                f"{format_number(up['distance'])} {up['side']} the threshold for "
                f"{up['label']} ({up['op']} {format_number(up['threshold'])})"
            )
        return out

    @staticmethod
    def rank_side(r: dict) -> str:
        return "from the top" if r["direction"] == "top" else "from the bottom"

    @staticmethod
    def rank_words(r: dict) -> str:
        count = format_number(r["count"])
        if r["percent"]:
            places = math.ceil(r["count"] / 100 * r["n"] - 1e-9)
            return f"in the {r['direction']} {count}% ({places} of {r['n']})"
        return f"in the {r['direction']} {count}"


# ---------------------------------------------------------------- rendering


def render_text(explanation: Explanation) -> str:
    run, entity = explanation.run, explanation.entity
    kind = run.entity_kind or "entity"
    head = f"{kind} {entity.key}" + (f' "{entity.label}"' if entity.label else "")
    version = f" (version {run.methodology_version})" if run.methodology_version else ""
    data = f", data {run.dataset_path}" if run.dataset_path else ""
    headline = explanation.headline_node
    lines = [
        head,
        f"run {run.id}: {run.methodology_name}{version}, started {run.started}{data}",
        f"headline: {headline.title} = {headline.display}",
        *([f"robustness: {explanation.robustness}"] if explanation.robustness else []),
        "",
    ]
    for root in explanation.roots:
        _render(root, 0, lines)
    return "\n".join(lines) + "\n"


def _render(node: NodeExplanation, depth: int, lines: list[str]) -> None:
    indent = "  " * depth
    what = f"{node.kind} {node.name}" if node.label else node.kind
    title = node.label or node.name
    tail = " (see above)" if node.see_above else ""
    lines.append(f"{indent}* {title} ({what}) = {node.display}{tail}")
    for sentence in node.details:
        lines.append(f"{indent}    {sentence}")
    for child in node.children:
        _render(child, depth + 1, lines)


# ---------------------------------------------------------------- JSON


def _json_number(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _node_json(node: NodeExplanation) -> dict:
    value = node.value
    if isinstance(value, tuple):
        value = [_json_number(v) for v in value]
    out: dict[str, Any] = {
        "name": node.name,
        "label": node.label,
        "kind": node.kind,
        "type": node.type,
        "value": _json_number(value),
        "display": node.display,
        "missing_reason": node.missing_reason,
        "see_above": node.see_above,
    }
    if node.see_above:
        return out
    out.update(
        {
            "expression": node.expression,
            "file": node.file,
            "line": node.line,
            "details": list(node.details),
            "components": [
                {
                    "name": c.name,
                    "label": c.title,
                    "weight": c.weight,
                    "value": _json_number(c.value),
                    "missing_reason": c.missing_reason,
                    "contribution": _json_number(c.contribution),
                }
                for c in node.components
            ],
            "statistics": {k: _json_number(v) for k, v in node.statistics},
            "tier": None,
            "children": [_node_json(c) for c in node.children],
        }
    )
    t = node.tier
    if t is not None:
        out["tier"] = {
            "label": t.label,
            "before_limits": t.before_limits,
            "rule_index": t.rule_index,
            "rule": t.rule,
            "from": t.from_text,
            "from_value": _json_number(t.from_value),
            "limits_acted": [attrs.asdict(limit) for limit in t.limits],
            "next_up": t.next_up,
            "ranks": list(t.ranks),
        }
    return out


def to_json(explanation: Explanation) -> dict:
    """The explanation as plain JSON-ready data (indices 0-based; the text shows them 1-based)."""
    run, entity = explanation.run, explanation.entity
    headline = explanation.headline_node
    return {
        "run": run.to_json(),
        "entity": {
            "key": entity.key,
            "label": entity.label,
            "position": entity.position,
            "kind": run.entity_kind,
        },
        "headline": {
            "tier": explanation.headline,
            "label": headline.title,
            "value": headline.display,
            **({"robustness": explanation.robustness} if explanation.robustness else {}),
        },
        "tiers": [_node_json(root) for root in explanation.roots],
    }
