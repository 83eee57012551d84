"""How the CLI shows results: run tables, recorded runs, test outcomes. Pure rendering."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import sys
import tempfile

import pandas as pd
from rich import box
from rich.console import Console
from rich.table import Table

from dsl.escaping import csv_text, json_text, spreadsheet_cell, terminal_text
from dsl.numbers import format_number as shown_number
from tierlang.results import headline_score, headline_tier, node_frame


class EscapedTable(Table):
    """A rich table whose text is made terminal-safe (dsl.escaping.terminal_text) when it is
    added, before rich measures it: a control character's stand-in is one column wide as shown,
    while rich would measure (and drop) the control itself, misaligning the row and losing text.
    The output stream escapes again (cli_support.TerminalSafeStream): escaped text is unchanged."""

    def add_column(self, header="", *args, **options) -> None:
        super().add_column(_escaped(header), *args, **options)

    def add_row(self, *cells, **options) -> None:
        super().add_row(*(_escaped(cell) for cell in cells), **options)


def _escaped(cell):
    return terminal_text(cell) if isinstance(cell, str) else cell


def _width() -> int:
    return shutil.get_terminal_size((120, 24)).columns if sys.stdout.isatty() else 120


def _console(buffer: io.StringIO) -> Console:
    width = _width()
    # markup=False: cells hold keys and labels from the data, shown as written ("[b]x[/b]" is text)
    return Console(file=buffer, width=width, no_color=True, highlight=False, emoji=False, soft_wrap=False,
                   markup=False)


def _render(table: Table) -> str:
    buffer = io.StringIO()
    _console(buffer).print(table)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"


def format_number(value) -> str:
    """A cell of a run table: numbers as every output shows them (dsl.numbers), `-` if none."""
    if value is None or value is pd.NA:
        return "-"
    if isinstance(value, float):
        return shown_number(value, missing="-")
    return str(value)


# ---------------------------------------------------------------- run


@contextlib.contextmanager
def atomic_output(path: str):
    """Write `path` whole or not at all: the caller writes the partial file this gives (beside
    `path`, same folder), which replaces `path` only once written completely. On any failure (a
    full disk, a value the format cannot hold) it is removed and `path` is left as it was."""
    folder, name = os.path.split(os.path.abspath(path))
    fd, partial = tempfile.mkstemp(prefix=f".{name}.", suffix=os.path.splitext(name)[1], dir=folder)
    os.close(fd)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(partial, 0o666 & ~umask)  # as open() would create it, not mkstemp's 0600
        yield partial
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise


def _text_cells(frame: pd.DataFrame, cell) -> pd.DataFrame:
    """`frame` with `cell` applied to every cell of its text columns (object, string or
    categorical: a `text` input is categorical)."""
    texts = [c for c in frame.columns if frame[c].dtype == object or isinstance(frame[c].dtype, pd.CategoricalDtype)
             or pd.api.types.is_string_dtype(frame[c].dtype)]
    if not texts:
        return frame
    out = frame.copy()
    for c in texts:
        out[c] = out[c].astype(object).map(cell, na_action="ignore")
    return out


def frame_csv(frame: pd.DataFrame) -> str:
    """CSV text of a frame as pandas writes it, cells through dsl.escaping.spreadsheet_cell and
    a cell holding a carriage return quoted (dsl.escaping.csv_text), so that it reads back."""
    frame = _text_cells(frame, spreadsheet_cell)
    text = frame.to_csv(index=False, lineterminator="\n")
    if "\r" not in text:
        return text
    # pandas' writer leaves a bare CR unquoted: with CRLF as the row end it quotes it; read
    # back, the rows are written again with "\n" row ends and those cells quoted
    rows = csv.reader(io.StringIO(frame.to_csv(index=False, lineterminator="\r\n"), newline=""))
    return csv_text(rows)


PIPE_ROWS = 20  # entity rows `run` shows when stdout is not a terminal (without --all)


def screen_rows() -> int:
    """How many entity rows fit a screenful with the lines around the table: the terminal's
    height less those lines (at least 10), or PIPE_ROWS when stdout is not a terminal."""
    if not sys.stdout.isatty():
        return PIPE_ROWS
    return max(shutil.get_terminal_size((120, 24)).lines - 12, 10)


def render_run(outcome, output_format: str = "table", rows: int | None = None, out: str | None = None) -> str:
    """The run as text. `table`: at most `rows` entity rows (None: all), the first and the
    last by rank with a line counting the ones left out and saying where they are (`out`,
    the --out file, if any); `csv` and `json` always hold every entity."""
    table = outcome.table
    if output_format == "csv":
        return frame_csv(table)
    if output_format == "json":
        return json_text(run_json(outcome), indent=2) + "\n"
    m = outcome.methodology
    lines = []
    if outcome.run_id is not None:
        lines.append(f"run {outcome.run_id} recorded in {outcome.audit_path}")
    else:
        lines.append("run not recorded (--no-audit)")
    version = f", version {m.version}" if m.version else ""
    lines.append(f"{m.name}{version}")
    entity, key, label_column = _shown_level(outcome)
    lines.append(f"{len(table)} entities ({entity}) from {outcome.dataset.path}")
    if outcome.result.members and outcome.level is None:  # how many entities of each lower level
        counts = ", ".join(f"{len(lower.keys)} {name}{'' if len(lower.keys) == 1 else 's'}"
                           for name, lower in outcome.result.members.items())
        lines.append(f"within them: {counts} (`tierlang explain KEY` shows any of them)")
    text = "\n".join(lines) + "\n\n"
    tier_name = headline_tier(outcome.result, outcome.level) or "tier"
    index_name = headline_score(outcome.result, outcome.level)  # no tier: an index ranked by its score
    grid = EscapedTable(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    grid.add_column("rank", justify="right")
    grid.add_column(key)
    if label_column:
        grid.add_column(label_column)
    within = "within" in table.columns
    if within:
        grid.add_column(m.level(outcome.level).parent)
    has_score = bool(table["score"].notna().any())
    if has_score:
        grid.add_column(index_name or "score", justify="right")
    if index_name is None:
        grid.add_column(tier_name)
    ordered = table.sort_values(["rank"], kind="stable", na_position="last")
    left_out = 0
    if rows is not None and len(ordered) > rows:
        head = (rows + 1) // 2
        left_out = len(ordered) - rows
        shown = [ordered.iloc[:head], None, ordered.iloc[len(ordered) - (rows - head):]]
    else:
        shown = [ordered]
    for part in shown:
        if part is None:
            grid.add_row(*["..."] * len(grid.columns))
            continue
        _add_rows(grid, part, label_column, within, has_score, index_name)
    text += _render(grid)
    if left_out:
        where = f"written to {out}" if out else "use --out FILE or --all"
        text += f"... {left_out:,} more row{'s' if left_out != 1 else ''}: {where}\n"
    text += "\n" + render_counts(outcome) + "\n"
    return text


def _add_rows(grid, rows: pd.DataFrame, label_column, within: bool, has_score: bool, index_name) -> None:
    for row in rows.itertuples(index=False):
        cells = [format_number(row.rank), str(row.key)]
        if label_column:
            cells.append("" if row.label is None or row.label is pd.NA else str(row.label))
        if within:
            cells.append(str(row.within))
        if has_score:
            cells.append(format_number(row.score))
        if index_name is None:
            cells.append("-" if row.tier is None or pd.isna(row.tier) else str(row.tier))
        grid.add_row(*cells)


def _shown_level(outcome) -> tuple[str, str, str | None]:
    """(name, key column, label column) of the level the outcome's table shows."""
    m = outcome.methodology
    if outcome.level is None:
        return m.entity, m.key, m.label_column
    level = m.level(outcome.level)
    return level.name, level.key, level.label_column


