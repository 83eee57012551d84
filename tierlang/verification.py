"""Re-evaluating recorded runs from the audit store alone (`tierlang verify`), and re-running a
recorded methodology on new data (`tierlang rerun`).

Orchestration only: `audit` reads the store and recomputes its hashes (audit/integrity.py),
`dsl` checks the recorded methodology sources from memory, `interpreter` evaluates. A run is
*reproduced* when its recorded methodology source, checked again, evaluated on its recorded
inputs (the `input` nodes' values, the entities' keys and labels) with its recorded params,
gives every recorded value, missing reason, population statistic and tier step exactly
(numbers bit for bit). A run with lower levels (entities at several levels) is re-evaluated
with each level's recorded members (keys, labels, parent keys) and inputs, and every lower
level's value and tier step is compared too. Nothing is read from disk but the store; `verify` writes nothing
(opening a store written by an older tierlang migrates it, as every command does).
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs
import numpy as np
import pandas as pd

from audit import integrity, seals
from audit.read.stored import StoredHeader, StoredLevel, StoredRun
from audit.store import AuditError, AuditStore, open_store
from dsl import types as T
from dsl.checker import check_sources
from dsl.errors import TierError
from dsl.model import Methodology
from interpreter import evaluate
from interpreter.levels import LevelInputs
from interpreter.param_errors import ParamError
from interpreter.trace import COLUMN_ABSENT
from tierlang import __version__
from tierlang.api import RunOutcome, UsageError, audit_path, current_user, prepare, read_data
from tierlang.results import summary_table, tier_counts

EXAMPLES = 5  # differing entities shown per node


@attrs.frozen
class NodeDifference:
    """One recorded node whose recomputed values differ from the stored ones."""

    node: str
    kind: str  # the node's kind; "KIND per LEVEL" for a lower level's node
    count: int  # entities that differ
    entities: int  # entities in the run (of the node's level)
    examples: tuple[tuple[str, str, str], ...]  # (entity key, stored, recomputed) as text
    level: str | None = None  # the lower level of the node; None: the top level


@attrs.frozen
class RunVerification:
    run_id: int
    integrity: integrity.RunCheck
    recorded_version: str | None  # tierlang that recorded the run
    error: str | None = None  # the run could not be re-evaluated at all
    differences: tuple[NodeDifference, ...] = ()  # values and missing reasons
    other_differences: tuple[str, ...] = ()  # statistics, tier steps, nodes missing or new
    notes: tuple[str, ...] = ()  # node definitions printed differently (not a failure)

    @property
    def reproduced(self) -> bool:
        return self.error is None and not self.differences and not self.other_differences

    @property
    def ok(self) -> bool:
        return self.reproduced and self.integrity.ok

    @property
    def differing_values(self) -> int:
        return sum(d.count for d in self.differences)


@attrs.frozen
class VerifyReport:
    store_problems: tuple[str, ...]
    runs: tuple[RunVerification, ...]
    latest: tuple[int, str | None] | None  # (id, chain hash) of the store's latest run
    latest_records: tuple = ()  # (kind, id, seal) of the latest sealed comparison, analysis
    store_notes: tuple[str, ...] = ()  # not failures: e.g. records sealed as legacy
    tool_version: str = __version__

    @property
    def ok(self) -> bool:
        return not self.store_problems and all(r.ok for r in self.runs)


# ---------------------------------------------------------------- verify


def verify(
    audit: str | None = None,
    run_ids: Iterable[int] | None = None,
    on_run: Callable[[RunVerification], None] | None = None,
) -> VerifyReport:
    """Check the store (audit/integrity.py) and re-evaluate each of `run_ids` (default: every
    run) from the store alone. `on_run` is called with each run's result as it is found."""
    try:
        store = open_store(audit_path(audit), create=False)
    except AuditError as error:
        if isinstance(error.__cause__, DAMAGE):  # SQLite cannot even open it: that is the report
            return VerifyReport((damaged(error.__cause__),), (), None)
        raise
    try:
        conn = store.conn
        known = set(integrity.run_ids(conn))
        chosen = sorted(known) if run_ids is None else list(dict.fromkeys(run_ids))
        unknown = [r for r in chosen if r not in known]
        if unknown:
            store.run(unknown[0])  # raises AuditError naming the runs recorded
        counts = members = None
        notes: tuple[str, ...] = ()
        try:
            counts = integrity.value_counts(conn)
            members = integrity.member_value_counts(conn)
            record_problems, record_notes = seals.check_records(conn)
            problems = tuple(integrity.store_problems(conn, counts, members)
                             + seals.schema_problems(conn) + record_problems)
            notes = tuple(record_notes)
        except DAMAGE as error:  # a damaged store is reported, run by run as far as it reads
            problems = (damaged(error),)
        results = []
        for run_id in chosen:
            try:
                result = verify_run(store, run_id, counts, members)
            except DAMAGE as error:
                check = integrity.RunCheck(run_id, 0, False, False, (f"cannot be read: {damaged(error)}",))
                result = RunVerification(run_id, check, None, error="its rows cannot be read")
            results.append(result)
            if on_run is not None:
                on_run(result)
        try:
            latest, records = integrity.latest_digest(conn), tuple(seals.latest_seals(conn))
        except DAMAGE:
            latest, records = None, ()
        return VerifyReport(problems, tuple(results), latest, latest_records=records, store_notes=notes)
    finally:
        store.close()


