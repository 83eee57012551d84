"""The fast reader reads a plain CSV's numbers straight into floats (interpreter/data/plain_csv.py,
`read_plain_typed`): the same table as reading every cell as text, the same inputs, and the same
problems, for any text (hypothesis), and its text is read only when asked for."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from interp_helpers import held_by

import dsl
from interpreter.data import prepare_inputs, read_dataset
from interpreter.errors import DataError

METHODOLOGY = dsl.check_source("""
methodology "typed reading" version "1"
entity org key code label name
input a: number range 0..100
input b: number required
input c: number
input flag: boolean
indicator s = sum(a, b, c, skip missing)
""")

DECIMALS = st.one_of(
    st.integers(-10**6, 10**6).map(str),
    st.floats(-1e6, 1e6, allow_nan=False).map(repr),
    st.floats(allow_nan=False, allow_infinity=False).map(lambda v: f"{v:.17g}"),
    st.decimals(-1000, 1000, places=3, allow_nan=False).map(str),
)
AWKWARD = st.sampled_from([
    "", "", "-0", "-00", "+0", "-0.0", "0", "007", "5.", ".5", "+.5", "1e5", "1E-5", "1e400", "-1e400", "1e-400",
    "inf", "-inf", "Infinity", "nan", "NaN", "NA", "n/a", "-", "1_000", "0x1A", "1e", "5%", "12.5 %", "٣",
    " 3", "3 ", "\t4", "- 3", "TRUE", "true", "101", "-1", "99999999999999999999", "123456789012345678",
])
CELL = st.one_of(DECIMALS, AWKWARD)


def _text(rows: list[tuple[str, str, str, str]]) -> str:
    lines = ["code,name,a,b,c,flag"]
    for i, (a, b, c, flag) in enumerate(rows):
        lines.append(f"K{i},Org {i},{a},{b},{c},{flag}")
    return "\n".join(lines) + "\n"


def _read(path, typed: bool):
    dataset = read_dataset(path, typed=typed)
    try:
        prepared = prepare_inputs(METHODOLOGY, dataset)
    except DataError as error:
        return dataset, str(error)
    return dataset, prepared


def _same_floats(x: np.ndarray, y: np.ndarray) -> bool:
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    return x.shape == y.shape and bool(((x.view(np.int64) == y.view(np.int64)) | (np.isnan(x) & np.isnan(y))).all())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(CELL, CELL, CELL, st.sampled_from(["true", "false", "", "yes"])), min_size=1, max_size=8))
def test_the_typed_reader_reads_what_the_text_reader_reads(tmp_path, rows):
    path = tmp_path / "t.csv"
    path.write_text(_text(rows), encoding="utf-8")
    _assert_same_reading(path)


def _assert_same_reading(path):
    fast_dataset, fast = _read(path, typed=True)
    text_dataset, careful = _read(path, typed=False)
    assert fast_dataset.frame.equals(text_dataset.frame)
    assert list(fast_dataset.frame.index) == list(text_dataset.frame.index)
    if isinstance(careful, str):
        assert fast == careful
        return
    assert not isinstance(fast, str), fast
    assert list(fast.frame.columns) == list(careful.frame.columns)
    assert list(fast.frame.index) == list(careful.frame.index)
    for column in ("a", "b", "c"):
        assert _same_floats(fast.frame[column].to_numpy(), careful.frame[column].to_numpy()), column
    assert fast.frame["flag"].equals(careful.frame["flag"])
    assert fast.labels.equals(careful.labels)


def test_a_plain_table_is_read_without_its_text(tmp_path):
    numbers_only = dsl.check_source("""
