"""Problems found in a data table, and how they are shown.

A `DataError` carries every problem found (not just the first), so one run tells the user
everything to fix. Rendering:

    examples/x.csv: 3 problems in the data:
      column "AE_4HR": not found in the data (needed by input ae_4hr)
        help: did you mean "AE_4HR_PCT"?
      row 12, column "RTT": "n/a" is not a number
        help: leave the cell empty for a missing value
      row 14, column "RTT": "-" is not a number

A single problem that belongs to no row or column (the file is missing, cannot be decoded...)
is shown on one line: `examples/x.csv: file not found`.

Problems from several files (a methodology with several entity levels, one table per level):
each problem names its file (`DataProblem.source`), the error's source is every table given
(`trusts.csv; service=services.csv`), and a problem whose file is not the error's source is
located with its file first:

    trusts.csv; service=services.csv: 2 problems in the data:
      trusts.csv, row 4, column "deficit": "maybe" is not a boolean
      services.csv, row 9, column "trust_code": "RXX" is not a trust in trusts.csv

When every problem comes from one file, the error's source is that file and the rendering is
exactly the single-file one above.

At most `SHOW_PER_GROUP` problems of one kind in one column are listed; the rest are counted
(`... and 37 more non-numeric cells in "RTT"`). A hint already shown for a column is not
repeated. `DataError.problems` always holds every problem.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import NoReturn

import attrs

from dsl.errors import DATA, ERROR, TierlangError

SHOW_PER_GROUP = 20  # problems of one kind in one column listed before the rest are counted

# Problem codes (stable slugs for tools and tests).
FILE_NOT_FOUND = "file-not-found"
UNREADABLE = "unreadable"
UNSUPPORTED_FORMAT = "unsupported-format"
BAD_ENCODING = "bad-encoding"
EMPTY_FILE = "empty-file"
NO_DATA_ROWS = "no-data-rows"
DUPLICATE_COLUMN = "duplicate-column"
RAGGED_ROW = "ragged-row"
MALFORMED_CSV = "malformed-csv"
BAD_XLSX = "bad-xlsx"
UNKNOWN_SHEET = "unknown-sheet"
FORMULA_NO_VALUE = "formula-no-value"
MISSING_COLUMN = "missing-column"
MISSING_KEY = "missing-key"
DUPLICATE_KEY = "duplicate-key"
KEY_WHITESPACE = "key-whitespace"
KEY_HIDDEN = "key-hidden-character"  # a control, bidirectional or zero-width character in a key
KEY_FORMS = "key-unicode-forms"  # two keys the same text in different Unicode forms (NFC, NFD)
NOT_A_NUMBER = "not-a-number"
OUT_OF_RANGE = "out-of-range"
MISSING_REQUIRED = "missing-required"
UNKNOWN_LABEL = "unknown-label"
NOT_A_BOOLEAN = "not-a-boolean"
# entities at several levels (interpreter/data.py, prepare_inputs)
NOT_MULTILEVEL = "not-multilevel"  # a table named by level for a single-level methodology
UNKNOWN_LEVEL = "unknown-level"  # a table named for a level the methodology does not declare
TABLE_NOT_USED = "table-not-used"  # the unnamed table, when every level has a named table
NO_LEVEL_DATA = "no-level-data"  # no table gives the entities of a level
UNKNOWN_PARENT = "unknown-parent"  # a parent key that is not an entity of the parent level
INCONSISTENT_MEMBER = "inconsistent-member"  # an entity read from several rows, differing

# Kinds that can be numerous: listed up to SHOW_PER_GROUP per column, then counted.
GROUP_NOUNS = {  # code: (one, many)
    NOT_A_NUMBER: ("non-numeric cell", "non-numeric cells"),
    OUT_OF_RANGE: ("value out of range", "values out of range"),
    UNKNOWN_LABEL: ("unrecognised label", "unrecognised labels"),
    NOT_A_BOOLEAN: ("cell that is not a boolean", "cells that are not booleans"),
    KEY_WHITESPACE: ("key with spaces around it", "keys with spaces around them"),
    DUPLICATE_KEY: ("duplicated key", "duplicated keys"),
    RAGGED_ROW: ("row with the wrong number of cells", "rows with the wrong number of cells"),
    FORMULA_NO_VALUE: ("formula with no saved value", "formulas with no saved value"),
    UNKNOWN_PARENT: ("unknown parent key", "unknown parent keys"),
    INCONSISTENT_MEMBER: ("conflicting value", "conflicting values"),
}


@attrs.frozen
class DataProblem:
    """One problem: a located diagnostic, as dsl.errors.Diagnostic is for a methodology, with
    the data's coordinates. `row` is the spreadsheet row number (the header is row 1, the first
    data row is 2), None when the problem is not about one row; `column` is the column header
    as written in the data; `value` is the offending cell as written. `source` is the file the
    problem is in when one error spans several files (None: the error's source). `code` is a
    stable slug (the constants above), as a Diagnostic's."""

    message: str
    row: int | None = None
    column: str | None = None
    value: str | None = None
    hint: str | None = None
    code: str = "data"
    source: str | None = None
    severity: str = ERROR  # every data problem stops the run

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def location(self) -> str:
        """`row 12, column "X"`, `row 12`, `column "X"` or ``."""
        parts = []
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None:
            parts.append(f"column {quote(self.column)}")
        return ", ".join(parts)

    def to_json(self, file: str | None = None) -> dict:
        """The problem as Diagnostic.to_json gives a methodology's: severity, code, message,
        where (`file`, then `row` and `column` for a line and column), the cell's `value` and
        the hint. `file`: the problem's own file, else the one given (the error's source)."""
        return {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "file": self.source if self.source is not None else file,
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "hint": self.hint,
        }


class DataError(TierlangError):
    """The data cannot be used: carries every problem found and the data's path (for problems
    from several files, every table given, as `interpreter.data.combine_datasets` names them;
    each problem then names its own file in `DataProblem.source`)."""

    stage = DATA

    def __init__(self, problems: Iterable[DataProblem], source: str):
        self.problems: list[DataProblem] = list(problems)
        self.source = source
        super().__init__(render_data_error(self))

    def to_json(self) -> list[dict]:
        """Every problem as JSON, each naming its file."""
        return [p.to_json(self.source) for p in self.problems]


QUOTE_MAX = 60  # characters of a value shown in a message; a longer one is cut, its length given


def quote(text: str) -> str:
    """A value or column name in double quotes, with control and other invisible characters
    escaped so that surrounding or odd whitespace is visible: `" E54000007"`, `"a\\tb"`,
    `"\\ufeffcode"`. A value longer than QUOTE_MAX characters is cut:
    `"99999…" (100,000 characters)`."""
    if len(text) > QUOTE_MAX:
        return f'{_quoted(text[: QUOTE_MAX - 10])[:-1]}…" ({len(text):,} characters)'
    return _quoted(text)


def _quoted(text: str) -> str:
    shown = json.dumps(text, ensure_ascii=False)
    if shown.isprintable():
        return shown
    return "".join(
        c if c.isprintable() else (f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}")
        for c in shown
    )


def rows_text(rows: Sequence[int], limit: int = SHOW_PER_GROUP) -> str:
    """`row 5`, `rows 5 and 9`, `rows 5, 9 and 12`, `rows 2, 3, ..., 21 and 37 more`."""
    rows = list(rows)
    if len(rows) == 1:
        return f"row {rows[0]}"
    shown = [str(r) for r in rows[:limit]]
    rest = len(rows) - len(shown)
    if rest:
        return f"rows {', '.join(shown)} and {rest} more"
    return f"rows {', '.join(shown[:-1])} and {shown[-1]}"


def plural(n: int, word: str, words: str | None = None) -> str:
    return f"{n} {word if n == 1 else (words or word + 's')}"


def render_data_error(error: DataError) -> str:
    problems = error.problems
    if not problems:
        return f"{error.source}: problem in the data"
    if len(problems) == 1 and problems[0].row is None and problems[0].column is None:
        p = problems[0]
        lines = [f"{p.source or error.source}: {p.message}"]
        if p.hint:
            lines.append(f"  help: {p.hint}")
        return "\n".join(lines)

    def own_file(p: DataProblem) -> str | None:
        """The problem's file when it is not the error's source (shown with the problem)."""
        return p.source if p.source is not None and p.source != error.source else None

    totals = Counter((p.code, p.column, own_file(p)) for p in problems if p.code in GROUP_NOUNS)
    seen: Counter = Counter()
    hints_shown: set[tuple[str | None, str | None, str]] = set()
    lines = [f"{error.source}: {plural(len(problems), 'problem')} in the data:"]
    for p in problems:
        file = own_file(p)
        group = (p.code, p.column, file)
        if p.code in GROUP_NOUNS:
            seen[group] += 1
            if seen[group] > SHOW_PER_GROUP:
                if seen[group] == SHOW_PER_GROUP + 1:
                    rest = totals[group] - SHOW_PER_GROUP
                    where = f" in {quote(p.column)}" if p.column is not None else ""
                    if file is not None:
                        where += f" of {file}"
                    one, many = GROUP_NOUNS[p.code]
                    lines.append(f"  ... and {rest} more {one if rest == 1 else many}{where}")
                continue
        where = p.location()
        if file is not None:
            where = f"{file}, {where}" if where else file
        lines.append(f"  {where}: {p.message}" if where else f"  {p.message}")
        if p.hint and (file, p.column, p.hint) not in hints_shown:
            lines.append(f"    help: {p.hint}")
            hints_shown.add((file, p.column, p.hint))
    return "\n".join(lines)


def fail(source: str, problem: DataProblem) -> NoReturn:
    """Raise the DataError of one problem (a file that cannot be read at all)."""
    raise DataError([problem], source)