# what SQLite, or decoding the text it holds, raises for a damaged store
DAMAGE = (sqlite3.DatabaseError, UnicodeDecodeError)


def damaged(error: Exception) -> str:
    return f"the store is damaged: {error} (restore it from a copy; `sqlite3 DB .recover` may save rows)"


def verify_run(
    store: AuditStore,
    run_id: int,
    value_counts: dict[int, int] | None = None,
    member_counts: dict[int, int] | None = None,
) -> RunVerification:
    """The store-side checks of one run, and its re-evaluation compared with what is stored.
    `value_counts`, `member_counts`: `audit.integrity.value_counts` and
    `member_value_counts`, if already counted."""
    conn = store.conn
    try:
        body = StoredRun.read(conn, run_id)
        stored_sections = body.sections()
    except (sqlite3.Error, TypeError, ValueError) as error:
        check = integrity.RunCheck(run_id, 0, False, False, (f"cannot be read: {error}",))
        return RunVerification(run_id, check, None, error="its rows cannot be read")
    check = integrity.safe_check_run(
        conn, run_id, integrity.body_digest(stored_sections), value_counts, member_counts
    )
    header = StoredHeader.read(conn, run_id)
    version = header.tool_version
    try:
        methodology = recorded_methodology(header)
        result = _reevaluate(methodology, header, body)
    except _CannotRerun as error:
        return RunVerification(run_id, check, version, error=str(error))
    recomputed = StoredRun.of_result(result)
    new_sections = recomputed.sections()
    if new_sections == stored_sections:
        return RunVerification(run_id, check, version)
    values, others, notes = [], [], []
    if new_sections["values"] != stored_sections["values"] or (
        new_sections["nodes"] != stored_sections["nodes"]
    ):
        found, missing_nodes = _value_differences(body, recomputed)
        values += found
        others += missing_nodes
    if new_sections["entities"] != stored_sections["entities"]:
        others.append("the entities (keys, labels) differ")
    if new_sections["scalars"] != stored_sections["scalars"]:
        others += _scalar_differences(body, recomputed)
    if new_sections["tier_steps"] != stored_sections["tier_steps"]:
        others += _tier_step_differences(body, recomputed)
    if new_sections["nodes"] != stored_sections["nodes"]:
        notes += _node_differences(body, recomputed)
    lower = [s for s in integrity.LOWER_SECTIONS if new_sections.get(s) != stored_sections.get(s)]
    if lower:
        found, other = _lower_differences(body, recomputed, lower)
        values += found
        others += other
        if "node_levels" in lower:
            notes += _node_level_differences(body, recomputed)
    return RunVerification(run_id, check, version, None, tuple(values), tuple(others), tuple(notes))


