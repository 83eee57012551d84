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
import warnings
from collections.abc import Callable

import attrs
import numpy as np
import pandas as pd

from interpreter.data.dataset import make_frame

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def read_plain(text: str, delimiter: str, encoded: bytes | None = None) -> pd.DataFrame | None:
    """The table of a CSV text that needs none of the csv module's care, read by pandas' C
    parser: no double quote, no byte-order mark left, no cell of spaces only, no field longer
    than the csv module allows, a named header without repeats, and every row as wide as the
    header (or blank). None for any other text, which `read_delimited` reads cell by cell
    with every problem located; both give the same frame for a text this reads
    (tests/test_data_plain_csv.py). `encoded`: the text in UTF-8, when the caller has it."""
    if encoded is None:
        encoded = text.encode("utf-8")
    layout = _plain_layout(text, delimiter, encoded=encoded)
    if layout is None:
        return None
    width, lines, _ = layout
    try:
        parsed = pd.read_csv(io.BytesIO(encoded), encoding="utf-8", sep=delimiter, header=None, dtype=object,
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


def _plain_layout(text: str, delimiter: str, simple_only: bool = False, encoded: bytes | None = None):
    """(width, line numbers of the records pandas reads, shortest line) of a text pandas reads
    as the csv module would (see read_plain), None otherwise; with `simple_only`, of a text
    without empty lines whose every line has the header's delimiters only. The shortest
    line is in UTF-8 bytes with its line break (a line of delimiters only, a blank record, is
    `width` long; a lone CR or LF counts as a line of 1). `encoded`: the text in UTF-8
    (made here when not given)."""
    if '"' in text or text.startswith("\ufeff"):  # pandas would drop a second byte-order mark
        return None
    carriage = "\r" in text
    if carriage and text.count("\r") != text.count("\r\n"):  # a lone CR ends a line: pandas' C
        return None  # parser then drops the empty first cell of a line after a blank one ("a,b\r\r,1")
    if encoded is None:
        encoded = text.encode("utf-8")
    octets = np.frombuffer(encoded, dtype=np.uint8)
    if _spaces_only_cell(text, octets, delimiter):
        return None
    ends = (octets == 10) | (octets == 13) if carriage else octets == 10
    breaks = np.flatnonzero(ends)
    spans = np.diff(breaks, prepend=-1, append=len(encoded))  # each line's bytes, its break included
    if len(breaks) and breaks[-1] == len(encoded) - 1:
        spans = spans[:-1]  # no line after the last break
    if int(spans.max()) > csv.field_size_limit():  # bytes >= characters
        return None
    layout = _simple_layout(text, delimiter, None if carriage else breaks, octets)
    if layout is None and not simple_only:
        layout = _line_layout(text, delimiter)
    return None if layout is None else (*layout, int(spans.min()))


# What str.isspace calls a space, but for the line breaks \n and \r (cell edges)
_SPACE = "\t\x0b\x0c\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_WIDE_SPACE = re.compile("[\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")
_ASCII_SPACE_BYTES = b"\t\x0b\x0c\x1c\x1d\x1e\x1f "


def _spaces_only_cell(text: str, octets: np.ndarray, delimiter: str) -> bool:
    """Whether a cell holds nothing but spaces (str.isspace characters). `octets`: the text in
    UTF-8. A text whose spaces are all ASCII is searched byte-wise: every run of space bytes
    that starts and ends at a cell's edge (a delimiter, a line break, the start or the end)
    is such a cell. UTF-8 never uses an ASCII byte inside a wider character, so the runs and
    edges found are those of the text."""
    if not text.isascii() and _WIDE_SPACE.search(text) is not None:
        edge = f"{re.escape(delimiter)}\r\n"  # what ends a cell
        spaces = _SPACE.replace(delimiter, "")  # a tab delimiter is no space in a cell
        return re.search(f"(?:^|[{edge}])[{spaces}]+(?=[{edge}]|\\Z)", text) is not None
    present = [b for b in _ASCII_SPACE_BYTES if b != ord(delimiter) and chr(b) in text]
    if not present:
        return False
    space = octets == present[0]
    for byte in present[1:]:
        space |= octets == byte
    at = np.flatnonzero(space)
    apart = np.diff(at) != 1
    first, last = at[np.r_[True, apart]], at[np.r_[apart, True]]  # of each run of spaces
    edges = (ord(delimiter), 10, 13)
    before = (first == 0) | np.isin(octets[np.maximum(first - 1, 0)], edges)
    after = (last == len(octets) - 1) | np.isin(octets[np.minimum(last + 1, len(octets) - 1)], edges)
    return bool((before & after).any())


def _simple_layout(text: str, delimiter: str, newlines: np.ndarray | None = None,
                   octets: np.ndarray | None = None):
    """(width, line numbers from 0 of the lines pandas reads) of a text without an empty line
    whose every line has the header's delimiters, from counts alone; None otherwise.
    `newlines`: where the text's line feeds are in its UTF-8, for a text without a CR;
    `octets`: its UTF-8 bytes (an ASCII delimiter is then counted there, several times
    faster than str.count)."""
    carriage = "\r" in text  # most texts have none: the scans for CR are then skipped
    if newlines is not None:  # the empty lines, the lines
        if len(newlines) and (newlines[0] == 0 or (np.diff(newlines) == 1).any()):
            return None
        lines = len(newlines) + (text[-1:] != "\n")
    elif text[:1] in ("\r", "\n") or "\n\n" in text or (carriage and ("\r\r" in text or "\n\r" in text)):
        return None
    else:
        lines = text.count("\n") + (text.count("\r") - text.count("\r\n") if carriage else 0)
        lines += text[-1:] not in ("\r", "\n")
    first = min([i for i in (text.find("\r"), text.find("\n")) if i >= 0], default=len(text))
    header = text[:first]
    if not header.strip(delimiter):
        return None
    width = header.count(delimiter) + 1
    # pandas refuses a line with more fields than the header: then none has fewer
    if lines < 2:
        return None
    if octets is not None and delimiter.isascii():
        delimiters = int(np.count_nonzero(octets == ord(delimiter)))
    else:
        delimiters = text.count(delimiter)
    if delimiters != (width - 1) * lines:
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


# A cell "-0", "-00", ...: pandas reads it as the integer 0, float() as -0.0. Searched from its
# literal "-0" (fast), then what is before it checked (a cell is between delimiters or line
# ends; the text has no quotes and no lone CR)
_NEGATIVE_ZERO_END = r"-0+[ \t]*(?=[{d}\r\n]|\Z)"


def _has_integer_negative_zero(text: str, delimiter: str, octets: np.ndarray | None = None) -> bool:
    """Whether a cell of `text` is an integer -0. `octets`: its UTF-8 bytes, where "-0" is
    looked for first (str's search for a two-character needle is slow where "-" is common)."""
    if "-" not in text:
        return False
    if octets is not None:
        dash = np.flatnonzero(octets[:-1] == 45)  # "-"
        if not (octets[dash + 1] == 48).any():  # "0"
            return False
    elif "-0" not in text:
        return False
    for found in re.finditer(_NEGATIVE_ZERO_END.format(d=re.escape(delimiter)), text):
        start = found.start()
        while start > 0 and text[start - 1] in " \t" and text[start - 1] != delimiter:
            start -= 1
        if start == 0 or text[start - 1] in (delimiter, "\n"):
            return True
    return False


def read_plain_typed(text: str, delimiter: str, encoded: bytes | None = None,
                     text_again: Callable[[], str] | None = None) -> TypedTable | None:
    """The table of a plain text (read_plain's, with every line as wide as the header and no
    empty line) with its numbers typed; None for any other text (read_plain reads it).
    `encoded`: the text in UTF-8, when the caller has it. `text_again`: the same text, read
    again, for a text frame asked for after reading: the table then holds neither the text nor
    its bytes (as large as the file) while a run uses it."""
    if encoded is None:
        encoded = text.encode("utf-8")
    layout = _plain_layout(text, delimiter, simple_only=True, encoded=encoded)
    if layout is None:
        return None
    width, lines, shortest = layout
    first = min([i for i in (text.find("\r"), text.find("\n")) if i >= 0], default=len(text))
    header = text[:first].split(delimiter)
    if len(header) != width or "" in header or len(set(header)) != width:
        return None
    options = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}
    try:
        # low_memory (pandas' default): typed in blocks of rows, a column typed differently in two
        # blocks comes out as objects of both kinds (read from its text below, as any column
        # pandas typed otherwise), integers and decimals as decimals; its DtypeWarning says so
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pd.errors.DtypeWarning)
            # header=0 with names: the header line read and named by position (skiprows=1 would
            # make pandas test every line against the rows to skip)
            parsed = pd.read_csv(io.BytesIO(encoded), encoding="utf-8", sep=delimiter, header=0,
                                 names=range(width), keep_default_na=False, na_values=[""],
                                 quoting=csv.QUOTE_NONE, skip_blank_lines=True, engine="c", **options)
    except Exception:  # noqa: BLE001 - whatever pandas refuses, the csv module reads and locates
        return None
    if len(parsed) != len(lines) - 1:
        return None
    # a line of delimiters only (no line is, when every line is longer): dropped, its number kept
    blank = parsed.isna().all(axis=1).to_numpy() if shortest <= width else np.zeros(len(parsed), dtype=bool)
    full = np.flatnonzero(~blank)
    if len(full) < 1:
        return None
    if blank.any():
        parsed = parsed.iloc[full]
    rows = (full + 2).astype(np.int64)  # the header is row 1
    # an integer "-0" in a block of integers is 0, and stays 0 when another block makes its
    # column decimal: if the text has one, no integer or decimal column is taken from pandas
    negative_zero = None
    numbers: dict[str, np.ndarray] = {}
    texts: dict[str, np.ndarray] = {}
    for position, name in enumerate(header):
        column = parsed[position]
        kind = column.dtype
        if kind in (np.int64, np.float64):
            if negative_zero is None:
                negative_zero = _has_integer_negative_zero(text, delimiter, np.frombuffer(encoded, dtype=np.uint8))
            if negative_zero:
                continue
            values = column.to_numpy(dtype=np.float64).view()  # a view of pandas' block, never written
            values.flags.writeable = False
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
    for name in header:  # a column pandas typed otherwise (booleans, inf...): its text
        if name not in numbers and name not in texts:
            if not cached:
                cached.append(read_plain(text, delimiter))  # (encoded again: the bytes are not kept)
            texts[name] = cached[0][name].to_numpy(dtype=object)
    return TypedTable(header, rows, numbers, texts, _text_frame(cached, text_again or _holding(text), delimiter))


def _holding(text: str) -> Callable[[], str]:
    return lambda: text


def _text_frame(cached: list[pd.DataFrame], text: Callable[[], str], delimiter: str) -> Callable[[], pd.DataFrame]:
    """read_plain of the text, once, on first use (a closure over neither text nor bytes
    unless `text` holds it)."""
    def text_frame() -> pd.DataFrame:
        if not cached:
            frame = read_plain(text(), delimiter)
            if frame is None:  # the text read again is not the text read (checked by the caller)
                raise AssertionError("the text read again is not plain")
            cached.append(frame)
        return cached[0]
    return text_frame
