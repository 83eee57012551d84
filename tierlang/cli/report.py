"""`tierlang report`: a recorded run as one self-contained HTML file (tierlang/html_report.py).
Registered in tierlang/cli/__init__.py."""

from __future__ import annotations

from pathlib import Path

import click

from dsl.errors import OUTPUT, USAGE
from tierlang.cli.options import AUDIT_OPTION
from tierlang.cli.support import fail, guarded


@click.command("report")
@click.argument("run", required=False, default="latest")
@click.option(
    "--against",
    "against",
    type=int,
    default=None,
    metavar="RUN2",
    help="Also compare with run RUN2 (RUN old, RUN2 new): transition matrix, movers, attribution.",
)
@click.option(
    "--sensitivity",
    "sensitivity",
    type=int,
    default=None,
    metavar="ANALYSIS",
    help="Also show a recorded sensitivity analysis of RUN (tier probabilities, rank intervals).",
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False),
    metavar="FILE.html",
    help="The HTML file to write.",
)
@click.option(
    "--note",
    "note",
    default=None,
    metavar="TEXT",
    help="Free text shown in the report's provenance.",
)
@click.option(
    "--entities",
    "entities",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help="Sections for the first N entities in rank order only (default: every entity, at most 500).",
)
@click.option(
    "--entity",
    "only",
    multiple=True,
    metavar="KEY",
    help="A section for this entity only (key or name; repeatable): an account of one organisation.",
)
@AUDIT_OPTION
def report(run, against, sensitivity, out, note, entities, only, audit) -> None:
    """Write a report of RUN (a run id, or `latest`) as one offline HTML file: the methodology,
    tiers, ranking, each entity's derivation and contributions, and the provenance, all read
    from the audit store. Print it from a browser for a PDF."""
    from tierlang import html_report

    if run != "latest" and not run.isdigit():
        raise click.BadParameter(f"expected a run id or 'latest', not {run!r}", param_hint="RUN")
    if not out.lower().endswith((".html", ".htm")):
        fail(f"error: --out {out}: use a .html file name", USAGE)
    if not Path(out).parent.is_dir():
        fail(f"error: --out {out}: there is no folder {Path(out).parent}", USAGE)
    if only and entities is not None:
        fail("error: give --entity KEY or --entities N, not both", USAGE)
    data = guarded(
        lambda: html_report.gather(
            None if run == "latest" else int(run),
            against=against,
            sensitivity=sensitivity,
            audit=audit,
            note=note,
            entities=entities,
            only=only,
        )
    )
    try:
        size = html_report.write(data, out)
    except OSError as error:
        fail(f"error: --out {out}: cannot write the report: {error.strerror or error}", OUTPUT)
    extra = "".join(
        [
            f", against run {against}" if against is not None else "",
            f", sensitivity analysis {sensitivity}" if sensitivity is not None else "",
        ]
    )
    click.echo(f"report of run {data.run.id}{extra} written to {out} ({size:,} bytes)")
