"""Reading methodology files and the chain of files they extend.

`extends "base.tier"` is resolved relative to the extending file and must name a file inside
the methodology's root folder (dsl.paths); when there is no such file and the extending file
declares `library "FOLDER"`, the base is looked for in that folder, under the same rule. The chain is returned root file first; a cycle, a
missing file or a path the rule refuses is a located error.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import attrs

from dsl import syntax as S
from dsl.errors import ERROR, Diagnostic, Span
from dsl.parser import MAX_SOURCE_BYTES, parse_with_recovery
from dsl.paths import (
    FileTooLarge,
    NotARegularFile,
    PathRefused,
    methodology_root,
    read_regular_file,
    resolve_reference,
    written_target,
)

MAX_EXTENDS_DEPTH = 32


@attrs.frozen
class LoadedFile:
    path: str
    text: str
    module: S.Module


# bytes read of a methodology file at most: the parser's character limit, at 4 bytes a character
MAX_FILE_BYTES = 4 * MAX_SOURCE_BYTES


def read_text(path: Path) -> str:
    """UTF-8 text of a methodology file (a BOM is accepted), its line ends as the parser reads
    them (`normalise_line_ends`). A FIFO, a device or a file over MAX_FILE_BYTES is refused
    before it is read whole (dsl.paths.read_regular_file). Raises OSError/UnicodeDecodeError."""
    data = read_regular_file(path, MAX_FILE_BYTES)
    return normalise_line_ends(data.decode("utf-8-sig"))


def normalise_line_ends(text: str) -> str:
    """A carriage return not followed by a newline (old Mac line ends, or a stray one) is a line
    end: it becomes a newline, so that a `#` comment ends where the editor shows the line end
    (instead of swallowing the rest of the file). One character for one: every position stays
    true. A CRLF is left as it is (the parser reads it as one line end)."""
    return _LONE_CR.sub("\n", text) if "\r" in text else text


_LONE_CR = re.compile(r"\r(?!\n)")


def load_chain(path: str, text: str | None = None,
               read: Callable[[str], str] | None = None) -> tuple[list[LoadedFile], list[Diagnostic]]:
    """Parse `path` (or the given text under that name) and every file it extends.

    `read(path)` gives the text of an extended file (default: read it from disk); it raises
    OSError (e.g. FileNotFoundError) when there is no such file."""
    diagnostics: list[Diagnostic] = []
    chain: list[LoadedFile] = []
    seen: set[Path] = set()
    current_path, current_text, referrer = path, text, None
    root = methodology_root(path) if read is None else None
    while True:
        if current_text is None:
            try:
                current_text = read(current_path) if read is not None else read_text(Path(current_path))
            except (OSError, UnicodeDecodeError) as error:
                diagnostics.append(_unreadable(current_path, error, referrer))
                break
        current_text = normalise_line_ends(current_text)
        module, found = parse_with_recovery(current_text, current_path)
        diagnostics.extend(found)
        chain.append(LoadedFile(current_path, current_text, module))
        seen.add(Path(os.path.realpath(current_path)) if current_path != "<string>" else Path("<string>"))
        base = module.header.extends
        if base is None:
            break
        span = module.header.extends_span
        try:
            if read is None:  # from disk: only inside the methodology's root folder
                base_path = str(resolve_reference(current_path, base, root))
                library = module.header.library
                if library is not None and not os.path.lexists(base_path):
                    span = module.header.library_span or span
                    base_path = _from_library(current_path, library, base, root)
            else:
                base_path = str(written_target(current_path, base))
            resolved = Path(os.path.realpath(base_path))  # Path.resolve raises on a symbolic link loop
        except (PathRefused, ValueError) as refused:
            code = getattr(refused, "code", "bad-path")
            message = getattr(refused, "message", str(refused))
            hint = getattr(refused, "hint", "check the path.")
            diagnostics.append(Diagnostic(ERROR, code, f"extends: {message}", span, hint))
            break
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


def _from_library(current_path: str, library: str, base: str, root: Path) -> str:
    """`extends BASE` not found beside the file: BASE in the declared `library "FOLDER"`
    (relative to the file). The folder and the base both fall under the root rule."""
    try:
        folder = resolve_reference(current_path, library, root)
    except PathRefused as refused:
        raise PathRefused(refused.code, f"library: {refused.message}", refused.hint) from None
    if not folder.is_dir():
        raise PathRefused("bad-library", f"library {library!r} is not a folder",
                          "name a folder of methodologies, relative to this file.")
    return str(resolve_reference(str(folder / "_"), base, root))


def unreadable(path: str, error: Exception) -> Diagnostic:
    """The diagnostic for a methodology file that cannot be read (OSError, UnicodeDecodeError)."""
    return _unreadable(path, error, None)


def _unreadable(path: str, error: Exception, referrer: Span | None) -> Diagnostic:
    if isinstance(error, FileNotFoundError):
        message, hint = f"file not found: {path}", "check the path (relative to the extending file)."
    elif isinstance(error, IsADirectoryError):
        message, hint = f"{path} is a directory, not a methodology file", "name a .tier file."
    elif isinstance(error, NotARegularFile):
        message, hint = f"{path} is {error.strerror}: not read", "name a .tier file."
    elif isinstance(error, FileTooLarge):
        message = f"{path}: {error}: not read"
        hint = "split the methodology into smaller files joined with `extends`."
    elif isinstance(error, UnicodeDecodeError):
        message = f"{path} is not valid UTF-8 (byte {error.start})"
        hint = "save the methodology as UTF-8."
        if bytes(error.object[:2]) in (b"\xff\xfe", b"\xfe\xff"):
            hint = "the file starts with a UTF-16 byte-order mark: save the methodology as UTF-8."
    else:
        message, hint = f"cannot read {path}: {error.strerror or error}", "check the file's permissions."
    return Diagnostic(ERROR, "unreadable-file", message, referrer, hint)
