"""Reading a data table (CSV, TSV, Excel or a DataFrame) and preparing a methodology's inputs.

Two steps, both reporting every problem found in one `DataError`:

- `read_dataset` / `dataset_from_frame` give a `Dataset`: the table exactly as read, every cell
  a `str` (nothing stripped or converted) or None for an empty or whitespace-only cell. Its
  index is the spreadsheet row number of each row (the header is row 1 of a plain file; rows
  left entirely empty are dropped but keep the numbering), so every problem can name the row
  a user sees in Excel.
- `prepare_inputs` checks the table against a methodology (columns, keys, values) and gives
  each input typed as `interpreter/trace.py` says, indexed by entity key.

Entities at several levels (`entity service within location ...`): `prepare_inputs` takes the
unnamed table (`--data FILE`) and tables named by level (`--data LEVEL=FILE`), and gives the
top level's inputs as for one level plus, in `PreparedInputs.members`, the entities, labels,
parent keys and inputs of every lower level. The rules:

- A single-level methodology takes the unnamed table only: a named table is refused
  (`not-multilevel`).
- A table named for a level the methodology does not declare is refused (`unknown-level`, with
  did-you-mean over the level names).
- The unnamed table is the table of the deepest level (the most levels above it; of two at the
  same depth, the first declared) whose key column it has, among the levels without a named
  table. If it has the key column of none of them, it is the table of the first declared level
  without a named table (the top level unless that has one), and that level's key column is
  reported missing as for one level. If every level has a named table, the unnamed table is
  refused (`table-not-used`).
- A level with its own table: each row is one entity; the keys are checked as for one level
  (none empty, none with spaces around it, none repeated); its label column and inputs are
  read from that table and, if the level lies within another, the parent level's key column
  too (missing: "needed as the key of the parent level trust").
- A level without its own table takes its entities from the table of its nearest descendant
  level that has one (of two at the same depth, the first declared): "long" form, e.g. one row
  per service holding trust_code, location_id, service_id and every input. Its entities are
  the distinct values of its key column, in the order they first appear (an empty key cell is
  reported as for one level, spaces around a key once per key). Its label, its parent's key
  and its inputs are read from the same table and must be the same on every row of one
  entity: inputs compared as typed (50% and 0.5 are the same number, yes and true the same
  boolean; a cell that cannot be read is reported as such, not compared), label and parent
  key as written, an empty cell differing from a full one. Each entity and column that
  differs is one problem (`inconsistent-member`) naming the entity, its first row and the first
  row that differs: `trust "RXX" is "true" in row 3 but "false" in row 7`. Its values are those
  of its first row. A column it needs that is missing is reported as "needed as the key of
  level trust", "as the label of level trust" or by its inputs.
- A level no table gives (neither its own nor a descendant's): one problem (`no-level-data`),
  `no data for the entities of level organisation`, whose hint names `--data organisation=FILE`
  and the columns needed (key, parent key, label, inputs).
- Every entity's parent key must be an entity of the parent level (`unknown-parent`, one per
  entity, located at the entity's (first) row, with did-you-mean when the parent level has at
  most 5,000 entities): `"E54000099" is not a footprint in stp.csv`. An empty parent key is
  `missing-key` (`the key of the parent level footprint is empty in rows 3 and 5`). Nothing
  is checked when the parent level is read from the same table (its entities are those keys).
  A parent level's entity with no children is fine.
- Every problem from every table is reported in one DataError. Each problem names its table in
  `DataProblem.source` (a level with no data names none); when they all come from one table
  the error is that table's, rendered exactly as for one level, otherwise the error's source is
  `combine_datasets(dataset, tables).path` and each problem is shown with its file. Problems
  are listed table by table, in the order of the levels the tables are for.
- `PreparedInputs.dataset` is the one table read, or `combine_datasets` of all of them when
  there are several (the audit store records one dataset per run).

Nothing here writes anywhere.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import hashlib
import io
import math
import os
import re
import unicodedata
import warnings
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter
from collections.abc import Mapping
from decimal import Decimal

import attrs
import numpy as np
import pandas as pd

from dsl.errors import INVISIBLE_CHARACTERS, did_you_mean, visible
from dsl.model import INPUT, EntityLevel, Methodology, Node
from dsl.numbers import DECIMAL, decimal_value
from dsl.paths import FileTooLarge, NotARegularFile, read_regular_file
from dsl.types import BOOLEAN, LEVEL, NUMBER, TEXT
from interpreter.errors import (
    BAD_ENCODING,
    BAD_XLSX,
    DUPLICATE_COLUMN,
    DUPLICATE_KEY,
    EMPTY_FILE,
    FILE_NOT_FOUND,
    FORMULA_NO_VALUE,
    INCONSISTENT_MEMBER,
    KEY_FORMS,
    KEY_HIDDEN,
    KEY_WHITESPACE,
    MALFORMED_CSV,
    MISSING_COLUMN,
    MISSING_KEY,
    MISSING_REQUIRED,
    NO_DATA_ROWS,
    NO_LEVEL_DATA,
    NOT_A_BOOLEAN,
    NOT_A_NUMBER,
    NOT_MULTILEVEL,
    OUT_OF_RANGE,
    RAGGED_ROW,
    SHOW_PER_GROUP,
    TABLE_NOT_USED,
    UNKNOWN_LABEL,
    UNKNOWN_LEVEL,
    UNKNOWN_PARENT,
    UNKNOWN_SHEET,
    UNREADABLE,
    UNSUPPORTED_FORMAT,
    DataError,
    DataProblem,
    plural,
    quote,
    rows_text,
)
from interpreter.levels import LevelInputs

FRAME_PATH = "<frame>"
ROW_INDEX_NAME = "row"  # name of Dataset.frame's index (spreadsheet row numbers)

FORMATS = {".csv": ("csv", ","), ".tsv": ("csv", "\t"), ".xlsx": ("xlsx", None)}
OTHER_SPREADSHEETS = {".xls", ".xlsm", ".xlsb", ".ods", ".numbers"}


@attrs.frozen(eq=False)
class Dataset:
    """A table as read. `frame`: every cell a str, empty cells None, original column names,
    index the spreadsheet row numbers (name "row")."""

    frame: pd.DataFrame
    path: str  # as given, or "<frame>"
    format: str  # "csv" (also for .tsv), "xlsx" or "frame"
    sha256: str  # of the exact bytes read (a frame: its canonical CSV encoding, utf-8)
    rows: int
    columns: tuple[str, ...]
    sheet: str | None = None  # the sheet read from an Excel workbook
    # several tables combined (`combine_datasets`): (level name, or None for the unnamed
    # table, Dataset) of each; their frame has no rows. Empty for a table as read.
    parts: tuple[tuple[str | None, Dataset], ...] = ()


@attrs.frozen(eq=False)
class PreparedInputs:
    frame: pd.DataFrame  # index: entity keys (name = methodology.key); one column per input
    labels: pd.Series | None  # display names from methodology.label_column, indexed by key
    dataset: Dataset  # the table read; several tables: combine_datasets of them
    # the lower levels' entities and inputs by level name, in methodology.lower_levels order;
    # empty for a single-level methodology
    members: dict[str, LevelInputs] = attrs.field(factory=dict)


# ---------------------------------------------------------------- reading


def read_dataset(
    path: str | os.PathLike, encoding: str = "utf-8", sheet: str | None = None
) -> Dataset:
    """Read a .csv, .tsv or .xlsx file. Raises DataError (never anything else for a bad file)."""
    shown = os.fspath(path)
    data = _read_bytes(shown)
    ext = os.path.splitext(shown)[1].lower()
    if ext not in FORMATS:
        _fail(shown, _unsupported_format(ext))
    fmt, delimiter = FORMATS[ext]
    if fmt == "csv":
        if sheet is not None:
            _fail(
                shown,
                DataProblem(
                    f"a sheet ({quote(sheet)}) was given, but this is not an Excel file",
                    hint="leave out the sheet for CSV files",
                    code=UNREADABLE,
                ),
            )
        frame = _read_delimited(data, shown, encoding, delimiter)
        sheet_name = None
    else:
        frame, sheet_name = _read_xlsx(data, shown, sheet)
    return Dataset(
        frame=frame,
        path=shown,
        format=fmt,
        sha256=hashlib.sha256(data).hexdigest(),
        rows=len(frame),
        columns=tuple(frame.columns),
        sheet=sheet_name,
    )


def dataset_from_frame(frame: pd.DataFrame, name: str = FRAME_PATH) -> Dataset:
    """A Dataset from an in-memory table. Cells become text as a spreadsheet would show them
    (1.0 -> "1", 0.25 -> "0.25", True -> "true"; NaN, None and whitespace-only -> None).
    The frame's index is not used; rows are numbered 2, 3, ... as if read below a header."""
    names = [str(c) for c in frame.columns]
    duplicates = _duplicate_columns(names)
    if duplicates:
        raise DataError(duplicates, name)
    columns = [[_cell_text(v) for v in frame.iloc[:, i].tolist()] for i in range(frame.shape[1])]
    matrix = [list(r) for r in zip(*columns)] if columns else [[] for _ in range(len(frame))]
    out = _make_frame(matrix, names, list(range(2, len(frame) + 2)))
    return Dataset(
        frame=out,
        path=name,
        format="frame",
        sha256=_frame_sha256(out),
        rows=len(out),
        columns=tuple(names),
    )


