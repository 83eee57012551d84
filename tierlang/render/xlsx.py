"""Excel workbooks for every `--out x.xlsx` (run, diff, sensitivity, reconcile, explain): one
sheet per table, a "run" sheet with the provenance.

Each sheet: typed cells (numbers as numbers, booleans as booleans, texts as texts, missing
values empty), a bold frozen header, an autofilter over the table, number formats by column
(shares as percentages, ranks and counts as integers, other numbers to 4 decimals), column
widths that fit. Text is hostile-safe: every text cell is written as text (never a formula);
a text that a spreadsheet would read as a formula when edited (a leading `=`, `+`, `-`, `@`,
tab or carriage return) is marked with Excel's quote prefix, so it stays text; characters a
workbook cannot hold (control characters but tab, newline and carriage return) are written
as `\\xNN`.

openpyxl is imported inside the functions: the CLI loads it only when it writes a workbook.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from dsl.escaping import FORMULA_STARTS

_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # as openpyxl's ILLEGAL_CHARACTERS_RE
SHARE = "0.0%"
INTEGER = "0"
DECIMAL = "0.0000"
_SHARE_NAME = re.compile(r"(^p_|share|held|rate$|_rate|probability)")
_INTEGER_NAME = re.compile(
    r"(rank|count|changed|entities|samples|evaluations|^move$|^line$|^depth$|^run$)"
)
MAX_WIDTH = 60
SHEET_NAME = re.compile(r"[\[\]:*?/\\]")


def clean_text(text: str) -> str:
    """A text a workbook can hold: control characters it refuses written as `\\xNN`."""
    return _ILLEGAL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def is_formula_like(text: str) -> bool:
    return text.startswith(FORMULA_STARTS)  # the CSV writers' rule (dsl.escaping)


def cell_value(value: Any) -> Any:
    """A Python, numpy or pandas value as the value of a typed cell (None: empty)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isnan(value):
            return None
        return value if math.isfinite(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, (dt.datetime, dt.date)):
        return value
    if isinstance(value, (tuple, list)):
        return "; ".join(str(v) for v in value)
    return str(value)


def _format_for(name: str, values: pd.Series) -> str | None:
    if pd.api.types.is_bool_dtype(values.dtype):
        return None
    numeric = pd.api.types.is_numeric_dtype(values.dtype) and not isinstance(
        values.dtype, pd.CategoricalDtype
    )
    if not numeric:
        sample = [
            v
            for v in values.tolist()
            if v is not None and not (isinstance(v, float) and math.isnan(v))
        ]
        numeric = bool(sample) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in sample
        )
        if not numeric:
            return None
    lowered = str(name).lower()
    if _SHARE_NAME.search(lowered):
        return SHARE
    if pd.api.types.is_integer_dtype(values.dtype):
        return INTEGER
    if _INTEGER_NAME.search(lowered):  # a rank or count: whole numbers, unless some is not
        whole = all(
            float(v).is_integer() for v in values.dropna().tolist() if isinstance(v, (int, float))
        )
        return INTEGER if whole else DECIMAL
    return DECIMAL


def sheet_title(name: str, taken: Iterable[str] = ()) -> str:
    """A valid, unique sheet name (at most 31 characters, none of []:*?/\\)."""
    base = SHEET_NAME.sub("_", name).strip("'")[:31] or "sheet"
    title, n = base, 2
    lowered = {t.lower() for t in taken}
    while title.lower() in lowered:
        suffix = f" ({n})"
        title, n = base[: 31 - len(suffix)] + suffix, n + 1
    return title


def _write_cell(sheet, row: int, column: int, value: Any, number_format: str | None = None):
    cell = sheet.cell(row=row, column=column)
    value = cell_value(value)
    if isinstance(value, str):
        text = clean_text(value)
        cell.value = text
        cell.data_type = "s"  # never a formula, whatever it starts with
        if is_formula_like(text):
            cell.quotePrefix = True
    else:
        cell.value = value
        if (
            number_format is not None
            and isinstance(value, (int, float))
            and not isinstance(value, bool)
        ):
            cell.number_format = number_format
    return cell


def add_table(workbook, name: str, frame: pd.DataFrame, index: bool = True) -> None:
    """A sheet holding `frame` (its index as the first columns when `index`)."""
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    sheet = workbook.create_sheet(sheet_title(name, workbook.sheetnames))
    plain = isinstance(frame.index, pd.RangeIndex) and frame.index.name is None
    data = frame.reset_index() if index and not plain else frame
    headers = [str(c) for c in data.columns]
    bold = Font(bold=True)
    for j, header in enumerate(headers, start=1):
        _write_cell(sheet, 1, j, header).font = bold
    formats = [_format_for(h, data.iloc[:, j]) for j, h in enumerate(headers)]
    widths = [len(h) for h in headers]
    for i, row in enumerate(data.itertuples(index=False, name=None), start=2):
        for j, value in enumerate(row, start=1):
            cell = _write_cell(sheet, i, j, value, formats[j - 1])
            shown = cell.value
            width = len(str(shown)) if shown is not None else 0
            if isinstance(shown, float):
                width = min(width, 12)
            widths[j - 1] = max(widths[j - 1], min(width, MAX_WIDTH))
    for j, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(j)].width = max(8, width + 2)
    sheet.freeze_panes = "A2"
    if headers:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{max(1, len(data) + 1)}"


def add_fields(workbook, name: str, fields: Sequence[tuple[str, Any]]) -> None:
    """A two-column sheet (field, value), as the "run" sheet of provenance."""
    frame = pd.DataFrame(list(fields), columns=["field", "value"], dtype=object)
    add_table(workbook, name, frame, index=False)
    workbook.worksheets[-1].column_dimensions["B"].width = 70


def write_workbook(
    path: str, tables: Sequence[tuple[str, pd.DataFrame]], provenance: Sequence[tuple[str, Any]]
) -> None:
    """Write one sheet per (name, frame) of `tables`, then the "run" sheet of `provenance`."""
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, frame in tables:
        add_table(workbook, name, frame)
    add_fields(
        workbook,
        "run",
        [*provenance, ("written", dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"))],
    )
    buffer = io.BytesIO()  # built in memory, then written: a full disk leaves no half-closed zip
    workbook.save(buffer)  # for the garbage collector to fail on again (issue 15)
    with open(path, "wb") as f:
        f.write(buffer.getvalue())
