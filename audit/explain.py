"""Why did this organisation get this tier? Answered from the audit store alone.

`explain(store, "Dorset")` reads one run's nodes, the entity's values (one index range), the
run's population statistics and the entity's tier steps, and builds the derivation tree of
each tier back to the inputs. Nothing is recomputed from the methodology: every number shown
is a recorded value, except the arithmetic that explains a recorded value (a component's
contribution, the distance to a threshold, a rank among the recorded `from` values).

Entities at several levels: a lower level's entity (a location, a service) is explained like
a top-level one, from its own nodes (its level's tiers), with a line naming the entities it
lies within; a value it reads from a level above is that ancestor's. A node that aggregates
`over` a lower level (`count(safe == outstanding) over services`) lists the members of the
entity that it aggregated, each with its recorded value of the nodes the aggregation read,
at most `member_limit` of them followed by "... and N more".

Text rendering is deterministic: the same store gives the same text, byte for byte.
"""

from __future__ import annotations

import math
import re
from typing import Any

import attrs

from audit import integrity
from audit.analyses import robustness_line
from audit.store import (
    AuditError,
    AuditStore,
    EntityRef,
    LevelInfo,
    NodeInfo,
    RecordedStatistic,
    RunInfo,
    TierStep,
    plural,
)
from dsl import types as T
from dsl.numbers import close as _close
from dsl.numbers import format_number
from interpreter.trace import rule_prefix

MEMBER_LIMIT = 20  # members listed per aggregation by default; None lists every one
MAX_TREE_DEPTH = 40  # levels of one explanation tree; a deeper definition starts a tree of its own

_AVERAGES = ("mean", "weighted_mean")
_WEIGHTED = (*_AVERAGES, "sum")
_BANDS = ("quartile", "quantile_band")


# ---------------------------------------------------------------- formatting


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


def _named_statistic(key: str, value: Any) -> RecordedStatistic:
    """A statistic of a run recorded before schema version 7, from its `scalars` name."""
    shown, _, rest = key.partition("[")
    prefix, _, name = shown.rpartition(".")
    base, _, number = name.rpartition("_")
    series = bool(base) and number.isdigit()
    return RecordedStatistic(shown, base if series else name, int(number) if series else None,
                             rest[:-1] if rest else None, None, prefix or None, None, value)


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# ---------------------------------------------------------------- the explanation


@attrs.frozen
class Component:
    name: str
    title: str
    weight: float | None
    value: float | None
    missing_reason: str | None
    contribution: float | None  # as recorded (schema version 7); None before
    coefficient: float | None = None  # the weight the run applied, after re-normalising


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
    ranks: tuple[dict, ...]  # {rule_index, label, direction, count, percent, rank, n, wanted, held}
    run_rank: tuple[int, int] | None = None  # (rank, entities ranked) as `tierlang run` showed it


@attrs.frozen
class MemberValue:
    name: str  # a node of the member's level that the aggregation read
    value: Any
    display: str  # as shown, with the missing reason
    missing_reason: str | None


@attrs.frozen
class Member:
    key: str
    label: str | None
    position: int  # members.position
    values: tuple[MemberValue, ...]


@attrs.frozen
class MemberGroup:
    """The members the `F(x) over LEVEL` calls of a node aggregated over one level, for this
    entity (the calls over the same level share the members: one list)."""

    over: str  # the level aggregated over
    calls: tuple[tuple[str, str], ...]  # (function, argument as text) of each call, in order
    reads: tuple[str, ...]  # nodes of the `over` level whose values are shown per member
    count: int  # members aggregated
    shown: tuple[Member, ...]  # the first `member_limit` of them, in data order
    missing: tuple[tuple[str, str, int], ...]  # (node, reason, members) over all the members

    @property
    def more(self) -> int:
        return self.count - len(self.shown)


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
    # shown further down as a tree of its own: the chain of definitions is deeper than
    # MAX_TREE_DEPTH (a tree that deep is unreadable, and would exhaust Python's stack)
    see_below: bool = False
    level: str | None = None  # the lower level the node is evaluated at; None: the top level
    members: tuple[MemberGroup, ...] = ()  # what its `over` aggregations read, member by member
    doc: str | None = None  # its docstring (the ASSUMPTION notes auditors need)


