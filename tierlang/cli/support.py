"""What every `tierlang` command shares: turning the errors a user can
cause (bad methodology, bad data, bad request) into messages with a non-zero exit, never a
traceback."""

from __future__ import annotations

import errno
import io
import logging
import os
import sys

import click


def _count(items, word: str) -> str:
    return f"{len(items)} {word}{'s' if len(items) != 1 else ''}"


def fail(message: str, code: int = 1) -> None:
    click.echo(message, err=True)
    sys.exit(code)


def guarded(action):
    """Run `action`, turning the errors users can cause into messages (never tracebacks)."""
    import sqlite3

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
    except sqlite3.OperationalError as error:
        from audit.store import is_read_only

        if is_read_only(error):
            fail("error: the audit store is read-only: nothing was recorded (give a writable "
                 "store with --audit, or --no-audit)")
        fail(f"error: {store_damage(error)}")
    except (sqlite3.DatabaseError, UnicodeDecodeError) as error:  # past open_store's checks
        fail(f"error: {store_damage(error)}")


def store_damage(error: Exception) -> str:
    """What to say of an audit store SQLite (or the text in it) cannot read."""
    return (f"the audit store cannot be read: it is damaged ({error}); nothing was recorded. "
            "`tierlang verify --all` reports what is wrong; restore the store from a copy")


# ---------------------------------------------------------------- output: safe, and its failures reported


class OutputFailed(OSError):
    """Writing to stdout or stderr failed (a full disk, a closed pipe)."""


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
    write the output (stdout to /dev/full, a closed pipe) is a message and exit code 1."""

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
            sys.exit(1)


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
