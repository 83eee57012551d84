"""`tierlang diff`: what a new methodology version changes, for whom, and why.

    outcome = diff_files("old.tier", "new.tier", "data.csv", audit="tierlang.db")
    outcome = diff_runs(3, 4, audit="tierlang.db")
    print(tierlang.render.diff.render(outcome, "text"))

Orchestration only: `dsl.diff` compares the two checked methodologies, the interpreter runs
both on the same data, the audit store records both runs, and `audit.compare` reads the two
recorded runs back to compare outcomes and attribute each mover's change. The comparison is
recorded in the store (`comparisons`), linked to both runs.
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path, PurePath

import attrs

import dsl
from audit.compare import Comparison, compare, record_comparison
from audit.store import AuditStore, is_read_only, open_store
from dsl.diff import StructuralDiff, diff
from dsl.errors import did_you_mean
from dsl.model import Methodology
from tierlang import __version__, api
from tierlang.render.structural import to_json as structural_json


@attrs.frozen
class DiffOutcome:
    kind: str  # "methodologies" (two files run for the diff) or "runs" (two recorded runs)
    structural: StructuralDiff | None  # None when a recorded methodology no longer checks
    structural_note: str | None  # why there is no structural diff
    comparison: Comparison
    comparison_id: int | None  # None: not recorded (diff --runs on a read-only store)
    audit_path: str

    @property
    def frame(self):
        """The movers as a DataFrame indexed by key: old and new tier (ordered Categoricals),
        move, scores, ranks, attribution (tierlang.frames)."""
        from tierlang.frames import diff_frame

        return diff_frame(self.comparison)

    @property
    def transitions(self):
        """Old tier (rows) x new tier (columns): entities."""
        from tierlang.frames import transitions_frame

        return transitions_frame(self.comparison)

    def __repr__(self) -> str:
        c = self.comparison
        from tierlang.render.diff import _title

        return (f"<DiffOutcome comparison {self.comparison_id}: run {c.old.id} {_title(c.old)} → run {c.new.id} "
                f"{_title(c.new)}, {c.common} entities, {c.moved} moved ({c.up} up, {c.down} down)>")

    def _repr_html_(self) -> str:
        import html

        return (f"<p>{html.escape(repr(self)[1:-1])}</p>" + self.transitions.to_html()
                + self.frame.to_html(max_rows=20))


# ---------------------------------------------------------------- two files, one dataset


def split_params(old: Methodology, new: Methodology, assignments) -> tuple[dict, dict]:
    """`--param NAME=VALUE` applies to each methodology that declares NAME; a name neither
    declares is an error."""
    old_names = {p.name for p in old.params}
    new_names = {p.name for p in new.params}
    for_old, for_new = [], []
    for assignment in assignments:
        name = assignment.partition("=")[0].strip()
        if name and name not in old_names and name not in new_names:
            known = sorted(old_names | new_names)
            suggestion = did_you_mean(name, known)
            hint = f"; did you mean '{suggestion}'?" if suggestion else f" (params: {', '.join(known) or 'none'})"
            raise api.UsageError(f"--param {name}: neither methodology has such a param{hint}")
        if name in old_names:
            for_old.append(assignment)
        if name in new_names:
            for_new.append(assignment)
        if not name:
            api.parse_params(old, [assignment])  # raises the usual message
    return api.parse_params(old, for_old), api.parse_params(new, for_new)


def diff_files(old_path, new_path, data, params=(), audit=None, encoding: str = "utf-8",
               sheet: str | None = None) -> DiffOutcome:
    """Check both methodologies (paths, or checked Methodology objects), run both on `data`
    (read once), record both runs and the comparison in the audit store, and compare them."""
    old = old_path if isinstance(old_path, Methodology) else api.load(old_path)
    new = new_path if isinstance(new_path, Methodology) else api.load(new_path)
    old_params, new_params = split_params(old, new, params)
    dataset = api.read_data(data, encoding=encoding, sheet=sheet)
    structural = diff(old, new)
    old_outcome = api.run(old, _tables_for(old, new, dataset), params=old_params)
    new_outcome = api.run(new, _tables_for(new, old, dataset), params=new_params)
    path = api.audit_path(audit)
    store = open_store(path)
    try:
        old_id = store.record(old_outcome.result, dataset=old_outcome.dataset, tool_version=__version__,
                              note="tierlang diff: old", user=api.current_user())
        new_id = store.record(new_outcome.result, dataset=new_outcome.dataset, tool_version=__version__,
                              note="tierlang diff: new", user=api.current_user())
        return _compare(store, path, "methodologies", old_id, new_id, structural, None, False)
    finally:
        store.close()


def _tables_for(methodology: Methodology, other: Methodology, data):
    """The tables `methodology` reads of the data both are run on: a table named for a level
    only the other methodology declares (a level NEW adds) is left out; any other table is
    kept, so that a misnamed one is still reported."""
    if not isinstance(data, api.Tables):
        return data
    own = {lv.name for lv in methodology.lower_levels}
    theirs = {lv.name for lv in other.lower_levels}
    levels = {name: table for name, table in data.levels.items() if name in own or name not in theirs}
    return api.Tables(data.main, levels) if levels else data.main


# ---------------------------------------------------------------- two recorded runs


def diff_runs(old_run: int, new_run: int, audit=None, allow_different_entities: bool = False) -> DiffOutcome:
    """Compare two recorded runs. Their methodologies are re-checked from the sources stored
    with the runs (checking, not evaluating) for the structural diff."""
    path = api.audit_path(audit)
    store = open_store(path, create=False)
    try:
        store.run(old_run), store.run(new_run)  # clear errors for unknown runs first
        old, old_note = methodology_of_run(store, old_run)
        new, new_note = methodology_of_run(store, new_run)
        structural = diff(old, new) if old is not None and new is not None else None
        note = old_note or new_note
        return _compare(store, path, "runs", old_run, new_run, structural, note, allow_different_entities)
    finally:
        store.close()


def methodology_of_run(store: AuditStore, run_id: int) -> tuple[Methodology | None, str | None]:
    """The run's methodology, re-checked from the source texts stored with it; (None, why) when
    they no longer check (a newer tierlang that rejects them, say)."""
    row = store.methodology(store.run(run_id).methodology_sha256)
    sources = [(str(p), t) for p, t in row["sources"]]
    root_path, root_text = sources[0]
    texts = [t for _, t in sources]
    if len(sources) == 1:
        report = dsl.check_file(root_path, root_text)
    else:
        report = dsl.check_file(root_path, root_text)  # the files it extends may be unchanged on disk
        if report.methodology is None or [t for _, t in report.methodology.sources] != texts:
            report = _check_in_temporary_directory(sources)
    if report.methodology is None:
        first = report.errors[0].message if report.errors else "unknown error"
        return None, f"the methodology of run {run_id} no longer checks ({first}): no structural diff"
    return report.methodology, None


def _check_in_temporary_directory(sources: list[tuple[str, str]]):
    """Check a chain of files from the stored texts, laid out as they were recorded."""
    ups = max(sum(1 for part in PurePath(p).parts if part == "..") for p, _ in sources)
    with tempfile.TemporaryDirectory(prefix="tierlang-diff-") as tmp:
        base = Path(tmp).joinpath(*(["d"] * ups)) if ups else Path(tmp)
        placed = []
        for path, text in sources:
            relative = PurePath(path)
            if relative.is_absolute():
                relative = relative.relative_to(relative.anchor)
            target = base / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            placed.append((str(target), path))
        report = dsl.check_file(placed[0][0], sources[0][1])
    if report.methodology is None:
        return report
    mapping = dict(placed)
    m = report.methodology
    relocated = attrs.evolve(m, path=mapping.get(m.path, m.path),
                             sources=tuple((mapping.get(p, p), t) for p, t in m.sources))
    return attrs.evolve(report, methodology=relocated)


# ---------------------------------------------------------------- comparing and recording


def _compare(store: AuditStore, path: str, kind: str, old_id: int, new_id: int,
             structural: StructuralDiff | None, note: str | None, allow: bool) -> DiffOutcome:
    comparison = compare(store, old_id, new_id, structural=structural, allow_different_entities=allow)
    try:
        comparison_id = record_comparison(
            store, comparison, structural_json(structural) if structural is not None else None, kind,
            tool_version=__version__)
    except sqlite3.OperationalError as error:
        if kind != "runs" or not is_read_only(error):
            raise
        comparison_id = None  # two recorded runs compared on a read-only store: shown, not recorded
    return DiffOutcome(kind, structural, note, comparison, comparison_id, path)


# ---------------------------------------------------------------- explain --against


def explain_against(entity: str, run_a: int | None, run_b: int, audit=None):
    """ENTITY's derivation in run A (default: the latest run) and run B, side by side."""
    from audit.explain_diff import explain_against as side_by_side

    store = open_store(api.audit_path(audit), create=False)
    try:
        a = store.latest_run_id() if run_a is None else run_a
        return side_by_side(store, entity, a, run_b)
    finally:
        store.close()
