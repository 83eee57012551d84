"""Level tables: the data of a methodology with several entity levels.

Entities at several levels (`entity service within location ...`): `prepare_inputs` takes the
unnamed table (`--data FILE`) and tables named by level (`--data LEVEL=FILE`), and gives the
top level's inputs as for one level plus, in `PreparedInputs.members`, the entities, labels,
parent keys and inputs of every lower level. The rules:

- A single-level methodology takes the unnamed table only: a named table is refused
  (`not-multilevel`).
- A table named for a level the methodology does not declare is refused (`unknown-level`, with
  did-you-mean over the level names).
- The unnamed table is the table of the deepest level (the most levels above it; of two at the
  same depth, the first declared) whose key column it has, among the levels without a named
  table. If it has the key column of none of them, it is the table of the first declared level
  without a named table (the top level unless that has one), and that level's key column is
  reported missing as for one level. If every level has a named table, the unnamed table is
  refused (`table-not-used`).
- A level with its own table: each row is one entity; the keys are checked as for one level
  (none empty, none with spaces around it, none repeated); its label column and inputs are
  read from that table and, if the level lies within another, the parent level's key column
  too (missing: "needed as the key of the parent level trust").
- A level without its own table takes its entities from the table of its nearest descendant
  level that has one (of two at the same depth, the first declared): "long" form, e.g. one row
  per service holding trust_code, location_id, service_id and every input. Its entities are
  the distinct values of its key column, in the order they first appear (an empty key cell is
  reported as for one level, spaces around a key once per key). Its label, its parent's key
  and its inputs are read from the same table and must be the same on every row of one
  entity: inputs compared as typed (50% and 0.5 are the same number, yes and true the same
  boolean; a cell that cannot be read is reported as such, not compared), label and parent
  key as written, an empty cell differing from a full one. Each entity and column that
  differs is one problem (`inconsistent-member`) naming the entity, its first row and the first
  row that differs: `trust "RXX" is "true" in row 3 but "false" in row 7`. Its values are those
  of its first row. A column it needs that is missing is reported as "needed as the key of
  level trust", "as the label of level trust" or by its inputs.
- A level no table gives (neither its own nor a descendant's): one problem (`no-level-data`),
  `no data for the entities of level organisation`, whose hint names `--data organisation=FILE`
  and the columns needed (key, parent key, label, inputs).
- Every entity's parent key must be an entity of the parent level (`unknown-parent`, one per
  entity, located at the entity's (first) row, with did-you-mean when the parent level has at
  most 5,000 entities): `"E54000099" is not a footprint in stp.csv`. An empty parent key is
  `missing-key` (`the key of the parent level footprint is empty in rows 3 and 5`). Nothing
  is checked when the parent level is read from the same table (its entities are those keys).
  A parent level's entity with no children is fine.
- Every problem from every table is reported in one DataError. Each problem names its table in
  `DataProblem.source` (a level with no data names none); when they all come from one table
  the error is that table's, rendered exactly as for one level, otherwise the error's source is
  `combine_datasets(dataset, tables).path` and each problem is shown with its file. Problems
  are listed table by table, in the order of the levels the tables are for.
- `PreparedInputs.dataset` is the one table read, or `combine_datasets` of all of them when
  there are several (the audit store records one dataset per run).

Nothing here writes anywhere.
"""

from __future__ import annotations

import warnings

import attrs
import numpy as np
import pandas as pd

from dsl.errors import did_you_mean
from dsl.model import INPUT, EntityLevel, Methodology, Node
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
from interpreter.data.keys import check_keys, empty_keys, key_form_problems, spaced_key
from interpreter.errors import (
    INCONSISTENT_MEMBER,
    MISSING_KEY,
    NO_DATA_ROWS,
    NO_LEVEL_DATA,
    SHOW_PER_GROUP,
    TABLE_NOT_USED,
    UNKNOWN_LEVEL,
    UNKNOWN_PARENT,
    DataError,
    DataProblem,
    quote,
    rows_text,
)
from interpreter.levels import LevelInputs


@attrs.define
class _LevelData:
    """One level while its data is prepared."""

    level: EntityLevel
    inputs: tuple[Node, ...]
    owner: str | None = None  # the level whose table gives this level's entities; None: none
    table: Dataset | None = None
    keys: np.ndarray | None = None  # entity keys in data order; None when they cannot be read
    positions: np.ndarray | None = None  # position in `table` of each entity's (first) row
    values: dict[str, np.ndarray] = attrs.Factory(dict)  # input: typed, one per table row

    @property
    def derived(self) -> bool:
        return self.owner is not None and self.owner != self.level.name


