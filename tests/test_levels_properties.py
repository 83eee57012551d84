"""Properties of `F(x) over LEVEL` (interpreter/levels.py): the vectorised group-by equals a
plain loop over each parent's members, for any tree, any missing values and every option."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dsl.model import Call
from dsl.types import boolean, number
from interpreter.levels import aggregate, ancestor_positions, in_blocks
from interpreter.trace import BELOW_REQUIRE, COMPONENT_MISSING, NO_MEMBERS
from interpreter.values import finish

FUNCTIONS = ("sum", "mean", "min", "max", "count", "any", "all")


def reference(function: str, members: list[float], skip: bool, require: int | None) -> tuple[float, str | None]:
    """One parent's aggregate, by the documented rules (docs/language.md, section 22)."""
    present = [v for v in members if not math.isnan(v)]
    if not members:
        if require is not None:
            return math.nan, BELOW_REQUIRE
        empty = {"sum": 0.0, "count": 0.0, "any": 0.0, "all": 1.0}
        return (empty[function], None) if function in empty else (math.nan, NO_MEMBERS)
    if not (skip or require is not None) and len(present) < len(members):
        return math.nan, COMPONENT_MISSING
    need = require if require is not None else 1
    if len(present) < need:
        return math.nan, BELOW_REQUIRE if require is not None else COMPONENT_MISSING
    if function == "sum":
        return math.fsum(present), None
    if function == "mean":
        return math.fsum(present) / len(present), None
    if function == "count":
        return float(sum(1 for v in present if v == 1.0)), None
    if function in ("min", "all"):
        return min(present), None
    return max(present), None


@st.composite
def trees(draw):
    parents = draw(st.integers(1, 6))
    members = draw(st.integers(0, 25))
    groups = draw(st.lists(st.integers(0, parents - 1), min_size=members, max_size=members))
    function = draw(st.sampled_from(FUNCTIONS))
    logical = function in ("count", "any", "all")
    value = st.sampled_from([0.0, 1.0]) if logical else st.floats(-1e6, 1e6, allow_nan=False)
    values = draw(st.lists(st.one_of(value, st.just(math.nan)), min_size=members, max_size=members))
    skip = draw(st.booleans())
    require = draw(st.one_of(st.none(), st.integers(1, 4)))
    return parents, np.array(groups, dtype=np.int64), np.array(values, dtype=float), function, skip, require


@settings(max_examples=300, deadline=None)
@given(trees())
def test_vectorised_aggregation_equals_a_loop_per_parent(case):
    parents, groups, values, function, skip, require = case
    logical = function in ("count", "any", "all")
    member_type = boolean() if logical else number()
    result_type = boolean() if function in ("any", "all") else number()
    call = Call(function, (), result_type, skip_missing=skip, require=require, over="service")
    got = aggregate(call, finish(member_type, values), groups, parents)
    for parent in range(parents):
        expected, reason = reference(function, list(values[groups == parent]), skip, require)
        if math.isnan(expected):
            assert math.isnan(got.data[parent]) and got.reasons[parent] == reason, (parent, got.reasons[parent])
        else:
            assert got.data[parent] == expected or math.isclose(got.data[parent], expected, rel_tol=1e-12), parent
            assert got.reasons[parent] is None


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 5), st.integers(1, 4), st.data())
def test_positions_through_two_levels_and_blocks(parents, blocks, data):
    from interpreter.levels import LevelFrame

    middle = data.draw(st.lists(st.integers(0, parents - 1), min_size=1, max_size=8))
    lower = data.draw(st.lists(st.integers(0, len(middle) - 1), min_size=0, max_size=12))
    frames = {
        "trust": LevelFrame("trust", list(range(parents)), None, None),
        "location": LevelFrame("location", list(range(len(middle))), "trust", np.array(middle, dtype=np.int64)),
        "service": LevelFrame("service", list(range(len(lower))), "location", np.array(lower, dtype=np.int64)),
    }
    positions = ancestor_positions(frames, "service", "trust")
    assert list(positions) == [middle[location] for location in lower]
    stacked = in_blocks(positions, blocks, parents)
    for b in range(blocks):
        assert list(stacked[b * len(lower):(b + 1) * len(lower)]) == [b * parents + p for p in positions]
