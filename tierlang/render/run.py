"""A run as the CLI shows and writes it: the table of entities (a screenful by default), the
tier counts, JSON, CSV, and every value written with --out (.csv, .xlsx, .json)."""

from __future__ import annotations

import json
import shutil
import sys

import numpy as np
import pandas as pd
from rich import box

from dsl.escaping import json_text
from tierlang.render.cells import number as format_number
from tierlang.render.files import atomic_output, frame_csv
from tierlang.render.tables import EscapedTable
from tierlang.render.tables import render as _render
from tierlang.results import headline_score, headline_tier, node_frame

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
    left_out = 0
    if rows is not None and len(table) > rows:
        head = (rows + 1) // 2
        left_out = len(table) - rows
        first, last = stable_order_ends(table["rank"].to_numpy(dtype="float64"), head, rows - head)
        shown = [table.iloc[first], None, table.iloc[last]]
    else:
        shown = [table.sort_values(["rank"], kind="stable", na_position="last")]
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


def stable_order_ends(ranks: np.ndarray, first: int, last: int) -> tuple[np.ndarray, np.ndarray]:
    """The positions of the first `first` and the last `last` rows of the stable sort of
    `ranks` (missing last), in that order, without sorting every row: the rows a screenful
    shows of millions (`tests/test_render.py` checks them against the sort)."""
    key = np.where(np.isnan(ranks), np.inf, ranks)  # a rank is finite: missing sorts last
    n = len(key)
    if first + last >= n:
        order = np.argsort(key, kind="stable")
        return order[:first], order[max(n - last, 0):]
    # the last rows of the stable order, reversed, are the first of the reversed keys' negated
    # (largest first, ties from the end)
    return _stable_first(key, first), (n - 1 - _stable_first(-key[::-1], last))[::-1]


def _stable_first(key: np.ndarray, k: int) -> np.ndarray:
    """The positions of the first k rows of the stable sort of `key`, in that order."""
    if not k:
        return np.zeros(0, dtype=np.int64)
    edge = np.partition(key, k - 1)[k - 1]
    below = np.flatnonzero(key < edge)
    chosen = np.sort(np.concatenate([below, np.flatnonzero(key == edge)[:k - len(below)]]))
    return chosen[np.argsort(key[chosen], kind="stable")]


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
        from tierlang import frames
        from tierlang.render import xlsx

        xlsx.write_workbook(path, [("results", frame), ("counts", frames.run_counts(outcome))],
                            frames.outcome_provenance(outcome))
    elif lower.endswith(".json"):
        data = run_json(outcome)
        data["values"] = json.loads(frame.to_json(orient="records", force_ascii=False))
        with open(path, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, ensure_ascii=False)
    else:
        raise SystemExit(f"error: --out {path}: use a .csv, .xlsx or .json file name")
