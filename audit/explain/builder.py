"""One node's derivation from its recorded facts: its definition, weighted components and
contributions, members of a lower level, the branch taken and its statistics, in sentences."""

from __future__ import annotations

import math
import re
from typing import Any

from audit.explain.result import Component, Member, MemberGroup, MemberValue, NodeExplanation
from audit.explain.tiers import TierSentences
from audit.explain.words import format_value, group_key, squash
from audit.store import (
    AuditStore,
    EntityRef,
    LevelInfo,
    NodeInfo,
    RecordedStatistic,
    RunInfo,
    plural,
)
from dsl import types as T
from dsl.numbers import close as _close
from dsl.numbers import format_number

MEMBER_LIMIT = 20  # members listed per aggregation by default; None lists every one


MAX_TREE_DEPTH = 40  # levels of one explanation tree; a deeper definition starts a tree of its own


_AVERAGES = ("mean", "weighted_mean")


_WEIGHTED = (*_AVERAGES, "sum")


_BANDS = ("quartile", "quantile_band")


def _named_statistic(key: str, value: Any) -> RecordedStatistic:
    """A statistic of a run recorded before schema version 7, from its `scalars` name."""
    shown, _, rest = key.partition("[")
    prefix, _, name = shown.rpartition(".")
    base, _, number = name.rpartition("_")
    series = bool(base) and number.isdigit()
    return RecordedStatistic(shown, base if series else name, int(number) if series else None,
                             rest[:-1] if rest else None, None, prefix or None, None, value)


