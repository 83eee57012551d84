"""The interpreter's fast paths (issue 14) give bit for bit what the general form gives: row sums
of a few columns, `if` over numbers, arithmetic that skips the bookkeeping of operands with no
missing value or of a division by no zero."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from interp_helpers import held_by

import dsl
from dsl.types import NUMBER, Type
from interpreter import evaluate, numeric, operators, values
from interpreter.functions.aggregations import row_sums, zero_where
from interpreter.reason_codes import (
    COMPONENT_MISSING,
    DIVISION_BY_ZERO,
    DTYPE,
    INPUT_MISSING,
    OUT_OF_DOMAIN,
)
from interpreter.values import Val, finish, from_series

NUM = Type(NUMBER)
BOOL = Type("boolean")
SPECIAL = st.sampled_from(
    [0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 1e308, -1e308, 5e-324, 0.5]
)
FLOATS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), SPECIAL)


def bits(a: np.ndarray) -> np.ndarray:
    """Bit patterns (every NaN alike), so that -0.0 and 0.0 differ."""
    a = np.asarray(a, dtype=float)
    return np.where(np.isnan(a), np.nan, a).view(np.uint64)


def same(x: np.ndarray, y: np.ndarray) -> bool:
    return np.array_equal(bits(x), bits(y)) if x.dtype == float else np.array_equal(x, y)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 12).flatmap(
        lambda k: hnp.arrays(float, st.tuples(st.integers(0, 30), st.just(k)), elements=FLOATS)
    )
)
def test_row_sums_are_numpys_sums(matrix):
    with np.errstate(all="ignore"):
        assert np.array_equal(bits(row_sums(matrix)), bits(matrix.sum(axis=1)))
        if (
            matrix.shape[1] < 8
        ):  # a column-major matrix (aggregations' few columns) sums as the row-major one
            assert np.array_equal(
                bits(row_sums(np.asfortranarray(matrix))), bits(matrix.sum(axis=1))
            )
        assert np.array_equal(row_sums(np.isnan(matrix)), np.isnan(matrix).sum(axis=1))
        assert row_sums(np.isnan(matrix)).dtype == np.isnan(matrix).sum(axis=1).dtype


def test_row_sums_of_negative_zeros_is_numpys():
    matrix = np.full((3, 2), -0.0)
    assert np.array_equal(bits(row_sums(matrix)), bits(matrix.sum(axis=1)))


def value(data, reason=INPUT_MISSING, t=NUM) -> Val:
    return finish(t, np.asarray(data, dtype=float), reason)


def arrays(n, elements=FLOATS):
    return hnp.arrays(float, n, elements=elements)


def nested_where(c: Val, a: Val, b: Val):
    """`where` as it was written before its fast path: the general form."""
    take_a, take_b = c.data == 1.0, c.data == 0.0
    data = np.where(take_a, a.data, np.where(take_b, b.data, np.full(len(c.data), np.nan)))
    codes = np.where(take_a, a.codes, np.where(take_b, b.codes, c.codes))
    return data, codes


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 40).flatmap(
        lambda n: st.tuples(arrays(n, st.sampled_from([1.0, 0.0, np.nan])), arrays(n), arrays(n))
    )
)
def test_if_over_numbers_is_the_nested_form(arrays3):
    cond, x, y = arrays3
    c, a, b = (
        value(cond, COMPONENT_MISSING, BOOL),
        value(x, INPUT_MISSING),
        value(y, DIVISION_BY_ZERO),
    )
    got = operators.where(c, a, b, NUM, len(cond))
    data, codes = nested_where(c, a, b)
    assert same(got.data, data)
    assert np.array_equal(got.codes, codes) and got.codes.dtype == DTYPE
    assert np.array_equal(got.missing, np.isnan(data))


def general_arithmetic(op, a: Val, b: Val, n: int):
    """Arithmetic as it was written before its fast paths: the general form."""
    x, y = a.data, b.data
    missing = a.missing | b.missing
    with np.errstate(all="ignore"):
        out = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "^": np.power}[op](
            x, y
        )
    out = np.where(missing, np.nan, out)  # a missing operand stays missing (nan ** 0 is 1)
    codes = np.where(a.missing, a.codes, b.codes)
    if op == "/":
        zero = ~missing & (y == 0)
    elif op == "^":
        zero = ~missing & (x == 0) & (y < 0)
    else:
        zero = np.zeros(n, dtype=bool)
    undefined = ~missing & ~zero & np.isnan(out)
    failed = zero | undefined
    out = np.where(failed, np.nan, out)
    codes = np.where(zero, DIVISION_BY_ZERO, np.where(undefined, OUT_OF_DOMAIN, codes))
    return finish(NUM, out, codes)


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(["+", "-", "*", "/", "^"]),
    st.integers(0, 40).flatmap(lambda n: st.tuples(arrays(n), arrays(n))),
    st.booleans(),
    st.booleans(),
)
def test_arithmetic_is_the_general_form(op, pair, left_present, right_present):
    x, y = pair
    if left_present:  # an operand with no missing value: the bookkeeping skipped
        x = np.nan_to_num(x, nan=2.0)
    if right_present:
        y = np.nan_to_num(y, nan=0.0)
    a, b = value(x, INPUT_MISSING), value(y, COMPONENT_MISSING)
    with np.errstate(all="ignore"):  # as under the evaluator (numeric.float_errors_ignored)
        got = operators.binary(op, a, b, NUM, len(x))
    want = general_arithmetic(op, a, b, len(x))
    assert same(got.data, want.data)
    assert np.array_equal(got.codes, want.codes)
    assert np.array_equal(got.missing, want.missing)
    assert got.missing_somewhere == bool(want.missing.any())  # as its maker knew it


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 40).flatmap(lambda n: st.tuples(hnp.arrays(bool, n), arrays(n), arrays(n))))
def test_select_is_numpys_where(masked):
    mask, x, y = masked
    assert same(values.select(mask, x, y), np.where(mask, x, y))
    codes_x, codes_y = (np.isnan(x) * 2 + (x > 0)).astype(DTYPE), np.isnan(y).astype(DTYPE)
    got = values.select(mask, codes_x, codes_y)
    assert got.dtype == DTYPE and np.array_equal(got, np.where(mask, codes_x, codes_y))
    assert not np.shares_memory(got, codes_x) and not np.shares_memory(got, codes_y)


def general_compare(op, a, b):
    """Decimal-safe comparison from `close` over every pair: the general form."""
    eq = numeric.close(a, b)
    with np.errstate(invalid="ignore"):
        return {
            "==": eq,
            "!=": ~eq & ~np.isnan(a) & ~np.isnan(b),
            "<": (a < b) & ~eq,
            "<=": (a < b) | eq,
            ">": (a > b) & ~eq,
            ">=": (a > b) | eq,
        }[op]


NEAR = st.one_of(FLOATS, st.sampled_from([50.0, 50.0 + 1e-11, 50.0 - 1e-13, 1e-13, -1e-13, 3.0]))


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(["==", "!=", "<", "<=", ">", ">="]),
    st.integers(0, 30).flatmap(lambda n: st.tuples(arrays(n, NEAR), arrays(n, NEAR))),
    st.booleans(),
)
def test_ordering_is_the_general_form(op, pair, against_constant):
    x, y = pair
    if against_constant:  # `x > 50`: a literal repeated for every entity
        y = np.full(len(x), 50.0)
    got = numeric.compare(op, x, y)
    assert got.dtype == bool and np.array_equal(got, general_compare(op, x, y))


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 30).flatmap(lambda n: arrays(n)))
def test_a_float_column_is_read_as_any_numeric_column(column):
    index = pd.RangeIndex(len(column))
    got = from_series(pd.Series(column, index=index), NUM, index)
    want = from_series(
        pd.Series(column, index=index, dtype=object), NUM, index
    )  # pd.to_numeric's way
    assert same(got.data, want.data) and np.array_equal(got.codes, want.codes)
    assert not np.shares_memory(got.data, column)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 12).flatmap(
        lambda k: hnp.arrays(float, st.tuples(st.integers(0, 30), st.just(k)), elements=FLOATS)
    )
)
def test_zero_where_is_numpys_where(matrix):
    mask = np.isnan(matrix)
    assert same(zero_where(mask, matrix), np.where(mask, 0.0, matrix))
    assert same(zero_where(~mask, matrix), np.where(~mask, 0.0, matrix))


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["==", "!=", "<", "<=", ">", ">="]),
    st.integers(0, 30).flatmap(lambda n: st.tuples(arrays(n, NEAR), arrays(n, NEAR))),
    st.booleans(),
)
def test_comparison_values_and_reasons_are_the_general_form(op, pair, right_present):
    x, y = pair
    if right_present:  # `x > 50`: the right side missing nowhere
        y = np.nan_to_num(y, nan=50.0)
    a, b = value(x, INPUT_MISSING), value(y, COMPONENT_MISSING)
    with np.errstate(all="ignore"):  # as an evaluation calls it (numeric.float_errors_ignored)
        got = operators.binary(op, a, b, BOOL, len(x))
    missing = a.missing | b.missing
    assert same(got.data, np.where(missing, np.nan, general_compare(op, x, y).astype(float)))
    assert (
        np.array_equal(got.codes, np.where(a.missing, a.codes, b.codes))
        and got.codes.dtype == DTYPE
    )
    assert not np.shares_memory(got.codes, a.codes) and not np.shares_memory(got.codes, b.codes)
    assert got.missing_somewhere == bool(np.isnan(got.data).any())


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(["sum", "mean"]),
    st.integers(1, 9).flatmap(
        lambda k: st.lists(
            arrays(6, st.one_of(SPECIAL, st.floats(-1e6, 1e6))), min_size=k, max_size=k
        )
    ),
    st.booleans(),
)
def test_a_few_components_add_as_the_matrix_does(function, columns, skip):
    """An unweighted sum or mean adds its components' columns; the matrix of them (what explain's
    components read) sums to the same, bit for bit."""
    names = [f"c{i}" for i in range(len(columns))]
    source = 'methodology "m"\nentity org key id\n' + "".join(f"input {n}: number\n" for n in names)
    source += f"let total = {function}({', '.join(names)}{', skip missing' if skip else ''})\n"
    methodology = dsl.check_source(source, "<test>")
    frame = pd.DataFrame(
        {n: c for n, c in zip(names, columns)}, index=pd.Index([f"O{i}" for i in range(6)])
    )
    with np.errstate(all="ignore"):
        trace = evaluate(methodology, frame).traces["total"]
        components = trace.components
        xz = np.where(np.isnan(components.values), 0.0, components.values)
        total = xz.sum(axis=1)
        present = (~np.isnan(components.values)).sum(axis=1)
        want = total if function == "sum" else total / present
    valid = ~np.isnan(trace.values.to_numpy())
    assert same(trace.values.to_numpy()[valid], want[valid])


def test_a_literal_is_made_once_per_value_and_type():
    """Literals of the same value and type share one Val; 0.0 and -0.0, 1.0 and True, 1.0 and
    "1" are different literals (equal in Python, or of another type)."""
    from dsl.model import Const
    from interpreter.evaluator import Evaluator

    methodology = dsl.check_source('methodology "m" version "1"\nentity org key k\ninput a: number\n')
    ev = Evaluator(methodology, pd.Index(["A", "B"]), {})
    zero, negative_zero = ev.eval(Const(0.0, NUM)), ev.eval(Const(-0.0, NUM))
    assert ev.eval(Const(0.0, NUM)) is zero and zero is not negative_zero
    assert np.signbit(negative_zero.data).all() and not np.signbit(zero.data).any()
    one, true = ev.eval(Const(1.0, NUM)), ev.eval(Const(True, BOOL))
    assert one is not true and one.type == NUM and true.type == BOOL
    text = ev.eval(Const("1", Type("text")))
    assert list(text.data) == ["1", "1"] and text is not one


def test_evaluation_raises_no_floating_point_warning():
    """The operators set no errstate of their own: evaluate, evaluate_value and
    SampleEvaluator.run turn numpy's warnings off for the whole evaluation (0/0, overflow and
    invalid operations become missing values with reasons, not warnings)."""
    import warnings

    from dsl.model import Binary, Ref
    from interpreter.evaluate import SampleEvaluator, evaluate_value

    source = (
        'methodology "m" version "1"\nentity org key k\ninput a: number\ninput b: number\n'
        "param w = 2 range 0..5\n"
        "let q = a / b\nlet big = a ^ 400 * 1e300 - a ^ 400 * 1e300\n"
        "let m = mean(q, big, skip missing) * w\n"
    )
    methodology = dsl.check_source(source, "<test>")
    frame = pd.DataFrame({"a": [0.0, 10.0, 1.0], "b": [0.0, 0.0, 2.0]}, index=pd.Index(["A", "B", "C"]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = evaluate(methodology, frame)
        again = evaluate_value(result, Binary("/", Ref("a", NUM), Ref("b", NUM), NUM))
        sampled = SampleEvaluator(methodology, frame, sampled=["w"], wanted=["m"]).run(
            {"w": np.array([1.0, 3.0])}
        )
    assert result.traces["q"].reasons.tolist() == ["division_by_zero", "division_by_zero", None]
    assert np.isnan(result.traces["big"].values.to_numpy()[1])  # inf - inf
    assert np.isnan(again.data[:2]).all() and again.data[2] == 0.5
    assert len(sampled["m"].data) == 6


def test_reasons_left_for_later_are_those_computed_at_once_and_hold_no_value_data():
    methodology = dsl.check_source("""
