"""Population functions' machinery: a kernel applied to the present values of each `within`
group, in a single run or within each block of many param samples (`ev.blocks` > 1), and the
row-by-row numpy kernels the blocks use (exact equivalents of numpy's searchsorted and quantile).

A kernel gets the sorted present values and the values and gives the result, or a reason that
makes the group's result missing, and the statistics it used (recorded per group as
`name[GROUP]`). Entities whose group is missing stay missing with `component_missing`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dsl.builtins import DEFAULT_QUANTILE_METHOD
from dsl.model import Call
from dsl.types import BOOLEAN, LEVEL, NUMBER
from interpreter import numeric
from interpreter.reason_codes import COMPONENT_MISSING, DTYPE, code, no_reasons
from interpreter.values import Val, finish


def group_names(g: Val) -> np.ndarray:
    """Group values as display strings (None where missing)."""
    t = g.type
    miss = g.missing
    if t.base == LEVEL:
        labels = np.array(list(t.level.labels) + [None], dtype=object)
        return labels[np.where(miss, -1, g.data).astype(np.int64)]
    if t.base == BOOLEAN:
        return np.where(miss, None, np.where(g.data == 1.0, "true", "false")).astype(object)
    if t.base == NUMBER:
        return np.where(miss, None, np.char.mod("%.15g", np.nan_to_num(g.data))).astype(object)
    return np.where(miss, None, g.data).astype(object)


def _groups(ev, call: Call) -> tuple[list[tuple[str | None, np.ndarray]], np.ndarray]:
    """[(group name or None for the whole population, member mask)], and a mask of entities
    that belong to no group (their group value is missing)."""
    if call.within is None:
        return [(None, np.ones(ev.n, dtype=bool))], np.zeros(ev.n, dtype=bool)
    names = group_names(ev.eval_ref(call.within))
    codes, uniques = pd.factorize(names, use_na_sentinel=True)  # None -> -1
    ungrouped = codes < 0
    order = sorted(range(len(uniques)), key=lambda k: str(uniques[k]))  # over groups, by name
    return [(str(uniques[k]), codes == k) for k in order], ungrouped


def _key(stat: str, group: str | None) -> str:
    return stat if group is None else f"{stat}[{group}]"


def _population(ev, call: Call, kernel, scalar_result: bool, kernel2d=None, sorted_values: bool = True) -> Val:
    """Apply kernel(sorted values, values) -> (out, bad, stats) to the present values of each
    group (`sorted_values` False: the values as they are, twice, for a kernel that needs no
    order, as np.quantile's partition does not).

    Per-entity functions (`scalar_result` False): `out` is aligned with the present values,
    `bad` is None or a reason for all of them (a degenerate statistic). Scalar functions:
    `out` is one number given to every member of the group. With blocks, `kernel2d` does the
    same for many blocks at once (see _population_blocks)."""
    if ev.blocks > 1:
        return _population_blocks(ev, call, kernel2d or _kernel_by_row(kernel, scalar_result), scalar_result)
    x = ev.eval(call.args[0])
    data = np.full(ev.n, np.nan)
    reasons = no_reasons(ev.n) if scalar_result else x.codes
    groups, ungrouped = _groups(ev, call)
    reasons = np.where(ungrouped & (reasons == 0), COMPONENT_MISSING, reasons)
    stats: dict[str, float] = {}
    grouped: dict[str, tuple[str, str]] = {}  # key -> (statistic, group), for Evaluator.record
    for group, members in groups:
        use = members & x.present
        values = x.data[use]
        out, bad, group_stats = kernel(np.sort(values) if sorted_values else values, values)
        for name, value in group_stats.items():
            stats[_key(name, group)] = value
            if group is not None:
                grouped[_key(name, group)] = (name, group)
        target = members if scalar_result else use
        if bad is not None:
            reasons = np.where(target, code(bad), reasons)
        else:
            data[target] = out
    ev.record(call, stats, grouped)
    return finish(call.type, data, reasons)


def _polarity_lower(call: Call) -> bool:
    return call.polarity == "lower"


def _degenerate(sorted_values: np.ndarray) -> bool:
    return len(sorted_values) < 2 or bool(numeric.close(sorted_values[0], sorted_values[-1]))




def _valid_level(q) -> bool:
    return q is not None and np.isfinite(q) and 0.0 <= q <= 1.0



def _method(call: Call) -> str:
    """The numpy.quantile method of a call's `method:` option (dsl.builtins.QUANTILE_METHODS)."""
    return call.method or DEFAULT_QUANTILE_METHOD


def _quantile_rows_by(method: str):
    """np.quantile(s[r], q[r], method=method) for every row r, one numpy call per distinct q."""

    def statistic2d(s: np.ndarray, q: np.ndarray) -> np.ndarray:
        out = np.empty(len(s))
        for level in np.unique(q):
            rows = q == level
            out[rows] = np.quantile(s[rows], level, axis=1, method=method)
        return out

    return statistic2d


# ---------------------------------------------------------------- blocks (many samples at once)


def _population_blocks(ev, call: Call, kernel2d, scalar_result: bool) -> Val:
    """_population within each block. Within a group, the rows (blocks) with the same number m
    of present values go to kernel2d(s, v, rows) together: s (rows × m) their present values
    sorted, v (rows × group members) the values (NaN where missing), rows the block indices.
    It gives `out` (like v, or one value per row for scalar functions) and None or, per row,
    None or the reason that makes the row's result missing. Each row gets what the 1-d kernel
    gives for that block: the same numpy operations, applied along rows."""
    x = ev.eval(call.args[0])
    blocks, n = ev.blocks, ev.entities
    data = np.full((blocks, n), np.nan)
    initial = no_reasons(ev.n) if scalar_result else x.codes
    all_reasons = ev.block_rows(initial).copy()
    all_values = ev.block_rows(x.data)
    for block_rows, groups, ungrouped in _block_groups(ev, call):
        reasons = all_reasons[block_rows]
        if ungrouped.any():
            stray = reasons[:, ungrouped]
            reasons[:, ungrouped] = np.where(stray == 0, COMPONENT_MISSING, stray)
        values = all_values[block_rows]
        rows_here = len(values)
        part = np.full(values.shape, np.nan)
        for members in groups:
            v = values[:, members]
            use = ~np.isnan(v)
            counts = use.sum(axis=1)
            ordered = np.sort(v, axis=1)  # missing (NaN) last
            out = np.full(rows_here if scalar_result else v.shape, np.nan)
            bad = no_reasons(rows_here)
            for m in np.unique(counts):
                rows = np.flatnonzero(counts == m)
                o, b = kernel2d(np.ascontiguousarray(ordered[rows, :m]), v[rows], block_rows[rows])
                out[rows] = o
                if b is not None:
                    bad[rows] = b
            failed = (bad != 0)[:, None]
            target = np.ones(v.shape, dtype=bool) if scalar_result else use
            wide = np.broadcast_to(out[:, None], v.shape) if scalar_result else out
            part[:, members] = np.where(target & ~failed, wide, np.nan)
            reasons[:, members] = np.where(target & failed, np.broadcast_to(bad[:, None], v.shape),
                                           reasons[:, members])
        data[block_rows] = part
        all_reasons[block_rows] = reasons
    reasons = all_reasons
    ev.record(call, {})
    return finish(call.type, data.ravel(), reasons.ravel())


def _kernel_by_row(kernel, scalar_result: bool):
    """A kernel2d applying the 1-d kernel to each row in turn (for a function without one)."""

    def kernel2d(s, v, rows):
        out = np.full(len(rows) if scalar_result else v.shape, np.nan)
        bad = no_reasons(len(rows))
        for i in range(len(rows)):
            use = ~np.isnan(v[i])
            value, reason, _ = kernel(s[i], v[i][use])
            if reason is not None:
                bad[i] = code(reason)
            elif scalar_result:
                out[i] = value
            else:
                out[i, use] = value
        return out, bad

    return kernel2d


def _block_groups(ev, call: Call) -> list[tuple[np.ndarray, list[np.ndarray], np.ndarray]]:
    """[(block indices, the `within` groups of those blocks as masks over the entities, the
    mask of entities in no group)]. One item for all blocks when the groups are the same in
    every block (an input, or a definition that does not vary with the params sampled);
    otherwise (a computed group that depends on a sampled param) one item per block."""
    every = np.arange(ev.blocks)
    if call.within is None:
        return [(every, [np.ones(ev.entities, dtype=bool)], np.zeros(ev.entities, dtype=bool))]
    if ev.methodology.has(call.within) and ev.methodology.node(call.within).kind == "input":
        first = ev.eval_ref(call.within)  # an input: the same in every block
        first = Val(first.type, first.data[: ev.entities], first.codes[: ev.entities])
        names = group_names(first)[None, :]
    else:
        names = ev.block_rows(group_names(ev.eval_ref(call.within)))
    if len(names) == 1 or (names == names[:1]).all():
        per_block = [(every, names[0])]
    else:
        per_block = [(np.array([b]), names[b]) for b in range(ev.blocks)]
    out = []
    for rows, row_names in per_block:
        codes, uniques = pd.factorize(row_names, use_na_sentinel=True)
        out.append((rows, [codes == k for k in range(len(uniques))], codes < 0))
    return out


def _per_block(ev, values: np.ndarray, compute) -> Val:
    """compute(value) for each distinct per-block value (None for missing), each block taking
    the result computed with its own value."""
    missing = np.isnan(values)
    choices = ([None] if missing.any() else []) + [float(u) for u in np.unique(values[~missing])]
    data = reasons = result = None
    for choice in choices:
        result = compute(choice)
        rows = np.repeat(missing if choice is None else values == choice, ev.entities)
        if data is None:
            data, reasons = result.data.copy(), result.codes.copy()
        else:
            data = np.where(rows, result.data, data)
            reasons = np.where(rows, result.codes, reasons)
    return Val(result.type, data, reasons)


def _reasons(rows: int, reason: int | None, where: np.ndarray | None = None) -> np.ndarray:
    """Per row: `reason`'s code (where `where` holds, or everywhere), else 0."""
    out = no_reasons(rows)
    if reason is not None:
        out[:] = reason if where is None else np.where(where, reason, 0).astype(DTYPE)
    return out


def _per_row(level, rows: np.ndarray) -> np.ndarray:
    """A constant argument (None, a float, or one value per block) for the given blocks."""
    if isinstance(level, np.ndarray):
        return level[rows]
    return np.full(len(rows), np.nan if level is None else float(level))


def _valid_levels(q: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.isfinite(q) & (q >= 0.0) & (q <= 1.0)


def _count_rows(s: np.ndarray, q: np.ndarray, side: str) -> np.ndarray:
    """np.searchsorted(s[r], q[r], side) for every row r: s is (rows × m) ascending without
    NaN, q (rows × k). Exact: each row of s and q is merged by one stable sort."""
    rows, m = s.shape
    k = q.shape[1]
    if m == 0 or k == 0:
        return np.zeros(q.shape, dtype=np.int64)
    # Ties: a value of s equal to a query counts for side "right" (s sorts first), not "left".
    merged = np.concatenate([s, q], axis=1) if side == "right" else np.concatenate([q, s], axis=1)
    order = np.argsort(merged, axis=1, kind="stable")
    is_query = order >= m if side == "right" else order < k
    queries_before = np.cumsum(is_query, axis=1) - is_query
    s_before = np.arange(m + k)[None, :] - queries_before
    column = order[is_query].reshape(rows, k) - (m if side == "right" else 0)
    out = np.empty(q.shape, dtype=np.int64)
    np.put_along_axis(out, column, s_before[is_query].reshape(rows, k), axis=1)
    return out


def _count_at_most_rows(s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """numeric.count_at_most row by row."""
    return _count_rows(s, v + numeric.tolerance(v), "right")


def _count_below_rows(s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """numeric.count_below row by row."""
    return _count_rows(s, v - numeric.tolerance(v), "left")


def _quantile_rows(s: np.ndarray, q: np.ndarray) -> np.ndarray:
    """np.quantile(s[r], q[r], method="linear") for every row r (s ascending, no NaN, m >= 1),
    computed as numpy does it (virtual index, neighbours, its two-sided linear interpolation)."""
    m = s.shape[1]
    virtual = (m - 1) * np.asarray(q, dtype=float)
    previous = np.floor(virtual)
    above = virtual >= m - 1
    below = virtual < 0
    previous = np.where(above, -1.0, np.where(below, 0.0, previous))
    following = np.where(above, -1.0, np.where(below, 0.0, previous + 1))
    gamma = virtual - previous
    a = np.take_along_axis(s, np.where(previous < 0, m - 1, previous).astype(np.int64)[:, None], axis=1)[:, 0]
    b = np.take_along_axis(s, np.where(following < 0, m - 1, following).astype(np.int64)[:, None], axis=1)[:, 0]
    diff = b - a
    with np.errstate(invalid="ignore"):
        out = a + diff * gamma
        return np.where(gamma >= 0.5, b - diff * (1 - gamma), out)

