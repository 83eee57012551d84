"""`tierlang run` (a methodology over data, recorded), `tierlang runs` (the recorded runs) and
`tierlang explain` (why an entity got its tier, from the audit store alone)."""

from __future__ import annotations

from pathlib import Path

import click

from dsl.errors import OUTPUT, USAGE
from tierlang.cli.options import AUDIT_OPTION, DATA_OPTION, output_options
from tierlang.cli.support import fail, guarded


@click.command()
@click.argument("methodology", type=click.Path(dir_okay=False))
@DATA_OPTION
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Override a param (repeatable).")
@AUDIT_OPTION
@click.option("--no-audit", is_flag=True, help="Do not record the run.")
@output_options("table", "csv", "json", default="table", out="Write results (.csv, .xlsx or .json).")
@click.option("--encoding", default="utf-8", show_default=True, help="Text encoding of a CSV file.")
@click.option("--sheet", default=None, help="Worksheet of an .xlsx file (default: the first).")
@click.option("--level", "level", default=None, metavar="LEVEL",
              help="Show (and write with --out) the entities of this lower entity level and its last tier.")
@click.option("--note", "note", default=None, metavar="TEXT",
              help="Free text recorded with the run (who asked for it, why); shown by `runs` and `report`.")
@click.option("--all", "show_all", is_flag=True,
              help="Show every entity (the table shows a screenful: the first and last by rank).")
def run(methodology, data, params, audit, no_audit, out, output_format, encoding, sheet, level, note,
        show_all) -> None:
    """Run METHODOLOGY over --data, record every value, and print the tiers.

    The table shows a screenful of entities (the first and the last by rank) and the tier
    counts; --all shows every one, --out writes every value of every entity."""
    from tierlang import api
    from tierlang.render import run as report

    def action():
        m = api.load(methodology)
        overrides = api.parse_params(m, params)
        if level is not None:
            api.RunOutcome.check_level(m, level)  # before running: a bad --level must not record a run
        store = None if no_audit else api.audit_path(audit)
        outcome = api.run(m, api.data_argument(data), params=overrides, audit=store, encoding=encoding,
                          sheet=sheet, note=note)
        return outcome.at_level(level)

    if out:
        _check_out_path(out)  # before running: a bad --out must not leave a recorded run behind
    outcome = guarded(action)
    if out:
        try:
            report.write_results(outcome, out)
        except OSError as error:
            recorded = f" (the run was recorded as run {outcome.run_id})" if outcome.run_id is not None else ""
            fail(f"error: --out {out}: cannot write the results: {error.strerror or error}{recorded}", OUTPUT)
    for note in outcome.result.notes:
        click.echo(note, err=True)
    rows = None if show_all else report.screen_rows()
    click.echo(report.render_run(outcome, output_format, rows=rows, out=out), nl=False)
    if out and output_format == "table":
        click.echo(f"results written to {out}")


def _check_out_path(out: str) -> None:
    if not out.lower().endswith((".csv", ".xlsx", ".json")):
        fail(f"error: --out {out}: use a .csv, .xlsx or .json file name", USAGE)
    folder = Path(out).parent
    if not folder.is_dir():
        fail(f"error: --out {out}: there is no folder {folder}", USAGE)


@click.command()
@click.argument("entity")
@click.option("--run", "run_id", type=int, default=None, help="Run id (default: the latest run).")
@AUDIT_OPTION
@output_options("text", "json", default="text",
                out="Also write the explanation: .xlsx (a workbook), .json, else text.")
@click.option("--against", "against", type=int, default=None, metavar="B",
              help="Show ENTITY's derivation in run B side by side, differing nodes marked.")
@click.option("--members", "members", default="20", show_default=True, metavar="N|all",
              help="Members of a lower level listed under each aggregation (`all` for every one).")
@click.option("--depth", "depth", type=click.IntRange(min=0), default=None, metavar="N",
              help="Show N levels of the derivation below each tier (default: all).")
def explain(entity, run_id, audit, output_format, against, members, out, depth) -> None:
    """Explain why ENTITY (key or name) got its tier, from the audit store alone."""
    from tierlang import api
    from tierlang.render.explain import render_text, to_json

    if against is not None:
        from tierlang.diffing import explain_against
        from tierlang.render.explain_diff import render as render_side_by_side

        side = guarded(lambda: explain_against(entity, run_id, against, audit=audit))
        click.echo(render_side_by_side(side, output_format), nl=False)
        return
    if members == "all":
        member_limit = None
    elif members.isdigit():
        member_limit = int(members)
    else:
        fail(f"error: --members {members}: write a number of members, or all", USAGE)
    explanation = guarded(lambda: api.explain(entity, run_id=run_id, audit=audit, member_limit=member_limit))
    if output_format == "json":
        from dsl.escaping import json_text

        click.echo(json_text(to_json(explanation), indent=2))
    else:
        click.echo(render_text(explanation, depth=depth), nl=False)
    if out:
        from tierlang.frames import write_explanation

        try:
            write_explanation(explanation, out)
        except OSError as error:
            fail(f"error: --out {out}: cannot write: {error.strerror or error}", OUTPUT)


@click.command()
@AUDIT_OPTION
@output_options("table", "json", default="table")
@click.option("--digest", is_flag=True,
              help="Print only the latest run id and chain hash, to publish or keep elsewhere (see docs/audit.md).")
def runs(audit, output_format, digest) -> None:
    """List the recorded runs, newest first."""
    from audit import open_store
    from tierlang import api
    from tierlang.render.runs import render_runs

    if digest:
        from tierlang.cli.verify import print_digest

        print_digest(audit)
        return

    def action():
        store = open_store(api.audit_path(audit), create=False)
        try:
            return store.runs()
        finally:
            store.close()

    click.echo(render_runs(guarded(action), output_format), nl=False)