methodology "lazy reasons" version "1"
entity org key code
input a: number
input b: number
indicator c = a * 2 + b / (a + 1)
indicator d = if a > 1 then c - b else b
""")
    frame = pd.DataFrame({"a": [1.0, np.nan, 3.0, 0.0, np.nan], "b": [np.nan, 2.0, 5.0, 1.0, np.nan]},
                         index=pd.Index(list("vwxyz"), name="code"))
    result = evaluate(methodology, frame)
    expected = ["component_missing", "component_missing", None, None, "component_missing"]
    assert result.traces["c"].reasons.tolist() == expected and result.traces["d"].reasons.tolist() == expected
    with np.errstate(all="ignore"):
        a = value([1.0, np.nan, 3.0], INPUT_MISSING)
        b = value([np.nan, 2.0, 5.0], COMPONENT_MISSING)
        summed = operators.binary("+", a, b, NUM, 3)
        compared = operators.binary(">", summed, b, BOOL, 3)
        chosen = operators.where(compared, summed, b, NUM, 3)
    for v in (summed, compared, chosen):
        assert isinstance(v.codes_or_later, values.LazyCodes)
        held = held_by(v.codes_or_later, lambda x: isinstance(x, np.ndarray))
        assert held and all(h.dtype in (np.bool_, DTYPE) for h in held), [h.dtype for h in held]
    assert summed.codes.tolist() == [COMPONENT_MISSING, INPUT_MISSING, 0]
    assert compared.codes.tolist() == [COMPONENT_MISSING, INPUT_MISSING, 0]
    assert isinstance(summed.codes_or_later, np.ndarray)  # computed once, then kept


def test_an_evaluation_leaves_no_reference_cycle():
    """Every node's values are freed with the run's result, not when Python's cycle collector
    gets to them (a cycle of evaluators, or a recursive closure holding a sum's terms, kept
    an evaluation's memory until then)."""
    import gc

    from tierlang import api

    methodology = api.load(Path(__file__).parent.parent / "methodologies" / "stp_dashboard_2017.tier")
    folder = Path(__file__).parent.parent / "examples" / "stp_2017"
    data = api.Tables(str(folder / "stp_2017.csv"), {"organisation": str(folder / "organisations.csv")})
    prepared = api.prepare(methodology, api.read_data(data))
    wide_sum = dsl.check_source("""
methodology "sums" version "1"
entity org key code
input a: number
input b: number
indicator c = a + b - a * 2
indicator d = if a > 1 then c else mean(a, b, skip missing)
tier t from d {
  high: >= 2
  low: otherwise
}
""")
    frame = pd.DataFrame({"a": [1.0, np.nan, 3.0], "b": [2.0, 2.0, np.nan]}, index=pd.Index(list("xyz"), name="code"))
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for run in (lambda: evaluate(methodology, prepared.frame, members=prepared.members, labels=prepared.labels),
                    lambda: evaluate(wide_sum, frame)):
            result = run()
            for trace in result.traces.values():  # every lazy part built, then all let go
                assert len(trace.values) == len(trace.reasons) and (trace.components, trace.branch) is not None
            del result
            gc.collect()
            assert gc.garbage == [], sorted({type(o).__name__ for o in gc.garbage})
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
