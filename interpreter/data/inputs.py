"""One input read from a table: the columns a table must have (and the message when one is
missing), the input's column typed and checked (unreadable cells, range, required cells), and
the typed values as the pandas Series `evaluate` takes.
"""

from __future__ import annotations

import attrs
import numpy as np
import pandas as pd

from dsl.errors import did_you_mean
from dsl.model import Node
from dsl.types import BOOLEAN, LEVEL, NUMBER
from interpreter.data.cells import PARSERS, plain_number_column
from interpreter.data.dataset import Dataset
from interpreter.errors import (
    MISSING_COLUMN,
    MISSING_REQUIRED,
    DataProblem,
    quote,
    rows_text,
)
from interpreter.levels import LevelInputs


@attrs.frozen(eq=False)
class PreparedInputs:
    # index: entity keys (name = methodology.key); one column per input. Its numbers are
    # read-only: the inputs as read (frame.copy() for a table to change)
    frame: pd.DataFrame
    labels: pd.Series | None  # display names from methodology.label_column, indexed by key
    dataset: Dataset  # the table read; several tables: combine_datasets of them
    # the lower levels' entities and inputs by level name, in methodology.lower_levels order;
    # empty for a single-level methodology
    members: dict[str, LevelInputs] = attrs.field(factory=dict)


def read_input(node: Node, table, rows: np.ndarray):
    """One input's column typed (every row), and the problems found in it. `table`: a Dataset,
    or a DataFrame of text cells."""
    column = input_column(node)
    typed = isinstance(table, Dataset)
    numbers = table.numbers.get(column) if typed and input_base(node) == NUMBER else None
    if numbers is not None:  # read as floats already: every cell a plain decimal or empty
        parsed, found = plain_number_column(node, column, numbers, rows, lambda: table.cells(column))
        empty = np.isnan(numbers) if node.required else None
    else:
        cells = table.cells(column) if typed else table[column].to_numpy(dtype=object)
        parsed, found = PARSERS[input_base(node)](node, column, cells, rows)
        empty = None
        if node.required:  # (emptiness is looked at only where an input is required)
            empty = pd.isna(cells)
            if node.type.level is not None and node.type.level.not_rated:  # "not rated" is no rating either
                spellings = {s.strip().casefold() for s in node.type.level.not_rated}
                empty = empty | np.array([isinstance(c, str) and c.strip().casefold() in spellings
                                          for c in cells], dtype=bool)
    if node.required and empty.any():
        found.append(
            DataProblem(
                f"required, but empty in {rows_text([int(r) for r in rows[empty]])}",
                column=column,
                code=MISSING_REQUIRED,
            )
        )
    return parsed, found


def input_column(node: Node) -> str:
    return node.column or node.name


def input_base(node: Node) -> str:
    base = node.type.base
    if base not in PARSERS:
        raise ValueError(f"input {node.name} has type {node.type}, which cannot be read from data")
    return base


def need(
    needs: dict[str, tuple[list[str], list[str]]],
    column: str,
    reason: str | None = None,
    input_name: str | None = None,
) -> None:
    reasons, inputs = needs.setdefault(column, ([], []))
    if reason is not None and reason not in reasons:
        reasons.append(reason)
    if input_name is not None and input_name not in inputs:
        inputs.append(input_name)


def missing_column(
    column: str, reasons: list[str], inputs: list[str], columns: tuple[str, ...]
) -> DataProblem:
    reasons = list(reasons)
    if inputs:
        reasons.append(f"by input{'s' if len(inputs) > 1 else ''} {', '.join(inputs)}")
    spaced = [c for c in columns if c.strip() == column.strip() and c != column]
    close = did_you_mean(column, columns)
    if spaced:
        hint = f"the data has {quote(spaced[0])}: remove the spaces around the header"
    elif close:
        hint = f"did you mean {quote(close)}?"
    elif 0 < len(columns) <= 12:
        hint = "the columns are " + ", ".join(quote(c) for c in columns)
    else:
        hint = None
    return DataProblem(
        f"not found in the data (needed {' and '.join(reasons)})",
        column=column,
        hint=hint,
        code=MISSING_COLUMN,
    )


def input_series(node: Node, values, index: pd.Index) -> pd.Series:
    base = node.type.base
    if base == NUMBER:
        # not copied: the prepared DataFrame holds these arrays, read-only (the inputs as read;
        # a column read typed is the Dataset's own)
        view = np.asarray(values, dtype="float64").view()
        view.flags.writeable = False
        return pd.Series(view, index=index, dtype="float64", name=node.name, copy=False)
    if base == BOOLEAN:
        return pd.Series(pd.array(list(values), dtype="boolean"), index=index, name=node.name)
    if base == LEVEL:
        categorical = pd.Categorical(values, categories=list(node.type.level.labels), ordered=True)
        return pd.Series(categorical, index=index, name=node.name)
    return pd.Series(values, index=index, dtype=object, name=node.name)
