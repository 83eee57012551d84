"""`tierlang sensitivity`: how robust each tier is to the methodology's own choices
(docs/sensitivity.md). Parses options, calls
tierlang.sensitivity.analyse, renders the result (tierlang.render.sensitivity)."""

from __future__ import annotations

import math
import re
import sys

import click

from dsl.errors import OUTPUT
from tierlang.cli.options import AUDIT_OPTION, DATA_OPTION, output_options
from tierlang.cli.support import fail, guarded, unescaped

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
    from tierlang.render import sensitivity as rendered
    from tierlang.sensitivity import analyse

    concentration = parse_weights(weights)
    store = None if no_audit else api.audit_path(audit)
    with _progress(quiet) as progress:
        analysis = guarded(lambda: analyse(
            methodology, api.data_argument(data), samples=samples, seed=seed, weights=concentration, drop_one=drop_one,
            tier=tier, audit=store, encoding=encoding, sheet=sheet, progress=progress, weights_of=weights_of))
    text = rendered.render(analysis, output_format)
    if out:
        try:
            rendered.write(analysis, out)
        except OSError as e:
            fail(f"error: cannot write {out}: {e.strerror or e}", OUTPUT)
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
