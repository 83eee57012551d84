"""The table as read (`Dataset`) and where it came from.

A Dataset holds every cell as text (`str`, or None for an empty or whitespace-only cell),
indexed by spreadsheet row number, with its provenance: path, format and the sha256 of the
bytes read. Also here: the table of a DataFrame (`dataset_from_frame`), the one Dataset that
stands for several tables (`combine_datasets`, what the audit store records), and the steps
every reader shares (naming and checking the header: `assemble`).
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import math
from collections import Counter
from collections.abc import Callable, Mapping
from decimal import Decimal

import attrs
import numpy as np
import pandas as pd

from interpreter.errors import (
    DUPLICATE_COLUMN,
    NO_DATA_ROWS,
    DataError,
    DataProblem,
)

FRAME_PATH = "<frame>"
ROW_INDEX_NAME = "row"  # name of Dataset.frame's index (spreadsheet row numbers)


@attrs.frozen(eq=False)
class Dataset:
    """A table as read. `frame`: every cell a str, empty cells None, original column names,
    index the spreadsheet row numbers (name "row").

    The fast CSV reader (interpreter/data/plain_csv.py) reads a column of plain decimals
    straight into `numbers` (float64, NaN for an empty cell: exactly what the careful number
    parser gives) and the text columns into `texts`; `frame` is then built on first use, from
    the text. `cells(column)` and `numbers` let preparing the inputs use neither."""

    _frame: pd.DataFrame | Callable[[], pd.DataFrame] = attrs.field(alias="frame")
    path: str  # as given, or "<frame>"
    format: str  # "csv" (also for .tsv), "xlsx" or "frame"
    sha256: str  # of the exact bytes read (a frame: its canonical CSV encoding, utf-8)
    rows: int
    columns: tuple[str, ...]
    sheet: str | None = None  # the sheet read from an Excel workbook
    # several tables combined (`combine_datasets`): (level name, or None for the unnamed
    # table, Dataset) of each; their frame has no rows. Empty for a table as read.
    parts: tuple[tuple[str | None, Dataset], ...] = ()
    numbers: Mapping[str, np.ndarray] = attrs.field(factory=dict, repr=False)
    texts: Mapping[str, np.ndarray] = attrs.field(factory=dict, repr=False)
    row_numbers: np.ndarray | None = attrs.field(default=None, repr=False)  # with `numbers`

    @property
    def frame(self) -> pd.DataFrame:
        frame = self._frame
        if callable(frame):  # read as text on first use (the fast reader read numbers directly)
            frame = frame()
            object.__setattr__(self, "_frame", frame)
        return frame

    @property
    def rows_index(self) -> np.ndarray:
        """The spreadsheet row number of each row."""
        if self.row_numbers is not None:
            return self.row_numbers
        return self.frame.index.to_numpy()

    def cells(self, column: str) -> np.ndarray:
        """One column's cells as text (an object array, None for an empty cell)."""
        if column in self.texts:
            return self.texts[column]
        return self.frame[column].to_numpy(dtype=object)


def dataset_from_frame(frame: pd.DataFrame, name: str = FRAME_PATH) -> Dataset:
    """A Dataset from an in-memory table. Cells become text as a spreadsheet would show them
    (1.0 -> "1", 0.25 -> "0.25", True -> "true"; NaN, None and whitespace-only -> None).
    The frame's index is not used; rows are numbered 2, 3, ... as if read below a header."""
    names = [str(c) for c in frame.columns]
    duplicates = duplicate_columns(names)
    if duplicates:
        raise DataError(duplicates, name)
    columns = [[cell_text(v) for v in frame.iloc[:, i].tolist()] for i in range(frame.shape[1])]
    matrix = [list(r) for r in zip(*columns)] if columns else [[] for _ in range(len(frame))]
    out = make_frame(matrix, names, list(range(2, len(frame) + 2)))
    return Dataset(
        frame=out,
        path=name,
        format="frame",
        sha256=_frame_sha256(out),
        rows=len(out),
        columns=tuple(names),
    )


