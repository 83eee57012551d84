"""The checker's entry points: check a file, sources from memory or text, and the report of
every diagnostic found (`tierlang check` shows it)."""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import attrs

from dsl import model as M
from dsl import syntax as S
from dsl.checker.checker import _Checker
from dsl.errors import ERROR, Diagnostic, Span, TierError
from dsl.loader import LoadedFile, load_chain


@attrs.frozen
class CheckReport:
    """Everything `tierlang check` shows: the methodology (None if it has errors), every
    diagnostic (errors and warnings), and the source texts to render them."""

    methodology: M.Methodology | None
    diagnostics: tuple[Diagnostic, ...]
    sources: dict[str, str]
    # the file checked, then every file it extends, as parsed (for editors: names and positions)
    files: tuple[LoadedFile, ...] = attrs.field(default=(), eq=False)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if not d.is_error]


def check_file(path: str | Path, text: str | None = None,
               read: Callable[[str], str] | None = None) -> CheckReport:
    """Check the methodology at `path` (or `text` under that name). Extended files are read
    with `read(path)` if given (see `check_sources`), else from disk."""
    return _check(str(path), text, read)


def _check(path: str, text: str | None, read: Callable[[str], str] | None,
           test_data: bool = True) -> CheckReport:
    """`test_data=False`: report nothing about the files `given data` names (they are not
    sources: whether they exist or may be read is a question for the disk)."""
    chain, diagnostics = load_chain(path, text, read)
    sources = {f.path: f.text for f in chain}
    if not chain:
        return CheckReport(None, tuple(sorted(diagnostics, key=Diagnostic.sort_key)), sources, tuple(chain))
    try:
        methodology, found = _Checker(chain, reading_failed=any(d.is_error for d in diagnostics)).run()
    except RecursionError:
        methodology, found = None, [Diagnostic(ERROR, "too-deep", "expressions are nested too deeply to check",
                                               Span.point(chain[0].path, 1, 1),
                                               "split the expression into named definitions.")]
    diagnostics = diagnostics + found
    if not test_data:
        data_spans = {item.span for f in chain for statement in f.module.statements
                      if isinstance(statement, S.TestDecl)
                      for item in statement.items if isinstance(item, S.GivenData)}
        diagnostics = [d for d in diagnostics if d.span not in data_spans]
    ordered = tuple(sorted(_dedupe(diagnostics), key=Diagnostic.sort_key))
    if any(d.is_error for d in ordered):
        methodology = None
    elif methodology is not None:
        methodology = attrs.evolve(methodology, warnings=tuple(d for d in ordered if not d.is_error))
    return CheckReport(methodology, ordered, sources, tuple(chain))


def check_sources(sources: Sequence[tuple[str, str]]) -> CheckReport:
    """Check a methodology given from memory, reading nothing from disk: `sources` is
    (path, text) of the file, then of every file it extends, as `Methodology.sources` and
    the audit store's `methodologies.sources` keep them. An extended file not among them is
    reported as not found. The data files named by `given data` in `test` blocks are not
    sources: nothing is reported about them."""
    if not sources:
        raise ValueError("check_sources needs at least the methodology's own (path, text)")
    texts = {str(p): t for p, t in sources}

    def read(path: str) -> str:
        if path not in texts:
            raise FileNotFoundError(errno.ENOENT, "not among the given sources", path)
        return texts[path]

    path, text = sources[0]
    return _check(str(path), text, read, test_data=False)


def check_source(text: str, path: str = "<string>") -> M.Methodology:
    """Check methodology text; raise TierError with every error found."""
    return _raise_on_errors(check_file(path, text))


def load(path: str | Path) -> M.Methodology:
    """Read, check and return the methodology at `path`; raise TierError with every error."""
    return _raise_on_errors(check_file(path))


def _raise_on_errors(report: CheckReport) -> M.Methodology:
    if report.methodology is None:
        raise TierError(report.diagnostics, report.sources)
    return report.methodology


def _dedupe(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    seen, out = set(), []
    for d in diagnostics:
        key = (d.code, d.message, d.span)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out
