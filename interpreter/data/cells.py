"""Cell parsing: one column's text cells read as numbers, labels of a level type, booleans or text.

Every cell that cannot be read is one problem located at its row, with why when it can be told:
a missing-value spelling (`n/a`, `-`), a spreadsheet error (`#DIV/0!`), thousands separators, a
decimal comma, a currency symbol, a percentage outside a 0..1 range. `12.5%` is the decimal
0.125; `missing "..."` spellings of a level type are read as missing.
"""

from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np
import pandas as pd

from dsl.errors import did_you_mean
from dsl.model import Node
from dsl.numbers import DECIMAL, decimal_value
from dsl.types import BOOLEAN, LEVEL, NUMBER, TEXT
from interpreter.data.dataset import float_text
from interpreter.errors import (
    NOT_A_BOOLEAN,
    NOT_A_NUMBER,
    OUT_OF_RANGE,
    UNKNOWN_LABEL,
    DataProblem,
    quote,
)

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
    parsed = plain_numbers(cells[present])
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


def plain_number_column(node: Node, column: str, values: np.ndarray, rows: np.ndarray, cells):
    """A number column the fast reader read as floats (Dataset.numbers: every non-empty cell a
    plain decimal, none infinite, NaN where empty): what _parse_number gives for its text, with
    the range checked; `cells()` gives the text, read only to name a value out of range."""
    problems = []
    if node.range is not None:
        problems = _range_problems(node.range, values, _LazyCells(cells), rows, column)
    return values, problems  # the table read holds it: copied into the prepared frame


class _LazyCells:
    """The text cells of a column, read on first use."""

    def __init__(self, read):
        self._read, self._cells = read, None

    def __getitem__(self, i):
        if self._cells is None:
            self._cells = self._read()
        return self._cells[i]


def plain_numbers(texts: np.ndarray) -> np.ndarray | None:
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
    if len(values) and np.fmin.reduce(values) >= low and np.fmax.reduce(values) <= high:
        return []  # every value within the bounds themselves (fmin, fmax: NaN only if all are)
    with np.errstate(invalid="ignore"):
        # decimal-safe, as comparisons in the language: within 1e-12 of the bound is on it
        below = values < low - 1e-12 * np.maximum(np.maximum(np.abs(values), abs(low)), 1.0)
        above = values > high + 1e-12 * np.maximum(np.maximum(np.abs(values), abs(high)), 1.0)
    if math.isinf(low):
        where = f"is above the maximum {float_text(high)}"
    elif math.isinf(high):
        where = f"is below the minimum {float_text(low)}"
    else:
        where = f"is outside the range {float_text(low)} to {float_text(high)}"
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


PARSERS = {NUMBER: _parse_number, LEVEL: _parse_level, BOOLEAN: _parse_boolean, TEXT: _parse_text}