@attrs.frozen
class Explanation:
    run: RunInfo
    entity: EntityRef
    headline: str  # name of the headline tier (the run's last tier)
    roots: tuple[NodeExplanation, ...]  # the headline tier first, then any other tier not shown
    robustness: str | None = None  # from the run's latest sensitivity analysis (audit.analyses)
    within: tuple[EntityRef, ...] = ()  # a lower level's entity: the entities it lies within
    levels: tuple[str, ...] = ()  # the run's lower levels (empty for a single-level run)
    # the run's hashes checked against its stored rows (audit.integrity.check_run): the
    # problems found, none when it verifies
    verification: tuple[str, ...] = ()
    provenance: tuple[str, ...] = ()  # the methodology's and data's sha256, how to recompute
    overrides: tuple[tuple[str, Any, Any], ...] = ()  # (param, declared, used) set for this run

    @property
    def headline_node(self) -> NodeExplanation:
        return self.roots[0]

    @property
    def text(self) -> str:
        """The derivation as `tierlang explain` prints it."""
        return render_text(self)

    @property
    def frame(self):
        """The derivation as a DataFrame, one row per node shown (audit.tables)."""
        from audit.tables import explanation_frame

        return explanation_frame(self)

    @property
    def components(self):
        """Every weighted component of the derivation, with its contribution (audit.tables)."""
        from audit.tables import components_frame

        return components_frame(self)

    def __repr__(self) -> str:
        head = self.headline_node
        return (f"<Explanation {_named(_kind(self.run, self.entity), self.entity)}, run {self.run.id}: "
                f"{head.title} = {head.display}>")

    def _repr_html_(self) -> str:
        import html

        return f"<pre>{html.escape(self.text)}</pre>"


def explain(
    store: AuditStore,
    entity_text: str,
    run_id: int | None = None,
    member_limit: int | None = MEMBER_LIMIT,
) -> Explanation:
    """The derivation of one entity's tiers in one run (the latest run by default).

    The entity may be of any level of the run (a key or label of a lower level's entity, or
    `LEVEL:KEY`). `member_limit`: how many members each `over` aggregation lists (None:
    every one)."""
    run = store.run(store.latest_run_id() if run_id is None else run_id)
    entity = store.find_entity(run.id, entity_text)
    builder = _Builder(store, run, entity, member_limit)
    own = [n for n in builder.nodes.values() if n.level == entity.level]
    tiers = [n for n in own if n.kind == "tier"]
    if not tiers and entity.is_member:
        # a lower level without tiers: every node of the level, headed by the last evaluated
        tiers = [n for n in own if n.scalar is False]
    elif not tiers:
        # no tier: explain the last node evaluated instead
        tiers = [own[-1]] if own else []
    if not tiers:
        raise AuditError(f"run {run.id} recorded no node for {_kind(run, entity)} {entity.key}")
    headline = tiers[-1]
    roots = [builder.build(headline)]
    for node in tiers[:-1]:
        if node.name not in builder.shown:
            roots.append(builder.build(node))
    while builder.deferred:  # definitions deeper than MAX_TREE_DEPTH: each a tree of its own
        node = builder.deferred.pop(0)
        if node.name not in builder.shown:
            roots.append(builder.build(node))
    robustness = None if entity.is_member else robustness_line(store, run.id, entity.key)
    return Explanation(
        run=run,
        entity=entity,
        headline=headline.name,
        roots=tuple(roots),
        robustness=robustness,
        within=tuple(builder.chain[1:]),
        levels=tuple(builder.levels),
        verification=integrity.check_run(store.conn, run.id).problems,
        provenance=tuple(_provenance(store, run)),
        overrides=tuple(_overrides(run, builder.nodes)),
    )


def _overrides(run: RunInfo, nodes: dict[str, NodeInfo]) -> list[tuple[str, Any, Any]]:
    """(param, declared value, value used) of each param the run set otherwise than declared."""
    out = []
    for name, used in run.params.items():
        node = nodes.get(name)
        if node is not None and node.kind == "param" and node.declared_value != used:
            out.append((name, node.declared_value, used))
    return out


