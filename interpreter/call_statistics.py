"""How a node's statistics are named and typed (NodeTrace.scalars, interpreter.trace.Statistic).

- param and scalar nodes: `value`, the node's value (a plain number, bool or label).
- population functions record what they used (interpreter.functions: `n`, `cut_1`..,
  `mean`, `sd`, `min`, `max`, `low`, `high`, `value`; per `within` group `name[GROUP]`).
  Naming on the node that contains the call(s):
  * exactly one population call in the node: its statistics are unprefixed (`cut_1`,
    `mean[North]`), whether the call is the whole expression or nested in a larger one;
    except in a scalar node whose expression is more than that call, where the call's
    `value` would clash with the node's own `value`: then the rule below applies;
  * otherwise each call's statistics are prefixed by the function name, `quartile.cut_1`,
    `zscore.mean`; when one function is called several times in the node, the calls are
    numbered in evaluation order: `zscore#1.mean`, `zscore#2.mean`.
  A population `count` (count of a single per-entity condition) counts as a population call
  here and records `value` and `n`.
- tier nodes also record rule statistics (interpreter.tiers), typed by `tier_statistics`.
"""

from __future__ import annotations

from collections import Counter

from dsl.model import Call, Node
from interpreter.trace import Statistic, rule_prefix


def call_statistics(calls: list[tuple[Call, dict, bool, dict]], node_is_scalar: bool) -> tuple[dict, list[Statistic]]:
    """The statistics of a node's population calls, named as the module docstring says, and
    typed. `calls`: (call, its statistics, whether it is the node's whole expression, key ->
    (statistic, `within` group) for the keys computed per group), in evaluation order."""
    typed: list[Statistic] = []
    if not calls:
        return {}, typed
    single = len(calls) == 1 and (not node_is_scalar or calls[0][2])
    totals = Counter(call.function for call, _, _, _ in calls)
    seen: Counter = Counter()
    out: dict = {}
    for call, stats, _, groups in calls:
        seen[call.function] += 1
        prefix = None if single else (
            call.function if totals[call.function] == 1 else f"{call.function}#{seen[call.function]}")
        for key, value in stats.items():
            full = key if prefix is None else f"{prefix}.{key}"
            out[full] = value
            name, group = groups.get(key, (key, None))
            base, _, number = name.rpartition("_")  # a series: cut_1, cut_2 (interpreter.functions)
            series = bool(base) and number.isdigit()
            typed.append(Statistic(
                full, name if prefix is None else f"{prefix}.{name}", base if series else name,
                int(number) if series else None, group, call.function, prefix))
    return out, typed


def tier_statistics(node: Node, stats: dict) -> list[Statistic]:
    """The tier rules' statistics (interpreter.tiers), typed."""
    labels = [r.label for r in node.tier.rules]
    out = []
    for i in range(len(labels)):
        prefix = rule_prefix(labels, i)
        for name in ("threshold", "count", "edge"):
            key = f"{prefix}.{name}"
            if key in stats:
                out.append(Statistic(key, key, name, rule=prefix))
    if "n" in stats:
        out.append(Statistic("n", "n", "n"))
    return out
