"""The audit store: every intermediate value of every entity of every run, in SQLite, so that
"why did this organisation get this tier?" can be answered from the store alone.

    from audit import open_store, explain
    store = open_store("audit.db")
    run_id = store.record(result, dataset)
    why = explain(store, "Dorset", run_id)  # plain data: the derivation tree of each tier
    print(why.headline_node.display)

The store returns results only; tierlang/render/ shows them (text, JSON, CSV, workbooks).
See docs/audit.md for the schema and its guarantees.
"""

from audit.explain import Explanation, explain, format_number
from audit.store import (
    AuditError,
    AuditStore,
    EntityRef,
    LevelInfo,
    NodeInfo,
    RunInfo,
    TierStep,
    open_store,
)

__all__ = [
    "AuditError",
    "AuditStore",
    "EntityRef",
    "Explanation",
    "LevelInfo",
    "NodeInfo",
    "RunInfo",
    "TierStep",
    "explain",
    "format_number",
    "open_store",
]