class _CannotRerun(Exception):
    pass


def recorded_methodology(header: StoredHeader) -> Methodology:
    """The run's methodology, checked again from its recorded source texts (and those of the
    files it extends), reading nothing from disk."""
    if not header.has_methodology:
        raise _CannotRerun(
            f"its methodology {header.methodology_sha256} is not in the store"
        )
    try:
        sources = [(str(p), str(t)) for p, t in json.loads(header.sources)]
    except (TypeError, ValueError):
        raise _CannotRerun("its recorded methodology sources are not readable") from None
    if not sources:
        raise _CannotRerun("its recorded methodology has no source text")
    report = check_sources(sources)
    if report.methodology is None:
        first = report.errors[0] if report.errors else None
        where = f"{first.span.file}:{first.span.line}: " if first and first.span else ""
        what = f"{where}{first.message}" if first else "it does not check"
        raise _CannotRerun(
            f"its recorded methodology no longer checks with tierlang {__version__} "
            f"({len(report.errors)} error{'s' if len(report.errors) != 1 else ''}; {what})"
        )
    return report.methodology


def _reevaluate(methodology: Methodology, header: StoredHeader, body: StoredRun):
    try:
        params = json.loads(header.params)
    except (TypeError, ValueError):
        raise _CannotRerun("its recorded params are not valid JSON") from None
    try:
        frame, labels = recorded_inputs(methodology, header, body)
        members = recorded_members(methodology, body) if methodology.is_multilevel else None
    except (TypeError, ValueError) as error:
        raise _CannotRerun(f"its recorded inputs cannot be read: {error}") from None
    if members is not None:
        try:
            return evaluate(methodology, frame, params=params, labels=labels, members=members)
        except ParamError as error:
            raise _CannotRerun(f"its recorded params are refused: {error}") from None
        except Exception as error:  # noqa: BLE001 - a damaged store must be reported, not crash
            raise _CannotRerun(
                f"re-evaluation failed: {type(error).__name__}: {error}"
            ) from None
    try:
        return evaluate(methodology, frame, params=params, labels=labels)
    except ParamError as error:
        raise _CannotRerun(f"its recorded params are refused: {error}") from None
    except Exception as error:  # noqa: BLE001 - a damaged store must be reported, not crash
        raise _CannotRerun(f"re-evaluation failed: {type(error).__name__}: {error}") from None


def recorded_inputs(
    methodology: Methodology, header: StoredHeader, body: StoredRun
) -> tuple[pd.DataFrame, pd.Series | None]:
    """The inputs as `interpreter.data.prepare_inputs` gave them to the run, rebuilt from the
    recorded `input` nodes' values, and the entities' labels."""
    top = attrs.evolve(body.top, stride=header.values_per_entity)  # as many values as the run row says
    keys = pd.Index([str(k) for k in top.keys], dtype=object, name=methodology.key)
    positions = {
        node.name: node.position
        for node in body.nodes().values()
        if node.kind == "input" and node.position is not None and node.position < top.stride
    }
    columns = {}
    for node in methodology.inputs:
        if node.name not in positions or node.level is not None:
            continue  # not recorded: evaluation sees it missing, and the comparison says so
        columns_read = _read_input(node, top, positions[node.name], keys)
        if columns_read is not None:
            columns[node.name] = columns_read
    frame = pd.DataFrame(columns, index=keys)
    labels = None
    if methodology.label_column:
        labels = pd.Series(top.labels, index=keys, dtype=object, name=methodology.label_column)
    return frame, labels


