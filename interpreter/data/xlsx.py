"""Excel workbooks (.xlsx) read into a table of text cells.

The sizes the workbook declares once inflated are bounded before openpyxl inflates anything;
a sheet is chosen by name (did-you-mean over the sheets); a formula cell with no saved value is
found in the sheet's XML and reported (openpyxl cannot tell it from an empty cell).
"""

from __future__ import annotations

import io
import re
import warnings
import xml.etree.ElementTree as ET
import zipfile

import pandas as pd

from dsl.errors import did_you_mean
from interpreter.data.dataset import assemble, cell_text
from interpreter.data.files import MAX_DATA_BYTES
from interpreter.errors import (
    BAD_XLSX,
    EMPTY_FILE,
    FORMULA_NO_VALUE,
    UNKNOWN_SHEET,
    DataError,
    DataProblem,
    fail,
    quote,
)

# An .xlsx file is a zip of XML parts: the sizes its directory declares once inflated are
# bounded before openpyxl inflates anything (a 7 MB "bomb" can inflate to gigabytes).
# zipfile stops at the declared size (and fails the CRC check past it), so the bound holds.
MAX_XLSX_INFLATED = MAX_DATA_BYTES


def _check_inflated_size(data: bytes, path: str) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return  # not a zip: openpyxl says what is wrong with it
    inflated = sum(p.file_size for p in parts)
    if inflated > MAX_XLSX_INFLATED:
        largest = max(parts, key=lambda p: p.file_size)
        fail(
            path,
            DataProblem(
                f"the workbook inflates to {inflated:,} bytes (its part {largest.filename} alone to "
                f"{largest.file_size:,}), more than the {MAX_XLSX_INFLATED:,} tierlang reads: not read",
                hint="export the table as CSV, or split the workbook",
                code=BAD_XLSX,
            ),
        )


def read_xlsx(data: bytes, path: str, sheet: str | None) -> tuple[pd.DataFrame, str]:
    import openpyxl

    _check_inflated_size(data, path)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as e:  # a damaged or non-xlsx file can fail in many ways inside openpyxl
        fail(path, _unreadable_xlsx(e))
    try:
        names = list(workbook.sheetnames)
        if sheet is None:
            if not workbook.worksheets:
                fail(path, DataProblem("the workbook has no worksheets", code=EMPTY_FILE))
            worksheet = workbook.worksheets[0]
        elif sheet not in names:
            close = did_you_mean(sheet, names)
            listed = ", ".join(quote(n) for n in names)
            hint = (f"did you mean {quote(close)}? " if close else "") + f"The sheets are {listed}"
            fail(
                path,
                DataProblem(
                    f"the workbook has no sheet {quote(sheet)}", hint=hint, code=UNKNOWN_SHEET
                ),
            )
        else:
            worksheet = workbook[sheet]
            if not hasattr(worksheet, "iter_rows"):
                fail(
                    path,
                    DataProblem(
                        f"sheet {quote(sheet)} is a chart, not a table", code=UNKNOWN_SHEET
                    ),
                )
        title = worksheet.title
        worksheet.reset_dimensions()  # a wrong stored dimension must not cut rows off
        header: list[str | None] | None = None
        header_row = 0
        matrix: list[list[str | None]] = []
        row_numbers: list[int] = []
        for number, values in enumerate(
            worksheet.iter_rows(min_row=1, min_col=1, values_only=True), start=1
        ):
            cells = [cell_text(v) for v in values]
            if not any(cells):  # every cell None (a kept cell is never blank)
                continue
            if header is None:
                header, header_row = cells, number
            else:
                matrix.append(cells)
                row_numbers.append(number)
        sheet_path = worksheet._worksheet_path  # openpyxl's resolved path of the sheet's XML
    except DataError:
        raise
    except Exception as e:  # damaged sheet XML fails only when its rows are read
        fail(path, _unreadable_xlsx(e))
    finally:
        workbook.close()
    if header is None:
        fail(path, DataProblem(f"sheet {quote(title)} is empty", code=EMPTY_FILE))
    width = max([len(header)] + [len(r) for r in matrix])
    matrix = [r + [None] * (width - len(r)) for r in matrix]
    late = [
        (
            row,
            col,
            DataProblem(
                "formula with no saved value: open and save the file in Excel, or export CSV",
                row=row,
                value=formula,
                code=FORMULA_NO_VALUE,
            ),
        )
        for row, col, formula in _formulas_of(data, sheet_path, path)
        if row > header_row
    ]
    return assemble(path, header, header_row, matrix, row_numbers, [], late), title


def _unreadable_xlsx(error: Exception) -> DataProblem:
    reason = str(error) or type(error).__name__
    return DataProblem(
        f"not a readable .xlsx file ({reason})",
        hint="open it in Excel and save it as .xlsx, or export it as CSV",
        code=BAD_XLSX,
    )


def _formulas_of(data: bytes, sheet_path: str, path: str) -> list[tuple[int, int, str | None]]:
    try:
        return _formulas_without_value(data, sheet_path)
    except Exception as e:  # the sheet's XML, read again: damaged in a way openpyxl let pass
        fail(path, _unreadable_xlsx(e))


_CELL_REF = re.compile(r"([A-Z]+)([0-9]+)")


def _formulas_without_value(data: bytes, sheet_path: str) -> list[tuple[int, int, str | None]]:
    """(row, column position, formula) of every formula cell with no saved (cached) value.

    openpyxl cannot tell these from empty cells, so the sheet's XML is read: a formula cell has
    an <f> child and its saved value in <v>. A missing <v>, or an empty one for a cell not
    typed as text, means Excel never calculated it (files written by pandas or openpyxl).
    """
    found = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive, archive.open(sheet_path.lstrip("/")) as f:
        for _event, element in ET.iterparse(f, events=("end",)):
            tag = element.tag.rsplit("}", 1)[-1]
            if tag == "c":
                formula = value = None
                for child in element:
                    child_tag = child.tag.rsplit("}", 1)[-1]
                    if child_tag == "f":
                        formula = child
                    elif child_tag == "v":
                        value = child
                if formula is not None and (
                    value is None
                    or (not value.text and element.get("t", "n") not in ("str", "s", "inlineStr"))
                ):
                    match = _CELL_REF.fullmatch(element.get("r", ""))
                    if match:
                        letters, row = match.groups()
                        position = 0
                        for ch in letters:
                            position = position * 26 + ord(ch) - 64
                        text = f"={formula.text}" if formula.text else None
                        found.append((int(row), position - 1, text))
                element.clear()
            elif tag == "row":
                element.clear()
    return found
