"""Entity keys: none empty, none with spaces around it, none repeated, none holding a character
that prints as nothing or as something else, and no two the same text in two Unicode forms.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd

from dsl.errors import INVISIBLE_CHARACTERS, visible
from interpreter.errors import (
    DUPLICATE_KEY,
    KEY_FORMS,
    KEY_HIDDEN,
    KEY_WHITESPACE,
    MISSING_KEY,
    DataProblem,
    quote,
    rows_text,
)


def empty_keys(empty: np.ndarray, rows: np.ndarray, column: str) -> list[DataProblem]:
    if not empty.any():
        return []
    where = rows_text([int(r) for r in rows[empty]])
    return [DataProblem(f"the key is empty in {where}", column=column, code=MISSING_KEY)]


def spaced_key(k: str, row: int, column: str) -> DataProblem:
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


def key_form_problems(keys: list, rows: list[int], column: str) -> list[DataProblem]:
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


def check_keys(keys: np.ndarray, rows: np.ndarray, column: str) -> list[DataProblem]:
    series = pd.Series(keys, dtype=object)
    empty = series.isna().to_numpy()
    problems = empty_keys(empty, rows, column)
    present = np.flatnonzero(~empty)
    for i in present:
        k = keys[i]
        if k != k.strip():
            problems.append(spaced_key(k, int(rows[i]), column))
    problems += key_form_problems([keys[i] for i in present], [int(rows[i]) for i in present], column)
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
