"""The `tierlang` command line: the click group `main` (the `tierlang` entry point) and the
commands, one module per group of commands. Commands are thin: they parse options, call the
public API (tierlang.api) and print what it returns."""

from __future__ import annotations

import click

# dsl, the interpreter and pandas are imported inside the commands that use them, so that
# `--version`, `--help` and completion start at once (benchmarks/startup.py; tests/test_startup.py).
from tierlang import __version__
from tierlang.cli import diff, methodology, reconcile, report, run, sensitivity, verify
from tierlang.cli.support import TierlangGroup


@click.group(cls=TierlangGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tierlang")
def main() -> None:
    """Rating methodologies as code, with an audit trail."""


COMMANDS = (
    methodology.check,
    methodology.fmt,
    methodology.test_command,
    methodology.lsp,
    run.run,
    run.explain,
    run.runs,
    diff.diff,
    verify.verify,
    verify.rerun,
    sensitivity.sensitivity,
    reconcile.reconcile,
    report.report,
)
for command in COMMANDS:
    main.add_command(command)
