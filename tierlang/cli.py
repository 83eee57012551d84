"""The `tierlang` command line. Commands are thin: they parse options, call the public API
(tierlang.api) and print what it returns."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

import dsl
from dsl.errors import Diagnostic, diagnostics_json, render_all

from tierlang import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tierlang")
def main() -> None:
    """Rating methodologies as code, with an audit trail."""


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


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def check(files: tuple[str, ...], output_format: str) -> None:
    """Check methodology FILES without reading any data."""
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
    sys.exit(1 if failed else 0)


def _report_json(file: str, report) -> dict:
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
    if report.diagnostics:
        click.echo(render_all(report.diagnostics, report.sources), err=bool(report.errors))
        click.echo("", err=bool(report.errors))
    if report.errors:
        click.echo(f"{file}: {_count(report.errors, 'error')}, {_count(report.warnings, 'warning')}", err=True)
    else:
        warnings = f" ({_count(report.warnings, 'warning')})" if report.warnings else ""
        click.echo(f"{file}: ok: {summarise(report.methodology)}{warnings}")


def _count(items: list[Diagnostic], word: str) -> str:
    return f"{len(items)} {word}{'s' if len(items) != 1 else ''}"


# ---------------------------------------------------------------- fmt


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--check", "check_only", is_flag=True, help="Exit 1 if a file is not canonical; change nothing.")
def fmt(files: tuple[str, ...], check_only: bool) -> None:
    """Rewrite methodology FILES in canonical layout."""
    from dsl.formatter import format_source

    status = 0
    for file in files:
        text = Path(file).read_text(encoding="utf-8-sig")
        try:
            formatted = format_source(text, file)
        except dsl.TierError as error:
            click.echo(render_all(error.diagnostics, error.sources or {file: text}), err=True)
            status = 1
            continue
        if formatted == text:
            continue
        if check_only:
            click.echo(f"{file}: not canonical (run `tierlang fmt {file}`)", err=True)
            status = 1
        else:
            Path(file).write_text(formatted, encoding="utf-8")
            click.echo(f"{file}: reformatted")
    sys.exit(status)


if __name__ == "__main__":  # pragma: no cover
    main()
