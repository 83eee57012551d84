"""How one value is shown in a cell or a line of any rendered output: every number through the
one number formatter (dsl.numbers.format_number), and the few displays that deliberately differ
from it, each saying why."""

from __future__ import annotations

import math
import sys

from dsl.numbers import format_number


def _missing(value) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return True
    pandas = sys.modules.get("pandas")  # a missing cell of a pandas table; no pandas, no pd.NA
    return pandas is not None and value is pandas.NA


def number(value, missing: str = "-") -> str:
    """A number as every output shows it (dsl.numbers.format_number), `missing` if none; a value
    that is not a float (an int, a text) as written."""
    if _missing(value):
        return missing
    if isinstance(value, float):
        return format_number(value, missing=missing)
    return str(value)


def signed(value, missing: str = "-") -> str:
    """A change, its sign always shown: `+0.25`, `-1.5`, `0`."""
    if _missing(value):
        return missing
    text = format_number(float(value))
    return text if text.startswith("-") or text == "0" else f"+{text}"


def percent(share, missing: str = "-") -> str:
    """A share (0..1) as a whole percentage: `93%`, never rounded to 0% or 100% when it is not
    0 or 1 (`<1%`, `>99%`). Deliberately not format_number: tier probabilities and shares of
    samples are read at a glance, and whole percents are what their sampling error allows."""
    if _missing(share):
        return missing
    value = 100 * float(share)
    shown = f"{value:.0f}%"
    if shown == "100%" and share < 1:
        return ">99%"
    if shown == "0%" and share > 0:
        return "<1%"
    return shown


def estimate(value, decimals: int, missing: str = "-") -> str:
    """A sampled estimate to a fixed number of decimals (sensitivity indices to 3, mean rank
    shifts to 2). Deliberately not format_number: a Monte Carlo estimate has no more digits
    than its sampling error allows, and a fixed width keeps its column aligned."""
    if _missing(value):
        return missing
    return f"{float(value):.{decimals}f}"


def exact(value) -> str:
    """A number in a CSV file, to be read back by a program: every digit (the shortest text
    that reads back as the same float64, as pandas writes a table), a whole number without
    `.0`; empty if missing."""
    if _missing(value):
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    return str(value)
