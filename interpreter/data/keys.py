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


# a key with whitespace (str.isspace, which is what \s matches) at its start or end, in keys
# joined by U+E000 with one more at each end
_SPACED = re.compile("\ue000\\s|\\s\ue000")
_SPACE = re.compile("\\s")

_KEY_CONTROL_NAMES = {"\t": "TAB", "\n": "NEWLINE", "\r": "CARRIAGE RETURN", "\x1b": "ESCAPE"}


def key_form_problems(keys, rows, column: str, joined: str | None = None) -> list[DataProblem]:
    """Keys (non-empty, each with the row it is first in) holding a character that prints as
    nothing or as something else, and keys the same once in Unicode normal form NFC.
    `joined`: the keys joined by U+E000, when the caller has made it."""
    problems: list[DataProblem] = []
    if joined is None:
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
                    row=int(row), column=column, code=KEY_HIDDEN,
                    hint="remove it: a key must print as what it is"))
    if not joined.replace("\ue000", "").isascii():  # (the private-use joiner is not ASCII)
        forms: dict[str, list[tuple[str, int]]] = {}
        for k, row in zip(keys, rows):
            if not k.isascii():
                forms.setdefault(unicodedata.normalize("NFC", k), []).append((k, int(row)))
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
    keys = np.asarray(keys, dtype=object)
    empty = pd.isna(keys)
    problems = empty_keys(empty, rows, column)
    present = np.flatnonzero(~empty)
    if len(present) < len(keys):
        keys, rows = keys[present], rows[present]
    joined = "\ue000".join(keys)  # one search over every key (joined by a private-use character)
    if _SPACE.search(joined) and _SPACED.search(f"\ue000{joined}\ue000"):  # then key by key, in row order
        problems += [spaced_key(k, int(row), column) for k, row in zip(keys, rows) if k != k.strip()]
    problems += key_form_problems(keys, rows, column, joined)
    repeated: dict[str, list[int]] = {}
    for i in np.flatnonzero(pd.Index(keys).duplicated(keep=False)):
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
