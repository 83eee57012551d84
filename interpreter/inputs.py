"""A methodology's inputs as internal values: each level's table, and an input node's column.

An input's empty cells are missing with `input_missing`; an `optional` input whose column the
data lacks is missing everywhere with `column_absent`.
"""

from __future__ import annotations

import pandas as pd

from dsl.model import Node
from interpreter.reason_codes import COLUMN_ABSENT, INPUT_MISSING
from interpreter.values import Val, finish, from_series


def level_table(members, level: str | None, inputs: pd.DataFrame) -> pd.DataFrame:
    """The inputs of a level (the top level's when None); a level with no data given (a test
    of one top-level entity) has no entities."""
    if level is None:
        return inputs
    if members and level in members:
        return members[level].frame
    return pd.DataFrame(index=pd.Index([], dtype=object))


def parents(members, level: str, frames) -> pd.Series:
    """The key of each entity's parent, for the entities of a lower level."""
    frame = frames[level]
    if members and level in members:
        return members[level].parents.reindex(frame.index).astype(object)
    return pd.Series([], index=frame.index, dtype=object)



def input_value(node: Node, inputs: pd.DataFrame, index: pd.Index) -> Val:
    """An input node's values for the entities of `index`, from its column of `inputs`."""
    if node.name in inputs.columns:
        column = inputs[node.name]
    elif node.column is not None and node.column in inputs.columns:
        column = inputs[node.column]
    else:
        column = pd.Series([None] * len(index), index=index, dtype=object)
        if node.optional:  # an `optional` input whose column the data lacks
            value = from_series(column, node.type, index)
            return finish(node.type, value.data, COLUMN_ABSENT)
    value = from_series(column, node.type, index)
    return finish(node.type, value.data, INPUT_MISSING)

