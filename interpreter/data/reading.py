"""`read_dataset`: a .csv, .tsv or .xlsx file read into a Dataset, or one DataError with every
problem found.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor

from interpreter.data.dataset import Dataset
from interpreter.data.delimited import read_delimited
from interpreter.data.files import FORMATS, read_bytes, unsupported_format
from interpreter.data.plain_csv import TypedTable
from interpreter.data.xlsx import read_xlsx
from interpreter.errors import (
    UNREADABLE,
    DataError,
    DataProblem,
    fail,
    quote,
)


def read_dataset(
    path: str | os.PathLike, encoding: str = "utf-8", sheet: str | None = None, typed: bool = True
) -> Dataset:
    """Read a .csv, .tsv or .xlsx file. Raises DataError (never anything else for a bad file).
    `typed`: a plain CSV's columns of plain decimals are read straight into floats
    (`Dataset.numbers`), its text built only when asked for (the same table either way)."""
    shown = os.fspath(path)
    data = read_bytes(shown)
    ext = os.path.splitext(shown)[1].lower()
    if ext not in FORMATS:
        fail(shown, unsupported_format(ext))
    fmt, delimiter = FORMATS[ext]
    if fmt == "csv":
        if sheet is not None:
            fail(
                shown,
                DataProblem(
                    f"a sheet ({quote(sheet)}) was given, but this is not an Excel file",
                    hint="leave out the sheet for CSV files",
                    code=UNREADABLE,
                ),
            )
        # the digest is taken on another thread while the text is read: hashlib and pandas'
        # tokenizer both let go of the GIL over large buffers
        with ThreadPoolExecutor(max_workers=1) as pool:
            digest = pool.submit(lambda: hashlib.sha256(data).hexdigest())
            try:
                frame = read_delimited(data, shown, encoding, delimiter, typed=typed,
                                       data_again=lambda: _same_bytes(shown, digest.result()))
            finally:
                sha256 = digest.result()
        del data  # (a TypedTable reads the file again, the rare time it needs every cell's text)
        sheet_name = None
        if isinstance(frame, TypedTable):
            return Dataset(
                frame=frame.text_frame,
                path=shown,
                format=fmt,
                sha256=sha256,
                rows=len(frame.row_numbers),
                columns=tuple(frame.header),
                numbers=frame.numbers,
                texts=frame.texts,
                row_numbers=frame.row_numbers,
            )
    else:
        frame, sheet_name = read_xlsx(data, shown, sheet)
        sha256 = hashlib.sha256(data).hexdigest()
    return Dataset(
        frame=frame,
        path=shown,
        format=fmt,
        sha256=sha256,
        rows=len(frame),
        columns=tuple(frame.columns),
        sheet=sheet_name,
    )


def _same_bytes(path: str, sha256: str) -> bytes:
    """The file's bytes read again, when they are those read first (their sha256)."""
    problem = DataProblem(
        "the file changed (or went) after it was read, and before its cells were read as text: "
        "not read again",
        hint="run again on a file that does not change while it is read",
        code=UNREADABLE,
    )
    try:
        again = read_bytes(path)
    except DataError:
        fail(path, problem)
    if hashlib.sha256(again).hexdigest() != sha256:
        fail(path, problem)
    return again
