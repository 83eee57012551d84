"""Data files: the formats read (by extension) and reading a file's bytes, bounded.

A data file is read whole into memory, so its size is bounded before and while reading; a FIFO,
a device or a directory is refused, never read (dsl.paths.read_regular_file).
"""

from __future__ import annotations

from dsl.paths import FileTooLarge, NotARegularFile, read_regular_file
from interpreter.errors import (
    FILE_NOT_FOUND,
    UNREADABLE,
    UNSUPPORTED_FORMAT,
    DataProblem,
    fail,
    quote,
)

FORMATS = {".csv": ("csv", ","), ".tsv": ("csv", "\t"), ".xlsx": ("xlsx", None)}
OTHER_SPREADSHEETS = {".xls", ".xlsm", ".xlsb", ".ods", ".numbers"}


# A data file is read whole into memory: larger files are refused, before and while reading
# (a file that grows, /dev/zero), never read whole first. docs/semantics.md, "Limits".
MAX_DATA_BYTES = 512 * 1024 * 1024


def read_bytes(path: str) -> bytes:
    try:
        return read_regular_file(path, MAX_DATA_BYTES)
    except NotARegularFile as e:
        fail(path, DataProblem(f"is {e.strerror}: not read", hint="name a .csv, .tsv or .xlsx file",
                                code=UNREADABLE))
    except FileTooLarge:
        fail(path, DataProblem(f"the file is larger than {MAX_DATA_BYTES:,} bytes: not read",
                                hint="split the table, or keep only the columns the methodology reads",
                                code=UNREADABLE))
    except FileNotFoundError:
        fail(path, DataProblem("file not found", code=FILE_NOT_FOUND))
    except IsADirectoryError:
        fail(path, DataProblem("is a directory, not a data file", code=UNREADABLE))
    except PermissionError:
        fail(path, DataProblem("cannot read the file: permission denied", code=UNREADABLE))
    except OSError as e:
        fail(path, DataProblem(f"cannot read the file: {e.strerror or e}", code=UNREADABLE))


def unsupported_format(ext: str) -> DataProblem:
    if not ext:
        return DataProblem(
            "the file name has no extension: tierlang reads .csv, .tsv and .xlsx files",
            hint="rename the file to end in .csv, .tsv or .xlsx",
            code=UNSUPPORTED_FORMAT,
        )
    hint = (
        "save the table as .xlsx, or export it as CSV"
        if ext in OTHER_SPREADSHEETS
        else "export the table as CSV"
    )
    return DataProblem(
        f"cannot read {quote(ext)} files: tierlang reads .csv, .tsv and .xlsx files",
        hint=hint,
        code=UNSUPPORTED_FORMAT,
    )
