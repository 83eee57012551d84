"""`tierlang sensitivity`: how robust each tier is to the methodology's own choices
(docs/sensitivity.md). Parses options, calls tierlang.sensitivity.analyse, renders the result."""

from __future__ import annotations

import io
import math
import re
import shutil
import sys

import click

from dsl.escaping import csv_text, json_text
from tierlang.cli.options import AUDIT_OPTION, DATA_OPTION, output_options
from tierlang.cli.support import fail, guarded, unescaped

INDEX_TIER = "~ranked"  # tierlang.sensitivity.INDEX_TIER: the analysis of an index (no tiers)

_DIRICHLET = re.compile(r"\s*dirichlet\s*\(\s*([^()]*?)\s*\)\s*", re.IGNORECASE)


def parse_weights(text: str | None) -> float | None:
    """`dirichlet(100)` -> 100.0."""
    if text is None:
        return None
    match = _DIRICHLET.fullmatch(text)
    try:
        value = float(match.group(1)) if match else float("nan")
    except ValueError:
        value = float("nan")
    if not (math.isfinite(value) and value > 0):
        raise click.BadParameter("write dirichlet(C) with a concentration C above 0, e.g. dirichlet(100)",
                                 param_hint="--weights")
    return value


@click.command("sensitivity")
@click.argument("methodology", type=click.Path(dir_okay=False))
@DATA_OPTION
@click.option("--samples", type=click.IntRange(min=2), default=1000, show_default=True,
              help="Samples of the choices (the uncertainty samples; the sensitivity indices add more "
                   "evaluations, see docs/sensitivity.md).")
@click.option("--seed", type=click.IntRange(min=0), default=None,
              help="Random seed (default: a random one, printed and recorded).")
@click.option("--weights", "weights", metavar="dirichlet(C)", default=None,
              help="Also perturb the weights of every weighted aggregation around their values "
                   "(Dirichlet, concentration C: larger is closer).")
@click.option("--weights-of", "weights_of", metavar="NODE", multiple=True,
              help="With --weights: perturb only the weights of these aggregations (repeatable; "
                   "NODE#2 for a node's second weighted call).")
