"""What every `tierlang` command shares: the --audit option, and turning the errors a user can
cause (bad methodology, bad data, bad request) into messages with a non-zero exit, never a
traceback."""

from __future__ import annotations

import sys

import click


def _count(items, word: str) -> str:
    return f"{len(items)} {word}{'s' if len(items) != 1 else ''}"


AUDIT_OPTION = click.option("--audit", "audit", metavar="DB", default=None,
                            help="Audit store (default: $TIERLANG_AUDIT or ./tierlang.db).")


DATA_OPTION = click.option(
    "--data", "data", required=True, multiple=True, metavar="FILE | LEVEL=FILE",
    help="CSV or .xlsx table. A methodology with several entity levels takes one table holding them "
         "all, or one per level: --data top.csv --data service=services.csv (repeatable).")


def fail(message: str, code: int = 1) -> None:
    click.echo(message, err=True)
    sys.exit(code)


def guarded(action):
    """Run `action`, turning the errors users can cause into messages (never tracebacks)."""
    import dsl
    from audit.store import AuditError
    from dsl.errors import render_all
    from interpreter.errors import DataError, render_data_error
    from interpreter.param_errors import ParamError
    from tierlang.api import UsageError

    try:
        return action()
    except dsl.TierError as error:
        fail(render_all(error.diagnostics, error.sources) + f"\n\n{_count(error.errors, 'error')}: nothing was run.")
    except DataError as error:
        fail(render_data_error(error) + "\n\nnothing was run or recorded.")
    except (UsageError, AuditError, ParamError) as error:  # ParamError: a sampled value, say
        fail(f"error: {error}")


