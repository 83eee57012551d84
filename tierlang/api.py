"""The small public Python API: load a methodology, run it over a table, explain a tier.

    import tierlang
    m = tierlang.load("methodologies/stp_dashboard_2017.tier")
    data = tierlang.Tables("examples/stp_2017/stp_2017.csv",      # one table per entity level
                           {"organisation": "examples/stp_2017/organisations.csv"})
    outcome = tierlang.run(m, data, audit="tierlang.db")
    outcome.frame            # DataFrame indexed by key: label, score, tier (ordered Categorical), rank
    print(tierlang.explain("Dorset", audit="tierlang.db").text)
    tierlang.diff(old, new, data).frame          # the movers, with attribution (tierlang.diffing)
    tierlang.sensitivity_analysis(m, data, samples=1000).frame   # tier probabilities, rank intervals
    tierlang.reconcile("latest", "published.csv", key="code", column="rating").frame
    tierlang.values("overall")                   # any node's recorded values, indexed by key
    tierlang.write_report("report.html", against=2)    # the HTML report of the latest run

Orchestration lives here: dsl checks, interpreter evaluates, audit records. Nothing is
written to the audit store unless the whole run succeeded.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import attrs
import pandas as pd

import dsl
from dsl.errors import USAGE, TierlangError, did_you_mean
from dsl.model import Methodology
from dsl.numbers import parse_number
from interpreter import evaluate
from interpreter.data import (
    Dataset,
    PreparedInputs,
    dataset_from_frame,
    prepare_inputs,
    read_dataset,
)
from interpreter.param_errors import ParamError
from interpreter.trace import RunResult
from tierlang import __version__
from tierlang.results import summary_table, tier_counts

DEFAULT_AUDIT = "tierlang.db"


class UsageError(TierlangError):
    """A bad request from the user (unknown param, bad value...): shown as one message."""

    stage = USAGE


@attrs.frozen
class RunOutcome:
    result: RunResult
    dataset: Dataset
    run_id: int | None  # None when not recorded
    audit_path: str | None
    table: pd.DataFrame  # one row per entity: key, label, score, tier, rank
    counts: list[tuple[str, int]]  # per tier label, best first, then unrated
    level: str | None = None  # the entity level `table` and `counts` show (None: the top level)

    @property
    def methodology(self) -> Methodology:
        return self.result.methodology

    @property
    def frame(self) -> pd.DataFrame:
        """The table indexed by key, its tier an ordered Categorical (worst first, as declared)."""
        from tierlang.frames import run_table

        return run_table(self)

    @property
    def values(self) -> pd.DataFrame:
        """Every node's value per entity, one column per node, indexed by key."""
        from tierlang.frames import run_values

        return run_values(self)

    def __repr__(self) -> str:
        m = self.methodology
        version = f" ({m.version})" if m.version else ""
        recorded = f"run {self.run_id}" if self.run_id is not None else "run not recorded"
        counts = ", ".join(f"{label} {n}" for label, n in self.counts)
        entity = self.level or m.entity
        return f"<RunOutcome {recorded}: {m.name}{version}, {len(self.table)} {entity}; {counts}>"

    def _repr_html_(self) -> str:
        import html

        return f"<p>{html.escape(repr(self)[1:-1])}</p>" + self.frame.to_html(max_rows=20)

    @staticmethod
    def check_level(methodology: Methodology, level: str) -> None:
        """UsageError unless `level` names one of the methodology's entity levels."""
        names = [lv.name for lv in methodology.levels] or [methodology.entity]
        if level not in names:
            suggestion = did_you_mean(level, names)
            raise UsageError(f"--level {level}: no such entity level" + (
                f"; did you mean '{suggestion}'?" if suggestion else f" (levels: {', '.join(names)})"))

    def at_level(self, level: str | None) -> RunOutcome:
        """The same run, its table and counts showing the entities of a lower level (by name;
        None or the top level's name: the top level)."""
        m = self.methodology
        if level is None and self.level is None:
            return self  # already the top level's table and counts
        if level is None or level == m.entity:
            return attrs.evolve(self, table=summary_table(self.result), counts=tier_counts(self.result), level=None)
        self.check_level(m, level)
        return attrs.evolve(self, table=summary_table(self.result, level), counts=tier_counts(self.result, level),
                            level=level)


def audit_path(explicit: str | None = None) -> str:
    """The audit store to use: explicit, else $TIERLANG_AUDIT, else ./tierlang.db."""
    return explicit or os.environ.get("TIERLANG_AUDIT") or DEFAULT_AUDIT


