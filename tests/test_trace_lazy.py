"""A node's trace Series are built when first read (interpreter.trace.NodeTrace), once; a
node's value read by several expressions gives each the same reasons; a recorded run's
reasons read back as NaN mean "no reason"."""

from __future__ import annotations

import numpy as np
import pandas as pd
from interp_helpers import reasons, run_text, values

from dsl import types as T
from interpreter.trace import COMPONENT_MISSING, INPUT_MISSING, BranchTrace, NodeTrace
from interpreter.values import from_series


def test_series_are_built_once_when_first_read():
    keys = pd.Index(["A", "B"])
    calls = []

    def build():
        calls.append(1)
        return pd.Series([1.0, np.nan], index=keys), pd.Series(
            [None, INPUT_MISSING], index=keys, dtype=object
        )

    trace = NodeTrace(None, None, None, series=build)
    assert calls == []
    assert trace.reasons.tolist() == [None, INPUT_MISSING]
    assert trace.values.iloc[0] == 1.0
    assert trace.values is trace.values
    assert calls == [1]


def test_branch_given_as_a_function_is_built_once_when_read():
    calls = []

    def build():
        calls.append(1)
        return BranchTrace(pd.Series(["then"], dtype=object))

    trace = NodeTrace(None, pd.Series([1.0]), pd.Series([None], dtype=object), branch=build)
    assert calls == []
    assert trace.branch is trace.branch
    assert trace.branch.taken.tolist() == ["then"]
    assert calls == [1]


def test_evaluated_traces_hold_values_reasons_and_branches():
    result = run_text(
        "input x: number\nlet y = x * 2\nlet z = if x > 1 then y else y + 1\nlet w = y + z\n",
        {"x": [1.0, None, 3.0]},
    )
    assert values(result, "z") == [3.0, None, 6.0]
    assert reasons(result, "z") == [None, COMPONENT_MISSING, None]
    assert result.traces["z"].branch.taken.tolist() == ["else", None, "then"]
    assert result.traces["z"].branch.left.tolist()[::2] == [1.0, 3.0]
    assert values(result, "w") == [5.0, None, 12.0]
    assert reasons(result, "w") == [None, COMPONENT_MISSING, None]


def test_a_value_read_by_several_nodes_gives_each_the_same_reasons():
    result = run_text(
        "input x: number\nlet y = 1 / x\nlet a = y + 1\nlet b = y * 2\nlet c = a + b + y\n",
        {"x": [0.0, None, 2.0]},
    )
    assert reasons(result, "y") == ["division_by_zero", COMPONENT_MISSING, None]
    for name in ("a", "b", "c"):
        assert reasons(result, name) == [COMPONENT_MISSING, COMPONENT_MISSING, None], name


def test_recorded_reasons_read_back_as_nan_mean_no_reason():
    keys = pd.Index(["A", "B", "C"])
    value = from_series(
        pd.Series([np.nan, np.nan, 1.0], index=keys),
        T.number(),
        keys,
        reasons=np.array([np.nan, INPUT_MISSING, None], dtype=object),
    )
    assert value.reasons.tolist() == [COMPONENT_MISSING, INPUT_MISSING, None]
