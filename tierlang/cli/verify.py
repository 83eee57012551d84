"""`tierlang verify` and `tierlang rerun`: proving what an audit store holds, and re-running a
recorded methodology on new data. Registered in tierlang/cli/__init__.py."""

from __future__ import annotations

import click

from dsl.errors import USAGE
from tierlang.cli.options import AUDIT_OPTION, DATA_OPTION, output_options
from tierlang.cli.support import fail, finish, guarded


def digest_line(run_id: int, chain: str | None, records=()) -> str:
    """The one-line digest `tierlang runs --digest` prints and `verify --expect-digest` reads:
    the latest run and its chain hash, then the latest sealed comparison and analysis with
    their seals (audit/seals.py), when the store has any."""
    from audit.integrity import CHAIN_SCHEME

    sealed = "".join(f" {kind} {record_id} {seal}" for kind, record_id, seal in records)
    return f"{CHAIN_SCHEME} run {run_id} {chain or '-'}{sealed}"


def parse_digest(text: str):
    """(run id, chain hash, ((kind, id, seal), ...)) from a digest line:
    `tierlang-chain-v1 run 7 HEX [comparison 3 HEX] [analysis 1 HEX]` (the scheme word may be
    left out)."""
    from audit.integrity import CHAIN_SCHEME
    from audit.seals import KINDS

    words = text.split()
    if words and words[0] == CHAIN_SCHEME:
        words = words[1:]
    records = words[3:]
    triples = [records[i:i + 3] for i in range(0, len(records), 3)]
    if (len(words) >= 3 and words[0] == "run" and words[1].isdigit() and len(words[2]) == 64
            and all(len(t) == 3 and t[0] in KINDS and t[1].isdigit() and len(t[2]) == 64 for t in triples)):
        return int(words[1]), words[2].lower(), tuple((t[0], int(t[1]), t[2].lower()) for t in triples)
    raise click.BadParameter(
        f"expected '{CHAIN_SCHEME} run ID HASH' (what `tierlang runs "
        f"--digest` prints), not {text!r}",
        param_hint="--expect-digest",
    )


def _count(n: int, word: str, plural: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else plural or word + 's'}"


def render_run(result) -> str:
    """The lines verify prints for one run."""
    from tierlang import __version__

    check = result.integrity
    content = "content hash ok" if check.content_ok else "content hash MISMATCH"
    chain = "chain ok" if check.chain_ok else "chain BROKEN"
    values = _count(check.values, "value")
    if result.ok:
        lines = [f"run {result.run_id}: reproduced ({values}, {content}, {chain})"]
    else:
        lines = [f"run {result.run_id}: FAILED ({values}, {content}, {chain})"]
        lines += [f"  {problem}" for problem in check.problems]
        versions = (
            f"recorded with tierlang {result.recorded_version or 'unknown'}, "
            f"re-evaluated with tierlang {__version__}"
        )
        if result.error is not None:
            lines.append(f"  re-evaluation impossible: {result.error} ({versions})")
        elif result.reproduced:
            lines.append("  re-evaluation: every recorded value reproduced")
        else:
            summary = ""
            if result.differences:
                differing = result.differing_values
                summary = (
                    f": {_count(differing, 'value')} differ{'s' if differing == 1 else ''}"
                    f" in {_count(len(result.differences), 'node')}"
                )
            lines.append(f"  re-evaluation: NOT reproduced{summary} ({versions})")
            for d in result.differences:
                lines.append(
                    f"    node {d.node} ({d.kind}): {d.count:,} of "
                    f"{_count(d.entities, 'entity', 'entities')} differ"
                    + ("s" if d.count == 1 else "")
                )
                for key, stored, recomputed in d.examples:
                    lines.append(f"      {key}: stored {stored}, recomputed {recomputed}")
                if d.count > len(d.examples):
                    lines.append(f"      ... and {d.count - len(d.examples):,} more")
            lines += [f"    {other}" for other in result.other_differences]
    lines += [f"  note: {note}" for note in result.notes]
    return "\n".join(lines) + "\n"


