"""The `tierlang` command line. Commands are thin: they parse options, call the public API
(tierlang.api) and print what it returns."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

# dsl, the interpreter and pandas are imported inside the commands that use them, so that
# `--version`, `--help` and completion start at once (benchmarks/startup.py; tests/test_startup.py).
from tierlang import __version__
from tierlang.cli_support import AUDIT_OPTION, DATA_OPTION, TierlangGroup, fail, guarded


@click.group(cls=TierlangGroup, context_settings={"help_option_names": ["-h", "--help"]})
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
    sys.exit(1 if failed else 0)


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


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--check", "check_only", is_flag=True, help="Exit 1 if a file is not canonical; change nothing.")
def fmt(files: tuple[str, ...], check_only: bool) -> None:
    """Rewrite methodology FILES in canonical layout."""
    import dsl
    from dsl.errors import render_all
    from dsl.formatter import FormatError, format_source
    from dsl.loader import read_text, unreadable

    status = 0
    for file in files:
        try:
            text = read_text(Path(file))
            formatted = format_source(text, file)
        except (OSError, UnicodeDecodeError) as error:
            click.echo(render_all([unreadable(file, error)], {}), err=True)
            status = 1
            continue
        except dsl.TierError as error:
            click.echo(render_all(error.diagnostics, error.sources or {file: text}), err=True)
            status = 1
            continue
        except FormatError as error:
            click.echo(f"{file}: error: cannot format this file: {error}", err=True)
            status = 1
            continue
        if formatted == text:
            continue
        if check_only:
            click.echo(f"{file}: not canonical (run `tierlang fmt {file}`)", err=True)
            status = 1
        else:
            try:
                Path(file).write_text(formatted, encoding="utf-8")
            except OSError as error:
                click.echo(f"{file}: error: cannot write the file: {error.strerror or error}", err=True)
                status = 1
                continue
            click.echo(f"{file}: reformatted")
    sys.exit(status)


# ---------------------------------------------------------------- run, explain, runs, test

@main.command()
@click.argument("methodology", type=click.Path(dir_okay=False))
@DATA_OPTION
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Override a param (repeatable).")
@AUDIT_OPTION
@click.option("--no-audit", is_flag=True, help="Do not record the run.")
@click.option("--out", "out", type=click.Path(dir_okay=False), help="Write results (.csv, .xlsx or .json).")
@click.option("--format", "output_format", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True)
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
    from tierlang import api, report

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
            fail(f"error: --out {out}: cannot write the results: {error.strerror or error}{recorded}")
    for note in outcome.result.notes:
        click.echo(note, err=True)
    rows = None if show_all else report.screen_rows()
    click.echo(report.render_run(outcome, output_format, rows=rows, out=out), nl=False)
    if out and output_format == "table":
        click.echo(f"results written to {out}")


def _check_out_path(out: str) -> None:
    if not out.lower().endswith((".csv", ".xlsx", ".json")):
        fail(f"error: --out {out}: use a .csv, .xlsx or .json file name")
    folder = Path(out).parent
    if not folder.is_dir():
        fail(f"error: --out {out}: there is no folder {folder}")


@main.command()
@click.argument("entity")
@click.option("--run", "run_id", type=int, default=None, help="Run id (default: the latest run).")
@AUDIT_OPTION
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--against", "against", type=int, default=None, metavar="B",
              help="Show ENTITY's derivation in run B side by side, differing nodes marked.")
@click.option("--members", "members", default="20", show_default=True, metavar="N|all",
              help="Members of a lower level listed under each aggregation (`all` for every one).")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="Also write the explanation: .xlsx (a workbook), .json, else text.")
@click.option("--depth", "depth", type=click.IntRange(min=0), default=None, metavar="N",
              help="Show N levels of the derivation below each tier (default: all).")
def explain(entity, run_id, audit, output_format, against, members, out, depth) -> None:
    """Explain why ENTITY (key or name) got its tier, from the audit store alone."""
    from audit.explain import render_text, to_json
    from tierlang import api

    if against is not None:
        from tierlang.diffing import explain_against, render_side_by_side

        side = guarded(lambda: explain_against(entity, run_id, against, audit=audit))
        click.echo(render_side_by_side(side, output_format), nl=False)
        return
    if members == "all":
        member_limit = None
    elif members.isdigit():
        member_limit = int(members)
    else:
        fail(f"error: --members {members}: write a number of members, or all")
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
            fail(f"error: --out {out}: cannot write: {error.strerror or error}")


@main.command()
@AUDIT_OPTION
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--digest", is_flag=True,
              help="Print only the latest run id and chain hash, to publish or keep elsewhere (see docs/audit.md).")
def runs(audit, output_format, digest) -> None:
    """List the recorded runs, newest first."""
    from audit import open_store
    from tierlang import api, report

    if digest:
        from tierlang.cli_verify import print_digest

        print_digest(audit)
        return

    def action():
        store = open_store(api.audit_path(audit), create=False)
        try:
            return store.runs()
        finally:
            store.close()

    click.echo(report.render_runs(guarded(action), output_format), nl=False)


@main.command("test")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("-q", "--quiet", is_flag=True, help="Print failures and the summary only.")
def test_command(files, quiet) -> None:
    """Run the `test` blocks of methodology FILES."""
    from tierlang import report, testing

    outcomes = []
    for file in files:
        outcomes.extend(guarded(lambda file=file: testing.run_file(file)))
    click.echo(report.render_tests(outcomes, quiet=quiet), nl=False)
    sys.exit(0 if all(o.passed for o in outcomes) else 1)


# ---------------------------------------------------------------- lsp


@main.command()
def lsp() -> None:
    """Run the language server (for editors) over stdin and stdout."""
    from tierlang.cli_support import unescaped
    from tierlang.lsp.server import main as serve  # pygls is imported only for this command

    sys.stdout, sys.stderr = unescaped(sys.stdout), unescaped(sys.stderr)  # a protocol, not text for people
    serve()


# Commands defined in their own modules register here.
from tierlang.cli_diff import diff  # noqa: E402

main.add_command(diff)
from tierlang.cli_verify import rerun, verify  # noqa: E402

main.add_command(verify)
main.add_command(rerun)
from tierlang.cli_sensitivity import sensitivity  # noqa: E402

main.add_command(sensitivity)
from tierlang.cli_reconcile import reconcile  # noqa: E402

main.add_command(reconcile)
from tierlang.cli_report import report as report_command  # noqa: E402

main.add_command(report_command)

if __name__ == "__main__":  # pragma: no cover
    main()
