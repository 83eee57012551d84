"""Turns a finished `RunResult` into the rows of one audit run.

Design: the store records from the `RunResult`, after evaluation, in one transaction. There
is no tracer collecting values during evaluation: the `RunResult` already holds every node's
trace, so recording afterwards sees the same values, needs no state between calls, and a run
that fails half-way through evaluation leaves nothing in the store. Everything here is pure
(no database access): `build_rows` prepares plain Python tuples and column lists, and
`AuditStore.record` only binds them, one `executemany` per table.

Besides the values, each node's metadata is recorded in a form `explain` can use without the
methodology objects: the resolved expression printed as text, the tier rules and limits with
their thresholds resolved to numbers, the options of a top-level built-in call, and the
weights of a weighted aggregation resolved to numbers (params and scalar definitions read from
this run).

Entities at several levels: the top level's rows are built exactly as for a single-level run
(same rows, same order, same content hash); the lower levels (`RunResult.members`) add a
`LowerRows`: one `levels` row per level, its `members`, their `member_values` and the
`member_tier_steps` of its tiers, and for every node its level and the `F(x) over LEVEL`
calls it makes (`nodes.level`, `nodes.aggregates`). A lower level's nodes take the positions
after the top level's, level by level.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import attrs
import numpy as np
import pandas as pd

from dsl import constants
from dsl import model as M
from dsl import types as T
from dsl.printer import Printer, condition_text, label_text, option_texts
from interpreter.trace import LevelResult, LimitTrace, NodeTrace, RunResult, TierTrace, rule_prefix

# ---------------------------------------------------------------- expression text


def expression_text(expr: M.Expr | None) -> str:
    """The resolved expression printed in Tier syntax (user functions appear expanded)."""
    return Printer().text(expr)


# ---------------------------------------------------------------- constants


def fold(expr: M.Expr | None, result: RunResult) -> float | None:
    """The value of a constant expression at the params this run used (dsl.constants, the one
    folder the checker and the interpreter use too), or None if it is not constant."""
    return constants.fold(expr, result.params, constants.scalar_definitions(result.methodology))


# ---------------------------------------------------------------- node metadata


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _scale(t: T.Type) -> list[str] | None:
    if t.base == T.LEVEL and t.level is not None:
        return list(t.level.labels)
    if t.base == T.LIST and t.item is not None and t.item.level is not None:
        return list(t.item.level.labels)
    return None


def _call_info(node: M.Node) -> dict | None:
    e = node.expr
    if not isinstance(e, M.Call):
        return None
    info = {
        "function": e.function,
        "args": [expression_text(a) for a in e.args],
        "refs": [a.name if isinstance(a, M.Ref) else None for a in e.args],
        "polarity": e.polarity,
        "within": e.within,
        "skip_missing": e.skip_missing,
        "require": e.require,
        "normalise": e.normalise,
        "population_count": e.population_count,
    }
    if e.over is not None:  # only then: a single-level run's rows stay as they were
        info["over"] = e.over
    if e.method is not None:
        info["method"] = e.method
    return info


def _weights(node: M.Node, result: RunResult) -> dict[str, float] | None:
    e = node.expr
    if not isinstance(e, M.Call) or e.weights is None:
        return None
    out: dict[str, float] = {}
    for arg, weight in zip(e.args, e.weights):
        w = fold(weight, result)
        if not isinstance(arg, M.Ref) or w is None:
            return None  # a partial map would misstate the sum of weights
        out[arg.name] = out.get(arg.name, 0.0) + w
    return out


def _recorded_number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        return None
    return None if math.isnan(float(value)) else float(value)


def _tier_info(node: M.Node, result: RunResult) -> dict | None:
    spec = node.tier
    if spec is None:
        return None
    trace = result.traces.get(node.name) or next(
        (lv.traces[node.name] for lv in result.members.values() if node.name in lv.traces), None)
    stats = trace.scalars if trace is not None else {}
    rules = []
    for i, rule in enumerate(spec.rules):
        c = rule.condition
        item: dict[str, Any] = {
            "index": i,
            "label": rule.label,
            "text": rule.source_text.strip() or condition_text(c),
            "condition": condition_text(c),
        }
        prefix = rule_prefix([r.label for r in spec.rules], i)
        if isinstance(c, M.ThresholdRule):
            item.update(
                kind="threshold",
                op=c.op,
                # as the rule compared it; a trace built by hand (tests) may lack the statistic
                threshold=_recorded_number(stats.get(f"{prefix}.threshold", fold(c.value, result))),
                threshold_text=expression_text(c.value),
            )
        elif isinstance(c, M.RankRule):
            item.update(kind="rank", direction=c.direction, count=c.count, percent=c.percent)
            if c.within is not None:
                item["within"] = c.within
        elif isinstance(c, M.OtherwiseRule):
            item.update(kind="otherwise")
        else:
            item.update(kind="condition")
        rules.append(item)
    limits = [
        {
            "index": i,
            "direction": limit.direction,
            "label": limit.label,
            "condition": expression_text(limit.condition),
            "text": limit.source_text.strip()
            or (
                f"limit {node.name} to {limit.direction} {label_text(limit.label)} "
                f"when {expression_text(limit.condition)}"
            ),
        }
        for i, limit in enumerate(spec.limits)
    ]
    return {
        "from": expression_text(spec.source) if spec.source is not None else None,
        "scale": list(spec.scale.labels),
        "missing_label": spec.missing_label,
        "rules": rules,
        "limits": limits,
    }


def _plain(value: Any) -> Any:
    if isinstance(value, (bool, str)) or value is None:
        return value
    if isinstance(value, (int, float, np.number)):
        v = float(value)
        return None if math.isnan(v) else v
    return str(value)


def _node_expression(node: M.Node) -> str | None:
    """A definition's expression, or a tier's `from` expression, printed."""
    if node.expr is not None:
        return expression_text(node.expr)
    if node.tier is not None and node.tier.source is not None:
        return expression_text(node.tier.source)
    return None


_SKIPPED_FIELDS = frozenset({"type", "span", "level"})  # types and label levels hold no calls


def _walk(expr: Any):
    """The expressions in `expr`, `expr` first, depth first (iterative)."""
    stack = [expr]
    while stack:
        e = stack.pop()
        yield e
        children = []
        for field in attrs.fields(type(e)):
            if field.name in _SKIPPED_FIELDS:
                continue
            value = getattr(e, field.name)
            items = value if isinstance(value, tuple) else (value,)
            children += [v for v in items if attrs.has(type(v)) and type(v).__module__ == M.__name__]
        stack.extend(reversed(children))


def aggregates(node: M.Node) -> list[dict] | None:
    """The `F(x) over LEVEL` calls of a node, in the order written: `function`, `over` (the
    level aggregated over), `argument` (its text) and `reads` (the nodes the argument refers
    to, in first-use order). None when the node makes none (every node of a single-level
    methodology)."""
    out = []
    for expr in constants.node_expressions(node):
        for e in _walk(expr):
            if isinstance(e, M.Call) and e.over is not None:
                reads = []
                for arg in e.args:
                    for sub in _walk(arg):
                        if isinstance(sub, M.Ref) and sub.name not in reads:
                            reads.append(sub.name)
                out.append(
                    {
                        "function": e.function,
                        "over": e.over,
                        "argument": ", ".join([*(expression_text(a) for a in e.args),
                                               *(text for _, text in option_texts(e))]),
                        "reads": reads,
                    }
                )
    return out or None


def node_row(position: int, node: M.Node, result: RunResult) -> tuple:
    """The `nodes` row (without the run id) of one node."""
    scale = node.tier.scale.labels if node.tier is not None else _scale(node.type)
    return (
        node.name,
        position,
        node.kind,
        node.label,
        node.doc,
        node.source_text,
        _node_expression(node),
        node.span.file if node.span else None,
        node.span.line if node.span else None,
        node.overrides,
        str(node.type),
        node.type.base,
        1 if node.type.scalar else 0,
        _json(list(node.deps)),
        _json(list(scale) if scale is not None else None),
        _json(_call_info(node)),
        _json(_weights(node, result)),
        _json(_tier_info(node, result)),
        (node.column or node.name) if node.kind == M.INPUT else None,
        _json(list(node.range) if node.range is not None else None),
        1 if node.required else 0,
        _json(_plain(node.value)) if node.kind == M.PARAM else None,
    )


NODE_COLUMNS = (
    "name",
    "position",
    "kind",
    "label",
    "doc",
    "source_text",
    "expression",
    "file",
    "line",
    "overrides",
    "type",
    "base",
    "scalar",
    "dependencies",
    "scale",
    "call",
    "weights",
    "tier",
    "data_column",
    "range",
    "required",
    "declared_value",
)

# ---------------------------------------------------------------- values


def _aligned(series: pd.Series, keys: pd.Index) -> pd.Series:
    if series.index is keys or series.index.equals(keys):
        return series
    return series.reindex(keys)


def _labels(series: pd.Series) -> np.ndarray:
    """Object array of labels (None where missing) from a categorical (or any) Series."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        categories = np.empty(len(series.cat.categories) + 1, dtype=object)
        categories[:-1] = [str(c) for c in series.cat.categories]
        categories[-1] = None
        return categories[series.cat.codes.to_numpy()]  # code -1 (missing) picks the None
    return series.to_numpy(dtype=object, na_value=None)