def _read_input(node, level: StoredLevel, position: int, keys: pd.Index) -> pd.Series | None:
    """One input's recorded values at `level`, typed as `interpreter.data.prepare_inputs` gives
    them; None for an optional input the data lacked (it stays absent)."""
    (num, text, flag), reasons = level.column(position, len(keys))
    if node.optional and len(keys) and all(r == COLUMN_ABSENT for r in reasons):
        return None
    base = node.type.base
    if base == T.NUMBER:
        return pd.Series(np.asarray(num, dtype=np.float64), index=keys)
    if base == T.BOOLEAN:
        return pd.Series(pd.array([None if b is None else bool(b) for b in flag], dtype="boolean"), index=keys)
    if base == T.LEVEL:
        return pd.Series(pd.Categorical(list(text), categories=list(node.type.level.labels), ordered=True), index=keys)
    return pd.Series(list(text), index=keys, dtype=object)


def recorded_members(methodology: Methodology, body: StoredRun) -> dict[str, LevelInputs]:
    """The entities and inputs of every lower level as `interpreter.data.prepare_inputs` gave
    them to the run (`PreparedInputs.members`), rebuilt from the recorded members (keys,
    labels, parent keys) and the recorded values of the level's `input` nodes."""
    stored = body.lower()
    positions = {
        node.name: node.position
        for node in body.nodes().values()
        if node.kind == "input" and node.position is not None
    }
    out = {}
    for level in methodology.lower_levels:
        found = stored.get(level.name)
        if found is None:
            continue  # not recorded: evaluation sees no members, and the comparison says so
        keys = pd.Index(found.keys, dtype=object, name=level.key)
        columns = {}
        for node in methodology.inputs:
            if node.level != level.name or node.name not in positions or not found.holds(positions[node.name]):
                continue
            column = _read_input(node, found, positions[node.name], keys)
            if column is not None:  # an absent optional input stays absent
                columns[node.name] = column
        frame = pd.DataFrame(columns, index=keys)
        labels = None
        if level.label_column:
            labels = pd.Series(found.labels, index=keys, dtype=object, name=level.label_column)
        parent_key = methodology.level(level.parent).key
        parents = pd.Series(found.parents, index=keys, dtype=object, name=parent_key)
        out[level.name] = LevelInputs(frame=frame, labels=labels, parents=parents)
    return out


# ---------------------------------------------------------------- comparing


def show(value: Any, reason: str | None = None) -> str:
    """A value as verify prints it: numbers exactly (shortest text that reads back as the
    same double), labels and texts quoted, missing values with their reason."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"missing ({reason})" if reason else "missing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value + 0.0)
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else repr(value)


def _plain(base: str, column: list[Sequence]) -> list:
    """Values comparable across stored and recomputed rows; a stored cell of a wrong type
    (a damaged store) is kept as it is, so it differs."""
    num, text, flag = column
    if base == T.NUMBER:
        return [_number(v) for v in num]
    if base == T.BOOLEAN:
        return [_flag(v) for v in flag]
    return list(text)


def _number(v: Any) -> Any:
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        f = float(v)
        return None if f != f else f + 0.0
    return v


def _flag(v: Any) -> Any:
    if v is None or (isinstance(v, (bool, int, np.integer, np.bool_)) and v in (0, 1)):
        return None if v is None else bool(v)
    return v


def _value_differences(
    stored: StoredRun, recomputed: StoredRun
) -> tuple[list[NodeDifference], list[str]]:
    old, new = stored.top, recomputed.top
    keys = old.keys
    n = len(keys)
    old_nodes, new_nodes = stored.nodes(), recomputed.nodes()
    differences, others = [], []
    for name, node in old_nodes.items():
        if node.position >= old.stride:
            continue
        there = new_nodes.get(name)
        if there is None or there.position >= new.stride:
            others.append(f"node {name} is recorded but re-evaluation does not produce it")
            continue
        found = _node_difference(node, old, there, new, n, node.kind, None)
        if found is not None:
            differences.append(found)
    for name, node in new_nodes.items():
        if name not in old_nodes and node.position < new.stride:
            others.append(f"node {name} is produced by re-evaluation but not recorded")
    return differences, others


def _node_difference(node, old: StoredLevel, there, new: StoredLevel, n: int, kind: str,
                     level: str | None) -> NodeDifference | None:
    """How one node's values and missing reasons differ between the stored and recomputed rows."""
    old_values, old_reasons = old.column(node.position, n)
    new_values, new_reasons = new.column(there.position, n)
    a, b = _plain(node.base, old_values), _plain(there.base, new_values)
    differ = [i for i in range(n) if a[i] != b[i] or old_reasons[i] != new_reasons[i]]
    if not differ:
        return None
    examples = tuple(
        (str(old.keys[i]), show(a[i], old_reasons[i]), show(b[i], new_reasons[i]))
        for i in differ[:EXAMPLES]
    )
    return NodeDifference(node.name, kind, len(differ), n, examples, level)


