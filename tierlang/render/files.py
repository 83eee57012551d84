"""Writing output files: whole or not at all, and CSV text as pandas writes it, made safe for
spreadsheets."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import tempfile

import numpy as np
import pandas as pd

from dsl.escaping import csv_text, spreadsheet_cell


@contextlib.contextmanager
def atomic_output(path: str):
    """Write `path` whole or not at all: the caller writes the partial file this gives (beside
    `path`, same folder), which replaces `path` only once written completely. On any failure (a
    full disk, a value the format cannot hold) it is removed and `path` is left as it was."""
    folder, name = os.path.split(os.path.abspath(path))
    fd, partial = tempfile.mkstemp(prefix=f".{name}.", suffix=os.path.splitext(name)[1], dir=folder)
    os.close(fd)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(partial, 0o666 & ~umask)  # as open() would create it, not mkstemp's 0600
        yield partial
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise


def _text_cells(frame: pd.DataFrame, cell) -> pd.DataFrame:
    """`frame` with `cell` applied to every cell of its text columns (object, string or
    categorical: a `text` input is categorical)."""
    texts = [c for c in frame.columns if frame[c].dtype == object or isinstance(frame[c].dtype, pd.CategoricalDtype)
             or pd.api.types.is_string_dtype(frame[c].dtype)]
    if not texts:
        return frame
    out = frame.copy(deep=False)  # its text columns replaced, the frame's own left as they are
    for c in texts:
        out[c] = _each_text(out[c].astype(object), cell)
    return out


def _each_text(column: pd.Series, cell) -> pd.Series:
    """`column.map(cell, na_action="ignore")`, calling `cell` once per distinct text when every
    value is a text (a column of tiers or labels holds a few, each many times)."""
    values = column.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(values, skipna=True) != "string":  # 1, 1.0 and True factorize as one
        return column.map(cell, na_action="ignore")
    codes, uniques = pd.factorize(values)
    present = codes >= 0
    out = np.full(len(values), np.nan, dtype=object)  # map gives NaN for every missing cell
    out[present] = np.array([cell(u) for u in uniques], dtype=object)[codes[present]]
    return pd.Series(out, index=column.index, name=column.name, dtype=object)


def frame_csv(frame: pd.DataFrame) -> str:
    """CSV text of a frame as pandas writes it, cells through dsl.escaping.spreadsheet_cell and
    a cell holding a carriage return quoted (dsl.escaping.csv_text), so that it reads back."""
    frame = _text_cells(frame, spreadsheet_cell)
    text = frame.to_csv(index=False, lineterminator="\n")
    if "\r" not in text:
        return text
    # pandas' writer leaves a bare CR unquoted: with CRLF as the row end it quotes it; read
    # back, the rows are written again with "\n" row ends and those cells quoted
    rows = csv.reader(io.StringIO(frame.to_csv(index=False, lineterminator="\r\n"), newline=""))
    return csv_text(rows)