@click.command()
@click.argument("runs", nargs=-1, type=int, metavar="[RUN]...")
@click.option("--all", "all_runs", is_flag=True, help="Verify every recorded run.")
@AUDIT_OPTION
@click.option(
    "--expect-digest",
    "expect",
    metavar="DIGEST",
    default=None,
    help="A digest printed earlier by `tierlang runs --digest`: check that the store "
    "still holds that run with that chain hash.",
)
def verify(runs, all_runs, audit, expect) -> None:
    """Re-evaluate recorded RUNs (or --all) from the audit store alone, compare every recorded
    value, and check that no stored row was changed, deleted or inserted (content hashes, the
    chain of runs, SQLite's integrity check). Exit 1 if anything fails."""
    from tierlang import verification

    if bool(runs) == all_runs:
        fail("error: give the runs to verify (e.g. `tierlang verify 3 4`) or --all", USAGE)
    expected = parse_digest(expect) if expect is not None else None
    report = guarded(
        lambda: verification.verify(
            audit, None if all_runs else runs, on_run=lambda r: click.echo(render_run(r), nl=False)
        )
    )
    failed_runs = [r.run_id for r in report.runs if not r.ok]
    problems = list(report.store_problems)
    if expected is not None:
        problems += _digest_problems(expected, report, audit)
    if problems:
        click.echo(f"store: {_count(len(problems), 'problem')}")
        click.echo("".join(f"  {p}\n" for p in problems), nl=False)
    else:
        click.echo("store: integrity ok" + (", digest matches" if expected else ""))
    click.echo("".join(f"  note: {note}\n" for note in report.store_notes), nl=False)
    if report.latest is not None:
        click.echo(f"latest: {digest_line(*report.latest, report.latest_records)}")
    if failed_runs or problems:
        what = []
        if failed_runs:
            what.append(
                f"{len(failed_runs)} of {_count(len(report.runs), 'run')} failed "
                f"({', '.join(map(str, failed_runs))})"
            )
        if problems:
            what.append(_count(len(problems), "store problem"))
        click.echo("FAILED: " + "; ".join(what))
        finish(True)
    click.echo(f"ok: {_count(len(report.runs), 'run')} reproduced, store intact")


def _digest_problems(expected: tuple[int, str], report, audit) -> list[str]:
    """A published digest (run N, chain hash H) holds if run N is still stored with chain hash
    H and the chain up to it is intact (checked when run N is among the runs verified)."""
    from audit import open_store
    from audit.seals import seal_of
    from tierlang import api

    run_id, chain, records = expected
    store = guarded(lambda: open_store(api.audit_path(audit), create=False))
    try:
        row = store.conn.execute("SELECT chain_hash FROM runs WHERE id = ?", (run_id,)).fetchone()
        sealed = [(kind, record_id, seal, seal_of(store.conn, kind, record_id)) for kind, record_id, seal in records]
    finally:
        store.close()
    problems = [
        f"digest: {kind} {record_id} has seal {str(now)[:12]}, the digest says {seal[:12]}: "
        f"{kind} records up to {record_id} were changed or deleted since the digest was taken"
        for kind, record_id, seal, now in sealed if now != seal
    ]
    if problems:
        return problems
    if row is None:
        return [f"digest: run {run_id} is no longer in the store"]
    if row[0] != chain:
        return [
            f"digest: run {run_id} has chain hash {str(row[0])[:12]}, the digest says "
            f"{chain[:12]}: runs up to {run_id} were changed since the digest was taken"
        ]
    verified = {r.run_id for r in report.runs}
    if not set(range(1, run_id + 1)) <= verified:
        return [f"digest: verify runs 1-{run_id} (or --all) to check the chain up to run {run_id}"]
    return []


@click.command()
@click.argument("run_id", metavar="RUN", type=int)
@DATA_OPTION
@AUDIT_OPTION
@output_options("table", "csv", "json", default="table")
@click.option("--encoding", default="utf-8", show_default=True, help="Text encoding of a CSV file.")
@click.option("--sheet", default=None, help="Worksheet of an .xlsx file (default: the first).")
@click.option("--note", default=None, help="Free text recorded with the new run.")
def rerun(run_id, data, audit, output_format, encoding, sheet, note) -> None:
    """Re-run the methodology recorded for RUN (its source from the audit store, not from
    disk) with RUN's params on new --data; record it as a new run linked to RUN."""
    from tierlang import api, verification
    from tierlang.render.run import render_run

    outcome = guarded(
        lambda: verification.rerun(
            run_id, api.data_argument(data), audit=audit, encoding=encoding, sheet=sheet, note=note
        )
    )
    click.echo(render_run(outcome, output_format), nl=False)
    if output_format == "table":
        click.echo(
            f"run {outcome.run_id} re-ran run {run_id}: its recorded methodology and "
            f"params, on {outcome.dataset.path}"
        )


def print_digest(audit: str | None) -> None:
    """`tierlang runs --digest`: the latest run's id and chain hash, one line."""
    from audit import integrity, open_store, seals
    from audit.store import AuditError
    from tierlang import api

    def action():
        store = open_store(api.audit_path(audit), create=False)
        try:
            latest = integrity.latest_digest(store.conn)
            records = seals.latest_seals(store.conn)
        finally:
            store.close()
        if latest is None:
            raise AuditError(f"the audit store {api.audit_path(audit)} has no runs yet")
        return (*latest, records)

    click.echo(digest_line(*guarded(action)))
