"""The options several `tierlang` commands share, declared once: --audit, --data, and the output
options (--format and --out), as sqlite-utils' cli.py declares its `output_options`."""

from __future__ import annotations

import click

AUDIT_OPTION = click.option(
    "--audit",
    "audit",
    metavar="DB",
    default=None,
    help="Audit store (default: $TIERLANG_AUDIT or ./tierlang.db).",
)

DATA_OPTION = click.option(
    "--data",
    "data",
    required=True,
    multiple=True,
    metavar="FILE | LEVEL=FILE",
    help="CSV or .xlsx table. A methodology with several entity levels takes one table holding them "
    "all, or one per level: --data top.csv --data service=services.csv (repeatable).",
)


def output_options(*formats: str, default: str | None, help: str | None = None, out: str | None = None):
    """The output options of a command printing a result: `--format` (into `output_format`), one
    of `formats`, `default` when not given (None: the command decides, e.g. from --out's
    extension), and, when `out` is given (its help), `--out FILE` (into `out`)."""

    def decorator(command):
        if out is not None:
            command = click.option("--out", "out", type=click.Path(dir_okay=False), default=None, help=out)(command)
        return click.option(
            "--format",
            "output_format",
            type=click.Choice(list(formats)),
            default=default,
            show_default=default is not None,
            help=help,
        )(command)

    return decorator
