"""explain(store, entity): one run's nodes, the entity's recorded values, statistics and tier
steps read from the store, built into an Explanation (nothing recomputed)."""

from __future__ import annotations

import re
from typing import Any

from audit import integrity
from audit.analyses import robustness_line
from audit.explain.builder import MEMBER_LIMIT, _Builder
from audit.explain.result import Explanation
from audit.explain.words import entity_kind
from audit.store import (
    AuditError,
    AuditStore,
    NodeInfo,
    RunInfo,
)


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
        raise AuditError(f"run {run.id} recorded no node for {entity_kind(run, entity)} {entity.key}")
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