def prepare_levels(
    m: Methodology, dataset: Dataset | None, tables: dict[str, Dataset]
) -> PreparedInputs:
    problems: list[DataProblem] = []  # every one names its table in `source` (if it has one)
    names = [lv.name for lv in m.levels]
    for node in m.inputs:
        input_base(node)

    own: dict[str, Dataset] = {}  # level: the table given for it
    for name, table in tables.items():
        if name in names:
            own[name] = table
            continue
        close = did_you_mean(name, names)
        listed = ", ".join(names)
        problems.append(
            DataProblem(
                f"the table is named for level {quote(name)}, but the methodology has no such "
                "level",
                hint=(f"did you mean {close}? " if close else "") + f"The levels are {listed}",
                code=UNKNOWN_LEVEL,
                source=table.path,
            )
        )
    if dataset is not None:
        free = [lv for lv in m.levels if lv.name not in own]
        keyed = [lv for lv in free if lv.key in dataset.columns]
        if keyed:  # the deepest level whose key it has (max keeps the first declared of a tie)
            own[max(keyed, key=lambda lv: len(m.ancestors(lv.name))).name] = dataset
        elif free:  # no key of any level: the missing key of the first level without a table
            own[free[0].name] = dataset
        else:
            problems.append(
                DataProblem(
                    "every level of entities has a table named for it: this unnamed table is "
                    "not used",
                    hint="leave it out, or name the level it is for: --data LEVEL=FILE",
                    code=TABLE_NOT_USED,
                    source=dataset.path,
                )
            )

    data = {
        lv.name: _LevelData(lv, tuple(n for n in m.level_nodes(lv.name) if n.kind == INPUT))
        for lv in m.levels
    }
    children: dict[str, list[str]] = {name: [] for name in names}
    for lv in m.lower_levels:
        children[lv.parent].append(lv.name)
    order = {name: i for i, name in enumerate(names)}
    for name, d in data.items():
        d.owner = _nearest_table(name, own, children, order)
        d.table = None if d.owner is None else own[d.owner]
        if d.owner is None:
            problems.append(_no_level_data(d, m))

    # columns: every table, for every level it gives
    for owner, table in sorted(own.items(), key=lambda item: order[item[0]]):
        served = [d for d in data.values() if d.owner == owner]
        needs: dict[str, tuple[list[str], list[str]]] = {}
        for d in served:
            lv, mine = d.level, not d.derived
            need(needs, lv.key, "as the key" if mine else f"as the key of level {lv.name}")
            if lv.parent is not None and data[lv.parent].owner != owner:
                need(needs, m.level(lv.parent).key, f"as the key of the parent level {lv.parent}")
            if lv.label_column:
                need(needs, lv.label_column, "as the label" if mine else f"as the label of level {lv.name}")
            for node in d.inputs:
                if not (node.optional and input_column(node) not in table.columns):
                    need(needs, input_column(node), input_name=node.name)
        found = [
            missing_column(column, reasons, inputs, table.columns)
            for column, (reasons, inputs) in needs.items()
            if column not in table.columns
        ]
        if table.rows == 0:
            found.append(DataProblem("no data rows", code=NO_DATA_ROWS))
        problems += _from(table, found)

    # entities and inputs of every level
    for d in data.values():
        if d.table is not None:
            problems += _from(d.table, _read_level(d, m))

    # parents
    for d in data.values():
        if d.level.parent is not None and d.keys is not None:
            problems += _from(d.table, _check_parents(d, data[d.level.parent], m))

    if problems:
        rank = {own[name].path: order[name] for name in own}
        problems.sort(key=lambda p: -1 if p.source is None else rank.get(p.source, len(order)))
        sources = {p.source for p in problems}
        source = next(iter(sources)) if len(sources) == 1 and None not in sources else None
        raise DataError(problems, source or combine_datasets(dataset, tables).path)

    top = data[names[0]]
    frame, labels = _level_frame(top)
    members = {}
    for lv in m.lower_levels:
        d = data[lv.name]
        level_frame, level_labels = _level_frame(d)
        parent_key = m.level(lv.parent).key
        parents = pd.Series(
            d.table.frame[parent_key].to_numpy(dtype=object)[d.positions],
            index=level_frame.index,
            dtype=object,
            name=parent_key,
        )
        members[lv.name] = LevelInputs(frame=level_frame, labels=level_labels, parents=parents)
    return PreparedInputs(
        frame=frame,
        labels=labels,
        dataset=combine_datasets(dataset, tables),
        members=members,
    )


