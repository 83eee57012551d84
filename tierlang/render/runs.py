"""The recorded runs as `tierlang runs` shows them: a table, one record per run on a narrow
terminal, or JSON."""

from __future__ import annotations

import os

from rich import box

from dsl.escaping import json_text
from tierlang.render.tables import EscapedTable
from tierlang.render.tables import render as _render
from tierlang.render.tables import width as _width


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
