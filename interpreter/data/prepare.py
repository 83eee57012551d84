"""`prepare_inputs`: a table (or one table per entity level) checked against a methodology, and
every input typed, indexed by entity key (`PreparedInputs`).

A single-level methodology is prepared here; one with several levels by
interpreter.data.level_tables.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from dsl.model import Methodology
from interpreter.data.dataset import Dataset, combine_datasets
from interpreter.data.inputs import (
    PreparedInputs,
    input_base,
    input_column,
    input_series,
    missing_column,
    need,
    read_input,
)
from interpreter.data.keys import check_keys
from interpreter.data.level_tables import prepare_levels
from interpreter.errors import (
    NO_DATA_ROWS,
    NOT_MULTILEVEL,
    DataError,
    DataProblem,
)


def prepare_inputs(
    methodology: Methodology,
    dataset: Dataset | None,
    tables: Mapping[str, Dataset] | None = None,
) -> PreparedInputs:
    """Check the data against the methodology and type every input. Raises DataError with
    every problem found: missing columns, bad keys, unreadable or out-of-range values, empty
    required cells; for a methodology with several levels also unknown levels, levels with no
    data, conflicting values of an entity read from several rows and unknown parent keys
    (the rules: the module docstring). `dataset` is the unnamed table, `tables` the tables
    named by level (`--data LEVEL=FILE`)."""
    tables = dict(tables or {})
    if dataset is None and not tables:
        raise ValueError("prepare_inputs needs a table: the unnamed `dataset` or named `tables`")
    if not methodology.is_multilevel:
        if tables:
            raise DataError(
                [
                    DataProblem(
                        f"this methodology rates one level of entities ({methodology.entity}); "
                        "name tables only for a methodology with several levels",
                        hint="give the table without a level name: --data FILE",
                        code=NOT_MULTILEVEL,
                    )
                ],
                combine_datasets(dataset, tables).path,
            )
        return _prepare_one_level(methodology, dataset)
    return prepare_levels(methodology, dataset, tables)


def _prepare_one_level(methodology: Methodology, dataset: Dataset) -> PreparedInputs:
    rows = dataset.rows_index
    present = set(dataset.columns)
    problems: list[DataProblem] = []

    for node in methodology.inputs:
        input_base(node)  # an input type no data can give is refused even without its column
    needs: dict[str, tuple[list[str], list[str]]] = {}  # column: (reasons, inputs) needing it
    need(needs, methodology.key, "as the key")
    if methodology.label_column:
        need(needs, methodology.label_column, "as the label")
    for node in methodology.inputs:
        if not (node.optional and input_column(node) not in present):  # an optional column may be absent
            need(needs, input_column(node), input_name=node.name)
    for column, (reasons, inputs) in needs.items():
        if column not in present:
            problems.append(missing_column(column, reasons, inputs, dataset.columns))
    if dataset.rows == 0:
        problems.append(DataProblem("no data rows", code=NO_DATA_ROWS))

    key = methodology.key
    if key in present:
        problems.extend(check_keys(dataset.cells(key), rows, key))

    values: dict[str, object] = {}
    for node in methodology.inputs:
        if input_column(node) not in present:
            continue
        values[node.name], found = read_input(node, dataset, rows)
        problems.extend(found)

    if problems:
        raise DataError(problems, dataset.path)

    index = pd.Index(dataset.cells(key), dtype=object, name=key)
    frame = pd.DataFrame(
        {
            name: input_series(node, values[name], index)
            for name, node in ((n.name, n) for n in methodology.inputs)
            if name in values  # an absent optional input has no column: evaluate gives `column_absent`
        },
        index=index,
        copy=False,  # a column per block, not one block copied of them all (copy on write keeps them apart)
    )
    labels = None
    if methodology.label_column:
        labels = pd.Series(
            dataset.cells(methodology.label_column),
            index=index,
            dtype=object,
            name=methodology.label_column,
        )
    return PreparedInputs(frame=frame, labels=labels, dataset=dataset)
