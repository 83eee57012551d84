"""The errors the audit store raises, and how SQLite's own errors are told apart."""

from __future__ import annotations

import importlib.metadata
import sqlite3

from dsl.errors import AUDIT, TierlangError


class AuditError(TierlangError):
    """An audit store problem a user can act on: unknown run or entity, a store written by a
    newer tierlang, a file that is not an audit store."""

    stage = AUDIT

    def __init__(self, message: str, suggestion: str | None = None):
        super().__init__(message)
        self.suggestion = suggestion


def installed_version() -> str:
    """The installed tierlang's version (recorded with each run by default)."""
    try:
        return importlib.metadata.version("tierlang")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"



def is_busy(error: sqlite3.Error) -> bool:
    """Whether SQLite gave up because another connection holds the lock (SQLITE_BUSY, LOCKED)."""
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (5, 6)
    return "locked" in str(error) or "busy" in str(error)



def is_read_only(error: sqlite3.Error) -> bool:
    """Whether SQLite refused a write because the store (file, folder or medium) is read-only."""
    return getattr(error, "sqlite_errorcode", None) in _READ_ONLY_CODES or "readonly" in str(error)


_READ_ONLY_CODES = {8, 264, 520, 776, 1032, 1288, 1544}  # SQLITE_READONLY and its extended codes