def _fail(source: str, problem: DataProblem):
    raise DataError([problem], source)


# A data file is read whole into memory: larger files are refused, before and while reading
# (a file that grows, /dev/zero), never read whole first. docs/semantics.md, "Limits".
MAX_DATA_BYTES = 512 * 1024 * 1024


def _read_bytes(path: str) -> bytes:
    try:
        return read_regular_file(path, MAX_DATA_BYTES)
    except NotARegularFile as e:
        _fail(path, DataProblem(f"is {e.strerror}: not read", hint="name a .csv, .tsv or .xlsx file",
                                code=UNREADABLE))
    except FileTooLarge:
        _fail(path, DataProblem(f"the file is larger than {MAX_DATA_BYTES:,} bytes: not read",
                                hint="split the table, or keep only the columns the methodology reads",
                                code=UNREADABLE))
    except FileNotFoundError:
        _fail(path, DataProblem("file not found", code=FILE_NOT_FOUND))
    except IsADirectoryError:
        _fail(path, DataProblem("is a directory, not a data file", code=UNREADABLE))
    except PermissionError:
        _fail(path, DataProblem("cannot read the file: permission denied", code=UNREADABLE))
    except OSError as e:
        _fail(path, DataProblem(f"cannot read the file: {e.strerror or e}", code=UNREADABLE))


def _unsupported_format(ext: str) -> DataProblem:
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


def _decode(data: bytes, path: str, encoding: str) -> str:
    try:
        info = codecs.lookup(encoding)
        codec = info.name
    except LookupError:
        _fail(
            path,
            DataProblem(
                f"unknown encoding {quote(encoding)}",
                hint="use an encoding such as utf-8, cp1252 or latin-1",
                code=BAD_ENCODING,
            ),
        )
    if not getattr(info, "_is_text_encoding", True):  # rot13, base64, zlib_codec: not text
        _fail(
            path,
            DataProblem(
                f"{quote(encoding)} is not a text encoding",
                hint="use an encoding such as utf-8, cp1252 or latin-1",
                code=BAD_ENCODING,
            ),
        )
    skip = 0
    if codec in ("utf-8", "utf-8-sig"):
        codec = "utf-8"
        if data.startswith(codecs.BOM_UTF8):
            skip = len(codecs.BOM_UTF8)
    try:
        return data[skip:].decode(codec)
    except UnicodeDecodeError as e:
        offset = skip + e.start
        line = data[:offset].count(b"\n") + 1
        message = (
            f"cannot decode the file as {encoding}: byte 0x{data[offset]:02X} at byte offset "
            f"{offset} (line {line}) is not valid {encoding}"
        )
        wide = _wide_bom(data)
        if codec == "utf-8" and wide:
            hint = f"the file starts with a {wide} byte-order mark: try --encoding {wide.lower()}"
        elif codec == "utf-8":
            hint = (
                "the file is in another encoding: if it was saved by Excel or another Windows "
                "program, try --encoding cp1252 (or --encoding latin-1)"
            )
        else:
            hint = "try another encoding, such as --encoding utf-8 or --encoding cp1252"
        _fail(path, DataProblem(message, hint=hint, code=BAD_ENCODING))


def _wide_bom(data: bytes) -> str | None:
    """Which wide encoding (UTF-16 or UTF-32) the byte-order mark the bytes start with names."""
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "UTF-32"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "UTF-16"
    return None


def _read_delimited(data: bytes, path: str, encoding: str, delimiter: str) -> pd.DataFrame:
    text = _decode(data, path, encoding)
    if not text.strip():
        _fail(path, DataProblem("the file is empty", code=EMPTY_FILE))
    if "\x00" in text:  # never in a text table: a binary file, or UTF-16/32 read as UTF-8
        nul = text.index("\x00")
        wide = _wide_bom(data) or "UTF-16"
        _fail(
            path,
            DataProblem(
                f"the file holds a NUL character (line {text.count(chr(10), 0, nul) + 1}): it is not a "
                f"{encoding} text table",
                hint=f"save it as a UTF-8 CSV file; if it is in {wide}, try --encoding {wide.lower()}",
                code=BAD_ENCODING,
            ),
        )
    plain = _read_plain(text, delimiter)
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
        _fail(path, DataProblem("the file is empty: no cell holds a value", code=EMPTY_FILE))
    return _assemble(path, header, header_row, matrix, row_numbers, problems)