def _from(table: Dataset, problems: list[DataProblem]) -> list[DataProblem]:
    return [attrs.evolve(p, source=table.path) for p in problems]


def _nearest_table(
    name: str, own: dict[str, Dataset], children: dict[str, list[str]], order: dict[str, int]
) -> str | None:
    """The level whose table gives `name`'s entities: its own, else that of its nearest
    descendant level with a table (of the nearest at one depth, the first declared)."""
    frontier = [name]
    while frontier:
        for level in frontier:
            if level in own:
                return level
        frontier = sorted((c for lv in frontier for c in children[lv]), key=order.__getitem__)
    return None


def _no_level_data(d: _LevelData, m: Methodology) -> DataProblem:
    lv = d.level
    columns = [lv.key]
    if lv.parent is not None:
        columns.append(m.level(lv.parent).key)
    if lv.label_column:
        columns.append(lv.label_column)
    columns += [input_column(node) for node in d.inputs]
    listed = ", ".join(quote(c) for c in dict.fromkeys(columns))
    return DataProblem(
        f"no data for the entities of level {lv.name}",
        hint=f"give their table with --data {lv.name}=FILE, with the columns {listed}",
        code=NO_LEVEL_DATA,
    )


def _read_level(d: _LevelData, m: Methodology) -> list[DataProblem]:
    """Read one level's entities and inputs from its table: sets d.keys, d.positions and
    d.values; gives the problems found (keys, values, conflicts between an entity's rows)."""
    lv, table = d.level, d.table
    raw = table.frame
    rows = raw.index.to_numpy()
    present = set(table.columns)
    problems: list[DataProblem] = []
    codes = None
    if lv.key in present:
        cells = raw[lv.key].to_numpy(dtype=object)
        if not d.derived:  # one row per entity
            problems += check_keys(cells, rows, lv.key)
            d.keys, d.positions = cells, np.arange(len(cells))
        else:  # one entity per distinct key, in first-appearance order
            empty = pd.isna(cells)
            problems += empty_keys(empty, rows, lv.key)
            valid = np.flatnonzero(~empty)
            codes, uniques = pd.factorize(pd.Series(cells[valid], dtype=object))
            first = valid[np.unique(codes, return_index=True)[1]]  # codes: 0, 1, ... in order
            d.keys, d.positions = cells[first], first
            for k, i in zip(d.keys, first):
                if k != k.strip():
                    problems.append(spaced_key(k, int(rows[i]), lv.key))
            problems += key_form_problems(list(d.keys), [int(rows[i]) for i in first], lv.key)
    bad_rows: dict[str, set[int]] = {}  # column: rows whose cell could not be read
    compared: list[tuple[str, np.ndarray]] = []  # (column, values compared between rows)
    if lv.parent is not None and m.level(lv.parent).key in present:
        column = m.level(lv.parent).key
        compared.append((column, raw[column].to_numpy(dtype=object)))
    if lv.label_column and lv.label_column in present:
        compared.append((lv.label_column, raw[lv.label_column].to_numpy(dtype=object)))
    for node in d.inputs:
        column = input_column(node)
        if column not in present:
            continue
        d.values[node.name], found = read_input(node, raw, rows)
        problems += found
        bad_rows.setdefault(column, set()).update(p.row for p in found if p.row is not None)
        compared.append((column, d.values[node.name]))
    if codes is not None:
        checked = {lv.key}
        for column, values in compared:
            if column not in checked:
                checked.add(column)
                problems += _conflicts(
                    lv.name, column, values, raw[column].to_numpy(dtype=object), rows,
                    valid, codes, d.keys, bad_rows.get(column, set()),
                )
    return problems


