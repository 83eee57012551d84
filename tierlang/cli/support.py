"""What every `tierlang` command shares: turning the errors a user can
cause (bad methodology, bad data, bad request) into messages with a non-zero exit, never a
traceback, the exit code saying which stage failed (docs/cli.md, "Exit codes")."""

from __future__ import annotations

import errno
import io
import logging
import os
import sys

import click

from dsl.errors import OUTPUT, TierlangError


def _count(items, word: str) -> str:
    return f"{len(items)} {word}{'s' if len(items) != 1 else ''}"


# The one mapping from what happened to the exit code (docs/cli.md, "Exit codes"). Every error
# of tierlang's (dsl.errors.TierlangError) names its stage; click's own usage errors exit 2.
FINDING = "finding"  # the command worked, and its answer is "no": tests failed, verify found damage...
EXIT_CODES = {
    FINDING: 1,
    "usage": 2,
    "methodology": 3,
    "data": 4,
    "audit": 5,
    "output": 6,
}


def exit_code(stage: str) -> int:
    return EXIT_CODES[stage]


def fail(message: str, stage: str) -> None:
    """Print `message` to stderr and exit with the code of `stage` (a key of EXIT_CODES)."""
    click.echo(message, err=True)
    sys.exit(exit_code(stage))


def finish(found: bool) -> None:
    """Exit 0, or with the FINDING code when the command's answer is "no"."""
    sys.exit(exit_code(FINDING) if found else 0)


def guarded(action):
    """Run `action`, turning the errors users can cause into messages (never tracebacks)."""
    import sqlite3

    import dsl
    from dsl.errors import AUDIT, TierlangError, render_all
    from interpreter.errors import DataError, render_data_error

    try:
        return action()
    except dsl.TierError as error:
        fail(render_all(error.diagnostics, error.sources) + f"\n\n{_count(error.errors, 'error')}: nothing was run.",
             error.stage)
    except DataError as error:
        fail(render_data_error(error) + "\n\nnothing was run or recorded.", error.stage)
    except TierlangError as error:  # a bad request, an audit store problem, a param value
        fail(f"error: {error}", error.stage)
    except sqlite3.OperationalError as error:
        from audit.store import is_read_only

        if is_read_only(error):
            fail("error: the audit store is read-only: nothing was recorded (give a writable "
                 "store with --audit, or --no-audit)", AUDIT)
        fail(f"error: {store_damage(error)}", AUDIT)
    except (sqlite3.DatabaseError, UnicodeDecodeError) as error:  # past open_store's checks
        fail(f"error: {store_damage(error)}", AUDIT)


def store_damage(error: Exception) -> str:
    """What to say of an audit store SQLite (or the text in it) cannot read."""
    return (f"the audit store cannot be read: it is damaged ({error}); nothing was recorded. "
            "`tierlang verify --all` reports what is wrong; restore the store from a copy")


# ---------------------------------------------------------------- output: safe, and its failures reported


class OutputFailed(TierlangError, OSError):
    """Writing to stdout or stderr failed (a full disk, a closed pipe)."""

    stage = OUTPUT


class TerminalSafeStream(io.TextIOBase):
    """A text stream writing through `dsl.escaping.terminal_text`: the one place every text a
    command prints (keys, labels, messages, explanations, tables, CSV and JSON) is made safe for
    a terminal, whether or not the stream is one. `unescaped` is the stream underneath, for the
    tool's own terminal control (rich's progress bar)."""

    def __init__(self, unescaped):
        self.unescaped = unescaped

    def write(self, text: str) -> int:
        if not isinstance(text, str):  # click asks whether this is a binary stream by writing b""
            raise TypeError("write() argument must be str")
        from dsl.escaping import terminal_text  # imported on the first write, not at start-up

        shown = terminal_text(text)
        try:
            try:
                self.unescaped.write(shown)
            except UnicodeEncodeError:  # a stream that cannot show the stand-ins (an ASCII locale)
                encoding = self.encoding or "ascii"
                self.unescaped.write(shown.encode(encoding, "backslashreplace").decode(encoding))
        except OSError as error:
            raise OutputFailed(error.errno, error.strerror) from error
        return len(text)

    def flush(self) -> None:
        try:
            self.unescaped.flush()
        except OSError as error:
            raise OutputFailed(error.errno, error.strerror) from error

    def isatty(self) -> bool:
        return self.unescaped.isatty()

    def fileno(self) -> int:
        return self.unescaped.fileno()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self):
        return getattr(self.unescaped, "encoding", None) or "utf-8"

    @property
    def errors(self):
        return getattr(self.unescaped, "errors", None) or "strict"


def unescaped(stream):
    """The stream under a TerminalSafeStream (for the tool's own control sequences)."""
    return getattr(stream, "unescaped", stream)


class TierlangGroup(click.Group):
    """The `tierlang` group: every command prints through TerminalSafeStream, and a failure to
    write the output (stdout to /dev/full, a closed pipe) is a message and the output stage's
    exit code."""

    def invoke(self, ctx):
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = TerminalSafeStream(sys.stdout), TerminalSafeStream(sys.stderr)
        queue = logging.getLogger(WRITE_QUEUE_LOGGER)
        handler = _WaitingHandler()
        queue.addHandler(handler)
        queue.setLevel(logging.INFO)
        try:
            return super().invoke(ctx)
        finally:
            queue.removeHandler(handler)
            sys.stdout, sys.stderr = saved

    def main(self, *args, **kwargs):
        try:
            return super().main(*args, **kwargs)
        except OutputFailed as error:
            _silence_stdout()
            if error.errno != errno.EPIPE:  # a closed pipe: the reader has all it wanted
                try:
                    sys.stderr.write(f"error: cannot write the output: {error.strerror or error}\n")
                    sys.stderr.flush()
                except OSError:
                    pass
            sys.exit(exit_code(error.stage))


WRITE_QUEUE_LOGGER = "tierlang.audit.queue"  # audit.store.begin_write logs each wait here


class _WaitingHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        _waiting(record.getMessage())


def _waiting(message: str) -> None:
    """The progress line of a writer queueing behind others (audit.store.begin_write)."""
    click.echo(message, err=True)


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that Python's final flush does not fail again on exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        pass