def _lower_differences(
    stored: StoredRun, recomputed: StoredRun, sections: list[str]
) -> tuple[list[NodeDifference], list[str]]:
    """What differs in the lower levels: each lower-level node's values and missing reasons
    (per member), the members themselves, the tier steps of the lower levels' tiers."""
    old, new = stored.lower(), recomputed.lower()
    differences: list[NodeDifference] = []
    others: list[str] = []
    old_nodes, new_nodes = stored.nodes(), recomputed.nodes()
    for name in old.keys() - new.keys():
        others.append(f"level {name} is recorded but re-evaluation does not produce it")
    for name in new.keys() - old.keys():
        others.append(f"level {name} is produced by re-evaluation but not recorded")
    for name, a in old.items():
        b = new.get(name)
        if b is None:
            continue
        if (a.keys, a.labels, a.parents) != (b.keys, b.labels, b.parents):
            others.append(f"the {name} entities (keys, labels, parents) differ")
            continue  # values of different members cannot be compared member by member
        n = len(a.keys)
        for node_name, node in old_nodes.items():
            if not a.holds(node.position):
                continue
            there = new_nodes.get(node_name)
            if there is None or not b.holds(there.position):
                others.append(f"node {node_name} is recorded but re-evaluation does not produce it")
                continue
            found = _node_difference(node, a, there, b, n, f"{node.kind} per {name}", name)
            if found is not None:
                differences.append(found)
        for node_name, node in new_nodes.items():
            if node_name not in old_nodes and b.holds(node.position):
                others.append(f"node {node_name} is produced by re-evaluation but not recorded")
    if "member_tier_steps" in sections:
        others += _differing_tier_steps(stored.member_tier_steps(), recomputed.member_tier_steps(),
                                        lambda step: old[step.level].keys if step.level in old else [])
    if "levels" in sections and not others and not differences:
        others.append("the entity levels (key and label columns, parents, sizes) differ")
    return differences, others


def _node_level_differences(stored: StoredRun, recomputed: StoredRun) -> list[str]:
    """Nodes whose recorded level or `over` calls (as printed) differ from re-evaluation's:
    notes, like other definitions printed differently (a moved node also shows in values)."""
    old, new = stored.node_levels(), recomputed.node_levels()
    out = []
    for name, (level, aggregates) in old.items():
        if name in new and new[name] != (level, aggregates):
            fields = [
                field
                for field, a, b in (("level", level, new[name][0]), ("over calls", aggregates, new[name][1]))
                if a != b
            ]
            out.append(
                f"node {name}: recorded {', '.join(fields)} differ from tierlang {__version__}'s"
            )
    return out