def assemble(
    path: str,
    header: list[str | None],
    header_row: int,
    matrix: list[list[str | None]],
    row_numbers: list[int],
    problems: list[DataProblem],
    late: list[tuple[int, int, DataProblem]] | None = None,
) -> pd.DataFrame:
    """Name the columns, drop unnamed empty columns, check headers; raise with every problem.
    `late`: (row, column position, problem without column) for cell problems found while
    reading, given their column name here."""
    width = max([len(header)] + [len(r) for r in matrix])
    keep: list[int] = []
    names: list[str] = []
    for i in range(width):
        name = header[i] if i < len(header) else None
        if name is None:
            if not any(i < len(r) and r[i] is not None for r in matrix):
                continue
            name = f"Unnamed: {i}"
        keep.append(i)
        names.append(name)
    problems = duplicate_columns(names, keep) + problems
    by_position = dict(zip(keep, names))
    for _row, position, problem in sorted(late or [], key=lambda x: (x[1], x[0])):
        if position in by_position:
            problems.append(attrs.evolve(problem, column=by_position[position]))
    if not matrix:
        problems.append(
            DataProblem(f"no data rows: only a header (row {header_row})", code=NO_DATA_ROWS)
        )
    if problems:
        raise DataError(problems, path)
    if keep != list(range(width)):
        matrix = [[r[i] if i < len(r) else None for i in keep] for r in matrix]
    return make_frame(matrix, names, row_numbers)


def duplicate_columns(names: list[str], positions: list[int] | None = None) -> list[DataProblem]:
    positions = positions if positions is not None else list(range(len(names)))
    counts = Counter(names)
    problems = []
    for name in dict.fromkeys(n for n in names if counts[n] > 1):
        letters = [_column_letter(p) for p, n in zip(positions, names) if n == name]
        listed = ", ".join(letters[:-1]) + " and " + letters[-1]
        problems.append(
            DataProblem(
                f"the header appears {len(letters)} times: columns {listed}",
                column=name,
                hint="give each column a different header",
                code=DUPLICATE_COLUMN,
            )
        )
    return problems


def _column_letter(position: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    n = position + 1
    while n:
        n, r = divmod(n - 1, 26)
        letters = chr(65 + r) + letters
    return letters


def make_frame(
    matrix: list[list[str | None]], names: list[str], row_numbers: list[int]
) -> pd.DataFrame:
    index = pd.Index(row_numbers, dtype="int64", name=ROW_INDEX_NAME)
    columns = pd.Index(names, dtype=object)
    if not names:
        return pd.DataFrame(index=index, columns=columns, dtype=object)
    return pd.DataFrame(matrix, index=index, columns=columns, dtype=object)


def _frame_sha256(frame: pd.DataFrame) -> str:
    """sha256 of the table's canonical CSV: utf-8, "\\n" line ends, minimal quoting, empty
    for None."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(list(frame.columns))
    writer.writerows(["" if v is None else v for v in r] for r in frame.itertuples(index=False))
    return hashlib.sha256(out.getvalue().encode("utf-8")).hexdigest()


def float_text(value: float) -> str:
    """Shortest text that reads back as the same float; whole numbers without ".0"."""
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


def cell_text(value) -> str | None:
    """A cell (from Excel or a DataFrame) as the text a user would see, None when empty."""
    if value is None:
        return None
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float_text(float(value))
    if isinstance(value, Decimal):
        return None if value.is_nan() else str(value)
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None and value.time() == datetime.time(0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    text = str(value)
    return text if text.strip() else None


def combine_datasets(main: Dataset | None, tables: Mapping[str, Dataset]) -> Dataset:
    """One Dataset standing for every table read, as the audit store records one per run.

    One table: that Dataset itself, whether named or not. Several: the parts in a canonical
    order (the unnamed table first, then the named ones by level name), kept in `parts` as
    (level name or None, Dataset); `path` lists them (`top.csv; organisation=orgs.csv`);
    `format` is "tables"; `rows` is the sum of the parts' rows and `columns` the union of
    their columns (first appearance, in the canonical order); `frame` has those columns and
    no rows (read the parts' frames); `sha256` is the sha256 of the UTF-8 text made of one
    line `NAME=SHA256\\n` per part in the canonical order, NAME empty for the unnamed table and
    SHA256 the part's own sha256 (so it depends on the tables and the levels they are named
    for, never on the order they were given in)."""
    parts: list[tuple[str | None, Dataset]] = [] if main is None else [(None, main)]
    parts += sorted(tables.items(), key=lambda item: item[0])
    if not parts:
        raise ValueError("combine_datasets needs at least one table")
    if len(parts) == 1:
        return parts[0][1]
    path = "; ".join(d.path if name is None else f"{name}={d.path}" for name, d in parts)
    canonical = "".join(f"{name or ''}={d.sha256}\n" for name, d in parts)
    columns = tuple(dict.fromkeys(c for _, d in parts for c in d.columns))
    return Dataset(
        frame=make_frame([], list(columns), []),
        path=path,
        format="tables",
        sha256=hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
        rows=sum(d.rows for _, d in parts),
        columns=columns,
        parts=tuple(parts),
    )
