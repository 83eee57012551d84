"""The other columns of a run, vectorised (numpy arrays -> `tolist` -> `zip`): tier steps,
scalars and the recorded facts of schema version 7; the cell helpers the values use too
(the values themselves: audit/write/values.py).
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
import pandas as pd

from audit.write.nodes import _plain
from dsl import model as M
from interpreter.trace import NodeTrace

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


