"""The fast path of CSV reading: a text that needs none of the csv module's care, read by
pandas' C parser.

Plain: no double quote, no byte-order mark left, no cell of spaces only, no field longer than
the csv module allows, a named header without repeats, and every row as wide as the header (or
blank). Any other text is left to interpreter.data.delimited, which reads it cell by cell with
every problem located; both give the same table for a text read here
(tests/test_data_plain_csv.py).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable

import attrs
import numpy as np
import pandas as pd

from interpreter.data.dataset import make_frame

_SPACE = "\t\x0b\x0c\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def read_plain(text: str, delimiter: str) -> pd.DataFrame | None:
    """The table of a CSV text that needs none of the csv module's care, read by pandas' C
    parser: no double quote, no byte-order mark left, no cell of spaces only, no field longer
    than the csv module allows, a named header without repeats, and every row as wide as the
    header (or blank). None for any other text, which `read_delimited` reads cell by cell
    with every problem located; both give the same frame for a text this reads
    (tests/test_data_plain_csv.py)."""
    layout = _plain_layout(text, delimiter)
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
    return make_frame(body, header, (lines[full[1:]] + 1).tolist())


def _plain_layout(text: str, delimiter: str, simple_only: bool = False):
    """(width, line numbers of the records pandas reads) of a text pandas reads as the csv
    module would (see read_plain), None otherwise; with `simple_only`, of a text without
    empty lines whose every line has the header's delimiters only."""
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
    if layout is None and not simple_only:
        layout = _line_layout(text, delimiter)
    return layout


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
    carriage = "\r" in text  # most texts have none: the scans for CR are then skipped
    if text[:1] in ("\r", "\n") or "\n\n" in text or (carriage and ("\r\r" in text or "\n\r" in text)):
        return None
    first = min([i for i in (text.find("\r"), text.find("\n")) if i >= 0], default=len(text))
    header = text[:first]
    if not header.strip(delimiter):
        return None
    width = header.count(delimiter) + 1
    lines = text.count("\n") + (text.count("\r") - text.count("\r\n") if carriage else 0)
    lines += text[-1:] not in ("\r", "\n")
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


@attrs.frozen
class TypedTable:
    """A plain CSV text read with its numbers typed: `numbers` holds each column whose every
    non-empty cell is a plain decimal, as float64 (NaN for an empty cell: what
    interpreter.data.cells' number parser gives for it), `texts` every other column as text
    cells (None for an empty cell). `text_frame()` reads the whole text as read_plain does,
    for whoever needs every cell as text."""

    header: list[str]
    row_numbers: np.ndarray
    numbers: dict[str, np.ndarray]
    texts: dict[str, np.ndarray]
    text_frame: Callable[[], pd.DataFrame]


# A cell "-0", "-00", ...: pandas reads it as the integer 0, float() as -0.0 (a cell is between
# delimiters or line ends; the text has no quotes and no lone CR)
_NEGATIVE_INTEGER_ZERO = r"(?:^|[{d}\n])[ \t]*-0+[ \t]*(?=[{d}\r\n]|\Z)"


def read_plain_typed(text: str, delimiter: str) -> TypedTable | None:
    """The table of a plain text (read_plain's, with every line as wide as the header and no
    empty line) with its numbers typed; None for any other text (read_plain reads it)."""
    layout = _plain_layout(text, delimiter, simple_only=True)
    if layout is None:
        return None
    width, lines = layout
    first = min([i for i in (text.find("\r"), text.find("\n")) if i >= 0], default=len(text))
    header = text[:first].split(delimiter)
    if len(header) != width or "" in header or len(set(header)) != width:
        return None
    options = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}
    try:
        parsed = pd.read_csv(io.StringIO(text, newline=""), sep=delimiter, header=None, skiprows=1,
                             names=range(width), keep_default_na=False, na_values=[""],
                             quoting=csv.QUOTE_NONE, skip_blank_lines=True, engine="c", low_memory=False,
                             **options)
    except Exception:  # noqa: BLE001 - whatever pandas refuses, the csv module reads and locates
        return None
    if len(parsed) != len(lines) - 1:
        return None
    blank = parsed.isna().all(axis=1).to_numpy()  # a line of delimiters only: dropped, its number kept
    full = np.flatnonzero(~blank)
    if len(full) < 1:
        return None
    if blank.any():
        parsed = parsed.iloc[full]
    rows = (full + 2).astype(np.int64)  # the header is row 1
    negative_zero = None
    numbers: dict[str, np.ndarray] = {}
    texts: dict[str, np.ndarray] = {}
    for position, name in enumerate(header):
        column = parsed[position]
        kind = column.dtype
        if kind == np.int64:
            if negative_zero is None:
                negative_zero = re.search(_NEGATIVE_INTEGER_ZERO.format(d=re.escape(delimiter)), text) is not None
            if not negative_zero:
                numbers[name] = column.to_numpy(dtype=np.float64)
        elif kind == np.float64:
            values = column.to_numpy(dtype=np.float64, copy=True)
            if not np.isinf(values).any():  # inf, Infinity, 1e400: the careful parser says why not
                numbers[name] = values
        elif kind.kind == "O" or pd.api.types.is_string_dtype(kind):
            cells = column.to_numpy(dtype=object, copy=True)
            missing = pd.isna(cells) | (cells == "")  # pandas leaves "" where it gave up on numbers
            # every cell text (pandas reads a column of true/false with empty cells as booleans)
            if missing.all() or pd.api.types.infer_dtype(cells[~missing], skipna=False) == "string":
                cells[missing] = None
                texts[name] = cells
    cached: list[pd.DataFrame] = []

    def text_frame() -> pd.DataFrame:
        if not cached:
            cached.append(read_plain(text, delimiter))
        return cached[0]

    for name in header:  # a column pandas typed otherwise (booleans, inf...): its text
        if name not in numbers and name not in texts:
            texts[name] = text_frame()[name].to_numpy(dtype=object)
    return TypedTable(header, rows, numbers, texts, text_frame)