def _provenance(store: AuditStore, run: RunInfo) -> list[str]:
    """The methodology's and the data's sha256 as recorded, and how to recompute each."""
    out = []
    m = store.methodology(run.methodology_sha256)
    sources = m.get("sources") or []
    if len(sources) <= 1:
        how = f"sha256sum {_shell(run.methodology_path)}" if run.methodology_path else "sha256sum FILE"
    else:
        how = ("sha256 of the sha256 hex digests of the file and every file it extends, one a line "
               "(docs/audit.md)")
    out.append(f"methodology {run.methodology_path or '(from memory)'}: sha256 {run.methodology_sha256} "
               f"(recompute: {how})")
    if run.dataset_sha256 is not None:
        dataset = store.dataset(run.dataset_sha256) or {}
        if dataset.get("format") == "tables":
            how = ("sha256 of one line NAME=SHA256 per table, the unnamed table first (sha256sum each "
                   "file; docs/audit.md)")
        elif dataset.get("format") == "frame":
            how = "sha256 of the table's canonical CSV (docs/audit.md)"
        else:
            how = f"sha256sum {_shell(run.dataset_path)}" if run.dataset_path else "sha256sum FILE"
        out.append(f"data {run.dataset_path}: sha256 {run.dataset_sha256} (recompute: {how})")
        for part in _loads_parts(dataset.get("parts")):  # schema version 8: each file's own sha256
            path = str(part.get("path"))
            named = path if part.get("level") is None else f"{part['level']}={path}"
            how = f"sha256sum {_shell(path)}" if part.get("format") in ("csv", "xlsx") else "docs/audit.md"
            out.append(f"  data file {named}: sha256 {part.get('sha256')} (recompute: {how})")
    return out


def _loads_parts(parts: Any) -> list[dict]:
    """`datasets.parts` as read (AuditStore.dataset; none for one file, or a run recorded before
    version 8); a damaged value shows no part rather than a traceback (verify reports it)."""
    return [p for p in parts if isinstance(p, dict)] if isinstance(parts, list) else []


def _shell(path: str) -> str:
    """A path as a shell argument (quoted when it needs to be)."""
    return path if re.fullmatch(r"[A-Za-z0-9_./=:+-]+", path) else "'" + path.replace("'", "'\\''") + "'"


def _kind(run: RunInfo, entity: EntityRef) -> str:
    return entity.level or run.entity_kind or "entity"