def current_user() -> str | None:
    """Who is running tierlang, as recorded with each run: the login name from the environment
    ($LOGNAME, $USER, $LNAME, $USERNAME, else the password database), control characters
    removed, at most 200 characters; None when it cannot be told."""
    import getpass

    try:
        name = getpass.getuser()
    except (OSError, KeyError, ImportError):  # no such variable and no password entry
        return None
    name = "".join(ch for ch in str(name) if ch.isprintable()).strip()[:200]
    return name or None


def load(path: str | Path) -> Methodology:
    """Read and check a methodology file; raises dsl.TierError listing every problem."""
    return dsl.load(path)


@attrs.frozen
class Tables:
    """The data of a methodology with several entity levels given as several tables: the
    unnamed one (or None) and one per named level (docs/language.md, "Entities at several
    levels"). Each is a path, a DataFrame or a Dataset; once read, each is a Dataset."""

    main: object | None
    levels: dict[str, object]


_LEVEL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def data_argument(values: str | tuple[str, ...] | list[str]):
    """The data named by the CLI's (repeatable) `--data`: `FILE` for one table, plus
    `LEVEL=FILE` for the table of a lower entity level. A value is read as LEVEL=FILE when the
    part before `=` is a name and the whole value is not an existing file."""
    if isinstance(values, str):
        values = (values,)
    main, levels = None, {}
    for value in values:
        name, sep, path = value.partition("=")
        if sep and path and _LEVEL_NAME.fullmatch(name) and not os.path.exists(value):
            if name in levels:
                raise UsageError(f"--data {name}=...: the table of level '{name}' is given twice")
            levels[name] = path
        elif main is not None:
            raise UsageError(f"--data {value}: give one table, plus one for each lower entity level as "
                             "--data LEVEL=FILE")
        else:
            main = value
    return Tables(main, levels) if levels else main


def read_data(data, encoding: str = "utf-8", sheet: str | None = None, typed: bool = True) -> Dataset | Tables:
    """Read a path, DataFrame or Dataset into a Dataset (each table of `Tables` likewise, read
    as text: the tables of several levels are read cell by cell). `typed`: numbers read as
    floats where they can be (interpreter.data.read_dataset); False for a table read as text
    anyway (a published table to reconcile)."""
    if isinstance(data, Tables):
        return Tables(None if data.main is None else read_data(data.main, encoding, sheet, typed=False),
                      {level: read_data(table, encoding, sheet, typed=False) for level, table in data.levels.items()})
    if isinstance(data, Dataset):
        return data
    if isinstance(data, pd.DataFrame):
        return dataset_from_frame(data)
    return read_dataset(str(data), encoding=encoding, sheet=sheet, typed=typed)


def prepare(methodology: Methodology, data: Dataset | Tables) -> PreparedInputs:
    """Check read data against a methodology: every input typed, of every level."""
    if isinstance(data, Tables):
        return prepare_inputs(methodology, data.main, data.levels)
    return prepare_inputs(methodology, data)


def parse_params(methodology: Methodology, assignments: list[str] | tuple[str, ...]) -> dict:
    """`["w=45%", "strict=true"]` → typed values, checked against the methodology's params."""
    params = {p.name: p for p in methodology.params}
    values: dict = {}
    for assignment in assignments:
        name, sep, text = assignment.partition("=")
        name, text = name.strip(), text.strip()
        if not sep or not name:
            raise UsageError(f"--param {assignment!r}: write NAME=VALUE, e.g. --param weight=45%")
        if name not in params:
            suggestion = did_you_mean(name, params)
            known = ", ".join(params) or "none"
            raise UsageError(f"--param {name}: no such param"
                             + (f"; did you mean '{suggestion}'?" if suggestion else f" (params: {known})"))
        values[name] = _parse_value(params[name], text)
    return values


def _parse_value(param, text: str):
    base = param.type.base
    if base == "number":
        try:
            return parse_number(text)
        except ValueError:
            raise UsageError(f"--param {param.name}={text}: not a number (write e.g. 0.45 or 45%)") from None
    if base == "boolean":
        lowered = text.lower()
        if lowered in ("true", "yes", "1"):
            return True
        if lowered in ("false", "no", "0"):
            return False
        raise UsageError(f"--param {param.name}={text}: write true or false")
    if base == "level":
        labels = param.type.level.labels
        if text not in labels:
            suggestion = did_you_mean(text, labels)
            raise UsageError(f"--param {param.name}={text}: not a label of {param.type.level.name}"
                             + (f"; did you mean '{suggestion}'?" if suggestion else f" ({', '.join(labels)})"))
        return text
    return text


