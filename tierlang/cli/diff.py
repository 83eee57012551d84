"""`tierlang diff`: the click command. Parses options, calls tierlang.diffing, renders (tierlang.render.diff)."""

from __future__ import annotations

from pathlib import Path

import click

from dsl.errors import OUTPUT, USAGE
from tierlang.cli.options import AUDIT_OPTION, output_options
from tierlang.cli.support import fail, guarded

_FORMATS = {".json": "json", ".csv": "csv"}


@click.command()
@click.argument("methodologies", nargs=-1, type=click.Path(dir_okay=False), metavar="[OLD NEW]")
@click.option("--data", "data", multiple=True, metavar="FILE | LEVEL=FILE",
              help="CSV or .xlsx table both run on (one more per lower entity level: LEVEL=FILE).")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="Override a param in each methodology that has it (repeatable).")
@click.option("--runs", "runs", nargs=2, type=int, default=None, metavar="A B",
              help="Compare two recorded runs (A old, B new) instead of two files.")
@click.option("--allow-different-entities", is_flag=True,
              help="With --runs: compare runs on different entity sets (lists those in one only).")
@AUDIT_OPTION
@output_options("text", "json", "csv", default=None,
                help="text (default), json (stable, docs/diff.md) or csv (the movers table).",
                out="Write the output to FILE (format from its extension unless --format; .xlsx: a workbook).")
@click.option("--encoding", default="utf-8", show_default=True, help="Text encoding of a CSV file.")
@click.option("--sheet", default=None, help="Worksheet of an .xlsx file (default: the first).")
def diff(methodologies, data, params, runs, allow_different_entities, audit, output_format, out,
         encoding, sheet) -> None:
    """What methodology NEW changes against OLD, for whom, and why.

    Runs OLD and NEW on the same --data, records both runs and the comparison in the audit
    store, and prints the structural changes, the tier transition matrix, rank correlations and
    the movers with the changes their moves come from. With --runs A B, compares two recorded
    runs instead.
    """
    from tierlang import api, diffing
    from tierlang.render import diff as rendered

    if runs is not None:
        if methodologies or data or params:
            fail("error: give either OLD NEW --data PATH, or --runs A B (not both)", USAGE)
        action = lambda: diffing.diff_runs(  # noqa: E731
            runs[0], runs[1], audit=audit, allow_different_entities=allow_different_entities)
    else:
        if len(methodologies) != 2:
            fail("error: give two methodology files, OLD NEW (or --runs A B)", USAGE)
        if not data:
            fail("error: --data PATH is required to run OLD and NEW (or compare recorded runs with --runs A B)", USAGE)
        if allow_different_entities:
            fail("error: --allow-different-entities applies to --runs A B only", USAGE)
        action = lambda: diffing.diff_files(  # noqa: E731
            methodologies[0], methodologies[1], api.data_argument(data), params=params, audit=audit, encoding=encoding,
            sheet=sheet)
    if output_format is None:
        output_format = _FORMATS.get(Path(out).suffix.lower(), "text") if out else "text"
    outcome = guarded(action)
    if out and out.lower().endswith(".xlsx"):
        try:
            rendered.write_workbook(outcome, out)
        except OSError as error:
            fail(f"error: --out {out}: cannot write the workbook: {error.strerror or error}", OUTPUT)
        click.echo(f"comparison {outcome.comparison_id} (xlsx) written to {out}")
        return
    text = rendered.render(outcome, output_format)
    if out:
        Path(out).write_text(text, encoding="utf-8")
        click.echo(f"comparison {outcome.comparison_id} ({output_format}) written to {out}")
    else:
        click.echo(text, nl=False)
