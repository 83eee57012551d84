"""Diagnostics: one error type carrying file, line, column and span, and a renderer.

Rendering follows the compilers users already know:

    stp.tier:12:25: error: unknown name 'ae_scor'
       12 | domain emergency = mean(ae_scor, amb)
          |                         ^^^^^^^
       = help: did you mean 'ae_score'?
"""

from __future__ import annotations

import difflib
import functools
import json
from collections.abc import Iterable

import attrs

ERROR = "error"
WARNING = "warning"


@attrs.frozen
class Span:
    """A region of a source file. Lines and columns are 1-based; end_column is exclusive."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    @classmethod
    def point(cls, file: str, line: int, column: int, width: int = 1) -> Span:
        return cls(file, line, column, line, column + max(width, 1))


@attrs.frozen
class Diagnostic:
    severity: str  # ERROR or WARNING
    code: str  # a stable slug such as "unknown-name", for tools and tests
    message: str
    span: Span | None
    hint: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def sort_key(self) -> tuple:
        s = self.span
        return (s.file, s.line, s.column, self.code) if s else ("", 0, 0, self.code)

    def to_json(self) -> dict:
        s = self.span
        return {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "file": s.file if s else None,
            "line": s.line if s else None,
            "column": s.column if s else None,
            "end_line": s.end_line if s else None,
            "end_column": s.end_column if s else None,
            "hint": self.hint,
            "notes": list(self.notes),
        }


# The stage an error arises in: what the CLI's exit code says (tierlang/cli/support.py,
# docs/cli.md "Exit codes").
USAGE = "usage"  # the request itself: options, names given on the command line
METHODOLOGY = "methodology"  # the methodology text, its params, or a value it cannot take
DATA = "data"  # a data table (or a published table to reconcile with)
AUDIT = "audit"  # the audit store
OUTPUT = "output"  # writing what was asked for: stdout, --out files
STAGES = (USAGE, METHODOLOGY, DATA, AUDIT, OUTPUT)


class TierlangError(Exception):
    """The root of every error tierlang raises for a user to act on (never a bug): its `stage`
    says where it arose, and the CLI turns the stage into an exit code in one place."""

    stage = METHODOLOGY


class TierError(TierlangError):
    """Raised when a methodology (or anything read on its behalf) has errors.

    Carries every diagnostic found, and the source texts needed to render them.
    """

    stage = METHODOLOGY

    def __init__(self, diagnostics: Iterable[Diagnostic], sources: dict[str, str] | None = None):
        self.diagnostics = sorted(diagnostics, key=Diagnostic.sort_key)
        self.sources = dict(sources or {})
        super().__init__(render_all(self.diagnostics, self.sources))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate to a misspelt name, or None."""
    pool = sorted(set(candidates))
    close = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in pool}
        close = [lowered[name.lower()]] if name.lower() in lowered else []
    return close[0] if close else None


@functools.lru_cache(maxsize=16)
def source_lines(text: str) -> tuple[str, ...]:
    """The lines of a source text as the parser numbers them: split at "\n" only (not at the
    other characters str.splitlines breaks at, such as form feeds or U+2028), without the "\r"
    of a CRLF ending. Cached: the checker asks for the lines of one text once per statement."""
    return tuple(line[:-1] if line.endswith("\r") else line for line in text.split("\n"))


# Shown in place of characters that a terminal would act on or hide: control characters and
# the bidirectional controls that can make a line read differently from what it holds. One
# character for one, so that carets stay under the right column.
_INVISIBLE = {code: 0x2400 + code for code in range(0x20)}
_INVISIBLE.update({0x7F: 0x2421, **{code: 0xFFFD for code in range(0x80, 0xA0)}})
_INVISIBLE.update({code: 0xFFFD for code in (0x061C, 0x200B, 0x200E, 0x200F, 0x2028, 0x2029, 0xFEFF,
                                             *range(0x202A, 0x202F), *range(0x2066, 0x206A))})


INVISIBLE_CHARACTERS = _INVISIBLE  # what `visible` replaces, and by what (also dsl/escaping.py)


def visible(text: str) -> str:
    """`text` with control and bidirectional-control characters replaced by visible ones."""
    return text.translate(_INVISIBLE)


SHOWN_LINE = 160  # characters of a longer source line shown around the place a diagnostic is about


def _window(line: str, start: int, width: int) -> tuple[str, str]:
    """The source line to show and its caret line; a line longer than SHOWN_LINE is cut to the
    part around `start` (0-based), with `…` where it was cut."""
    if len(line) <= SHOWN_LINE:
        return line, " " * start + "^" * width
    begin = max(0, min(start - SHOWN_LINE // 3, len(line) - SHOWN_LINE))
    stop = begin + SHOWN_LINE
    before, after = ("…" if begin else ""), ("…" if stop < len(line) else "")
    width = max(1, min(width, stop + 1 - start))
    return before + line[begin:stop] + after, " " * (start - begin + len(before)) + "^" * width


def render(diagnostic: Diagnostic, sources: dict[str, str]) -> str:
    s = diagnostic.span
    if s is None:
        head = f"{diagnostic.severity}: {diagnostic.message}"
        lines = [head]
    else:
        head = f"{s.file}:{s.line}:{s.column}: {diagnostic.severity}: {diagnostic.message}"
        lines = [head]
        text = sources.get(s.file)
        if text is not None:
            lines_of_text = source_lines(text)
            if 1 <= s.line <= len(lines_of_text):
                line_text = visible(lines_of_text[s.line - 1].expandtabs(1))
                gutter = max(4, len(str(s.line)))
                end = s.end_column if s.end_line == s.line else len(line_text) + 1
                width = max(1, min(end, len(line_text) + 1) - s.column)
                shown, caret = _window(line_text, s.column - 1, width)
                lines.append(f"{s.line:>{gutter}} | {shown}")
                lines.append(f"{' ' * gutter} | {caret}")
    for note in diagnostic.notes:
        lines.append(f"     = note: {note}")
    if diagnostic.hint:
        lines.append(f"     = help: {diagnostic.hint}")
    return "\n".join(lines)


def render_all(diagnostics: Iterable[Diagnostic], sources: dict[str, str]) -> str:
    return "\n\n".join(render(d, sources) for d in diagnostics)


def diagnostics_json(diagnostics: Iterable[Diagnostic]) -> str:
    return json.dumps([d.to_json() for d in diagnostics], indent=2)