class _Builder(TierSentences):
    def __init__(
        self,
        store: AuditStore,
        run: RunInfo,
        entity: EntityRef,
        member_limit: int | None = MEMBER_LIMIT,
    ):
        self.store = store
        self.run = run
        self.entity = entity
        self.member_limit = member_limit
        self.nodes: dict[str, NodeInfo] = {n.name: n for n in store.nodes(run.id)}
        self.levels: dict[str, LevelInfo] = {lv.name: lv for lv in store.levels(run.id)}
        # the entity, then the entities it lies within, nearest first
        self.chain: list[EntityRef] = [entity]
        if entity.is_member:
            self.chain += store.ancestors(run.id, entity)
        self.at: dict[str | None, EntityRef] = {e.level: e for e in self.chain}
        self.values: dict[str, tuple[Any, str | None]] = {}
        for e in reversed(self.chain):  # the top level's values, then each level's below it
            if e.level is None:
                self.values.update(store.entity_values(run.id, e.position))
            else:
                self.values.update(store.member_values(run.id, self.levels[e.level], e.position))
        self.scalars = store.scalars(run.id)
        self.has_facts = store.has_facts(run.id)
        self.typed = store.statistics(run.id)
        self.shown: set[str] = set()
        self.deferred: list[NodeInfo] = []  # nodes past MAX_TREE_DEPTH, built as trees of their own

    def value(self, name: str) -> tuple[Any, str | None]:
        return self.values.get(name, (None, None))

    def readable(self, node: NodeInfo) -> bool:
        """A node with one value for this entity: of its level or one it lies within."""
        return node.level in self.at

    def build(self, node: NodeInfo, depth: int = 0) -> NodeExplanation:
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
            level=node.level,
            doc=node.doc,
        )
        deeper = node.name not in self.shown and depth >= MAX_TREE_DEPTH
        if deeper:
            self.deferred.append(node)
        if node.name in self.shown or deeper:
            return NodeExplanation(
                **common,
                display=display,
                components=(),
                statistics=(),
                tier=None,
                details=(),
                children=(),
                see_above=not deeper,
                see_below=deeper,
            )
        self.shown.add(node.name)
        details: list[str] = []
        tier = None
        if node.tier is not None:
            tier = self.tier_detail(node)
            if tier.label is not None and value is None:
                display = f"{tier.label} ({reason})" if reason else tier.label
            details += self.tier_sentences(node, tier)
        elif node.kind == "score":  # an index's score: the rank the run recorded, if any
            recorded = self.store.rank(self.run.id, node.name, self.at.get(node.level, self.entity).position)
            if recorded is not None and recorded.rank is not None:
                details.append(f"rank {recorded.rank} of {recorded.rated} in this run")
        if node.doc:
            details += [f"note: {line}" if i == 0 else f"      {line}"
                        for i, line in enumerate(t for t in (x.strip() for x in node.doc.splitlines()) if t)]
        details += self.definition_sentences(node, value)
        components = self.components(node, value)
        details += self.component_sentences(node, components, value)
        details += self.branch_sentences(node)
        typed = self.statistics(node)
        if typed:
            details.append(self.statistics_sentence(node, value, typed))
        statistics = tuple((t.shown, t.value) for t in typed)
        by_level: dict[str, list[dict]] = {}
        for aggregate in node.aggregates:
            over = self.level_named(str(aggregate.get("over")))
            if over is not None:
                by_level.setdefault(over, []).append(aggregate)
        members = tuple(self.member_group(node, over, calls) for over, calls in by_level.items())
        children = tuple(
            self.build(self.nodes[d], depth + 1)
            for d in node.dependencies
            if d in self.nodes and self.readable(self.nodes[d])
        )
        return NodeExplanation(
            **common,
            display=display,
            components=components,
            statistics=statistics,
            tier=tier,
            details=tuple(details),
            children=children,
            members=tuple(m for m in members if m is not None),
        )

    def level_named(self, name: str) -> str | None:
        """The lower level `name` (as recorded, or its plural as written: `services`)."""
        if name in self.levels:
            return name
        for level in self.levels:
            if name in (plural(level, 2), level + "s"):
                return level
        return None

    def member_group(self, node: NodeInfo, over: str, calls: list[dict]) -> MemberGroup | None:
        owner = self.at.get(node.level)
        if owner is None:
            return None
        members = self.store.descendants(self.run.id, owner, over)
        reads = tuple(
            dict.fromkeys(
                r
                for call in calls
                for r in call.get("reads", ())
                if r in self.nodes and self.nodes[r].level == over
            )
        )
        missing: dict[tuple[str, str], int] = {}
        shown = []
        limit = len(members) if self.member_limit is None else max(self.member_limit, 0)
        for i, m in enumerate(members):
            values = self.store.member_values(self.run.id, self.levels[over], m.position)
            entries = []
            for name in reads:
                v, reason = values.get(name, (None, None))
                if v is None:
                    key = (name, reason or "missing")
                    missing[key] = missing.get(key, 0) + 1
                if i < limit:
                    text = format_value(v, self.nodes[name].base)
                    entries.append(
                        MemberValue(name, v, f"{text} ({reason})" if reason else text, reason)
                    )
            if i < limit:
                shown.append(Member(m.key, m.label, m.position, tuple(entries)))
        return MemberGroup(
            over=over,
            calls=tuple((str(c.get("function")), str(c.get("argument", ""))) for c in calls),
            reads=reads,
            count=len(members),
            shown=tuple(shown),
            missing=tuple((n, r, c) for (n, r), c in sorted(missing.items())),
        )

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
            return [f"= {squash(node.expression)}{where}"]
        return []

    def components(self, node: NodeInfo, value: Any) -> tuple[Component, ...]:
        """The components of an additive aggregation as the run recorded them: weight,
        coefficient (the weight after `normalise` / `skip missing` re-normalised it) and
        contribution. A run recorded before schema version 7 has no recorded coefficients:
        its components show their values and declared weights only."""
        call = node.call
        if call and call.get("over"):
            return ()  # an aggregation over members lists them instead (member_group)
        owner = self.at.get(node.level, self.entity)
        recorded = self.store.components(self.run.id, node.name, owner.position)
        if not recorded and (not call or call.get("function") not in _WEIGHTED):
            return ()
        if recorded:  # an aggregation, or a sum of terms (`a + b - c`: weights +1 and -1)
            out = []
            for c in recorded:
                info = self.nodes.get(c.name)
                _, reason = self.value(c.name) if info is not None else (None, None)
                out.append(Component(c.name, info.title if info else c.name, c.weight, c.value,
                                     reason if c.value is None else None, c.contribution, c.coefficient))
            return tuple(out)
        weights = node.weights
        if weights is None:
            refs = call.get("refs") or []
            if not refs or any(r is None for r in refs) or call["function"] == "weighted_mean":
                return ()
            weights = dict.fromkeys(refs, 1.0)
        out = []
        for name, weight in weights.items():
            v, reason = self.value(name)
            info = self.nodes.get(name)
            present = v if isinstance(v, float) and not math.isnan(v) else None
            out.append(Component(name, info.title if info else name, weight, present, reason, None))
        return tuple(out)

    def component_sentences(
        self, node: NodeInfo, components: tuple[Component, ...], value: Any
    ) -> list[str]:
        out = []
        for c in components:
            head = f"{c.name}: " if c.title == c.name else f"{c.title} ({c.name}): "
            weight = "" if c.weight is None else f", weight {format_number(c.weight)}"
            if c.value is None:
                reason = f" ({c.missing_reason})" if c.missing_reason else ""
                tail = "not counted" if value is not None else "makes the result missing"
                out.append(f"{head}missing{reason}{weight}, {tail}")
                continue
            coefficient = ""
            if c.coefficient is not None and (c.weight is None or not _close(c.coefficient, c.weight)):
                coefficient = f", coefficient {format_number(c.coefficient)}"
            contribution = (
                "" if c.contribution is None else f", contribution {format_number(c.contribution)}"
            )
            out.append(f"{head}value {format_number(c.value)}{weight}{coefficient}{contribution}")
        if value is not None and components:
            if any(c.value is None for c in components) and any(c.value is not None for c in components):
                if any(c.coefficient is not None for c in components):
                    out.append("weights re-normalised over the components present (the coefficients "
                               "the run applied)")
            elif (node.call or {}).get("normalise"):
                out.append("weights divided by their sum (normalise)")
            if components and all(c.contribution is None for c in components) and not self.has_facts:
                out.append("contributions not recorded (run recorded before audit schema version 7)")
        return out

    def branch_sentences(self, node: NodeInfo) -> list[str]:
        """The branch the node's `if` took, with the two values its condition compared, or the
        component its `max` / `min` gave, as recorded."""
        if node.kind in ("input", "param", "tier"):
            return []
        owner = self.at.get(node.level, self.entity)
        b = self.store.branch(self.run.id, node.name, owner.position)
        if b is None:
            return []
        function = (node.call or {}).get("function")
        if function in ("max", "min"):
            return [f"{function} gave {b.taken}"] if b.taken is not None else []
        if b.taken is None:
            return ["the condition was missing: neither branch taken"]
        compared = ""
        if b.op is not None:
            compared = f": {format_number(b.left)} {b.op} {format_number(b.right)} "
            compared += "held" if b.taken == "then" else "did not hold"
        return [f"took the `{b.taken}` branch{compared}"]

    def statistics(self, node: NodeInfo) -> tuple[RecordedStatistic, ...]:
        """The node's statistics for this entity (its own `within` group's), as the run typed
        them. A run recorded before schema version 7 has names only (`cut_1`, `mean[North]`):
        they are read by that naming (interpreter/evaluate.py)."""
        within = (node.call or {}).get("within")
        group = self.value(within)[0] if within else None
        typed = self.typed.get(node.name)
        if typed is None:
            typed = [_named_statistic(name, v) for name, v in self.scalars.get(node.name, {}).items()]
        return tuple(
            t for t in typed
            if t.shown != "value" and (t.group is None or (group is not None and t.group == group_key(group)))
        )

    def statistics_sentence(
        self, node: NodeInfo, value: Any, statistics: tuple[RecordedStatistic, ...]
    ) -> str:
        call = node.call or {}
        within = call.get("within")
        group_value = self.value(within)[0] if within else None
        group = f" within {within} {format_value(group_value, '')}" if within else ""
        own = [t for t in statistics if t.prefix is None and t.rule is None]  # the node's one call's
        cuts = [t.value for t in sorted((t for t in own if t.name == "cut"), key=lambda t: t.index or 0)]
        if call.get("function") == "kmeans_band" and any(t.name == "centroid" for t in own):
            return self.kmeans_sentence(call, value, {t.shown: t.value for t in own}, group)
        if call.get("function") in _BANDS and cuts:
            bands = len(cuts) + 1
            word = "quartile" if call["function"] == "quartile" else "band"
            head = (
                f"{word} {format_value(value, T.NUMBER)} of {bands}: "
                if value is not None
                else f"{word}s of {bands}: "
            )
            n = next((t.value for t in own if t.name == "n"), None)
            n_text = f" (n = {format_number(n)})" if n is not None else ""
            polarity = "; lower is better" if call.get("polarity") == "lower" else ""
            return (
                f"{head}cut points {' / '.join(format_number(c) for c in cuts)}{n_text}{group}{polarity}"
            )
        parts = [f"{t.shown} {format_value(t.value, '')}" for t in statistics]
        return f"statistics{group}: {', '.join(parts)}"

    def kmeans_sentence(self, call: dict, value: Any, stats: dict, group: str) -> str:
        """`kmeans_band`: the entity's cluster, its centroid and the nearer neighbouring
        centroid, then the seeds, centroids and passes the run recorded."""
        k = len([s for s in stats if re.fullmatch(r"centroid_\d+", s)])

        def series(name: str) -> list[float]:
            return [stats[f"{name}_{b}"] for b in range(1, k + 1)]

        centroids = series("centroid")
        parts = []
        band = int(value) if isinstance(value, (int, float)) and 1 <= value <= k else None
        if band is not None:
            parts.append(f"cluster {band} of {k}: nearest centroid {format_number(centroids[band - 1])}")
            neighbours = [b for b in (band - 1, band + 1) if 1 <= b <= k]
            refs = call.get("refs") or [None]
            x = self.value(refs[0])[0] if refs[0] else None
            if isinstance(x, (int, float)):  # which recorded neighbour the value lies nearer
                neighbours.sort(key=lambda b: abs(x - centroids[b - 1]))
                b = neighbours[0]
                parts[-1] += f"; next {format_number(centroids[b - 1])} (cluster {b})"
            else:
                parts[-1] += "; neighbours " + ", ".join(
                    f"{format_number(centroids[b - 1])} (cluster {b})" for b in neighbours)
        else:
            parts.append(f"clusters of {k}")
        parts.append("centroids " + " / ".join(format_number(c) for c in centroids))
        parts.append("seeds (quantile-group medians) " + " / ".join(format_number(s) for s in series("seed")))
        passes = f"iterations {format_number(stats.get('iterations_1'))} + {format_number(stats.get('iterations_2'))}"
        parts.append(passes + f" ({format_number(stats.get('outliers'))} outliers left out of the second pass)")
        n = f" (n = {format_number(stats['n'])})" if "n" in stats else ""
        polarity = "; lower is better" if call.get("polarity") == "lower" else ""
        return "; ".join(parts) + n + group + polarity


