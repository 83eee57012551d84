"""Diagnostics: one error type carrying file, line, column and span, and a renderer.

Rendering follows the compilers users already know:

    stp.tier:12:25: error: unknown name 'ae_scor'
       12 | domain emergency = mean(ae_scor, amb)
          |                         ^^^^^^^
       = help: did you mean 'ae_score'?
"""

from __future__ import annotations

import difflib
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


class TierError(Exception):
    """Raised when a methodology (or anything read on its behalf) has errors.

    Carries every diagnostic found, and the source texts needed to render them.
    """

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
            source_lines = text.splitlines() or [""]
            if 1 <= s.line <= len(source_lines):
                line_text = source_lines[s.line - 1].expandtabs(1)
                gutter = len(str(s.line))
                end = s.end_column if s.end_line == s.line else len(line_text) + 1
                width = max(1, min(end, len(line_text) + 1) - s.column)
                lines.append(f"{' ' * (4 - gutter)}{s.line} | {line_text}")
                lines.append(f"     | {' ' * (s.column - 1)}{'^' * width}")
    for note in diagnostic.notes:
        lines.append(f"     = note: {note}")
    if diagnostic.hint:
        lines.append(f"     = help: {diagnostic.hint}")
    return "\n".join(lines)


def render_all(diagnostics: Iterable[Diagnostic], sources: dict[str, str]) -> str:
    return "\n\n".join(render(d, sources) for d in diagnostics)


def diagnostics_json(diagnostics: Iterable[Diagnostic]) -> str:
    return json.dumps([d.to_json() for d in diagnostics], indent=2)