def run(methodology: Methodology | str | Path, data, params: dict | None = None, audit=None,
        encoding: str = "utf-8", sheet: str | None = None, note: str | None = None) -> RunOutcome:
    """Evaluate a methodology over a table (or `Tables`, one per entity level); record the run
    if `audit` names a store.

    Raises dsl.TierError (methodology), interpreter DataError (data), UsageError (params).
    Nothing is recorded unless evaluation succeeded, and a recording is all or nothing.
    """
    if not isinstance(methodology, Methodology):
        methodology = load(methodology)
    prepared = prepare(methodology, read_data(data, encoding=encoding, sheet=sheet))
    dataset = prepared.dataset
    try:
        result = evaluate(methodology, prepared.frame, params=params or {}, labels=prepared.labels,
                          members=prepared.members)
    except ParamError as error:
        raise UsageError(str(error)) from None
    run_id, path = None, None
    if audit is not None:
        from audit import open_store

        path = str(audit)
        store = open_store(path)
        try:
            run_id = store.record(result, dataset=dataset, tool_version=__version__, note=note,
                                  user=current_user())
        finally:
            store.close()
    return RunOutcome(result, dataset, run_id, path, summary_table(result), tier_counts(result))


def explain(entity: str, run_id: int | None = None, audit=None, member_limit: int | None = 20):
    """The derivation of an entity's tier, read from the audit store alone. An entity with
    members at a lower level lists at most `member_limit` of them under each aggregation
    (None: all)."""
    from audit import open_store
    from audit.explain import explain as explain_entity
    from tierlang.render.explain import ExplainedEntity

    store = open_store(audit_path(audit), create=False)
    try:
        return ExplainedEntity.of(explain_entity(store, entity, run_id, member_limit=member_limit))
    finally:
        store.close()


def values(node: str, run_id: int | None = None, audit=None) -> pd.Series:
    """A node's recorded values for every entity of a run (the latest by default), indexed by
    key; tiers and other level types as ordered Categoricals (worst first), read from the
    audit store alone."""
    from audit import open_store

    store = open_store(audit_path(audit), create=False)
    try:
        return store.values(store.latest_run_id() if run_id is None else run_id, node)
    finally:
        store.close()


def diff(old, new, data, params=(), audit=None, encoding: str = "utf-8", sheet: str | None = None):
    """Run methodologies OLD and NEW on `data`, record both runs and their comparison, and
    return it (tierlang.diffing.DiffOutcome: `.frame` the movers, `.transitions`)."""
    from tierlang.diffing import diff_files

    return diff_files(old, new, data, params=params, audit=audit, encoding=encoding, sheet=sheet)


def diff_runs(old_run: int, new_run: int, audit=None, allow_different_entities: bool = False):
    """Compare two recorded runs (tierlang.diffing.DiffOutcome)."""
    from tierlang.diffing import diff_runs as compare_runs

    return compare_runs(old_run, new_run, audit=audit, allow_different_entities=allow_different_entities)


def sensitivity_analysis(methodology, data, samples: int = 1000, seed: int | None = None, weights: float | None = None,
                drop_one: bool = False, tier: str | None = None, audit=None, **options):
    """How robust each tier is to the methodology's own choices (tierlang.sensitivity.Analysis:
    `.frame` per entity, `.choices_frame`); recorded in `audit` if given."""
    from tierlang.sensitivity import analyse

    return analyse(methodology, data, samples=samples, seed=seed, weights=weights, drop_one=drop_one, tier=tier,
                   audit=audit, **options)


def reconcile(run_id: int | str, expected, key: str, column: str, node: str | None = None,
              tolerance: float = 0.0, audit=None, sheet: str | None = None):
    """A recorded run (an id, or "latest") against a published table (a path or a DataFrame):
    audit.reconcile.Reconciliation, `.frame` the mismatches, `.rate` the agreement."""
    from audit import open_store
    from audit.reconcile import reconcile as compare
    from tierlang.render.reconcile import ReconciledRun

    published = read_data(expected, sheet=sheet, typed=False)
    store = open_store(audit_path(audit), create=False)
    try:
        run = store.latest_run_id() if run_id == "latest" else int(run_id)
        return ReconciledRun.of(compare(store, run, published, key, column, node=node, tolerance=tolerance))
    finally:
        store.close()


def write_report(out: str | Path, run_id: int | None = None, against: int | None = None, sensitivity: int | None = None,
           audit=None, note: str | None = None, entities: int | None = None) -> Path:
    """Write the HTML report of a recorded run (the latest by default) to `out`, as
    `tierlang report` does; returns the path."""
    from tierlang import html_report

    data = html_report.gather(run_id, against=against, sensitivity=sensitivity, audit=audit, note=note,
                              entities=entities)
    html_report.write(data, str(out))
    return Path(out)
