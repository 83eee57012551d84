"""The one number parser and the one number formatter of tierlang.

`parse_number` reads a number as a methodology, a data cell and `--param` all write it:
a decimal (`0.143`, `1e-3`, `-2`) or a percentage (`14.3%`, `12.5 %`). The decimal is read
exactly and then taken to the nearest float64, so `14.3%` is 0.143 wherever it is written
(dividing the float 14.3 by 100 would give 0.14300000000000002).

`format_number` shows a number the same way in every output (`run`'s table, `explain`,
`diff`, `reconcile`): the value taken to 15 significant digits, then rounded half away from
zero to 4 decimals (to 4 significant digits below 1), trailing zeros dropped: 2.71, 0.3333,
88.25, 0.0001235, 1234.5679. Beyond 1e15 or below 1e-6 in magnitude, scientific with 4
decimals: 1.7977e+308, 4.9407e-324. Missing is "missing" (callers may show another word).
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal, localcontext

DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
"""A plain decimal as data cells and `--param` may write it (the language's grammar has its
own NUMBER token; both are read by `decimal_value`)."""


def decimal_value(digits: str, percent: bool = False) -> float:
    """The float nearest to the decimal `digits` (divided by 100 when `percent`), exactly."""
    try:
        d = Decimal(digits)
        return float(d.scaleb(-2) if percent else d)
    except ArithmeticError:  # an exponent beyond what decimals hold: the nearest float is 0 or inf
        return float(digits) / 100 if percent else float(digits)


def parse_number(text: str) -> float:
    """`text` as a number (`0.143`, `14.3%`, `14.3 %`); ValueError when it is not one."""
    body = text.strip()
    percent = body.endswith("%")
    if percent:
        body = body[:-1].rstrip()
    if not DECIMAL.fullmatch(body):
        raise ValueError(f"not a number: {text!r}")
    return decimal_value(body, percent)


def close(a: float, b: float) -> bool:
    """Decimal-safe equality of two numbers, as docs/semantics.md defines it (the scalar form
    of interpreter.numeric.close, for layers that read recorded numbers)."""
    return a == b or abs(a - b) <= 1e-12 * max(abs(a), abs(b), 1.0)


def format_number(value: float | None, missing: str = "missing") -> str:
    """A number as every output shows it (see the module docstring)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return missing
    value = float(value)
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    d = Decimal(format(value, ".15g"))
    if d == 0:
        return "0"
    with localcontext(prec=60):
        if abs(d) >= _LARGE or abs(d) < _SMALL:
            exponent = d.adjusted()
            mantissa = d.scaleb(-exponent).quantize(_FOUR, rounding=ROUND_HALF_UP)
            if abs(mantissa) >= 10:
                mantissa, exponent = (
                    (mantissa / 10).quantize(_FOUR, rounding=ROUND_HALF_UP),
                    exponent + 1,
                )
            return f"{_strip(format(mantissa, 'f'))}e{exponent:+03d}"
        exponent = -4 if abs(d) >= 1 else min(-4, d.adjusted() - 3)
        text = format(d.quantize(Decimal(1).scaleb(exponent), rounding=ROUND_HALF_UP), "f")
    text = _strip(text)
    return "0" if text in ("-0", "") else text


_LARGE, _SMALL, _FOUR = Decimal("1e15"), Decimal("1e-6"), Decimal("0.0001")


def _strip(text: str) -> str:
    return text.rstrip("0").rstrip(".") if "." in text else text
