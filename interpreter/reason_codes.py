"""Missing reasons as the interpreter holds them: small integer codes from one table.

A value's reasons (interpreter.values.Val.codes) are a uint8 array: 0 where the value is
present, else the code of the reason it is missing. Code i + 1 is interpreter.trace.REASONS[i];
a text not in REASONS (read back from a store) gets the next free code the first time it is
seen. The texts are what a trace records and explain shows: they are made only where a trace
is built or read back (`texts`, `codes_of`), never while expressions are evaluated.
"""

from __future__ import annotations

import numpy as np

from interpreter import trace

DTYPE = np.uint8

_TEXTS: list[str | None] = [None, *trace.REASONS]
_CODES: dict[str | None, int] = {text: i for i, text in enumerate(_TEXTS)}
_ARRAY = np.array(_TEXTS, dtype=object)

NONE = 0
INPUT_MISSING = _CODES[trace.INPUT_MISSING]
COMPONENT_MISSING = _CODES[trace.COMPONENT_MISSING]
DIVISION_BY_ZERO = _CODES[trace.DIVISION_BY_ZERO]
BELOW_REQUIRE = _CODES[trace.BELOW_REQUIRE]
OUT_OF_DOMAIN = _CODES[trace.OUT_OF_DOMAIN]
NO_RULE = _CODES[trace.NO_RULE]
NOT_IN_DATA = _CODES[trace.NOT_IN_DATA]
EXCLUDED = _CODES[trace.EXCLUDED]
NO_MEMBERS = _CODES[trace.NO_MEMBERS]
COLUMN_ABSENT = _CODES[trace.COLUMN_ABSENT]


def code(reason: str | int | None) -> int:
    """The code of a reason given as its text or its code (None: no reason)."""
    if reason is None or isinstance(reason, (int, np.integer)):
        return int(reason or 0)
    found = _CODES.get(reason)
    if found is None:
        global _ARRAY
        assert len(_TEXTS) <= np.iinfo(DTYPE).max, "too many distinct missing reasons"
        found = _CODES[reason] = len(_TEXTS)
        _TEXTS.append(reason)
        _ARRAY = np.array(_TEXTS, dtype=object)
    return found


def no_reasons(n: int) -> np.ndarray:
    """n entities, none missing."""
    return np.zeros(n, dtype=DTYPE)


def texts(codes: np.ndarray) -> np.ndarray:
    """The reasons' texts (an object array; None where there is no reason)."""
    return _ARRAY[codes]


def codes_of(reasons) -> np.ndarray:
    """Reasons given as texts (None or NaN for no reason) as codes."""
    reasons = np.asarray(reasons, dtype=object)
    out = no_reasons(len(reasons))
    for text in {r for r in reasons.tolist() if isinstance(r, str)}:
        out[reasons == text] = code(text)
    return out