def render_counts(outcome) -> str:
    index_name = headline_score(outcome.result, outcome.level)
    if index_name is not None:
        unscored = outcome.table[outcome.table["score"].isna()]
        line = f"no tiers: ranked by {index_name}, highest first; {len(outcome.table) - len(unscored)} ranked"
        if len(unscored):
            names = ", ".join(str(k) for k in unscored["key"].head(20))
            more = f" and {len(unscored) - 20} more" if len(unscored) > 20 else ""
            line += f"\nnot ranked ({len(unscored)}, {index_name} missing): {names}{more} (see `tierlang explain KEY`)"
        return line
    if headline_tier(outcome.result, outcome.level) is None and outcome.result.members:
        return (f"no tier of the {outcome.level or 'top'} level: see `tierlang run --level LEVEL` for the "
                "tiers of another level, `tierlang explain KEY` for any entity")
    tier_name = headline_tier(outcome.result, outcome.level) or "tier"
    counts = ", ".join(f"{label} {n}" for label, n in outcome.counts)
    lines = [f"{tier_name}: {counts}"]
    unrated = outcome.table[outcome.table["tier"].isna()]
    if len(unrated):
        names = ", ".join(str(k) for k in unrated["key"].head(20))
        more = f" and {len(unrated) - 20} more" if len(unrated) > 20 else ""
        lines.append(f"unrated ({len(unrated)}): {names}{more} (see `tierlang explain KEY`)")
    return "\n".join(lines)


def run_json(outcome) -> dict:
    m = outcome.methodology
    entities = []
    for row in outcome.table.itertuples(index=False):
        entities.append({
            "key": row.key,
            "label": None if row.label is None or pd.isna(row.label) else row.label,
            "score": None if pd.isna(row.score) else float(row.score),
            "tier": None if row.tier is None or pd.isna(row.tier) else row.tier,
            "rank": None if pd.isna(row.rank) else int(row.rank),
        })
    return {
        "run_id": outcome.run_id,
        "audit": outcome.audit_path,
        "methodology": {"name": m.name, "version": m.version, "path": m.path},
        "data": outcome.dataset.path,
        **({"level": outcome.level} if outcome.level is not None else {}),
        "tier": headline_tier(outcome.result, outcome.level),
        **({"ranked_by": headline_score(outcome.result, outcome.level)}
           if headline_score(outcome.result, outcome.level) else {}),
        "counts": dict(outcome.counts),
        "entities": entities,
    }