@click.option("--drop-one", is_flag=True, help="Also re-run with each indicator removed in turn.")
@click.option("--tier", default=None, help="The tier to analyse (default: the last one declared).")
@AUDIT_OPTION
@click.option("--no-audit", is_flag=True, help="Record neither the nominal run nor the analysis.")
@output_options("text", "json", default="text",
                out="Also write the report: .json (JSON), .csv (the per-entity table), .xlsx (a workbook), else text.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@click.option("--encoding", default="utf-8", show_default=True, help="Text encoding of a CSV file.")
@click.option("--sheet", default=None, help="Worksheet of an .xlsx file (default: the first).")
def sensitivity(methodology, data, samples, seed, weights, weights_of, drop_one, tier, audit, no_audit,
                output_format, out, quiet, encoding, sheet) -> None:
    """How robust is each tier? Sample METHODOLOGY's choices (params with a range, and with
    --weights the weights) over --data: tier probabilities and rank intervals per entity, and
    which choice matters most."""
    from tierlang import api
    from tierlang.sensitivity import analyse

    concentration = parse_weights(weights)
    store = None if no_audit else api.audit_path(audit)
    with _progress(quiet) as progress:
        analysis = guarded(lambda: analyse(
            methodology, api.data_argument(data), samples=samples, seed=seed, weights=concentration, drop_one=drop_one,
            tier=tier, audit=store, encoding=encoding, sheet=sheet, progress=progress, weights_of=weights_of))
    text = render_json(analysis) if output_format == "json" else render_text(analysis)
    if out:
        _write(analysis, out)
    click.echo(text, nl=False)
    if out and output_format == "text":
        click.echo(f"report written to {out}")


class _progress:
    """A rich progress bar on stderr while evaluating, unless quiet or stderr is not a terminal."""

    def __init__(self, quiet: bool):
        self.enabled = not quiet and sys.stderr.isatty()
        self.bar = None
        self.task = None

    def __enter__(self):
        if not self.enabled:
            return None
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(TextColumn("evaluating samples"), BarColumn(), MofNCompleteColumn(),
                            TimeRemainingColumn(), console=Console(file=unescaped(sys.stderr)), transient=True)
        self.bar.__enter__()
        return self.update

    def update(self, done: int, total: int) -> None:
        if self.task is None:
            self.task = self.bar.add_task("samples", total=total)
        self.bar.update(self.task, completed=done)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.__exit__(*exc)
        return False


def _write(analysis, path: str) -> None:
    lower = path.lower()
    if lower.endswith(".xlsx"):
        try:
            write_workbook(analysis, path)
        except OSError as e:
            fail(f"error: cannot write {path}: {e.strerror or e}")
        return
    if lower.endswith(".json"):
        text = render_json(analysis)
    elif lower.endswith(".csv"):
        text = render_csv(analysis)
    else:
        text = render_text(analysis)
    try:
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(text)
    except OSError as e:
        fail(f"error: cannot write {path}: {e.strerror or e}")


def write_workbook(analysis, path: str) -> None:
    """The analysis as an Excel workbook: entities, choices, drop-one, and the provenance of the
    nominal run and of the analysis (tierlang/xlsx.py)."""
    from tierlang import frames, xlsx

    tables = [("entities", frames.sensitivity_frame(analysis)), ("choices", frames.choices_frame(analysis))]
    if analysis.drop_one:
        tables.append(("drop one", frames.drop_one_frame(analysis)))
    fields = [("analysis", analysis.analysis_id if analysis.analysis_id is not None else "not recorded"),
              ("tier", analysis.tier), ("score", analysis.score), ("samples", analysis.samples),
              ("seed", analysis.seed), ("evaluations", analysis.evaluations),
              ("stable", analysis.stable_count), ("notes", "; ".join(analysis.notes) or None)]
    xlsx.write_workbook(path, tables, [*fields, *frames.outcome_provenance(analysis.outcome)])


# ---------------------------------------------------------------- text


def _percent(share: float | None) -> str:
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return "-"
    value = 100 * share
    shown = f"{value:.0f}%"
    if shown == "100%" and share < 1:
        return ">99%"
    if shown == "0%" and share > 0:
        return "<1%"
    return shown


def _index(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.3f}"


def _rank(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _table(*headers: tuple[str, str]):
    from rich import box

    from tierlang.report import EscapedTable

    grid = EscapedTable(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for header, justify in headers:
        grid.add_column(header, justify=justify, no_wrap=True)
    return grid


def _render(grid) -> str:
    from rich.console import Console

    buffer = io.StringIO()
    width = shutil.get_terminal_size((200, 24)).columns if sys.stdout.isatty() else 400
    Console(file=buffer, width=width, no_color=True, highlight=False, emoji=False, soft_wrap=False,
            markup=False).print(grid)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"


def render_text(analysis) -> str:
    m = analysis.methodology
    outcome = analysis.outcome
    version = f", version {m.version}" if m.version else ""
    k = len(analysis.choices)
    index = analysis.tier == INDEX_TIER  # no tiers: the index score and its ranks
    subject = f"the index score `{analysis.score}` and its ranks" if index else f"{analysis.tier_title} ({analysis.tier})"
    lines = [
        f"sensitivity of {subject} to {k} choice{'s' if k != 1 else ''}"
        + (" and dropping each indicator" if analysis.drop_one else ""),
        f"{m.name}{version}",
        f"{len(analysis.entities)} entities ({m.entity}) from {outcome.dataset.path}",
    ]
    if analysis.analysis_id is not None:
        lines.append(f"nominal run {outcome.run_id} and analysis {analysis.analysis_id} recorded in "
                     f"{analysis.audit_path}")
    else:
        lines.append("not recorded (--no-audit)")
    if k:
        lines.append(f"{analysis.samples:,} samples, seed {analysis.seed}: {analysis.evaluations:,} evaluations "
                     f"in {analysis.seconds:.2f} s")
    text = "\n".join(lines) + "\n"
    for note in analysis.notes:
        text += f"note: {note}\n"
    if k:
        text += "\nchoices sampled\n"
        grid = _table(("choice", "left"), ("kind", "left"), ("distribution", "left"), ("declared", "left"))
        for c in sorted(analysis.choices, key=lambda c: c.name):
            grid.add_row(c.name, c.kind, c.description, c.declared)
        text += _render(grid)
        text += _entities_text(analysis)
        text += "\noverall\n"
        if not index:
            text += (f"  stable (nominal tier held in >= 90% of samples): {analysis.stable_count} of "
                     f"{len(analysis.entities)} entities ({_percent(analysis.stable_share)})\n")
        shift = analysis.mean_abs_rank_shift
        text += f"  mean absolute rank shift: {'-' if shift is None else f'{shift:.2f}'}\n"
        if index:
            text += (f"\nwhich choice matters most (first-order and total-order sensitivity indices of the "
                     f"score `{analysis.score}`)\n")
            grid = _table(("rank", "right"), ("choice", "left"), ("score: first", "right"),
                          ("score: total", "right"))
            for c in analysis.choices:
                grid.add_row(str(c.rank), c.name, _index(c.first_order), _index(c.total_order))
            text += _render(grid)
        else:
            text += (f"\nwhich choice matters most (first-order and total-order sensitivity indices of the score "
                     f"`{analysis.score}` and of the tier; tier changes when the choice alone varies)\n")
            grid = _table(("rank", "right"), ("choice", "left"), ("score: first", "right"),
                          ("score: total", "right"), ("tier: first", "right"), ("tier: total", "right"),
                          ("tier changes alone", "right"))
            for c in analysis.choices:
                grid.add_row(str(c.rank), c.name, _index(c.first_order), _index(c.total_order),
                             _index(c.first_order_tier), _index(c.total_order_tier), _percent(c.tier_change_share))
            text += _render(grid)
    if analysis.drop_one:
        text += "\ndropping one indicator (weights re-normalised; nominal params)\n"
        grid = _table(("indicator", "left"), ("tier changes", "right"), ("entities", "right"),
                      ("mean abs rank shift", "right"))
        for d in sorted(analysis.drop_one, key=lambda d: (-d.tier_change_share, d.indicator)):
            shift = "-" if d.mean_abs_rank_shift is None else f"{d.mean_abs_rank_shift:.2f}"
            grid.add_row(d.indicator, _percent(d.tier_change_share), str(d.changed), shift)
        text += _render(grid)
    return text


def _entities_text(analysis) -> str:
    m = analysis.methodology
    index = analysis.tier == INDEX_TIER
    text = ("\nper entity (nominal rank order)\n" if index else
            "\nper entity (nominal rank order; held: share of samples with the nominal tier)\n")
    headers = [("rank", "right"), (m.key, "left")]
    if m.label_column:
        headers.append((m.label_column, "left"))
    if index:
        headers += [("score", "right"), ("median rank", "right"), ("90% rank interval", "left"),
                    ("most sensitive to", "left")]
    else:
        headers += [("nominal tier", "left"), ("held", "right"), ("tier probabilities", "left"),
                    ("median rank", "right"), ("90% rank interval", "left"), ("stable", "left"),
                    ("most sensitive to", "left")]
    grid = _table(*headers)
    for e in analysis.entities:
        cells = [_rank(e.nominal_rank), e.key]
        if m.label_column:
            cells.append(e.label or "")
        probabilities = ", ".join(f"{label} {_percent(p)}" for label, p in e.probabilities.items() if p > 0)
        interval = "-" if e.rank_low is None else f"{_rank(e.rank_low)}-{_rank(e.rank_high)}"
        if index:
            score = "-" if e.nominal_score is None else f"{e.nominal_score:.4g}"
            cells += [score, _rank(e.median_rank), interval, e.most_sensitive or "-"]
        else:
            cells += [e.nominal_tier or "-", _percent(e.held), probabilities, _rank(e.median_rank), interval,
                      "yes" if e.stable else "no", e.most_sensitive or "-"]
        grid.add_row(*cells)
    return text + _render(grid)


# ---------------------------------------------------------------- json and csv


def _number(value):
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def to_json(analysis) -> dict:
    m = analysis.methodology
    outcome = analysis.outcome
    return {
        "analysis_id": analysis.analysis_id,
        "run_id": outcome.run_id,
        "audit": analysis.audit_path,
        "methodology": {"name": m.name, "version": m.version, "path": m.path},
        "data": outcome.dataset.path,
        "tier": analysis.tier,
        "score": analysis.score,
        "labels": list(analysis.labels),
        "samples": analysis.samples,
        "base_samples": analysis.base_samples,
        "evaluations": analysis.evaluations,
        "seed": analysis.seed,
        "seconds": round(analysis.seconds, 3),
        "spec": analysis.spec,
        "summary": {
            "entities": len(analysis.entities),
            "stable": analysis.stable_count,
            "stable_share": _number(analysis.stable_share),
            "mean_abs_rank_shift": _number(analysis.mean_abs_rank_shift),
            "most_important": analysis.choices[0].name if analysis.choices else None,
        },
        "choices": [
            {"rank": c.rank, "name": c.name, "kind": c.kind, "distribution": c.description, "declared": c.declared,
             "first_order_index": _number(c.first_order), "total_order_index": _number(c.total_order),
             "first_order_index_tier": _number(c.first_order_tier),
             "total_order_index_tier": _number(c.total_order_tier),
             "tier_change_share": _number(c.tier_change_share)}
            for c in analysis.choices
        ],
        "entities": [
            {"key": e.key, "label": e.label, "nominal_tier": e.nominal_tier, "nominal_rank": e.nominal_rank,
             "nominal_score": _number(e.nominal_score), "probabilities": e.probabilities, "held": e.held,
             "stable": e.stable, "median_rank": _number(e.median_rank),
             "rank_interval": [_number(e.rank_low), _number(e.rank_high)], "most_sensitive": e.most_sensitive}
            for e in analysis.entities
        ],
        "drop_one": [
            {"indicator": d.indicator, "label": d.label, "tier_change_share": d.tier_change_share,
             "changed": d.changed, "mean_abs_rank_shift": _number(d.mean_abs_rank_shift)}
            for d in analysis.drop_one
        ],
        "notes": list(analysis.notes),
    }


def render_json(analysis) -> str:
    return json_text(to_json(analysis), indent=2) + "\n"


def render_csv(analysis) -> str:
    """One row per entity: nominal tier and rank, the probability of each tier, the rank interval."""
    labels = list(analysis.labels) + [analysis.unrated]
    rows = []
    rows.append(["key", "label", "nominal_tier", "nominal_rank", "nominal_score", "held", "stable",
                     *[f"p_{label}" for label in labels], "median_rank", "rank_low", "rank_high",
                     "most_sensitive"])
    for e in analysis.entities:
        rows.append([e.key, e.label or "", e.nominal_tier or "", _blank(e.nominal_rank), _blank(e.nominal_score),
                         e.held, "yes" if e.stable else "no", *[e.probabilities.get(label, 0.0) for label in labels],
                     _blank(e.median_rank), _blank(e.rank_low), _blank(e.rank_high), e.most_sensitive or ""])
    return csv_text(rows)  # cells a spreadsheet would evaluate neutralised (dsl/escaping.py)


def _blank(value) -> str:
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)