def _conflicts(
    level: str,
    column: str,
    values: np.ndarray,
    cells: np.ndarray,
    rows: np.ndarray,
    valid: np.ndarray,
    codes: np.ndarray,
    keys: np.ndarray,
    bad_rows: set[int],
) -> list[DataProblem]:
    """One problem per entity whose rows do not all hold the same value in `column`: its first
    row with a readable value against the first row that differs from it. `values` are typed
    (50% and 0.5 are the same number, yes and true the same boolean); `cells` as written;
    `valid` the positions of the rows with a key, `codes` their entity."""
    if bad_rows:
        keep = ~np.isin(rows[valid], np.fromiter(bad_rows, dtype=rows.dtype, count=len(bad_rows)))
        valid, codes = valid[keep], codes[keep]
    first = np.full(len(keys), -1, dtype=np.int64)
    present, at = np.unique(codes, return_index=True)
    first[present] = valid[at]
    reference = first[codes]
    a, b = values[reference], values[valid]
    if a.dtype.kind == "f":
        same = (a == b) | (np.isnan(a) & np.isnan(b))
    else:
        a_missing, b_missing = pd.isna(a), pd.isna(b)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            equal = np.asarray(a == b, dtype=bool)
        same = np.where(a_missing | b_missing, a_missing & b_missing, equal)
    problems = []
    reported: set[int] = set()
    for i in np.flatnonzero(~same):
        code = int(codes[i])
        if code in reported:
            continue
        reported.add(code)
        there, here = int(reference[i]), int(valid[i])
        problems.append(
            DataProblem(
                f"{level} {quote(keys[code])} is {_shown(cells[there])} in row {rows[there]} "
                f"but {_shown(cells[here])} in row {rows[here]}",
                column=column,
                value=cells[here],
                hint=f"every row of one {level} must give it the same value; or give level "
                f"{level} its own table: --data {level}=FILE",
                code=INCONSISTENT_MEMBER,
            )
        )
    return problems


def _shown(cell: str | None) -> str:
    return "empty" if cell is None else quote(cell)


def _check_parents(d: _LevelData, parent: _LevelData, m: Methodology) -> list[DataProblem]:
    """Every entity's parent key must be an entity of the parent level."""
    column = parent.level.key
    if parent.keys is None or column not in d.table.columns or parent.owner == d.owner:
        return []  # from one table, the parent level's entities are its keys: nothing to check
    rows = d.table.frame.index.to_numpy()[d.positions]
    cells = d.table.frame[column].to_numpy(dtype=object)[d.positions]
    empty = pd.isna(cells)
    problems = []
    if empty.any():
        where = rows_text([int(r) for r in rows[empty]])
        problems.append(
            DataProblem(
                f"the key of the parent level {parent.level.name} is empty in {where}",
                column=column,
                code=MISSING_KEY,
            )
        )
    known = pd.Index(parent.keys, dtype=object)
    unknown = np.flatnonzero(~empty & ~pd.Series(cells, dtype=object).isin(known).to_numpy())
    if not len(unknown):
        return problems
    name = parent.level.name
    # an acronym is read letter by letter: "an STP", "an NHS trust", "a CCG"
    vowel_sounds = "AEFHILMNORSX" if name.isupper() else "aeiouAEIOU"
    article = "an" if name[:1] in vowel_sounds else "a"
    pool = set(known) if len(known) <= _DID_YOU_MEAN_MAX else None
    for n, i in enumerate(unknown):
        cell = cells[i]
        hint = None
        if n < SHOW_PER_GROUP:  # hints are shown for the problems listed, not the ones counted
            if cell.strip() in known and cell.strip() != cell:
                hint = f"remove the spaces around it: {quote(cell.strip())}"
            elif pool is not None:
                close = did_you_mean(cell, pool)
                hint = f"did you mean {quote(close)}?" if close else None
        problems.append(
            DataProblem(
                f"{quote(cell)} is not {article} {name} in {parent.table.path}",
                row=int(rows[i]),
                column=column,
                value=cell,
                hint=hint,
                code=UNKNOWN_PARENT,
            )
        )
    return problems


_DID_YOU_MEAN_MAX = 5000  # parent levels with more entities get no did-you-mean (difflib is slow)


def _level_frame(d: _LevelData) -> tuple[pd.DataFrame, pd.Series | None]:
    """The level's inputs (one row per entity, its first row's values) and labels by key."""
    index = pd.Index(d.keys, dtype=object, name=d.level.key)
    frame = pd.DataFrame(
        {node.name: input_series(node, d.values[node.name][d.positions], index) for node in d.inputs
         if node.name in d.values},
        index=index,
    )
    labels = None
    if d.level.label_column:
        labels = pd.Series(
            d.table.frame[d.level.label_column].to_numpy(dtype=object)[d.positions],
            index=index,
            dtype=object,
            name=d.level.label_column,
        )
    return frame, labels
