"""`tierlang reconcile`: a recorded run compared with a published table (audit/reconcile.py).
Registered in tierlang/cli/__init__.py."""

from __future__ import annotations

import json

import click

from dsl.errors import OUTPUT
from tierlang.cli.options import AUDIT_OPTION, output_options
from tierlang.cli.support import FINDING, fail, finish, guarded


@click.command("reconcile")
@click.argument("run")
@click.option("--expected", "expected", required=True, type=click.Path(dir_okay=False),
              help="The published table (.csv, .tsv or .xlsx).")
@click.option("--sheet", default=None, help="The sheet of an .xlsx table (default: the first).")
@click.option("--key", "key_column", required=True, metavar="COLUMN",
              help="The published table's column holding the run's entity keys.")
@click.option("--column", "column", required=True, metavar="COLUMN",
              help="The published column to compare.")
@click.option("--node", default=None, metavar="NAME",
              help="The node to compare (default: the headline tier, the last tier declared).")
@click.option("--tolerance", type=float, default=0.0, show_default=True,
              help="Numeric nodes: the largest difference that still agrees.")
@click.option("--fail-under", "fail_under", type=float, default=None, metavar="RATE",
              help="Exit 1 when the agreement rate (a share, 0..1: 0.8 for 80%) is below RATE.")
@AUDIT_OPTION
@output_options("text", "json", default="text", out="Also write the result: .xlsx (a workbook), .json, else text.")
def reconcile(run, expected, sheet, key_column, column, node, tolerance, fail_under, audit,
              output_format, out) -> None:
    """Compare RUN's headline tier (or --node) with a published table.

    RUN is a run id, or `latest`. Published tier labels match the tier's labels exactly, else
    ignoring case with spaces and underscores equivalent. Entities the published table leaves
    blank are listed and not counted. Exits 0 whatever the agreement, unless --fail-under is
    given and the rate is below it (exit 1); bad inputs exit with their stage's code (docs/cli.md).
    """
    from audit import open_store
    from audit.reconcile import reconcile as compare
    from interpreter.data import read_dataset
    from tierlang import api
    from tierlang.render.reconcile import render_text, to_json

    if run != "latest" and not run.isdigit():
        raise click.BadParameter(f"expected a run id or 'latest', not {run!r}", param_hint="RUN")

    def action():
        published = read_dataset(expected, sheet=sheet, typed=False)
        store = open_store(api.audit_path(audit), create=False)
        try:
            run_id = store.latest_run_id() if run == "latest" else int(run)
            return compare(store, run_id, published, key_column, column, node=node, tolerance=tolerance)
        finally:
            store.close()

    result = guarded(action)
    if output_format == "json":
        click.echo(json.dumps(to_json(result), indent=2))
    else:
        click.echo(render_text(result), nl=False)
    if out:
        _write(result, out, audit)
        if output_format == "text":
            click.echo(f"reconciliation written to {out}")
    if fail_under is not None:
        if result.rate is None:
            fail("--fail-under: nothing was compared, so there is no agreement rate", FINDING)
        if result.rate < fail_under:
            # deliberately not format_number: the agreement rate as reconcile's report shows it
            # (a percentage to one decimal, audit/reconcile.py), and the threshold as it was given
            click.echo(f"agreement {100 * result.rate:.1f}% is below --fail-under {100 * fail_under:g}%", err=True)
            finish(True)


def write_workbook(result, path: str, audit=None) -> None:
    """The reconciliation as an Excel workbook: summary, mismatches, the published x computed
    matrix (tiers), the keys on one side only, and the run's provenance."""
    import pandas as pd

    from audit.tables import reconcile_frame, reconcile_matrix, reconcile_summary
    from tierlang import api, frames
    from tierlang.render import xlsx

    tables = [("summary", reconcile_summary(result)), ("mismatches", reconcile_frame(result))]
    if result.kind == "tier":
        tables.append(("matrix", reconcile_matrix(result)))
    sides = [("only published", k) for k in result.only_published] + [("only in the run", k) for k in result.only_run]
    sides += [("published blank", k) for k in result.blank]
    tables.append(("not compared", pd.DataFrame(sides, columns=["why", "key"])))
    xlsx.write_workbook(path, tables, frames.provenance(frames.recorded_run(api.audit_path(audit), result.run_id)))


def _write(result, path: str, audit) -> None:
    from tierlang.render.reconcile import render_text, to_json

    try:
        if path.lower().endswith(".xlsx"):
            write_workbook(result, path, audit)
        else:
            text = json.dumps(to_json(result), indent=2) + "\n" if path.lower().endswith(".json") else render_text(result)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
    except OSError as error:
        fail(f"error: --out {path}: cannot write: {error.strerror or error}", OUTPUT)