def _differing_tier_steps(old: dict, new: dict, keys_of) -> list[str]:
    """One line per tier whose steps differ, naming (some of) the entities: `old` and `new`
    map (tier, position) to a row; `keys_of(row)` gives the keys the position indexes."""
    by_tier: dict[str, list[str]] = {}
    for key in sorted(set(old) | set(new), key=str):
        if old.get(key) != new.get(key):
            tier, position = key
            keys = keys_of(old.get(key) or new.get(key))
            in_range = isinstance(position, int) and 0 <= position < len(keys)
            by_tier.setdefault(str(tier), []).append(str(keys[position]) if in_range else str(position))
    return [
        f"tier steps of {tier}: {len(entities)} "
        f"{'entity differs' if len(entities) == 1 else 'entities differ'} "
        f"({', '.join(entities[:EXAMPLES])}{', ...' if len(entities) > EXAMPLES else ''})"
        for tier, entities in by_tier.items()
    ]


def _scalar_differences(stored: StoredRun, recomputed: StoredRun) -> list[str]:
    old, new = stored.scalars(), recomputed.scalars()
    out = []
    for key in sorted(set(old) | set(new), key=str):
        if old.get(key) != new.get(key):
            node, name = key
            was = _scalar_text(old.get(key))
            now = _scalar_text(new.get(key))
            out.append(f"statistic {node}.{name}: stored {was}, recomputed {now}")
    return out[:20] + ([f"... and {len(out) - 20} more statistics"] if len(out) > 20 else [])


def _scalar_text(entry: tuple | None) -> str:
    if entry is None:
        return "absent"
    value, text = entry
    return show(text) if text is not None else show(value)


def _tier_step_differences(stored: StoredRun, recomputed: StoredRun) -> list[str]:
    keys = stored.top.keys
    return _differing_tier_steps(stored.tier_steps(), recomputed.tier_steps(), lambda _step: keys)


def _node_differences(stored: StoredRun, recomputed: StoredRun) -> list[str]:
    old, new = stored.nodes(), recomputed.nodes()
    out = []
    for name, node in old.items():
        fields = node.differing_fields(new[name]) if name in new else []
        if fields:
            out.append(f"node {name}: recorded {', '.join(fields)} differ from tierlang {__version__}'s")
    return out


# ---------------------------------------------------------------- rerun


def rerun(
    run_id: int,
    data,
    audit: str | None = None,
    encoding: str = "utf-8",
    sheet: str | None = None,
    note: str | None = None,
) -> RunOutcome:
    """Run the methodology recorded for run `run_id` (its source texts from the store, not from
    disk) with that run's params on new `data`, and record it as a new run linked to the old
    (`runs.rerun_of`). `data`: a table, or `tierlang.api.Tables` (one per entity level) for a
    methodology with several levels. Raises AuditError (no such run or store), TierError (the
    recorded methodology no longer checks), DataError, UsageError."""
    path = audit_path(audit)
    store = open_store(path, create=False)
    try:
        info = store.run(run_id)
        header = StoredHeader.read(store.conn, run_id)
        if not header.has_methodology:
            raise AuditError(f"the methodology of run {run_id} is not in the audit store {path}")
        sources = [(str(p), str(t)) for p, t in json.loads(header.sources)]
        report = check_sources(sources)
        if report.methodology is None:
            raise TierError(report.diagnostics, report.sources)
        methodology = report.methodology
        prepared = prepare(methodology, read_data(data, encoding=encoding, sheet=sheet))
        dataset = prepared.dataset
        try:
            result = evaluate(
                methodology,
                prepared.frame,
                params=info.params,
                labels=prepared.labels,
                members=prepared.members,
            )
        except ParamError as error:
            raise UsageError(str(error)) from None
        new_id = store.record(
            result,
            dataset=dataset,
            tool_version=__version__,
            note=note,
            rerun_of=run_id,
            user=current_user(),
        )
    finally:
        store.close()
    return RunOutcome(result, dataset, new_id, path, summary_table(result), tier_counts(result))
