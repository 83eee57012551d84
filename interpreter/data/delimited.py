"""CSV and TSV text read into a table of text cells.

Plain text (interpreter.data.plain_csv) is read by pandas' C parser; any other text cell by cell
by the csv module, which locates every problem: a quoted value never closed, a row wider or
narrower than the header (row and line), a value that holds the separator.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import pandas as pd

from interpreter.data.dataset import assemble
from interpreter.data.decoding import decode, utf8_text, wide_bom
from interpreter.data.plain_csv import TypedTable, read_plain, read_plain_typed
from interpreter.errors import (
    BAD_ENCODING,
    EMPTY_FILE,
    MALFORMED_CSV,
    RAGGED_ROW,
    DataError,
    DataProblem,
    fail,
    plural,
)


def read_delimited(data: bytes, path: str, encoding: str, delimiter: str,
                   typed: bool = False, data_again: Callable[[], bytes] | None = None) -> pd.DataFrame | TypedTable:
    """The table of a CSV or TSV file (every problem located); with `typed`, a plain text's
    numbers read straight into floats (a TypedTable) where they can be. `data_again`: the same
    bytes, read again (the TypedTable then keeps neither them nor their text: it reads them
    again for a text frame asked for later)."""
    text = decode(data, path, encoding)
    if not text or text.isspace():  # (stops at the first cell; strip would copy the text)
        fail(path, DataProblem("the file is empty", code=EMPTY_FILE))
    if "\x00" in text:  # never in a text table: a binary file, or UTF-16/32 read as UTF-8
        nul = text.index("\x00")
        wide = wide_bom(data) or "UTF-16"
        fail(
            path,
            DataProblem(
                f"the file holds a NUL character (line {text.count(chr(10), 0, nul) + 1}): it is not a "
                f"{encoding} text table",
                hint=f"save it as a UTF-8 CSV file; if it is in {wide}, try --encoding {wide.lower()}",
                code=BAD_ENCODING,
            ),
        )
    encoded = utf8_text(data, encoding)  # for pandas to read without encoding the text again
    if typed:
        text_again = None if data_again is None else (lambda: decode(data_again(), path, encoding))
        table = read_plain_typed(text, delimiter, encoded, text_again)
        if table is not None:
            return table
    plain = read_plain(text, delimiter, encoded)
    if plain is not None:
        return plain
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    separator = "comma" if delimiter == "," else "tab"
    problems: list[DataProblem] = []
    header: list[str | None] | None = None
    header_row = 0
    matrix: list[list[str | None]] = []
    row_numbers: list[int] = []
    row = 0
    line = 1  # first line of the record being read
    records = iter(reader)
    while True:
        try:
            record = next(records)
        except StopIteration:
            break
        except csv.Error as e:
            problems.append(_malformed_csv(e, row + 1, line))
            raise DataError(problems, path) from None
        row += 1
        start, line = line, reader.line_num + 1
        cells = [c if c.strip() else None for c in record]
        if not any(cells):  # every cell None (a kept cell is never blank)
            continue
        if header is None:
            header, header_row = cells, row
            continue
        width = len(header)
        if len(cells) > width and any(c is not None for c in cells[width:]):
            problems.append(
                _ragged(
                    row,
                    start,
                    len(cells),
                    width,
                    f"a value that contains a {separator} must be in double quotes",
                )
            )
        elif len(cells) < width:
            problems.append(_ragged(row, start, len(cells), width, None))
        matrix.append(cells[:width] + [None] * (width - len(cells)))
        row_numbers.append(row)
    if header is None:  # only separators and blank cells
        fail(path, DataProblem("the file is empty: no cell holds a value", code=EMPTY_FILE))
    return assemble(path, header, header_row, matrix, row_numbers, problems)


def _malformed_csv(error: csv.Error, row: int, line: int) -> DataProblem:
    reason = str(error)
    if "unexpected end of data" in reason:
        return DataProblem(
            f"a quoted value starting on line {line} is never closed",
            row=row,
            hint='look for a stray double quote (")',
            code=MALFORMED_CSV,
        )
    return DataProblem(
        f"malformed CSV on line {line}: {reason}",
        row=row,
        hint="a value containing a double quote must itself be in double quotes, "
        'with the quote doubled ("")',
        code=MALFORMED_CSV,
    )


def _ragged(row: int, line: int, cells: int, width: int, hint: str | None) -> DataProblem:
    where = f" (line {line} of the file)" if line != row else ""
    return DataProblem(
        f"has {plural(cells, 'cell')} but the header has {width}{where}",
        row=row,
        hint=hint,
        code=RAGGED_ROW,
    )
