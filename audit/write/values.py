"""The `node_values` rows of a run (and a lower level's `member_values`), held by node as
arrays and streamed entity-major a block of entities at a time.

A run's values are most of what is recorded (nodes x entities rows). They are never turned
into one Python list per column (at 100k entities that is 11 million objects per column,
whose allocation cost more than a third of the insert): the numbers are one float64 array,
the texts, flags and missing reasons (NULL in most rows) only their present cells
(`SparseColumn`), and `rows` builds the tuples `executemany` binds a block of entities at a
time. The body digest encodes the same arrays directly (audit/integrity/hashing.py).
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Iterator, Sequence

import attrs
import numpy as np
import pandas as pd

from audit.integrity.hashing import RealColumn, SparseColumn
from audit.write.columns import _aligned, _labels, _list_json, _texts
from dsl import types as T
from interpreter.trace import NodeTrace

# Rows per block `rows` builds: small enough for its lists to stay in cache, large enough
# that the blocks cost nothing next to the rows.
BLOCK_ROWS = 32_768


def _present(column: np.ndarray) -> np.ndarray:
    """The positions of the cells of an object array that are not None."""
    cells = column.tolist()
    return np.flatnonzero(
        np.fromiter(
            map(operator.is_not, cells, itertools.repeat(None)), dtype=bool, count=len(cells)
        )
    )


def _sparse(cells: list[tuple[int, np.ndarray]], nodes: int, entities: int) -> SparseColumn:
    """The entity-major column of `nodes` x `entities` cells that is NULL except in the node
    rows `cells` gives ((node index, object array by entity) pairs)."""
    positions, values = [], []
    for i, column in cells:
        present = _present(column)
        positions.append(present * nodes + i)
        values.append(column[present])
    if not positions:
        return SparseColumn(
            nodes * entities, np.empty(0, dtype=np.int64), np.empty(0, dtype=object)
        )
    flat = np.concatenate(positions)
    order = np.argsort(flat, kind="stable")
    return SparseColumn(nodes * entities, flat[order], np.concatenate(values)[order])


@attrs.define
class ValueColumns:
    """The values of one level's nodes for its entities, in `node_values` row order
    (entity-major: entity `e`'s values are rows `e * nodes .. e * nodes + nodes - 1`, in node
    order; node `i` is recorded as node position `first_node + i`)."""

    entities: int
    nodes: int
    first_node: int
    num: np.ndarray  # float64, one per row (NaN: NULL)
    text: SparseColumn
    bool: SparseColumn
    reason: SparseColumn

    def __len__(self) -> int:
        return self.entities * self.nodes

    def hashed(self) -> list[Sequence]:
        """The columns the body digest covers: num, text, bool, missing_reason."""
        return [RealColumn(self.num), self.text, self.bool, self.reason]

    def rows(self, *prefix, block_rows: int | None = None) -> Iterator[tuple]:
        """Every row as `(*prefix, entity, node, num, text, bool, missing_reason)`, in order,
        built a block of entities at a time (of about `block_rows` rows: BLOCK_ROWS unless
        given, at least one entity)."""
        if not len(self):
            return iter(())
        step = max(1, (BLOCK_ROWS if block_rows is None else block_rows) // self.nodes)
        return itertools.chain.from_iterable(
            self._block(first, min(first + step, self.entities), prefix)
            for first in range(0, self.entities, step)
        )

    def _block(self, first: int, end: int, prefix: tuple) -> Iterator[tuple]:
        width = self.nodes
        start, stop = first * width, end * width
        entity = itertools.chain.from_iterable(
            map(itertools.repeat, range(first, end), itertools.repeat(width))
        )
        node = itertools.chain.from_iterable(
            itertools.repeat(range(self.first_node, self.first_node + width), end - first)
        )
        return zip(
            *map(itertools.repeat, prefix),
            entity,
            node,
            self.num[start:stop].tolist(),
            self.text.between(start, stop),
            self.bool.between(start, stop),
            self.reason.between(start, stop),
        )


def hashed_values(levels: Sequence[ValueColumns]) -> list[Sequence]:
    """The hashed columns of several levels' values recorded one after the other."""
    if len(levels) == 1:
        return levels[0].hashed()
    if not levels:
        return [RealColumn(np.empty(0)), *(SparseColumn(0, [], []) for _ in range(3))]
    offsets = np.cumsum([0, *(len(v) for v in levels)]).tolist()

    def joined(name: str) -> SparseColumn:
        columns = [getattr(v, name) for v in levels]
        return SparseColumn(
            offsets[-1],
            np.concatenate([c.positions + offset for c, offset in zip(columns, offsets)]),
            np.concatenate([c.values for c in columns]),
        )

    num = np.concatenate([v.num for v in levels])
    return [RealColumn(num), joined("text"), joined("bool"), joined("reason")]


def value_columns(traces: Sequence[NodeTrace], keys: pd.Index, first_node: int = 0) -> ValueColumns:
    """The values of `traces` for the entities `keys`; node `i` of `traces` is recorded as node
    position `first_node + i`."""
    n_nodes, n_entities = len(traces), len(keys)
    num = np.full((n_nodes, n_entities), np.nan)
    text: list[tuple[int, np.ndarray]] = []
    boolean: list[tuple[int, np.ndarray]] = []
    reason: list[tuple[int, np.ndarray]] = []
    for i, trace in enumerate(traces):
        values = _aligned(trace.values, keys)
        base = trace.node.type.base
        if base == T.NUMBER:
            num[i] = values.to_numpy(dtype=np.float64, na_value=np.nan)
            any_missing = bool(np.isnan(num[i]).any())
        else:
            if base == T.BOOLEAN:
                column = values.astype("boolean").to_numpy(dtype=object, na_value=None)
            elif base == T.LEVEL:
                column = _labels(values)
            elif base == T.LIST:
                column = np.array(
                    [_list_json(v) for v in values.to_numpy(dtype=object)], dtype=object
                )
            else:
                column = _texts(values)
            (boolean if base == T.BOOLEAN else text).append((i, column))
            any_missing = any(v is None for v in column.tolist())
        # By the trace contract a reason is given only where the value is missing.
        if any_missing and trace.reasons is not None:
            reason.append((i, _aligned(trace.reasons, keys).to_numpy(dtype=object, na_value=None)))
    return ValueColumns(
        entities=n_entities,
        nodes=n_nodes,
        first_node=first_node,
        num=np.ascontiguousarray(num.T).ravel(),
        text=_sparse(text, n_nodes, n_entities),
        bool=_sparse(boolean, n_nodes, n_entities),
        reason=_sparse(reason, n_nodes, n_entities),
    )
