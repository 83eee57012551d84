"""Which files a methodology may read: the one rule behind `extends` and `given data`.

A methodology reads only files inside its *root folder*:

- the root is the nearest folder holding a `.tierlang-root`, `.git` or `pyproject.toml` entry,
  looking first in the folder of the methodology file (the folder its relative paths start
  from), then in each folder above it; when no folder up to the file system's root holds one,
  the root is the methodology's own folder; the root is then taken at its real location;
- a path is written relative to the file that names it (`extends` in a base file: relative to
  that base file); absolute paths, empty paths and paths holding a NUL character are refused;
- the file named must lie inside the root after every symbolic link is resolved, so that
  neither `..` nor a link can reach outside it.

The root of a methodology given as text without a file (`<string>`) is found the same way from
the current working directory. One root applies to a whole chain of `extends`: the root of the
file that was asked for.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath, PureWindowsPath

ROOT_MARKERS = (".tierlang-root", ".git", "pyproject.toml")
STRING_PATH = "<string>"


class PathRefused(ValueError):
    """A path a methodology may not read, with a message and a hint for the user."""

    def __init__(self, code: str, message: str, hint: str):
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint


def methodology_folder(methodology_path: str | os.PathLike | None) -> Path:
    """The folder of a methodology file as given, made absolute (the working directory for
    `<string>`): the folder its relative paths start from."""
    if methodology_path is None or os.fspath(methodology_path) == STRING_PATH:
        return Path(os.path.abspath(os.getcwd()))
    return Path(os.path.abspath(methodology_path)).parent


def methodology_root(methodology_path: str | os.PathLike | None) -> Path:
    """The root folder of a methodology (see the module docstring), symbolic links resolved."""
    folder = methodology_folder(methodology_path)
    for candidate in (folder, *folder.parents):
        for marker in ROOT_MARKERS:
            try:
                if os.path.lexists(candidate / marker):
                    return Path(os.path.realpath(candidate))
            except (OSError, ValueError):
                continue
    return Path(os.path.realpath(folder))


def written_target(referrer: str | os.PathLike | None, written: str) -> Path:
    """The path a file names, as shown to users: relative to the folder of `referrer` (to the
    working directory for `<string>`), not resolved."""
    if referrer is None or os.fspath(referrer) == STRING_PATH:
        return Path(written)
    return Path(referrer).parent / written


def resolve_reference(referrer: str | os.PathLike | None, written: str, root: Path) -> Path:
    """The path that `written` (as written in the file `referrer`) names, checked against
    `root`. Raises PathRefused when the rule forbids it. The file need not exist."""
    if "\x00" in written:
        raise PathRefused("unreadable-file", "the path contains a NUL character",
                          "write the file's name without control characters.")
    if not written.strip():
        raise PathRefused("unreadable-file", "the path is empty", "name a file, relative to this file's folder.")
    if PurePosixPath(written).is_absolute() or PureWindowsPath(written).is_absolute() or \
            PureWindowsPath(written).drive or written.startswith(("/", "\\")):
        raise PathRefused("absolute-path", f"{written!r} is an absolute path",
                          "write the path relative to this file's folder; a methodology reads only "
                          f"files inside its root folder {root} (see docs/language.md, File access).")
    target = written_target(referrer, written)
    try:
        real = Path(os.path.realpath(target))
    except (OSError, ValueError):  # e.g. a symbolic link loop on some systems
        real = target
    if not _inside(real, root):
        raise PathRefused("outside-root", f"{written!r} is outside the methodology's root folder",
                          f"a methodology reads only files inside its root folder {root} (the nearest "
                          "folder above it holding .tierlang-root, .git or pyproject.toml; see "
                          "docs/language.md, File access).")
    return target


def _inside(path: Path, root: Path) -> bool:
    try:
        return path == root or path.is_relative_to(root)
    except ValueError:
        return False


# ---------------------------------------------------------------- reading a file, bounded


class NotARegularFile(OSError):
    """The path names a FIFO, a device, a socket: something that is not a file of bytes at rest
    (reading it could block forever, or never end)."""


class FileTooLarge(OSError):
    """The file holds more bytes than the limit for what is read."""

    def __init__(self, path: str, limit: int):
        super().__init__(f"the file is larger than {limit:,} bytes")
        self.limit = limit
        self.filename = path


def read_regular_file(path: str | os.PathLike, limit: int) -> bytes:
    """The bytes of the regular file at `path`, refusing what would hang or exhaust memory.

    Checked before opening (`os.stat`: a FIFO is never opened, so nothing waits for a writer),
    opened without blocking and checked again (the path may have been swapped meanwhile), and
    read at most `limit` + 1 bytes: a larger file raises FileTooLarge however it grows while
    read. Raises OSError (FileNotFoundError, IsADirectoryError, PermissionError,
    NotARegularFile, FileTooLarge)."""
    import stat

    shown = os.fspath(path)

    def regular(mode: int) -> None:
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(21, "Is a directory", shown)
        if not stat.S_ISREG(mode):
            kind = ("a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode)
                    or stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
            raise NotARegularFile(0, f"{kind}, not a file", shown)

    regular(os.stat(shown).st_mode)
    fd = os.open(shown, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        regular(info.st_mode)
        if info.st_size > limit:
            raise FileTooLarge(shown, limit)
        data = f.read(limit + 1)
    if len(data) > limit:
        raise FileTooLarge(shown, limit)
    return data