methodology "numbers" version "1"
entity org key code label name
input a: number range 0..100
input b: number
indicator s = sum(a, b)
""")
    path = tmp_path / "t.csv"
    path.write_text("code,name,a,b\nK1,Org 1,1.5,2\nK2,Org 2,97,-0.0\nK3,Org 3,,3e2\n", encoding="utf-8")
    dataset = read_dataset(path)
    assert set(dataset.numbers) == {"a", "b"} and set(dataset.texts) == {"code", "name"}
    prepared = prepare_inputs(numbers_only, dataset)
    assert callable(dataset._frame)  # no cell was read as text but the key and the label
    assert prepared.frame["a"].tolist()[:2] == [1.5, 97.0] and np.isnan(prepared.frame["a"].iloc[2])
    assert math.copysign(1.0, prepared.frame["b"].iloc[1]) == -1.0  # -0.0 kept, as float() reads it
    assert dataset.frame["b"].tolist() == ["2", "-0.0", "3e2"]  # and the text, when asked for
    out_of_range = tmp_path / "r.csv"
    out_of_range.write_text("code,name,a,b\nK1,Org 1,150,2\n", encoding="utf-8")
    with pytest.raises(DataError) as error:
        prepare_inputs(numbers_only, read_dataset(out_of_range))
    assert 'row 2, column "a": 150 is outside the range 0 to 100' in str(error.value)


def test_a_read_table_holds_neither_its_text_nor_its_bytes(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("code,name,a,b\n" + "".join(f"K{i},Org {i},{i % 100},{i}\n" for i in range(2000)), encoding="utf-8")
    dataset = read_dataset(path)
    assert callable(dataset._frame)
    assert held_by(dataset._frame, lambda v: isinstance(v, (str, bytes)) and len(v) > 1000) == []
    assert dataset.frame["a"].tolist()[:3] == ["0", "1", "2"]  # read again when asked for


def test_a_file_changed_before_its_text_is_read_again_is_refused(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("code,name,a,b\n101,Org 1,1,2\n102,Org 2,3,4\n", encoding="utf-8")
    dataset = read_dataset(path)  # every column numbers but the label: the key's text is read again
    assert "code" in dataset.numbers
    path.write_text("code,name,a,b\n101,Org 1,1,2\n103,Org 2,3,4\n", encoding="utf-8")
    with pytest.raises(DataError) as error:
        prepare_inputs(METHODOLOGY, dataset)
    assert "the file changed (or went) after it was read, and before its cells were read as text" in str(error.value)
    assert str(path) in str(error.value)
    unchanged = tmp_path / "u.csv"
    unchanged.write_text("code,name,a,b\n101,Org 1,1,2\n102,Org 2,3,4\n", encoding="utf-8")
    dataset = read_dataset(unchanged)
    assert list(dataset.cells("code")) == ["101", "102"]


@pytest.mark.parametrize("cell", ["-0", "-00"])
def test_an_integer_negative_zero_is_read_as_float_reads_it(tmp_path, cell):
    """pandas reads "-0" in a column of integers as 0; float() (and the text reader) as -0.0."""
    path = tmp_path / "t.csv"
    path.write_text(_text([("1", cell, "2", "true"), ("2", "3", "4", "false")]), encoding="utf-8")
    b = prepare_inputs(METHODOLOGY, read_dataset(path)).frame["b"].iloc[0]
    assert b == 0 and math.copysign(1.0, b) == -1.0


def test_columns_typed_differently_in_two_blocks_of_rows_are_read_as_the_text_reader_reads(tmp_path):
    """pandas types a long table in blocks of rows (fewer rows per block the wider the table:
    2048 at 256 columns); a column of integers in one block and decimals in another comes out
    as decimals, with a "-0" of the integer block read as 0, and one of empty cells in a block
    and text in another as objects of both kinds."""
    filler = [f"f{i:03d}" for i in range(250)]
    lines = [",".join(["code", "name", "a", "b", "c", "flag", *filler])]
    for i in range(5000):
        a = "-0" if i == 7 else str(i % 90) if i < 2500 else f"{i % 90}.5"
        name = "" if i < 3000 else f"Org {i}"
        flag = "true" if i < 3000 else "yes"
        c = "" if i < 4500 else "2.25"
        lines.append(",".join([f"K{i}", name, a, "1", c, flag, *["1"] * len(filler)]))
    path = tmp_path / "t.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _assert_same_reading(path)
    a = prepare_inputs(METHODOLOGY, read_dataset(path)).frame["a"]
    assert a.iloc[7] == 0 and math.copysign(1.0, a.iloc[7]) == -1.0 and a.iloc[4999] == 49.5


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(CELL, min_size=1, max_size=4), min_size=1, max_size=6), st.sampled_from([",", ";", "\t"]))
def test_an_integer_negative_zero_is_found_in_the_bytes_as_in_the_text(rows, delimiter):
    """The search for a cell "-0" over the text's bytes (a "-" then a "0" first) finds what the
    search over the text finds."""
    from interpreter.data.plain_csv import _has_integer_negative_zero

    text = "\n".join(delimiter.join(row) for row in rows) + "\n"
    octets = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    assert _has_integer_negative_zero(text, delimiter, octets) == _has_integer_negative_zero(text, delimiter)


def test_the_prepared_inputs_are_the_read_numbers_shared_and_read_only(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("code,name,a,b,c,flag\nK1,Org 1,1.5,2,3,true\nK2,Org 2,97,4,5,false\n", encoding="utf-8")
    dataset = read_dataset(path)
    prepared = prepare_inputs(METHODOLOGY, dataset)
    assert np.shares_memory(prepared.frame["a"].to_numpy(), dataset.numbers["a"])  # not copied
    with pytest.raises(ValueError, match="read-only"):
        prepared.frame.loc["K1", "a"] = 99.0
    changed = prepared.frame.copy()
    changed.loc["K1", "a"] = 99.0
    assert dataset.numbers["a"].tolist() == [1.5, 97.0] and prepared.frame["a"].tolist() == [1.5, 97.0]
