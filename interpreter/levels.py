"""Entities at several levels (docs/language.md, "Entities at several levels").

A methodology may rate organisations made of smaller ones: `entity trust`, `entity location
within trust`, `entity service within location`. Each lower level has its own table of
entities (its key, display label and the key of its parent) and its own inputs; the
interpreter evaluates each node over the entities of its level and moves values between
levels in two vectorised ways only:

- down (broadcast): a per-trust value read by a per-service expression is the value of the
  service's trust, gathered through the chain of parent positions;
- up (aggregate): `mean(x) over services` in a per-trust expression groups the per-service
  values by the position of each service's trust and reduces each group at once
  (np.bincount / ufunc.reduceat), never a loop per parent.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs
import numpy as np
import pandas as pd

from dsl.model import Call, Methodology
from interpreter.reason_codes import BELOW_REQUIRE, COMPONENT_MISSING, NO_MEMBERS, no_reasons
from interpreter.values import Val, empty_like_type, finish, list_val


@attrs.frozen(eq=False)
class LevelInputs:
    """The entities and inputs of one lower level, as prepared from the data."""

    frame: pd.DataFrame  # index: the level's entity keys (data order); one column per input of the level
    labels: pd.Series | None  # display names by key, if the level names a label column
    parents: pd.Series  # object: each entity's parent key (an entity of the parent level), by key

    @property
    def keys(self) -> pd.Index:
        return self.frame.index


@attrs.frozen(eq=False)
class LevelFrame:
    """The entities of one level as the evaluator sees them."""

    name: str
    index: pd.Index
    parent: str | None  # the level it lies within (None for the top level)
    parent_positions: np.ndarray | None  # int64: position of each entity's parent in the parent's index


def build_frames(methodology: Methodology, index: pd.Index, members: Mapping | None) -> dict[str, LevelFrame]:
    """One frame per level, keyed by level name (the top level under methodology.entity).
    `members` maps a lower level's name to its `keys` and `parents` (LevelInputs before a
    run, trace.LevelResult after it)."""
    frames = {methodology.entity: LevelFrame(methodology.entity, index, None, None)}
    for level in methodology.lower_levels:
        given = (members or {}).get(level.name)
        if given is None:  # e.g. a test given values for one top-level entity: no members
            keys = pd.Index([], dtype=object, name=level.key)
            parents = np.array([], dtype=object)
        else:
            keys = given.keys
            parents = given.parents.reindex(keys).to_numpy(dtype=object)
        above = frames[level.parent].index
        positions = above.get_indexer(parents) if len(parents) else np.array([], dtype=np.int64)
        if (positions < 0).any():
            unknown = parents[positions < 0][0]
            raise ValueError(f"{level.name} {keys[positions < 0][0]!r}: its {level.parent} {unknown!r} is not in the data")
        frames[level.name] = LevelFrame(level.name, keys, level.parent, positions.astype(np.int64))
    return frames


def ancestor_positions(frames: Mapping[str, LevelFrame], lower: str, upper: str) -> np.ndarray:
    """For each entity of `lower`, the position of the entity of `upper` it lies within."""
    frame = frames[lower]
    positions = np.arange(len(frame.index), dtype=np.int64)
    while frame.name != upper:
        positions = frame.parent_positions[positions]
        frame = frames[frame.parent]
    return positions


def in_blocks(positions: np.ndarray, blocks: int, upper_size: int) -> np.ndarray:
    """Positions repeated for each block of a sampled evaluation (docs/sensitivity.md): row
    b * n_lower + e maps to b * n_upper + positions[e]."""
    if blocks == 1:
        return positions
    offsets = np.arange(blocks, dtype=np.int64)[:, None] * upper_size
    return (offsets + positions[None, :]).ravel()


# ---------------------------------------------------------------- aggregating up

_EMPTY = {"sum": 0.0, "count": 0.0, "any": 0.0, "all": 1.0}  # no members: mean, min and max are missing


def aggregate(call: Call, x: Val, groups: np.ndarray, size: int) -> Val:
    """`F(x) over LEVEL`: x has one value per member; `groups[i]` is the position of member i's
    entity among the `size` entities aggregated to. Missing members, as for the components of
    a row-wise aggregation: without `skip missing` any missing member makes the result
    missing (component_missing); with it (or `require N`) the present members are used and
    fewer than N present (1 with plain `skip missing`) makes it missing. An entity with no
    members at all has sum and count 0, any false, all true; mean, min and max are missing
    with reason no_members; with `require N` it is missing (below_require)."""
    function = call.function
    present = ~x.missing
    members = np.bincount(groups, minlength=size)
    n_present = np.bincount(groups, weights=present.astype(float), minlength=size)
    data = np.where(present, x.data, 0.0)
    if function == "count":
        data = np.where(present & (x.data == 1.0), 1.0, 0.0)
    with np.errstate(all="ignore"):
        if function in ("sum", "count", "mean"):
            out = np.bincount(groups, weights=data, minlength=size).astype(float)
            if function == "mean":
                out = out / n_present
        else:
            out = _reduce(function, groups[present], x.data[present], size)
    reasons = no_reasons(size)
    empty = members == 0
    if function in _EMPTY:
        out = np.where(empty, _EMPTY[function], out)
    else:
        out = np.where(empty, np.nan, out)
        reasons = np.where(empty, NO_MEMBERS, reasons)
    skip = call.skip_missing or call.require is not None
    if skip:
        need = call.require if call.require is not None else 1
        short = (n_present < need) & (~empty | (call.require is not None))
        reasons = np.where(short, BELOW_REQUIRE if call.require is not None else COMPONENT_MISSING, reasons)
    else:
        short = n_present < members
        reasons = np.where(short, COMPONENT_MISSING, reasons)
    out = np.where(short, np.nan, out)
    return finish(call.type, out, reasons)


def _reduce(function: str, groups: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """min, max, any or all of the values of each group (NaN for a group with none), by one
    sort and ufunc.reduceat."""
    out = np.full(size, np.nan)
    if len(values) == 0:
        return out
    order = np.argsort(groups, kind="stable")
    g, v = groups[order], values[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    ufunc = np.minimum if function in ("min", "all") else np.maximum
    out[g[starts]] = ufunc.reduceat(v, starts)
    return out


def gather(v: Val, positions: np.ndarray) -> Val:
    """v's value at each of `positions` (a per-parent value read per member)."""
    if v.is_list:
        return list_val(v.type, [gather(item, positions) for item in v.items])
    return Val(v.type, v.data[positions], v.codes[positions])


def rescale_scalar(v: Val, entities: int, target_entities: int, blocks: int) -> Val:
    """A scalar computed over `entities` rows per block, repeated for `target_entities` rows
    per block (its value is the same on every row of a block)."""
    if v.is_list:
        return list_val(v.type, [rescale_scalar(item, entities, target_entities, blocks) for item in v.items])
    if entities == 0:
        data = empty_like_type(v.type, blocks * target_entities)
        return finish(v.type, data, COMPONENT_MISSING)
    rows = np.arange(blocks) * entities
    return Val(v.type, np.repeat(v.data[rows], target_entities), np.repeat(v.codes[rows], target_entities))