def _list_json(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    # ±inf (an overflow: 10 ^ 400) as JSON's usual extension, Infinity, which json.loads reads back
    return json.dumps([_plain(v) for v in value], ensure_ascii=False, allow_nan=True)


def _texts(series: pd.Series) -> np.ndarray:
    out = series.to_numpy(dtype=object, na_value=None)
    return np.array([None if v is None else str(v) for v in out], dtype=object) if len(out) else out


@attrs.define
class ValueColumns:
    """`node_values` rows as parallel lists, entity-major (the primary-key order)."""

    entity: list
    node: list
    num: list
    text: list
    bool: list
    reason: list

    def __len__(self) -> int:
        return len(self.entity)


def value_columns(
    traces: Sequence[NodeTrace], keys: pd.Index, first_node: int = 0
) -> ValueColumns:
    """The values of `traces` for the entities `keys`, entity-major; node `i` of `traces` is
    recorded as node position `first_node + i`."""
    n_nodes, n_entities = len(traces), len(keys)
    num = np.full((n_nodes, n_entities), np.nan)
    text = np.full((n_nodes, n_entities), None, dtype=object)
    boolean = np.full((n_nodes, n_entities), None, dtype=object)
    reason = np.full((n_nodes, n_entities), None, dtype=object)
    for i, trace in enumerate(traces):
        values = _aligned(trace.values, keys)
        base = trace.node.type.base
        if base == T.NUMBER:
            num[i] = values.to_numpy(dtype=np.float64, na_value=np.nan)
            any_missing = bool(np.isnan(num[i]).any())
        else:
            if base == T.BOOLEAN:
                column = values.astype("boolean").to_numpy(dtype=object, na_value=None)
            elif base == T.LEVEL:
                column = _labels(values)
            elif base == T.LIST:
                column = np.array(
                    [_list_json(v) for v in values.to_numpy(dtype=object)], dtype=object
                )
            else:
                column = _texts(values)
            (boolean if base == T.BOOLEAN else text)[i] = column
            any_missing = any(v is None for v in column.tolist())
        # By the trace contract a reason is given only where the value is missing.
        if any_missing and trace.reasons is not None:
            reason[i] = _aligned(trace.reasons, keys).to_numpy(dtype=object, na_value=None)
    return ValueColumns(
        entity=np.repeat(np.arange(n_entities), n_nodes).tolist(),
        node=np.tile(np.arange(first_node, first_node + n_nodes), n_entities).tolist(),
        num=num.T.ravel().tolist(),
        text=text.T.ravel().tolist(),
        bool=boolean.T.ravel().tolist(),
        reason=reason.T.ravel().tolist(),
    )


def _combination_json(matrix: np.ndarray, render) -> list[str]:
    """One JSON text per column of a small-integer matrix, computed once per distinct column."""
    if matrix.shape[0] == 0:
        return ["[]"] * matrix.shape[1]
    unique, inverse = np.unique(matrix.T, axis=0, return_inverse=True)
    texts = [render(row) for row in unique]
    return [texts[i] for i in np.asarray(inverse).ravel().tolist()]


@attrs.define
class TierColumns:
    tier: list
    entity: list
    from_value: list
    rule_index: list
    before_limits: list
    after: list
    limits_acted: list
    display: list

    def columns(self) -> list[list]:
        """The columns in the order of the tier_steps table (and of the hashed stream)."""
        return [self.tier, self.entity, self.from_value, self.rule_index, self.before_limits, self.after,
                self.limits_acted, self.display]


def tier_columns(traces: Sequence[NodeTrace], keys: pd.Index) -> TierColumns:
    out = TierColumns([], [], [], [], [], [], [], [])
    n = len(keys)
    for trace in traces:
        tt = trace.tier
        if tt is None:
            continue
        out.tier.extend([trace.node.name] * n)
        out.entity.extend(range(n))
        if tt.from_values is None:
            out.from_value.extend([None] * n)
        else:
            out.from_value.extend(
                _aligned(tt.from_values, keys).to_numpy(dtype=np.float64, na_value=np.nan).tolist()
            )
        out.rule_index.extend(
            _aligned(tt.rule_index, keys).fillna(-1).to_numpy(dtype=np.int64).tolist()
        )
        out.before_limits.extend(_labels(_aligned(tt.before_limits, keys)).tolist())
        out.display.extend(_texts(_aligned(tt.display, keys)).tolist())
        # after: labels after each limit; limits_acted: indices of the limits that acted
        after_labels: list[np.ndarray] = [_labels(_aligned(lt.after, keys)) for lt in tt.limits]
        if after_labels:
            table = sorted({v for arr in after_labels for v in arr.tolist() if v is not None})
            code = {label: i + 1 for i, label in enumerate(table)}
            matrix = np.array(
                [
                    [code.get(v, 0) if v is not None else 0 for v in arr.tolist()]
                    for arr in after_labels
                ],
                dtype=np.int64,
            )
            names = [None, *table]
            out.after.extend(
                _combination_json(
                    matrix,
                    lambda row, names=names: json.dumps(
                        [names[c] for c in row], ensure_ascii=False
                    ),
                )
            )
            acted = np.array(
                [_aligned(lt.acted, keys).fillna(False).to_numpy(dtype=bool) for lt in tt.limits],
                dtype=np.int64,
            )
            out.limits_acted.extend(
                _combination_json(
                    acted, lambda row: json.dumps([i for i, a in enumerate(row) if a])
                )
            )
        else:
            out.after.extend(["[]"] * n)
            out.limits_acted.extend(["[]"] * n)
    return out


def scalar_rows(traces: Sequence[NodeTrace], params: dict) -> list[tuple]:
    rows = []
    for trace in traces:
        scalars = dict(trace.scalars)
        if trace.node.kind == M.PARAM and "value" not in scalars and trace.node.name in params:
            scalars["value"] = params[trace.node.name]
        for position, (name, value) in enumerate(scalars.items()):
            if isinstance(value, bool):
                rows.append(
                    (trace.node.name, position, str(name), None, "true" if value else "false")
                )
            elif isinstance(value, (int, float, np.number)):
                v = float(value)
                rows.append(
                    (trace.node.name, position, str(name), None if math.isnan(v) else v, None)
                )
            elif value is None:
                rows.append((trace.node.name, position, str(name), None, None))
            else:
                rows.append((trace.node.name, position, str(name), None, str(value)))
    return rows


# ---------------------------------------------------------------- recorded facts (version 7)


@attrs.define
class FactRows:
    """The facts the interpreter computed for explain, diff and reconcile to read (schema
    version 7, audit/schema.py), each list in its table's primary-key order without the run:
    `node_components` (node, entities, components JSON, then the value, weight, coefficient
    and contribution matrices as BLOBs),
    `entity_ranks` (tier, entity, rank, from_rank_top, from_rank_bottom; for an index, `tier`
    is the score it ranks by and only `rank` is set) and `node_branches`
    (node, entity, taken, op, left_value, right_value), and `node_statistics` (node, key,
    shown, name, item, grp, call, prefix, rule). `entity` is the position in the entity's
    level."""

    components: list[tuple]
    ranks: list[tuple]
    branches: list[tuple]
    statistics: list[tuple] = attrs.field(factory=list)  # node, key, shown, name, item, grp, call, prefix, rule

    def __bool__(self) -> bool:
        return bool(self.components or self.ranks or self.branches or self.statistics)


def _reals(values) -> list:
    """float64 values as REAL cells (None for NaN)."""
    a = np.asarray(values, dtype=np.float64)
    return np.where(np.isnan(a), None, a).tolist() if a.size else []


def matrix_blob(matrix) -> bytes:
    """An (entities x components) float64 matrix as recorded: little-endian, entity-major,
    one NaN for every missing value, no negative zero."""
    a = np.asarray(matrix, dtype=np.float64)
    return np.where(np.isnan(a), np.nan, a + 0.0).astype("<f8").tobytes()


def _ints(values) -> list:
    a = np.asarray(values, dtype=np.float64)
    return [None if math.isnan(v) else int(v) for v in a.tolist()]


def fact_rows(levels: Sequence[tuple[Sequence[NodeTrace], pd.Index]]) -> FactRows:
    """The recorded facts of the traces of each level (`(traces, keys)` pairs)."""
    components, ranks, branches, statistics = [], [], [], []
    for traces, keys in levels:
        n = len(keys)
        for trace in traces:
            name = trace.node.name
            statistics.extend({(name, t.key): (name, t.key, t.shown, t.name, t.index, t.group, t.call, t.prefix, t.rule)
                               for t in trace.statistics if t.key in trace.scalars}.values())
            c = trace.components
            if c is not None and c.weights.shape == (n, len(c.names)):
                components.append((name, n, json.dumps(list(c.names), ensure_ascii=False),
                                   *(matrix_blob(m) for m in (c.values, c.weights, c.coefficients, c.contributions))))
            tt = trace.tier
            if tt is not None and tt.rank is not None:
                top = tt.from_rank_top if tt.from_rank_top is not None else pd.Series(np.nan, index=keys)
                bottom = tt.from_rank_bottom if tt.from_rank_bottom is not None else pd.Series(np.nan, index=keys)
                ranks.extend(zip(itertools.repeat(name), range(n), _ints(_aligned(tt.rank, keys)),
                                 _ints(_aligned(top, keys)), _ints(_aligned(bottom, keys))))
            if trace.rank is not None:  # an index's score: its ranks, keyed by the score
                nothing = [None] * n
                ranks.extend(zip(itertools.repeat(name), range(n), _ints(_aligned(trace.rank, keys)),
                                 nothing, nothing))
            b = trace.branch
            if b is not None:
                nothing = [None] * n
                branches.extend(zip(
                    itertools.repeat(name), range(n), _texts(_aligned(b.taken, keys)).tolist(),
                    itertools.repeat(b.op),
                    nothing if b.left is None else _reals(_aligned(b.left, keys)),
                    nothing if b.right is None else _reals(_aligned(b.right, keys))))
    components.sort(key=lambda r: r[0])
    ranks.sort(key=lambda r: (r[0], r[1]))
    branches.sort(key=lambda r: (r[0], r[1]))
    statistics.sort(key=lambda r: (r[0], r[1]))
    return FactRows(components, ranks, branches, statistics)


# ---------------------------------------------------------------- the whole run


def dataset_parts(dataset: Any) -> str | None:
    """`datasets.parts` (schema version 8): for data read from several files, each file's own
    level, path, format, rows and sha256 as JSON, in the combined sha256's order; else None."""
    parts = getattr(dataset, "parts", None) or ()
    if not parts:
        return None
    return json.dumps([{"level": level, "path": None if d.path is None else str(d.path),
                        "format": None if d.format is None else str(d.format),
                        "rows": None if d.rows is None else int(d.rows), "sha256": str(d.sha256)}
                       for level, d in parts], ensure_ascii=False)


def methodology_sha256(methodology: M.Methodology) -> str:
    """sha256 of the methodology file's text (UTF-8) when it extends nothing (what `sha256sum`
    prints for the file); otherwise sha256 of the per-file sha256 hex digests joined by
    newlines, the file first, then every file it extends."""
    texts = [text for _path, text in methodology.sources] or [""]
    digests = [hashlib.sha256(t.encode("utf-8")).hexdigest() for t in texts]
    if len(digests) == 1:
        return digests[0]
    return hashlib.sha256("\n".join(digests).encode("ascii")).hexdigest()


def now_iso() -> str:
    """The current UTC time, ISO 8601 with milliseconds and a `Z`."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso(value: datetime | str | None) -> str:
    if value is None:
        return now_iso()
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@attrs.define
class LowerRows:
    """The rows of a run's lower levels (entities at several levels), each level after its
    parent, as `build_rows` makes them."""

    levels: list[tuple]  # LEVEL_COLUMNS without run and first_value_id, by position
    node_levels: list[tuple]  # (level, aggregates JSON) of every node, in node position order
    members: list[tuple]  # (level, position, key, label, parent_key), level by level
    values: ValueColumns  # level by level, member-major; `entity` is the member position
    value_levels: list  # the level (its position) of each value row
    tiers: TierColumns  # `entity` is the member position
    tier_levels: list  # the level of each tier step


LEVEL_COLUMNS = (
    "position",
    "name",
    "parent",
    "key_column",
    "label_column",
    "member_count",
    "first_node",
    "values_per_member",
)


@attrs.define
class RunRows:
    methodology: tuple
    dataset: tuple | None
    run: dict
    entities: list[tuple]
    nodes: list[tuple]
    values: ValueColumns
    scalars: list[tuple]
    tiers: TierColumns
    lower: LowerRows | None = None  # None for a single-level run
    facts: FactRows | None = None  # None when the run has no recorded fact (version 7)


def _key_text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def build_rows(result: RunResult, dataset: Any = None) -> RunRows:
    """Every row of one run, except the run id (added when inserting)."""
    m = result.methodology
    keys = result.keys
    sha = methodology_sha256(m)
    methodology = (
        sha,
        m.name,
        m.version,
        m.effective,
        m.entity,
        m.key,
        m.label_column,
        m.doc,
        m.path,
        m.sources[0][1] if m.sources else "",
        json.dumps([[p, t] for p, t in m.sources], ensure_ascii=False),
    )
    dataset_row = None
    if dataset is not None:
        columns = getattr(dataset, "columns", None)
        dataset_row = (
            str(dataset.sha256),
            None if dataset.path is None else str(dataset.path),
            None if dataset.format is None else str(dataset.format),
            None if dataset.rows is None else int(dataset.rows),
            None if columns is None else json.dumps([str(c) for c in columns], ensure_ascii=False),
            dataset_parts(dataset),
        )
    traces = list(result.traces.values())
    lower_traces = [t for level in result.members.values() for t in level.traces.values()]
    traced = {t.node.name for t in traces} | {t.node.name for t in lower_traces}
    untraced = [n for n in m.nodes if n.name not in traced]
    every = [t.node for t in traces] + [t.node for t in lower_traces] + untraced
    nodes = [node_row(i, node, result) for i, node in enumerate(every)]

    key_list = [_key_text(k) for k in keys.tolist()]
    if result.labels is not None:
        labels = _texts(_aligned(result.labels, keys)).tolist()
    else:
        labels = [None] * len(key_list)
    entities = list(zip(range(len(key_list)), key_list, labels))

    run = {
        "methodology_sha256": sha,
        "methodology_name": m.name,
        "methodology_version": m.version,
        "methodology_path": m.path,
        "dataset_sha256": dataset_row[0] if dataset_row else None,
        "dataset_path": dataset_row[1] if dataset_row else None,
        "params": json.dumps({k: _plain(v) for k, v in result.params.items()}, ensure_ascii=False),
        "status": "complete",
        "entity_count": len(key_list),
        "node_count": len(nodes),
        "values_per_entity": len(traces),
    }
    return RunRows(
        methodology=methodology,
        dataset=dataset_row,
        run=run,
        entities=entities,
        nodes=nodes,
        values=value_columns(traces, keys),
        scalars=scalar_rows(traces + lower_traces, result.params),
        tiers=tier_columns(traces, keys),
        lower=lower_rows(result, every, len(traces)) if result.members else None,
        facts=fact_rows([(traces, keys)] + [(list(lv.traces.values()), lv.keys)
                                            for lv in result.members.values()]) or None,
    )


def lower_rows(result: RunResult, nodes: Sequence[M.Node], first_node: int) -> LowerRows:
    """The rows of the lower levels of `result`; `nodes`: every node in position order, the
    lower levels' nodes from `first_node` on, level by level as in `result.members`."""
    levels, members = [], []
    values: list[ValueColumns] = []
    value_levels: list = []
    tiers = TierColumns([], [], [], [], [], [], [], [])
    tier_levels: list = []
    level_of: dict[str, str] = {}
    lr: LevelResult
    for position, (name, lr) in enumerate(result.members.items()):
        traces = list(lr.traces.values())
        for t in traces:
            level_of[t.node.name] = name
        keys = lr.keys
        key_list = [_key_text(k) for k in keys.tolist()]
        labels = (
            _texts(_aligned(lr.labels, keys)).tolist()
            if lr.labels is not None
            else [None] * len(key_list)
        )
        parents = _texts(_aligned(lr.parents, keys)).tolist() if len(keys) else []
        members += zip(
            itertools.repeat(name), range(len(key_list)), key_list, labels, parents
        )
        level = lr.level
        levels.append(
            (
                position,
                name,
                level.parent,
                level.key,
                level.label_column,
                len(key_list),
                first_node,
                len(traces),
            )
        )
        columns = value_columns(traces, keys, first_node)
        values.append(columns)
        value_levels += [position] * len(columns)
        steps = tier_columns(traces, keys)
        for field in attrs.fields(TierColumns):
            getattr(tiers, field.name).extend(getattr(steps, field.name))
        tier_levels += [name] * len(steps.tier)
        first_node += len(traces)
    merged = ValueColumns([], [], [], [], [], [])
    for columns in values:
        for field in attrs.fields(ValueColumns):
            getattr(merged, field.name).extend(getattr(columns, field.name))
    top = result.methodology.entity
    node_levels = [
        (
            None
            if node.name in result.traces or node.level == top
            else level_of.get(node.name, node.level),
            _json(aggregates(node)),
        )
        for node in nodes
    ]
    return LowerRows(levels, node_levels, members, merged, value_levels, tiers, tier_levels)


# ---------------------------------------------------------------- benchmark support


def value_rows(result: RunResult, run_id: int = 1) -> list[tuple]:
    """The `node_values` rows `AuditStore.record` writes for `result`, as tuples
    (run, entity, node, num, text, bool, missing_reason): what a bare `executemany` baseline
    should insert to compare with `record`."""
    v = value_columns(list(result.traces.values()), result.keys)
    return list(zip([run_id] * len(v), v.entity, v.node, v.num, v.text, v.bool, v.reason))


def synthetic_result(n_nodes: int = 50, n_entities: int = 10_000, seed: int = 0) -> RunResult:
    """A RunResult of the given size for benchmarks: number inputs and indicators (5% missing),
    a level input, a boolean, a text, and a threshold tier with a limit (the last node)."""
    rng = np.random.default_rng(seed)
    keys = pd.Index([f"E{i:06d}" for i in range(n_entities)])
    level = T.LevelType("grade", ("low", "mid", "high"))
    scale = T.LevelType("tier", ("bronze", "silver", "gold"))
    num = T.number()
    nodes: list[M.Node] = []
    traces: dict[str, NodeTrace] = {}
    none = pd.Series([None] * n_entities, index=keys, dtype=object)

    def add(node: M.Node, values: pd.Series, reasons: pd.Series = none, **kw) -> None:
        nodes.append(node)
        traces[node.name] = NodeTrace(node, values, reasons, **kw)

    codes = rng.integers(0, 3, n_entities)
    grade = pd.Series(
        pd.Categorical.from_codes(codes, categories=list(level.labels), ordered=True), index=keys
    )
    add(M.Node("grade", M.INPUT, T.level(level), ()), grade)
    add(
        M.Node("flag", M.INPUT, T.boolean(), ()),
        pd.Series(pd.array(rng.random(n_entities) < 0.5, dtype="boolean"), index=keys),
    )
    add(
        M.Node("region", M.INPUT, T.text(), ()),
        pd.Series(
            np.array(["North", "South", "East", "West"], dtype=object)[codes],
            index=keys,
            dtype=object,
        ),
    )
    names = []
    for i in range(max(n_nodes - 4, 1)):
        data = rng.normal(50, 10, n_entities)
        gone = rng.random(n_entities) < 0.05
        data[gone] = np.nan
        reasons = pd.Series(np.where(gone, "input_missing", None), index=keys, dtype=object)
        name = f"x{i:02d}"
        kind = M.INPUT if i % 2 == 0 else "indicator"
        add(M.Node(name, kind, num, tuple(names[-1:])), pd.Series(data, index=keys), reasons)
        names.append(name)
    last = traces[names[-1]].values
    tier_codes = np.where(last.isna(), -1, np.where(last >= 55, 2, np.where(last >= 45, 1, 0)))
    before = pd.Series(
        pd.Categorical.from_codes(tier_codes, categories=list(scale.labels), ordered=True),
        index=keys,
    )
    acted = pd.Series((codes == 0) & (tier_codes == 2), index=keys)
    after = before.copy()
    after[acted.to_numpy()] = "silver"
    rules = (
        M.TierRule("gold", M.ThresholdRule(">=", M.Const(55.0, T.number(True)))),
        M.TierRule("silver", M.ThresholdRule(">=", M.Const(45.0, T.number(True)))),
        M.TierRule("bronze", M.OtherwiseRule()),
    )
    condition = M.Binary(
        "==", M.Ref("grade", T.level(level)), M.LabelConst(level, "low", T.boolean()), T.boolean()
    )
    spec = M.TierSpec(
        scale, M.Ref(names[-1], num), rules, None, (M.Limit("at most", "silver", condition),)
    )
    tier_trace = TierTrace(
        from_values=last,
        rule_index=pd.Series(
            np.where(tier_codes < 0, -1, 2 - tier_codes), index=keys, dtype="int64"
        ),
        before_limits=before,
        limits=(LimitTrace(0, acted, after),),
        display=after.astype(object).where(after.notna(), None),
    )
    reasons = pd.Series(np.where(last.isna(), "component_missing", None), index=keys, dtype=object)
    add(
        M.Node("tier", M.TIER, T.level(scale), (names[-1], "grade"), tier=spec),
        after,
        reasons,
        tier=tier_trace,
    )
    methodology = M.Methodology(
        "synthetic",
        "1",
        None,
        "entity",
        "key",
        None,
        None,
        "synthetic.tier",
        (("synthetic.tier", 'methodology "synthetic"\n'),),
        {},
        tuple(nodes),
    )
    return RunResult(methodology, keys, None, {}, traces)