# The characters str.strip() removes, as a regex class (without the line breaks \n, \r)
_SPACE = "\t\x0b\x0c\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _read_plain(text: str, delimiter: str) -> pd.DataFrame | None:
    """The table of a CSV text that needs none of the csv module's care, read by pandas' C
    parser: no double quote, no byte-order mark left, no cell of spaces only, no field longer
    than the csv module allows, a named header without repeats, and every row as wide as the
    header (or blank). None for any other text, which `_read_delimited` reads cell by cell
    with every problem located; both give the same frame for a text this reads
    (tests/test_data_plain_csv.py)."""
    if '"' in text or text.startswith("\ufeff"):  # pandas would drop a second byte-order mark
        return None
    if text.count("\r") != text.count("\r\n"):  # a lone CR ends a line: pandas' C parser then
        return None  # drops the empty first cell of a line after a blank one ("a,b\r\r,1")
    encoded = text.encode("utf-8")
    if _spaces_only_cell(text, encoded, delimiter):
        return None
    breaks = np.flatnonzero(np.isin(np.frombuffer(encoded, dtype=np.uint8), (10, 13)))
    longest = int(np.diff(breaks, prepend=-1, append=len(encoded)).max())  # bytes >= characters
    if longest > csv.field_size_limit():
        return None
    layout = _simple_layout(text, delimiter)
    if layout is None:
        layout = _line_layout(text, delimiter)
    if layout is None:
        return None
    width, lines = layout
    try:
        parsed = pd.read_csv(io.StringIO(text, newline=""), sep=delimiter, header=None, dtype=object,
                             na_filter=False, quoting=csv.QUOTE_NONE, skip_blank_lines=True, engine="c",
                             names=range(width), low_memory=False)
    except Exception:  # noqa: BLE001 - whatever pandas refuses, the csv module reads and locates
        return None
    if len(parsed) != len(lines):  # pandas reads the lines that are not empty
        return None
    cells = parsed.to_numpy(dtype=object)
    empty = cells == ""
    blank = empty.all(axis=1)  # a line of delimiters only: dropped, its number kept
    full = np.flatnonzero(~blank)
    if len(full) < 2:
        return None
    if blank.any():
        cells, empty = cells[full], empty[full]
    header = [str(c) for c in cells[0]]
    if "" in header or len(set(header)) != width:
        return None
    body = cells[1:]
    if not body.flags.writeable:  # a view of pandas' own column (copy on write)
        body = body.copy()
    body[empty[1:]] = None
    return _make_frame(body, header, (lines[full[1:]] + 1).tolist())


_ASCII_EDGES = bytes.maketrans(b"\r", b"\n")
_ASCII_SPACES = bytes.maketrans(b"\t\x0b\x0c\x1c\x1d\x1e\x1f", b"       ")


def _spaces_only_cell(text: str, encoded: bytes, delimiter: str) -> bool:
    """Whether a cell holds nothing but spaces (str.isspace characters). ASCII text is mapped
    to one edge byte and one space byte, so that one literal-prefixed search finds it."""
    if not text.isascii():
        edge = f"{re.escape(delimiter)}\r\n"  # what ends a cell
        return re.search(f"(?:^|[{edge}])[{_SPACE}]+(?=[{edge}]|\\Z)", text) is not None
    mapped = encoded.translate(_ASCII_EDGES).translate(_ASCII_SPACES)
    if delimiter != "\t":
        mapped = mapped.replace(delimiter.encode("ascii"), b"\n")
    else:  # a tab is both the delimiter and a space: a cell of spaces has a space byte
        mapped = encoded.translate(_ASCII_EDGES).replace(b"\t", b"\n").translate(_ASCII_SPACES)
    return (re.match(rb" +(?:\n|\Z)", mapped) is not None
            or re.search(rb"\n +(?:\n|\Z)", mapped) is not None)


def _simple_layout(text: str, delimiter: str):
    """(width, line numbers from 0 of the lines pandas reads) of a text without an empty line
    whose every line has the header's delimiters, from counts alone; None otherwise."""
    if text[:1] in ("\r", "\n") or "\n\n" in text or "\r\r" in text or "\n\r" in text:
        return None
    first = min([i for i in (text.find("\r"), text.find("\n")) if i >= 0], default=len(text))
    header = text[:first]
    if not header.strip(delimiter):
        return None
    width = header.count(delimiter) + 1
    lines = text.count("\n") + text.count("\r") - text.count("\r\n") + (text[-1:] not in ("\r", "\n"))
    # pandas refuses a line with more fields than the header: then none has fewer
    if lines < 2 or text.count(delimiter) != (width - 1) * lines:
        return None
    return width, np.arange(lines)


def _line_layout(text: str, delimiter: str):
    """As _simple_layout, line by line: for a text with empty lines (pandas skips them) or
    lines of fewer delimiters than the header's that hold nothing else (blank records)."""
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":  # the break ending the last line starts no record
        lines.pop()
    counts = np.fromiter((line.count(delimiter) for line in lines), dtype=np.int64, count=len(lines))
    lengths = np.fromiter(map(len, lines), dtype=np.int64, count=len(lines))
    blank = lengths == counts  # nothing but delimiters (or empty)
    full = np.flatnonzero(~blank)
    if len(full) < 2:
        return None
    width = int(counts[full[0]]) + 1
    if (counts[full] != width - 1).any():
        return None
    return width, np.flatnonzero(lengths > 0)


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


