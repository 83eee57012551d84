"""Reading methodology files and the chain of files they extend.

`extends "base.tier"` is resolved relative to the extending file. The chain is returned root
file first; a cycle or a missing file is a located error.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import attrs

from dsl import syntax as S
from dsl.errors import ERROR, Diagnostic, Span
from dsl.parser import parse_with_recovery

MAX_EXTENDS_DEPTH = 32


@attrs.frozen
class LoadedFile:
    path: str
    text: str
    module: S.Module


def read_text(path: Path) -> str:
    """UTF-8 text of a methodology file (a BOM is accepted). Raises OSError/UnicodeDecodeError."""
    data = path.read_bytes()
    return data.decode("utf-8-sig")


def load_chain(path: str, text: str | None = None,
               read: Callable[[str], str] | None = None) -> tuple[list[LoadedFile], list[Diagnostic]]:
    """Parse `path` (or the given text under that name) and every file it extends.

    `read(path)` gives the text of an extended file (default: read it from disk); it raises
    OSError (e.g. FileNotFoundError) when there is no such file."""
    diagnostics: list[Diagnostic] = []
    chain: list[LoadedFile] = []
    seen: set[Path] = set()
    current_path, current_text, referrer = path, text, None
    while True:
        if current_text is None:
            try:
                current_text = read(current_path) if read is not None else read_text(Path(current_path))
            except (OSError, UnicodeDecodeError) as error:
                diagnostics.append(_unreadable(current_path, error, referrer))
                break
        module, found = parse_with_recovery(current_text, current_path)
        diagnostics.extend(found)
        chain.append(LoadedFile(current_path, current_text, module))
        seen.add(Path(current_path).resolve() if current_path != "<string>" else Path("<string>"))
        base = module.header.extends
        if base is None:
            break
        base_path = str(Path(current_path).parent / base) if current_path != "<string>" else base
        resolved = Path(base_path).resolve()
        span = module.header.extends_span
        if resolved in seen:
            diagnostics.append(Diagnostic(ERROR, "extends-cycle", f"'{base}' is already in the chain of extended files",
                                          span, "remove the `extends` that closes the loop."))
            break
        if len(chain) >= MAX_EXTENDS_DEPTH:
            diagnostics.append(Diagnostic(ERROR, "extends-depth", f"more than {MAX_EXTENDS_DEPTH} files extend each other",
                                          span, "flatten the chain of `extends`."))
            break
        current_path, current_text, referrer = base_path, None, span
    return chain, diagnostics


def _unreadable(path: str, error: Exception, referrer: Span | None) -> Diagnostic:
    if isinstance(error, FileNotFoundError):
        message, hint = f"file not found: {path}", "check the path (relative to the extending file)."
    elif isinstance(error, IsADirectoryError):
        message, hint = f"{path} is a directory, not a methodology file", "name a .tier file."
    elif isinstance(error, UnicodeDecodeError):
        message = f"{path} is not valid UTF-8 (byte {error.start})"
        hint = "save the methodology as UTF-8."
    else:
        message, hint = f"cannot read {path}: {error.strerror or error}", "check the file's permissions."
    return Diagnostic(ERROR, "unreadable-file", message, referrer, hint)
