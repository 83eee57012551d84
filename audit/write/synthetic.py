"""Benchmark support: a synthetic RunResult of a given size, and the exact `node_values` rows
`record` inserts for it (what a bare `executemany` floor should insert).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from audit.write.values import value_columns
from dsl import model as M
from dsl import types as T
from interpreter.trace import LimitTrace, NodeTrace, RunResult, TierTrace

# ---------------------------------------------------------------- benchmark support


def value_rows(result: RunResult, run_id: int = 1) -> list[tuple]:
    """The `node_values` rows `AuditStore.record` writes for `result`, as tuples
    (run, entity, node, num, text, bool, missing_reason): what a bare `executemany` baseline
    should insert to compare with `record`."""
    v = value_columns(list(result.traces.values()), result.keys)
    return list(v.rows(run_id))


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