def write_results(outcome, path: str) -> None:
    """Every node's value for every entity (plus score, tier and rank), by file extension."""
    frame = outcome.table.merge(node_frame(outcome.result, outcome.level), left_on="key", right_index=True,
                                how="left", suffixes=("", "_node"))
    lower = path.lower()
    with atomic_output(path) as partial:
        _write_frame(outcome, frame, lower, partial)


def _write_frame(outcome, frame: pd.DataFrame, lower: str, path: str) -> None:
    if lower.endswith(".csv"):
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(frame_csv(frame))
    elif lower.endswith(".xlsx"):
        from tierlang import frames, xlsx

        xlsx.write_workbook(path, [("results", frame), ("counts", frames.run_counts(outcome))],
                            frames.outcome_provenance(outcome))
    elif lower.endswith(".json"):
        data = run_json(outcome)
        data["values"] = json.loads(frame.to_json(orient="records", force_ascii=False))
        with open(path, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, ensure_ascii=False)
    else:
        raise SystemExit(f"error: --out {path}: use a .csv, .xlsx or .json file name")


# ---------------------------------------------------------------- runs


def _get(run, name):
    return run.get(name) if isinstance(run, dict) else getattr(run, name, None)


def render_runs(runs: list, output_format: str = "table") -> str:
    fields = ["id", "started", "methodology_name", "methodology_version", "entity_count", "dataset_path", "status",
              "user", "note"]
    if output_format == "json":
        return json_text([{f: _get(r, f) for f in fields} for r in runs], indent=2) + "\n"
    if not runs:
        return "no runs recorded yet\n"
    if _runs_width() < NARROW:
        return _runs_as_records(runs)
    grid = EscapedTable(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    # the run id and the start are never shrunk away: the other columns wrap or are cut
    id_width = max(len("run"), *(len(str(_get(r, "id"))) for r in runs))
    grid.add_column("run", justify="right", no_wrap=True, min_width=id_width)
    grid.add_column("started (UTC)", no_wrap=True, min_width=19)
    grid.add_column("methodology", ratio=2)
    grid.add_column("entities", justify="right", no_wrap=True)
    grid.add_column("data", overflow="fold", ratio=2)
    grid.add_column("status", no_wrap=True)
    grid.add_column("by", overflow="fold", ratio=1)
    for r in runs:
        version = _get(r, "methodology_version")
        name = f"{_get(r, 'methodology_name')} ({version})" if version else str(_get(r, "methodology_name"))
        by = " ".join(str(x) for x in (_get(r, "user"), _note(_get(r, "note"))) if x) or "-"
        grid.add_row(str(_get(r, "id")), str(_get(r, "started") or "").replace("T", " ")[:19], name,
                     str(_get(r, "entity_count")), str(_get(r, "dataset_path") or "-"), str(_get(r, "status")),
                     by)
    return _render(grid)


NARROW = 100  # below this terminal width, `runs` prints one record per run instead of a table


def _runs_width() -> int:
    """The terminal's width, or $COLUMNS when set (also when the output is not a terminal)."""
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else _width()


def _runs_as_records(runs: list) -> str:
    """One record per run, its id first, nothing cut: for a terminal too narrow for the table."""
    lines = []
    for r in runs:
        version = _get(r, "methodology_version")
        name = f"{_get(r, 'methodology_name')} ({version})" if version else str(_get(r, "methodology_name"))
        started = str(_get(r, "started") or "").replace("T", " ")[:19]
        lines.append(f"run {_get(r, 'id')}  {started}  {_get(r, 'status')}  {_get(r, 'entity_count')} entities")
        lines.append(f"  {name}")
        lines.append(f"  data: {_get(r, 'dataset_path') or '-'}")
        by = " ".join(str(x) for x in (_get(r, "user"), _note(_get(r, "note"))) if x)
        if by:
            lines.append(f"  by: {by}")
    return "\n".join(lines) + "\n"


def _note(note) -> str | None:
    """A run's note as one line, its control characters removed, in parentheses."""
    if not note:
        return None
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in str(note)).split())
    return f"({text})" if text else None


# ---------------------------------------------------------------- tests


def render_tests(outcomes: list, quiet: bool = False) -> str:
    lines = []
    for outcome in outcomes:
        if outcome.passed and not quiet:
            lines.append(f"PASS  {outcome.file}: {outcome.name}")
        elif not outcome.passed:
            lines.append(f"FAIL  {outcome.file}: {outcome.name}")
            for detail in outcome.details:
                lines.extend("      " + line for line in detail.splitlines())
    passed = sum(o.passed for o in outcomes)
    failed = len(outcomes) - passed
    lines.append("")
    lines.append(f"{passed} passed, {failed} failed")
    return "\n".join(lines) + "\n"
