"""Text from a methodology or its data, made safe for where tierlang writes it.

Keys, labels, texts and names come from files anyone may have written; tierlang shows them on a
terminal and writes them into files a spreadsheet opens. Three functions, one per destination
(docs/semantics.md, "Hostile text"):

- `terminal_text`: for anything written to a terminal (also through a pipe: `| less -R` still
  reaches one). Every control character except newline and tab, a carriage return not followed
  by a newline, the C1 controls (U+0080-U+009F, among them the one-character CSI) and the
  bidirectional and zero-width controls become visible stand-ins, one character for one (ESC
  becomes U+241B, RLO U+FFFD): no escape sequence (CSI colours, OSC 0/8/52 title, hyperlink,
  clipboard) can act, and no text can hide or reorder what is around it.
- `spreadsheet_cell`: for a CSV cell. Text starting with `=`, `+`, `-`, `@`, a tab or a
  carriage return that is not a number is prefixed with `'`, so that a spreadsheet shows it as
  text instead of evaluating it (OWASP's "CSV injection" rule). Numbers (`-1.5`) are left alone.
- .xlsx text cells are tierlang/xlsx.py's (issue 16): written as text cells, never formulas,
  formula-like text marked with Excel's quote prefix (`FORMULA_STARTS` is the same rule as
  here), characters XML cannot hold written as `\\xNN`.

`csv_text` writes rows with `spreadsheet_cell` applied and every cell holding a carriage return
quoted (Python's csv module quotes a bare CR only when it is part of the line terminator), so
that the file reads back cell for cell.

Pure text: no I/O, usable from every layer (audit's CSV renderers, tierlang's writers).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from typing import Any

from dsl.errors import INVISIBLE_CHARACTERS

# terminal: everything `visible` replaces except newline and tab (kept: they cannot act)
_TERMINAL = {code: shown for code, shown in INVISIBLE_CHARACTERS.items() if code not in (0x0A, 0x09)}
_LONE_CR = re.compile(r"\r(?!\n)")
_UNSAFE = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(_TERMINAL) if c != 0x0D) + "]")


def terminal_text(text: str) -> str:
    """`text` safe to write to a terminal (module docstring). CRLF line ends are kept."""
    if _UNSAFE.search(text) is None and "\r" not in text:
        return text  # the common case, without building a new string
    # a CRLF is a line end, not an overwrite: kept
    return "\r\n".join(part.translate(_TERMINAL) for part in text.split("\r\n"))


def has_terminal_controls(text: str) -> bool:
    """Whether `terminal_text` would change `text` (a CRLF line end aside)."""
    return _UNSAFE.search(text) is not None or _LONE_CR.search(text) is not None


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def spreadsheet_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as written, never evaluates (module docstring)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _is_number(value):
        return "'" + value
    return value


def csv_text(rows: Iterable[Iterable[Any]]) -> str:
    """CSV text of `rows`, "\\n" line ends, cells through `spreadsheet_cell`, a cell holding a
    carriage return quoted."""
    out = io.StringIO()
    plain = csv.writer(out, lineterminator="\n")
    row_buffer = io.StringIO()
    # with "\r\n" as its terminator the writer quotes every cell holding "\r" or "\n"
    quoting = csv.writer(row_buffer, lineterminator="\r\n")
    for row in rows:
        cells = [spreadsheet_cell(c) for c in row]
        if any(isinstance(c, str) and "\r" in c for c in cells):
            row_buffer.seek(0)
            row_buffer.truncate()
            quoting.writerow(cells)
            out.write(row_buffer.getvalue()[:-2] + "\n")
        else:
            plain.writerow(cells)
    return out.getvalue()


def json_text(value: Any, **options: Any) -> str:
    """`json.dumps(value, ensure_ascii=False, **options)` with every character `terminal_text`
    would replace written as a \\u escape: valid JSON, the same data, nothing a terminal acts on."""
    text = json.dumps(value, ensure_ascii=False, **options)
    if _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
