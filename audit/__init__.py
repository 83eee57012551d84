"""The audit store: every intermediate value of every entity of every run, in SQLite, so that
"why did this organisation get this tier?" can be answered from the store alone.

    from audit import open_store, explain, render_text
    store = open_store("audit.db")
    run_id = store.record(result, dataset)
    print(render_text(explain(store, "Dorset", run_id)))

See docs/audit.md for the schema and its guarantees.
"""

from audit.explain import Explanation, explain, format_number, render_text, to_json
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
    "render_text",
    "to_json",
]