class _Builder:
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

    # ------------------------------------------------------------ members aggregated over

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

    # ------------------------------------------------------------ population statistics

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

    # ------------------------------------------------------------ tiers

    def tier_detail(self, node: NodeInfo) -> TierDetail:
        spec = node.tier or {}
        owner = self.at.get(node.level, self.entity)
        steps = self.store.tier_steps(self.run.id, node.name, owner.position)
        step = (
            steps[0]
            if steps
            else TierStep(node.name, owner.position, None, -1, None, (), (), None)
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
        recorded = self.store.rank(self.run.id, node.name, owner.position)
        stats = self.scalars.get(node.name, {})
        labels = [r["label"] for r in rules]
        if step.from_value is not None and recorded is not None:
            tried = rules if step.rule_index < 0 else rules[: step.rule_index + 1]
            for r in tried:
                if r.get("kind") != "rank":
                    continue
                if r.get("within"):
                    ranks.append(self.rank_within(node, r, r["index"] == step.rule_index))
                    continue
                top = r["direction"] == "top"
                ranks.append(
                    {
                        "rule_index": r["index"],
                        "label": r["label"],
                        "direction": r["direction"],
                        "count": r["count"],
                        "percent": r["percent"],
                        "rank": recorded.from_rank_top if top else recorded.from_rank_bottom,
                        "n": recorded.scored,
                        "wanted": stats.get(f"{rule_prefix(labels, r['index'])}.count"),
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
            run_rank=None if recorded is None or recorded.rank is None else (recorded.rank, recorded.rated),
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

    def threshold_of_entity(self, text: str) -> str:
        """A threshold that differs by entity: its text, and the entity's recorded value when
        the threshold is a node (`>= regional_target` -> `regional_target 0.85`)."""
        name = text.strip()
        if name in self.nodes and self.readable(self.nodes[name]):
            value, _ = self.value(name)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return f"{name} {format_number(value)}"
        return text

    def rank_within(self, node: NodeInfo, rule: dict, held: bool) -> dict:
        """A `top N within G` rule: the entity's group and the count and edge the run recorded
        for that group (interpreter.tiers)."""
        group = self.value(rule["within"])[0]
        prefix = rule["label"] if [r["label"] for r in (node.tier or {}).get("rules", [])].count(
            rule["label"]) == 1 else f"{rule['label']}#{rule['index']}"
        recorded = self.scalars.get(node.name, {})
        return {
            "rule_index": rule["index"],
            "label": rule["label"],
            "direction": rule["direction"],
            "count": rule["count"],
            "percent": rule["percent"],
            "within": rule["within"],
            "group": group,
            "taken": recorded.get(f"{prefix}.count[{group_key(group)}]"),
            "edge": recorded.get(f"{prefix}.edge[{group_key(group)}]"),
            "held": held,
        }

    @staticmethod
    def rank_within_words(r: dict) -> str:
        side = ">=" if r["direction"] == "top" else "<="
        group = f"within {r['within']} {format_value(r['group'], '')}"
        if r.get("edge") is None:
            return f"{group}: no entity taken"
        taken = format_number(r["taken"]) if r.get("taken") is not None else "?"
        return f"{group}: the {r['direction']} {taken} taken are those {side} {format_number(r['edge'])}"

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
            if "within" in r:
                out.append(f"not taken for {r['label']}: {from_part}; {self.rank_within_words(r)}")
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
                    else self.threshold_of_entity(rule.get("threshold_text", ""))
                )
                out.append(f"{head}: {from_part} {rule['op']} {threshold}")
            elif kind == "rank":
                r = next(x for x in tier.ranks if x["held"]) if tier.ranks else None
                if r is not None and "within" in r:
                    out.append(f"{head}: {from_part}; {self.rank_within_words(r)}")
                elif r is not None:
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
        if tier.run_rank is not None:
            out.append(f"rank {tier.run_rank[0]} of {tier.run_rank[1]} in this run")
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
        if r["percent"]:
            # the share as written; how many entities the rule asked for as the run counted them
            wanted = "" if r.get("wanted") is None else f" ({format_number(r['wanted'])} of {r['n']})"
            return f"in the {r['direction']} {format_number(r['count'] * 100)}%{wanted}"
        return f"in the {r['direction']} {format_number(r['count'])}"


def group_key(value: Any) -> str:
    """A group's name as the interpreter writes it in a statistic's `[GROUP]` (a number as
    %.15g, a boolean as true/false: interpreter.functions.group_names)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"{value:.15g}"
    return str(value)


# ---------------------------------------------------------------- rendering


def _named(kind: str, entity: EntityRef) -> str:
    return f"{kind} {entity.key}" + (f' "{entity.label}"' if entity.label else "")


def verification_line(explanation: Explanation) -> str:
    if not explanation.verification:
        return "verification: sound (its hashes match the stored rows; `tierlang verify` re-evaluates it)"
    return ("verification: FAILED, do not rely on this explanation: "
            + "; ".join(explanation.verification))


def render_text(explanation: Explanation, depth: int | None = None) -> str:
    """The explanation as text; `depth`: how many levels of the derivation tree to show below
    each tier (None: all of them)."""
    run, entity = explanation.run, explanation.entity
    top = run.entity_kind or "entity"
    head = _named(_kind(run, entity), entity)
    version = f" (version {run.methodology_version})" if run.methodology_version else ""
    data = f", data {run.dataset_path}" if run.dataset_path else ""
    headline = explanation.headline_node
    within = []
    if explanation.within:
        chain = ", ".join(_named(e.level or top, e) for e in explanation.within)
        within = [f"within {chain}"]
    lines = [
        head,
        *within,
        f"run {run.id}: {run.methodology_name}{version}, started {run.started}{data}",
        verification_line(explanation),
        *(f"params set for this run: {name} = {format_value(used, '')} (declared "
          f"{format_value(declared, '')})" for name, declared, used in explanation.overrides),
        f"headline: {headline.title} = {headline.display}",
        *([f"robustness: {explanation.robustness}"] if explanation.robustness else []),
        *explanation.provenance,
        "",
    ]
    for root in explanation.roots:
        _render(root, 0, lines, depth)
    return "\n".join(lines) + "\n"


def _count_below(node: NodeExplanation) -> int:
    return sum(1 + _count_below(c) for c in node.children if not c.see_above)


def _render(node: NodeExplanation, depth: int, lines: list[str], limit: int | None = None) -> None:
    indent = "  " * depth
    what = f"{node.kind} {node.name}" if node.label else node.kind
    if node.level is not None:
        what += f" per {node.level}"
    title = node.label or node.name
    tail = " (see above)" if node.see_above else " (see below)" if node.see_below else ""
    lines.append(f"{indent}* {title} ({what}) = {node.display}{tail}")
    for sentence in node.details:
        lines.append(f"{indent}    {sentence}")
    for group in node.members:
        _render_members(group, f"{indent}    ", lines)
    if limit is not None and depth >= limit and node.children:
        hidden = _count_below(node) or len(node.children)
        lines.append(f"{indent}  ... {hidden} more {'node' if hidden == 1 else 'nodes'} below (--depth)")
        return
    for child in node.children:
        _render(child, depth + 1, lines, limit)


def _render_members(group: MemberGroup, indent: str, lines: list[str]) -> None:
    calls = dict.fromkeys(f"{f}({_squash(a)})" for f, a in group.calls)  # each distinct call once
    call = ", ".join(calls) + " over"
    if not group.count:
        lines.append(f"{indent}{call} {plural(group.over, 2)}: it has none")
        return
    lines.append(f"{indent}{call} its {group.count} {plural(group.over, group.count)}:")
    for m in group.shown:
        name = m.key + (f' "{m.label}"' if m.label else "")
        values = "; ".join(f"{v.name} = {v.display}" for v in m.values)
        lines.append(f"{indent}  {name}" + (f": {values}" if values else ""))
    if group.more:
        lines.append(f"{indent}  ... and {group.more} more")
        if group.missing:
            counts = ", ".join(f"{n} for {c} ({r})" for n, r, c in group.missing)
            lines.append(f"{indent}  missing among the {group.count}: {counts}")


# ---------------------------------------------------------------- JSON


def _json_number(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _json_value(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_json_number(v) for v in value]
    return _json_number(value)


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
    if node.see_below:  # only in a chain deeper than MAX_TREE_DEPTH: the node is a root below
        out["see_below"] = True
    if node.level is not None:
        out["level"] = node.level
    if node.see_above or node.see_below:
        return out
    out.update(
        {
            "expression": node.expression,
            "doc": node.doc,
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
    if node.members:
        out["members"] = [
            {
                "over": g.over,
                "calls": [{"function": f, "argument": a} for f, a in g.calls],
                "reads": list(g.reads),
                "count": g.count,
                "more": g.more,
                "missing": [
                    {"node": n, "missing_reason": r, "members": c} for n, r, c in g.missing
                ],
                "members": [
                    {
                        "key": m.key,
                        "label": m.label,
                        "position": m.position,
                        "values": {
                            v.name: {
                                "value": _json_value(v.value),
                                "display": v.display,
                                "missing_reason": v.missing_reason,
                            }
                            for v in m.values
                        },
                    }
                    for m in g.shown
                ],
            }
            for g in node.members
        ]
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
    entity_json: dict[str, Any] = {
        "key": entity.key,
        "label": entity.label,
        "position": entity.position,
        "kind": run.entity_kind if entity.level is None else entity.level,
    }
    if explanation.levels:  # a run with lower levels: say which level, and within what
        entity_json["level"] = entity.level or run.entity_kind
        entity_json["within"] = [
            {"level": e.level or run.entity_kind, "key": e.key, "label": e.label}
            for e in explanation.within
        ]
    return {
        "run": run.to_json(),
        "verification": {"ok": not explanation.verification, "problems": list(explanation.verification)},
        "params_set": [{"name": n, "declared": d, "used": u} for n, d, u in explanation.overrides],
        "provenance": list(explanation.provenance),
        "entity": entity_json,
        "headline": {
            "tier": explanation.headline,
            "label": headline.title,
            "value": headline.display,
            **({"robustness": explanation.robustness} if explanation.robustness else {}),
        },
        "tiers": [_node_json(root) for root in explanation.roots],
    }
