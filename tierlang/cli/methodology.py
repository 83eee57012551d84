"""Commands on methodology files that read no data table: `tierlang check`, `fmt`, `test` (the
methodologies' own test blocks, on the data they give) and `lsp` (the language server)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from dsl.errors import METHODOLOGY, OUTPUT
from tierlang.cli.options import output_options
from tierlang.cli.support import FINDING, exit_code, finish, guarded

# ---------------------------------------------------------------- check


def summarise(methodology) -> str:
    counts = {
        "inputs": len(methodology.inputs),
        "params": len(methodology.params),
        "definitions": sum(1 for n in methodology.nodes if n.kind in ("indicator", "domain", "score", "let")),
        "tiers": len(methodology.tiers),
        "tests": len(methodology.tests),
    }
    return ", ".join(f"{n} {name if n != 1 else name[:-1]}" for name, n in counts.items())


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@output_options("text", "json", default="text")
def check(files: tuple[str, ...], output_format: str) -> None:
    """Check methodology FILES without reading any data."""
    import dsl

    failed = False
    reports = []
    for file in files:
        report = dsl.check_file(file)
        failed |= bool(report.errors)
        reports.append((file, report))
    if output_format == "json":
        click.echo(json.dumps([_report_json(file, report) for file, report in reports], indent=2))
    else:
        for file, report in reports:
            _print_report(file, report)
    sys.exit(exit_code(METHODOLOGY) if failed else 0)


def _report_json(file: str, report) -> dict:
    from dsl.errors import diagnostics_json

    entry = {
        "file": file,
        "ok": not report.errors,
        "errors": len(report.errors),
        "warnings": len(report.warnings),
        "diagnostics": json.loads(diagnostics_json(report.diagnostics)),
    }
    if report.methodology is not None:
        m = report.methodology
        entry["summary"] = {
            "name": m.name, "version": m.version, "inputs": len(m.inputs), "params": len(m.params),
            "definitions": sum(1 for n in m.nodes if n.kind in ("indicator", "domain", "score", "let")),
            "tiers": len(m.tiers), "tests": len(m.tests),
        }
    return entry


def _print_report(file: str, report) -> None:
    from dsl.errors import render_all

    if report.diagnostics:
        click.echo(render_all(report.diagnostics, report.sources), err=bool(report.errors))
        click.echo("", err=bool(report.errors))
    if report.errors:
        click.echo(f"{file}: {_count(report.errors, 'error')}, {_count(report.warnings, 'warning')}", err=True)
    else:
        warnings = f" ({_count(report.warnings, 'warning')})" if report.warnings else ""
        click.echo(f"{file}: ok: {summarise(report.methodology)}{warnings}")


def _count(items: list, word: str) -> str:
    return f"{len(items)} {word}{'s' if len(items) != 1 else ''}"


# ---------------------------------------------------------------- fmt


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--check", "check_only", is_flag=True, help="Exit 1 if a file is not canonical; change nothing.")
def fmt(files: tuple[str, ...], check_only: bool) -> None:
    """Rewrite methodology FILES in canonical layout."""
    import dsl
    from dsl.errors import render_all
    from dsl.formatter import FormatError, format_source
    from dsl.loader import read_text, unreadable

    status = 0  # the highest exit code of any file
    for file in files:
        try:
            text = read_text(Path(file))
            formatted = format_source(text, file)
        except (OSError, UnicodeDecodeError) as error:
            click.echo(render_all([unreadable(file, error)], {}), err=True)
            status = max(status, exit_code(METHODOLOGY))
            continue
        except dsl.TierError as error:
            click.echo(render_all(error.diagnostics, error.sources or {file: text}), err=True)
            status = max(status, exit_code(METHODOLOGY))
            continue
        except FormatError as error:
            click.echo(f"{file}: error: cannot format this file: {error}", err=True)
            status = max(status, exit_code(METHODOLOGY))
            continue
        if formatted == text:
            continue
        if check_only:
            click.echo(f"{file}: not canonical (run `tierlang fmt {file}`)", err=True)
            status = max(status, exit_code(FINDING))
        else:
            try:
                Path(file).write_text(formatted, encoding="utf-8")
            except OSError as error:
                click.echo(f"{file}: error: cannot write the file: {error.strerror or error}", err=True)
                status = max(status, exit_code(OUTPUT))
                continue
            click.echo(f"{file}: reformatted")
    sys.exit(status)


# ---------------------------------------------------------------- test


@click.command("test")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("-q", "--quiet", is_flag=True, help="Print failures and the summary only.")
def test_command(files, quiet) -> None:
    """Run the `test` blocks of methodology FILES."""
    from tierlang import testing
    from tierlang.render.testing import render_tests

    outcomes = []
    for file in files:
        outcomes.extend(guarded(lambda file=file: testing.run_file(file)))
    click.echo(render_tests(outcomes, quiet=quiet), nl=False)
    finish(not all(o.passed for o in outcomes))


# ---------------------------------------------------------------- lsp


@click.command()
def lsp() -> None:
    """Run the language server (for editors) over stdin and stdout."""
    from tierlang.cli.support import unescaped
    from tierlang.lsp.server import main as serve  # pygls is imported only for this command

    sys.stdout, sys.stderr = unescaped(sys.stdout), unescaped(sys.stderr)  # a protocol, not text for people
    serve()
