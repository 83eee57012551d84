"""The fast reading of plain CSV text (interpreter.data.plain_csv, pandas' C parser) gives
exactly what reading cell by cell with the csv module gives, or leaves the text to it: the
same frame, the same row numbers, the same problems. And plain numbers converted in one pass
are the numbers (or the problems) of parsing them one by one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from interpreter.data import cells as cell_parsing
from interpreter.data import delimited, plain_csv, read_dataset
from interpreter.errors import DataError


def read_both(tmp_path, text: str, name: str = "t.csv", monkeypatch=None):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))

    def outcome():
        try:
            frame = read_dataset(path).frame
            return "frame", frame
        except DataError as error:
            return "error", [
                (p.message, p.row, p.column, p.value, p.hint, p.code) for p in error.problems
            ]

    fast = outcome()
    original = delimited.read_plain
    delimited.read_plain = lambda text, delimiter, encoded=None: None
    try:
        slow = outcome()
    finally:
        delimited.read_plain = original
    return fast, slow


def assert_same(fast, slow):
    assert fast[0] == slow[0]
    if fast[0] == "frame":
        pd.testing.assert_frame_equal(fast[1], slow[1], check_exact=True)
        assert fast[1].map(lambda v: v is None or type(v) is str).all().all()
    else:
        assert fast[1] == slow[1]


CELL = st.text(alphabet='ab1. ,\t\r\n"x-%é\ufeff\xa0', max_size=4)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.lists(CELL, min_size=1, max_size=4), min_size=1, max_size=6),
    st.sampled_from(["\n", "\r\n", "\r"]),
)
def test_fast_and_careful_reading_agree(tmp_path_factory, rows, newline):
    text = newline.join(",".join(row) for row in rows)
    fast, slow = read_both(tmp_path_factory.mktemp("csv"), text)
    assert_same(fast, slow)


@pytest.mark.parametrize(
    "text",
    [
        "code,x\nA,1\nB,2\n",  # plain
        "code,x\r\nA,1\r\n\r\n,\r\nB,\r\n",  # CRLF, an empty line, a line of commas, an empty cell
        "\n\n,\ncode,x\nA,1\n",  # the header below blank lines
        "code,x\nA,1\rB,2",  # CR line ends, no final line end
        "a,b\r\r,1",  # CR line ends, a blank line, then an empty first cell (hypothesis found it)
        "a,b\r\n\r\n,1\r\n",  # the same with CRLF
        "code,x\nA, \nB,2\n",  # a cell of spaces only: empty
        "code,x\n \t,1\nB,2\n",  # one of a space and a tab, first in its line
        "code,x\nA,1\nB,\x1f",  # one of an information separator (a space to str.isspace), last
        "code,x\nÉ,1\nB, \n",  # one of ASCII spaces in a text that is not ASCII
        "code,x\nÉ,1\nB,\u3000\n",  # one of an ideographic space
        "code,x\nA,a b\nB, c\n",  # spaces in and around cells that hold more
        "code,x\nA,1,\nB,2\n",  # a trailing comma
        "code,x\nA\nB,2\n",  # a short row
        "code,x\nA,1,2\n",  # a long row
        "code,code\nA,1\n",  # a repeated header
        "code,\nA,\n",  # an empty unnamed column
        'code,x\n"A,1",2\n',  # quoted
        "code,x\n",  # a header only
        "\ufeffcode,x\nA,1\n",  # a byte-order mark left after decoding
    ],
)
def test_fast_and_careful_reading_agree_on_edge_cases(tmp_path, text):
    assert_same(*read_both(tmp_path, text))


def test_a_field_longer_than_the_csv_module_allows_is_left_to_it(tmp_path):
    fast, slow = read_both(tmp_path, "code,x\nA," + "9" * 131073 + "\n")
    assert fast[0] == "error"
    assert_same(fast, slow)


def test_tab_separated_text_reads_the_same(tmp_path):
    assert_same(*read_both(tmp_path, "code\tx\nA\t1\nB\t \n\t\nC\t3\n", "t.tsv"))


def test_plain_text_is_read_by_the_fast_path(tmp_path, monkeypatch):
    """The check above compares something: plain text does take the fast path."""
    taken = []
    original = delimited.read_plain
    monkeypatch.setattr(delimited, "read_plain", lambda *a: taken.append(original(*a)) or taken[-1])
    path = tmp_path / "t.csv"
    path.write_text("code,x\nA,1\n\nB,2\n", encoding="utf-8")
    frame = read_dataset(path).frame
    assert taken[0] is not None
    assert frame.index.tolist() == [2, 4]
    assert frame.to_numpy().tolist() == [["A", "1"], ["B", "2"]]


@given(
    st.lists(
        st.text(alphabet="0123456789.eE+-_ naifty%\u0661", max_size=6).filter(str.strip),
        min_size=1,
        max_size=8,
    )
)
def test_plain_numbers_are_the_numbers_parsed_one_by_one(texts):
    cells = np.array(texts, dtype=object)
    fast = cell_parsing.plain_numbers(cells)
    if fast is None:
        return
    one_by_one = [float(t.strip()) if cell_parsing._NUMBER.fullmatch(t.strip()) else None for t in texts]
    assert None not in one_by_one
    assert fast.tolist() == one_by_one


def test_plain_numbers_leave_the_rest_to_the_careful_parser():
    for texts in (["1", "12%"], ["1", "nan"], ["1_000"], ["1e400"], ["\u0661"], ["1,5"]):
        assert cell_parsing.plain_numbers(np.array(texts, dtype=object)) is None
    assert cell_parsing.plain_numbers(np.array([" 1.5", "2e3 ", "-.5"], dtype=object)).tolist() == [
        1.5,
        2000.0,
        -0.5,
    ]


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=" \t\x0b\x1c\x1f\xa0\u3000é,\n\rab", max_size=12), st.sampled_from([",", "\t"]))
def test_a_cell_of_spaces_only_is_found_as_str_isspace_finds_it(text, delimiter):
    cells = [c for line in text.replace("\r", "\n").split("\n") for c in line.split(delimiter)]
    octets = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    assert plain_csv._spaces_only_cell(text, octets, delimiter) == any(c.isspace() for c in cells)