def _assemble(
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
    problems = _duplicate_columns(names, keep) + problems
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
    return _make_frame(matrix, names, row_numbers)


def _duplicate_columns(names: list[str], positions: list[int] | None = None) -> list[DataProblem]:
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


def _make_frame(
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


def _float_text(value: float) -> str:
    """Shortest text that reads back as the same float; whole numbers without ".0"."""
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


def _cell_text(value) -> str | None:
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
        return None if math.isnan(value) else _float_text(float(value))
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


# ---------------------------------------------------------------- Excel


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
        _fail(
            path,
            DataProblem(
                f"the workbook inflates to {inflated:,} bytes (its part {largest.filename} alone to "
                f"{largest.file_size:,}), more than the {MAX_XLSX_INFLATED:,} tierlang reads: not read",
                hint="export the table as CSV, or split the workbook",
                code=BAD_XLSX,
            ),
        )


def _read_xlsx(data: bytes, path: str, sheet: str | None) -> tuple[pd.DataFrame, str]:
    import openpyxl

    _check_inflated_size(data, path)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as e:  # a damaged or non-xlsx file can fail in many ways inside openpyxl
        _fail(path, _unreadable_xlsx(e))
    try:
        names = list(workbook.sheetnames)
        if sheet is None:
            if not workbook.worksheets:
                _fail(path, DataProblem("the workbook has no worksheets", code=EMPTY_FILE))
            worksheet = workbook.worksheets[0]
        elif sheet not in names:
            close = did_you_mean(sheet, names)
            listed = ", ".join(quote(n) for n in names)
            hint = (f"did you mean {quote(close)}? " if close else "") + f"The sheets are {listed}"
            _fail(
                path,
                DataProblem(
                    f"the workbook has no sheet {quote(sheet)}", hint=hint, code=UNKNOWN_SHEET
                ),
            )
        else:
            worksheet = workbook[sheet]
            if not hasattr(worksheet, "iter_rows"):
                _fail(
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
            cells = [_cell_text(v) for v in values]
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
        _fail(path, _unreadable_xlsx(e))
    finally:
        workbook.close()
    if header is None:
        _fail(path, DataProblem(f"sheet {quote(title)} is empty", code=EMPTY_FILE))
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
    return _assemble(path, header, header_row, matrix, row_numbers, [], late), title


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
        _fail(path, _unreadable_xlsx(e))


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


# ---------------------------------------------------------------- preparing inputs


def prepare_inputs(
    methodology: Methodology,
    dataset: Dataset | None,
    tables: Mapping[str, Dataset] | None = None,
) -> PreparedInputs:
    """Check the data against the methodology and type every input. Raises DataError with
    every problem found: missing columns, bad keys, unreadable or out-of-range values, empty
    required cells; for a methodology with several levels also unknown levels, levels with no
    data, conflicting values of an entity read from several rows and unknown parent keys
    (the rules: the module docstring). `dataset` is the unnamed table, `tables` the tables
    named by level (`--data LEVEL=FILE`)."""
    tables = dict(tables or {})
    if dataset is None and not tables:
        raise ValueError("prepare_inputs needs a table: the unnamed `dataset` or named `tables`")
    if not methodology.is_multilevel:
        if tables:
            raise DataError(
                [
                    DataProblem(
                        f"this methodology rates one level of entities ({methodology.entity}); "
                        "name tables only for a methodology with several levels",
                        hint="give the table without a level name: --data FILE",
                        code=NOT_MULTILEVEL,
                    )
                ],
                combine_datasets(dataset, tables).path,
            )
        return _prepare_one_level(methodology, dataset)
    return _prepare_levels(methodology, dataset, tables)


def _prepare_one_level(methodology: Methodology, dataset: Dataset) -> PreparedInputs:
    raw = dataset.frame
    rows = raw.index.to_numpy()
    present = set(dataset.columns)
    problems: list[DataProblem] = []

    for node in methodology.inputs:
        _base(node)  # an input type no data can give is refused even without its column
    needs: dict[str, tuple[list[str], list[str]]] = {}  # column: (reasons, inputs) needing it
    _need(needs, methodology.key, "as the key")
    if methodology.label_column:
        _need(needs, methodology.label_column, "as the label")
    for node in methodology.inputs:
        if not (node.optional and _column(node) not in present):  # an optional column may be absent
            _need(needs, _column(node), input_name=node.name)
    for column, (reasons, inputs) in needs.items():
        if column not in present:
            problems.append(_missing_column(column, reasons, inputs, dataset.columns))
    if dataset.rows == 0:
        problems.append(DataProblem("no data rows", code=NO_DATA_ROWS))

    key = methodology.key
    if key in present:
        problems.extend(_check_keys(raw[key].to_numpy(dtype=object), rows, key))

    values: dict[str, object] = {}
    for node in methodology.inputs:
        if _column(node) not in present:
            continue
        values[node.name], found = _read_input(node, raw, rows)
        problems.extend(found)

    if problems:
        raise DataError(problems, dataset.path)

    index = pd.Index(raw[key].to_numpy(dtype=object), dtype=object, name=key)
    frame = pd.DataFrame(
        {
            name: _series(node, values[name], index)
            for name, node in ((n.name, n) for n in methodology.inputs)
            if name in values  # an absent optional input has no column: evaluate gives `column_absent`
        },
        index=index,
    )
    labels = None
    if methodology.label_column:
        labels = pd.Series(
            raw[methodology.label_column].to_numpy(dtype=object),
            index=index,
            dtype=object,
            name=methodology.label_column,
        )
    return PreparedInputs(frame=frame, labels=labels, dataset=dataset)


def _read_input(node: Node, raw: pd.DataFrame, rows: np.ndarray):
    """One input's column typed (every row), and the problems found in it."""
    column = _column(node)
    cells = raw[column].to_numpy(dtype=object)
    parsed, found = _PARSERS[_base(node)](node, column, cells, rows)
    empty = None
    if node.required:  # (emptiness is looked at only where an input is required)
        empty = pd.isna(cells)
        if node.type.level is not None and node.type.level.not_rated:  # "not rated" is no rating either
            spellings = {s.strip().casefold() for s in node.type.level.not_rated}
            empty = empty | np.array([isinstance(c, str) and c.strip().casefold() in spellings for c in cells],
                                     dtype=bool)
    if node.required and empty.any():
        found.append(
            DataProblem(
                f"required, but empty in {rows_text([int(r) for r in rows[empty]])}",
                column=column,
                code=MISSING_REQUIRED,
            )
        )
    return parsed, found


def _column(node: Node) -> str:
    return node.column or node.name


def _base(node: Node) -> str:
    base = node.type.base
    if base not in _PARSERS:
        raise ValueError(f"input {node.name} has type {node.type}, which cannot be read from data")
    return base


def _need(
    needs: dict[str, tuple[list[str], list[str]]],
    column: str,
    reason: str | None = None,
    input_name: str | None = None,
) -> None:
    reasons, inputs = needs.setdefault(column, ([], []))
    if reason is not None and reason not in reasons:
        reasons.append(reason)
    if input_name is not None and input_name not in inputs:
        inputs.append(input_name)


def _missing_column(
    column: str, reasons: list[str], inputs: list[str], columns: tuple[str, ...]
) -> DataProblem:
    reasons = list(reasons)
    if inputs:
        reasons.append(f"by input{'s' if len(inputs) > 1 else ''} {', '.join(inputs)}")
    spaced = [c for c in columns if c.strip() == column.strip() and c != column]
    close = did_you_mean(column, columns)
    if spaced:
        hint = f"the data has {quote(spaced[0])}: remove the spaces around the header"
    elif close:
        hint = f"did you mean {quote(close)}?"
    elif 0 < len(columns) <= 12:
        hint = "the columns are " + ", ".join(quote(c) for c in columns)
    else:
        hint = None
    return DataProblem(
        f"not found in the data (needed {' and '.join(reasons)})",
        column=column,
        hint=hint,
        code=MISSING_COLUMN,
    )


def _empty_keys(empty: np.ndarray, rows: np.ndarray, column: str) -> list[DataProblem]:
    if not empty.any():
        return []
    where = rows_text([int(r) for r in rows[empty]])
    return [DataProblem(f"the key is empty in {where}", column=column, code=MISSING_KEY)]


def _spaced_key(k: str, row: int, column: str) -> DataProblem:
    return DataProblem(
        f"key {quote(k)} has spaces around it",
        row=row,
        column=column,
        value=k,
        hint=f"remove them: {quote(k.strip())}",
        code=KEY_WHITESPACE,
    )


# Keys must print as what they are: two keys that look the same must be the same key. Refused
# in a key: every control character (tab and newline too), the bidirectional controls and the
# zero-width characters (dsl.errors.INVISIBLE_CHARACTERS); two keys that differ only in their
# Unicode normal form (é as one code point, NFC, or as e and a combining accent, NFD) are refused
# together, naming both rows. Labels may hold anything: they are escaped where shown.
_KEY_HIDDEN = re.compile("[\t" + "".join(re.escape(chr(c)) for c in sorted(INVISIBLE_CHARACTERS)) + "]")


_KEY_CONTROL_NAMES = {"\t": "TAB", "\n": "NEWLINE", "\r": "CARRIAGE RETURN", "\x1b": "ESCAPE"}


def _key_form_problems(keys: list, rows: list[int], column: str) -> list[DataProblem]:
    """Keys (non-empty, each with the row it is first in) holding a character that prints as
    nothing or as something else, and keys the same once in Unicode normal form NFC."""
    problems: list[DataProblem] = []
    joined = "\ue000".join(keys)  # one search over every key (joined by a private-use character)
    if _KEY_HIDDEN.search(joined) is not None:
        for k, row in zip(keys, rows):
            hidden = _KEY_HIDDEN.search(k.strip())  # whitespace around a key: key-whitespace
            if hidden is not None:
                char = hidden.group()
                name = _KEY_CONTROL_NAMES.get(char) or unicodedata.name(char, "a control character")
                problems.append(DataProblem(
                    f"key {quote(visible(k))} holds U+{ord(char):04X} ({name}), which prints as "
                    "nothing or as something else",
                    row=row, column=column, code=KEY_HIDDEN,
                    hint="remove it: a key must print as what it is"))
    if not joined.isascii():
        forms: dict[str, list[tuple[str, int]]] = {}
        for k, row in zip(keys, rows):
            if not k.isascii():
                forms.setdefault(unicodedata.normalize("NFC", k), []).append((k, row))
        for same in forms.values():
            written = dict(same)  # each distinct spelling once, with its first row
            if len(written) > 1:
                listed = " and ".join(f"{quote(k)} (row {row}, {_form(k)})" for k, row in written.items())
                problems.append(DataProblem(
                    f"keys {listed} are the same text written in two Unicode forms",
                    column=column, code=KEY_FORMS,
                    hint="save the file with one form (NFC, what most editors write)"))
    return problems


def _form(key: str) -> str:
    return "NFC" if unicodedata.is_normalized("NFC", key) else "NFD" if unicodedata.is_normalized(
        "NFD", key) else "mixed"


def _check_keys(keys: np.ndarray, rows: np.ndarray, column: str) -> list[DataProblem]:
    series = pd.Series(keys, dtype=object)
    empty = series.isna().to_numpy()
    problems = _empty_keys(empty, rows, column)
    present = np.flatnonzero(~empty)
    for i in present:
        k = keys[i]
        if k != k.strip():
            problems.append(_spaced_key(k, int(rows[i]), column))
    problems += _key_form_problems([keys[i] for i in present], [int(rows[i]) for i in present], column)
    repeated: dict[str, list[int]] = {}
    for i in np.flatnonzero(series.duplicated(keep=False).to_numpy() & ~empty):
        repeated.setdefault(keys[i], []).append(int(rows[i]))
    for k, where in repeated.items():
        problems.append(
            DataProblem(
                f"key {quote(k)} appears in {rows_text(where)}",
                column=column,
                value=k,
                code=DUPLICATE_KEY,
            )
        )
    return problems


# ---- several levels of entities


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
        frame=_make_frame([], list(columns), []),
        path=path,
        format="tables",
        sha256=hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
        rows=sum(d.rows for _, d in parts),
        columns=columns,
        parts=tuple(parts),
    )


@attrs.define
class _LevelData:
    """One level while its data is prepared."""

    level: EntityLevel
    inputs: tuple[Node, ...]
    owner: str | None = None  # the level whose table gives this level's entities; None: none
    table: Dataset | None = None
    keys: np.ndarray | None = None  # entity keys in data order; None when they cannot be read
    positions: np.ndarray | None = None  # position in `table` of each entity's (first) row
    values: dict[str, np.ndarray] = attrs.Factory(dict)  # input: typed, one per table row

    @property
    def derived(self) -> bool:
        return self.owner is not None and self.owner != self.level.name


def _prepare_levels(
    m: Methodology, dataset: Dataset | None, tables: dict[str, Dataset]
) -> PreparedInputs:
    problems: list[DataProblem] = []  # every one names its table in `source` (if it has one)
    names = [lv.name for lv in m.levels]
    for node in m.inputs:
        _base(node)

    own: dict[str, Dataset] = {}  # level: the table given for it
    for name, table in tables.items():
        if name in names:
            own[name] = table
            continue
        close = did_you_mean(name, names)
        listed = ", ".join(names)
        problems.append(
            DataProblem(
                f"the table is named for level {quote(name)}, but the methodology has no such "
                "level",
                hint=(f"did you mean {close}? " if close else "") + f"The levels are {listed}",
                code=UNKNOWN_LEVEL,
                source=table.path,
            )
        )
    if dataset is not None:
        free = [lv for lv in m.levels if lv.name not in own]
        keyed = [lv for lv in free if lv.key in dataset.columns]
        if keyed:  # the deepest level whose key it has (max keeps the first declared of a tie)
            own[max(keyed, key=lambda lv: len(m.ancestors(lv.name))).name] = dataset
        elif free:  # no key of any level: the missing key of the first level without a table
            own[free[0].name] = dataset
        else:
            problems.append(
                DataProblem(
                    "every level of entities has a table named for it: this unnamed table is "
                    "not used",
                    hint="leave it out, or name the level it is for: --data LEVEL=FILE",
                    code=TABLE_NOT_USED,
                    source=dataset.path,
                )
            )

    data = {
        lv.name: _LevelData(lv, tuple(n for n in m.level_nodes(lv.name) if n.kind == INPUT))
        for lv in m.levels
    }
    children: dict[str, list[str]] = {name: [] for name in names}
    for lv in m.lower_levels:
        children[lv.parent].append(lv.name)
    order = {name: i for i, name in enumerate(names)}
    for name, d in data.items():
        d.owner = _nearest_table(name, own, children, order)
        d.table = None if d.owner is None else own[d.owner]
        if d.owner is None:
            problems.append(_no_level_data(d, m))

    # columns: every table, for every level it gives
    for owner, table in sorted(own.items(), key=lambda item: order[item[0]]):
        served = [d for d in data.values() if d.owner == owner]
        needs: dict[str, tuple[list[str], list[str]]] = {}
        for d in served:
            lv, mine = d.level, not d.derived
            _need(needs, lv.key, "as the key" if mine else f"as the key of level {lv.name}")
            if lv.parent is not None and data[lv.parent].owner != owner:
                _need(needs, m.level(lv.parent).key, f"as the key of the parent level {lv.parent}")
            if lv.label_column:
                _need(needs, lv.label_column, "as the label" if mine else f"as the label of level {lv.name}")
            for node in d.inputs:
                if not (node.optional and _column(node) not in table.columns):
                    _need(needs, _column(node), input_name=node.name)
        found = [
            _missing_column(column, reasons, inputs, table.columns)
            for column, (reasons, inputs) in needs.items()
            if column not in table.columns
        ]
        if table.rows == 0:
            found.append(DataProblem("no data rows", code=NO_DATA_ROWS))
        problems += _from(table, found)

    # entities and inputs of every level
    for d in data.values():
        if d.table is not None:
            problems += _from(d.table, _read_level(d, m))

    # parents
    for d in data.values():
        if d.level.parent is not None and d.keys is not None:
            problems += _from(d.table, _check_parents(d, data[d.level.parent], m))

    if problems:
        rank = {own[name].path: order[name] for name in own}
        problems.sort(key=lambda p: -1 if p.source is None else rank.get(p.source, len(order)))
        sources = {p.source for p in problems}
        source = next(iter(sources)) if len(sources) == 1 and None not in sources else None
        raise DataError(problems, source or combine_datasets(dataset, tables).path)

    top = data[names[0]]
    frame, labels = _level_frame(top)
    members = {}
    for lv in m.lower_levels:
        d = data[lv.name]
        level_frame, level_labels = _level_frame(d)
        parent_key = m.level(lv.parent).key
        parents = pd.Series(
            d.table.frame[parent_key].to_numpy(dtype=object)[d.positions],
            index=level_frame.index,
            dtype=object,
            name=parent_key,
        )
        members[lv.name] = LevelInputs(frame=level_frame, labels=level_labels, parents=parents)
    return PreparedInputs(
        frame=frame,
        labels=labels,
        dataset=combine_datasets(dataset, tables),
        members=members,
    )


def _from(table: Dataset, problems: list[DataProblem]) -> list[DataProblem]:
    return [attrs.evolve(p, source=table.path) for p in problems]


def _nearest_table(
    name: str, own: dict[str, Dataset], children: dict[str, list[str]], order: dict[str, int]
) -> str | None:
    """The level whose table gives `name`'s entities: its own, else that of its nearest
    descendant level with a table (of the nearest at one depth, the first declared)."""
    frontier = [name]
    while frontier:
        for level in frontier:
            if level in own:
                return level
        frontier = sorted((c for lv in frontier for c in children[lv]), key=order.__getitem__)
    return None


def _no_level_data(d: _LevelData, m: Methodology) -> DataProblem:
    lv = d.level
    columns = [lv.key]
    if lv.parent is not None:
        columns.append(m.level(lv.parent).key)
    if lv.label_column:
        columns.append(lv.label_column)
    columns += [_column(node) for node in d.inputs]
    listed = ", ".join(quote(c) for c in dict.fromkeys(columns))
    return DataProblem(
        f"no data for the entities of level {lv.name}",
        hint=f"give their table with --data {lv.name}=FILE, with the columns {listed}",
        code=NO_LEVEL_DATA,
    )


def _read_level(d: _LevelData, m: Methodology) -> list[DataProblem]:
    """Read one level's entities and inputs from its table: sets d.keys, d.positions and
    d.values; gives the problems found (keys, values, conflicts between an entity's rows)."""
    lv, table = d.level, d.table
    raw = table.frame
    rows = raw.index.to_numpy()
    present = set(table.columns)
    problems: list[DataProblem] = []
    codes = None
    if lv.key in present:
        cells = raw[lv.key].to_numpy(dtype=object)
        if not d.derived:  # one row per entity
            problems += _check_keys(cells, rows, lv.key)
            d.keys, d.positions = cells, np.arange(len(cells))
        else:  # one entity per distinct key, in first-appearance order
            empty = pd.isna(cells)
            problems += _empty_keys(empty, rows, lv.key)
            valid = np.flatnonzero(~empty)
            codes, uniques = pd.factorize(pd.Series(cells[valid], dtype=object))
            first = valid[np.unique(codes, return_index=True)[1]]  # codes: 0, 1, ... in order
            d.keys, d.positions = cells[first], first
            for k, i in zip(d.keys, first):
                if k != k.strip():
                    problems.append(_spaced_key(k, int(rows[i]), lv.key))
            problems += _key_form_problems(list(d.keys), [int(rows[i]) for i in first], lv.key)
    bad_rows: dict[str, set[int]] = {}  # column: rows whose cell could not be read
    compared: list[tuple[str, np.ndarray]] = []  # (column, values compared between rows)
    if lv.parent is not None and m.level(lv.parent).key in present:
        column = m.level(lv.parent).key
        compared.append((column, raw[column].to_numpy(dtype=object)))
    if lv.label_column and lv.label_column in present:
        compared.append((lv.label_column, raw[lv.label_column].to_numpy(dtype=object)))
    for node in d.inputs:
        column = _column(node)
        if column not in present:
            continue
        d.values[node.name], found = _read_input(node, raw, rows)
        problems += found
        bad_rows.setdefault(column, set()).update(p.row for p in found if p.row is not None)
        compared.append((column, d.values[node.name]))
    if codes is not None:
        checked = {lv.key}
        for column, values in compared:
            if column not in checked:
                checked.add(column)
                problems += _conflicts(
                    lv.name, column, values, raw[column].to_numpy(dtype=object), rows,
                    valid, codes, d.keys, bad_rows.get(column, set()),
                )
    return problems


def _conflicts(
    level: str,
    column: str,
    values: np.ndarray,
    cells: np.ndarray,
    rows: np.ndarray,
    valid: np.ndarray,
    codes: np.ndarray,
    keys: np.ndarray,
    bad_rows: set[int],
) -> list[DataProblem]:
    """One problem per entity whose rows do not all hold the same value in `column`: its first
    row with a readable value against the first row that differs from it. `values` are typed
    (50% and 0.5 are the same number, yes and true the same boolean); `cells` as written;
    `valid` the positions of the rows with a key, `codes` their entity."""
    if bad_rows:
        keep = ~np.isin(rows[valid], np.fromiter(bad_rows, dtype=rows.dtype, count=len(bad_rows)))
        valid, codes = valid[keep], codes[keep]
    first = np.full(len(keys), -1, dtype=np.int64)
    present, at = np.unique(codes, return_index=True)
    first[present] = valid[at]
    reference = first[codes]
    a, b = values[reference], values[valid]
    if a.dtype.kind == "f":
        same = (a == b) | (np.isnan(a) & np.isnan(b))
    else:
        a_missing, b_missing = pd.isna(a), pd.isna(b)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            equal = np.asarray(a == b, dtype=bool)
        same = np.where(a_missing | b_missing, a_missing & b_missing, equal)
    problems = []
    reported: set[int] = set()
    for i in np.flatnonzero(~same):
        code = int(codes[i])
        if code in reported:
            continue
        reported.add(code)
        there, here = int(reference[i]), int(valid[i])
        problems.append(
            DataProblem(
                f"{level} {quote(keys[code])} is {_shown(cells[there])} in row {rows[there]} "
                f"but {_shown(cells[here])} in row {rows[here]}",
                column=column,
                value=cells[here],
                hint=f"every row of one {level} must give it the same value; or give level "
                f"{level} its own table: --data {level}=FILE",
                code=INCONSISTENT_MEMBER,
            )
        )
    return problems


def _shown(cell: str | None) -> str:
    return "empty" if cell is None else quote(cell)


def _check_parents(d: _LevelData, parent: _LevelData, m: Methodology) -> list[DataProblem]:
    """Every entity's parent key must be an entity of the parent level."""
    column = parent.level.key
    if parent.keys is None or column not in d.table.columns or parent.owner == d.owner:
        return []  # from one table, the parent level's entities are its keys: nothing to check
    rows = d.table.frame.index.to_numpy()[d.positions]
    cells = d.table.frame[column].to_numpy(dtype=object)[d.positions]
    empty = pd.isna(cells)
    problems = []
    if empty.any():
        where = rows_text([int(r) for r in rows[empty]])
        problems.append(
            DataProblem(
                f"the key of the parent level {parent.level.name} is empty in {where}",
                column=column,
                code=MISSING_KEY,
            )
        )
    known = pd.Index(parent.keys, dtype=object)
    unknown = np.flatnonzero(~empty & ~pd.Series(cells, dtype=object).isin(known).to_numpy())
    if not len(unknown):
        return problems
    name = parent.level.name
    # an acronym is read letter by letter: "an STP", "an NHS trust", "a CCG"
    vowel_sounds = "AEFHILMNORSX" if name.isupper() else "aeiouAEIOU"
    article = "an" if name[:1] in vowel_sounds else "a"
    pool = set(known) if len(known) <= _DID_YOU_MEAN_MAX else None
    for n, i in enumerate(unknown):
        cell = cells[i]
        hint = None
        if n < SHOW_PER_GROUP:  # hints are shown for the problems listed, not the ones counted
            if cell.strip() in known and cell.strip() != cell:
                hint = f"remove the spaces around it: {quote(cell.strip())}"
            elif pool is not None:
                close = did_you_mean(cell, pool)
                hint = f"did you mean {quote(close)}?" if close else None
        problems.append(
            DataProblem(
                f"{quote(cell)} is not {article} {name} in {parent.table.path}",
                row=int(rows[i]),
                column=column,
                value=cell,
                hint=hint,
                code=UNKNOWN_PARENT,
            )
        )
    return problems


_DID_YOU_MEAN_MAX = 5000  # parent levels with more entities get no did-you-mean (difflib is slow)


def _level_frame(d: _LevelData) -> tuple[pd.DataFrame, pd.Series | None]:
    """The level's inputs (one row per entity, its first row's values) and labels by key."""
    index = pd.Index(d.keys, dtype=object, name=d.level.key)
    frame = pd.DataFrame(
        {node.name: _series(node, d.values[node.name][d.positions], index) for node in d.inputs
         if node.name in d.values},
        index=index,
    )
    labels = None
    if d.level.label_column:
        labels = pd.Series(
            d.table.frame[d.level.label_column].to_numpy(dtype=object)[d.positions],
            index=index,
            dtype=object,
            name=d.level.label_column,
        )
    return frame, labels


# ---- numbers

_NUMBER = DECIMAL
_THOUSANDS = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?")
_DECIMAL_COMMA = re.compile(r"[+-]?[0-9]*,[0-9]+")
_CURRENCY = re.compile(r"[£$€]\s*(.*)|(.*?)\s*[£$€]")
_MISSING_MARKERS = {
    "na",
    "n/a",
    "n.a.",
    "n.a",
    "null",
    "none",
    "nil",
    "missing",
    "-",
    "--",
    "–",
    "—",
    ".",
    "..",
    "...",
    "x",
    "*",
    "?",
    "#n/a",
}
_NOT_FINITE = {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}
_SPREADSHEET_ERRORS = {
    "#div/0!",
    "#value!",
    "#ref!",
    "#name?",
    "#num!",
    "#null!",
    "#calc!",
    "#spill!",
    "#getting_data",
}
_MISSING_HINT = "leave the cell empty for a missing value"
_PERCENT_HINT = "percentages must be written with a % sign or as fractions (95% or 0.95)"


def _parse_number(node: Node, column: str, cells: np.ndarray, rows: np.ndarray):
    out = np.full(len(cells), np.nan)
    present = np.flatnonzero(pd.notna(cells))
    number = _NUMBER.fullmatch
    parsed = _plain_numbers(cells[present])
    if parsed is None:
        # plain decimals (the bulk of any column) in one pass; None marks a cell to look at again
        # float() of a plain decimal is correctly rounded: the value dsl.numbers.decimal_value gives
        parsed = np.array(
            [float(t) if number(t) else None for t in (c.strip() for c in cells[present])],
            dtype=float,
        )
    out[present] = parsed
    bad: list[int] = []
    for i in present[np.isnan(parsed)]:
        text = cells[i].strip()
        body = text[:-1].rstrip()
        if text.endswith("%") and number(body):
            out[i] = decimal_value(body, percent=True)  # 12.5% is the decimal 12.5/100
        else:
            bad.append(i)
    infinite = np.flatnonzero(np.isinf(out))  # "1e400" overflows
    out[infinite] = np.nan
    problems = [_not_a_number(int(rows[i]), column, cells[i]) for i in sorted([*bad, *infinite])]
    if node.range is not None:
        problems.extend(_range_problems(node.range, out, cells, rows, column))
    return out, problems


def _plain_numbers(texts: np.ndarray) -> np.ndarray | None:
    """The cells as floats when every one is a plain decimal (what _NUMBER matches, spaces
    around it allowed), converted in one numpy pass; None when any is not (a cell to look at
    one by one). For ASCII text without "_", float() accepts exactly _NUMBER with spaces
    around it, plus nan and inf (refused here as not finite), and numpy converts with float()."""
    joined = "".join(texts)
    if not joined.isascii() or "_" in joined:
        return None
    try:
        values = texts.astype(np.float64)
    except (TypeError, ValueError):
        return None
    return values if np.isfinite(values).all() else None


def _not_a_number(row: int, column: str, cell: str) -> DataProblem:
    text = cell.strip()
    folded = text.casefold()
    message = f"{quote(cell)} is not a number"
    hint = None
    body = text[:-1].rstrip() if text.endswith("%") else text
    if folded in _NOT_FINITE or _NUMBER.fullmatch(body):  # nan, inf; 1e400 overflows
        message = f"{quote(cell)} is not a number a methodology can use"
        hint = _MISSING_HINT if "nan" in folded else None
    elif folded in _MISSING_MARKERS:
        hint = _MISSING_HINT
    elif folded in _SPREADSHEET_ERRORS:
        hint = "this is a spreadsheet error: fix the formula, or leave the cell empty for a missing value"
    elif _THOUSANDS.fullmatch(body):
        hint = f"remove the thousands separators: {text.replace(',', '')}"
    elif _DECIMAL_COMMA.fullmatch(body):
        hint = f"use a dot for the decimal point: {text.replace(',', '.')}"
    else:
        currency = _CURRENCY.fullmatch(text)
        rest = currency and (currency.group(1) or currency.group(2) or "")
        if rest and _NUMBER.fullmatch(rest):
            hint = f"remove the currency symbol: {rest}"
    return DataProblem(message, row=row, column=column, value=cell, hint=hint, code=NOT_A_NUMBER)


def _range_problems(
    bounds, values: np.ndarray, cells: np.ndarray, rows: np.ndarray, column: str
) -> list[DataProblem]:
    low, high = float(bounds[0]), float(bounds[1])
    with np.errstate(invalid="ignore"):
        # decimal-safe, as comparisons in the language: within 1e-12 of the bound is on it
        below = values < low - 1e-12 * np.maximum(np.maximum(np.abs(values), abs(low)), 1.0)
        above = values > high + 1e-12 * np.maximum(np.maximum(np.abs(values), abs(high)), 1.0)
    if math.isinf(low):
        where = f"is above the maximum {_float_text(high)}"
    elif math.isinf(high):
        where = f"is below the minimum {_float_text(low)}"
    else:
        where = f"is outside the range {_float_text(low)} to {_float_text(high)}"
    problems = []
    for i in np.flatnonzero(below | above):
        hint = _PERCENT_HINT if (low, high) == (0.0, 1.0) and 1 < values[i] <= 100 else None
        problems.append(
            DataProblem(
                f"{cells[i].strip()} {where}",
                row=int(rows[i]),
                column=column,
                value=cells[i],
                hint=hint,
                code=OUT_OF_RANGE,
            )
        )
    return problems


# ---- levels, booleans, text


def _lookup(cells: np.ndarray, table: dict, fallback) -> tuple[np.ndarray, list[int]]:
    """Cells mapped through `table` (vectorised); cells not in it through `fallback(cell)`.
    Gives the values (None where missing or not recognised) and the unrecognised positions."""
    mapped = pd.Series(cells, dtype=object).map(table).to_numpy(dtype=object, copy=True)
    unknown = []
    for i in np.flatnonzero(pd.isna(mapped)):
        if cells[i] is None:
            mapped[i] = None
            continue
        mapped[i] = fallback(cells[i])
        if mapped[i] is None:
            unknown.append(int(i))
    return mapped, unknown


def _parse_level(node: Node, column: str, cells: np.ndarray, rows: np.ndarray):
    level = node.type.level
    folded_count = Counter(label.strip().casefold() for label in level.labels)
    folded = {
        label.strip().casefold(): label
        for label in level.labels
        if folded_count[label.strip().casefold()] == 1
    }
    values, unknown = _lookup(
        cells, {label: label for label in level.labels}, lambda c: folded.get(c.strip().casefold())
    )
    not_rated = {s.strip().casefold() for s in level.not_rated}
    if not_rated:  # the level type's `missing "..."` spellings: read as missing
        rated = [i for i in unknown if cells[i].strip().casefold() not in not_rated]
        for i in set(unknown) - set(rated):
            values[i] = None
        unknown = rated
    problems = []
    for i in unknown:
        cell = cells[i]
        close = did_you_mean(cell.strip().casefold(), folded)
        problems.append(
            DataProblem(
                f"{quote(cell)} is not a label of {level.name} ({level.describe()})",
                row=int(rows[i]),
                column=column,
                value=cell,
                hint=f"did you mean {quote(folded[close])}?" if close else None,
                code=UNKNOWN_LABEL,
            )
        )
    return values, problems


_BOOLEANS = {
    "true": True,
    "yes": True,
    "y": True,
    "1": True,
    "false": False,
    "no": False,
    "n": False,
    "0": False,
}
_BOOLEAN_SPELLINGS = {
    spelling: value
    for word, value in _BOOLEANS.items()
    for spelling in (word, word.upper(), word.capitalize())
}
_BOOLEAN_HINT = "write true or false (yes/no, y/n and 1/0 are also accepted)"


def _parse_boolean(node: Node, column: str, cells: np.ndarray, rows: np.ndarray):
    values, unknown = _lookup(
        cells, _BOOLEAN_SPELLINGS, lambda c: _BOOLEANS.get(c.strip().casefold())
    )
    problems = [
        DataProblem(
            f"{quote(cells[i])} is not a boolean",
            row=int(rows[i]),
            column=column,
            value=cells[i],
            hint=_BOOLEAN_HINT,
            code=NOT_A_BOOLEAN,
        )
        for i in unknown
    ]
    return values, problems


def _parse_text(node: Node, column: str, cells: np.ndarray, rows: np.ndarray):
    return cells.copy(), []


_PARSERS = {NUMBER: _parse_number, LEVEL: _parse_level, BOOLEAN: _parse_boolean, TEXT: _parse_text}


def _series(node: Node, values, index: pd.Index) -> pd.Series:
    base = node.type.base
    if base == NUMBER:
        return pd.Series(values, index=index, dtype="float64", name=node.name)
    if base == BOOLEAN:
        return pd.Series(pd.array(list(values), dtype="boolean"), index=index, name=node.name)
    if base == LEVEL:
        categorical = pd.Categorical(values, categories=list(node.type.level.labels), ordered=True)
        return pd.Series(categorical, index=index, name=node.name)
    return pd.Series(values, index=index, dtype=object, name=node.name)
