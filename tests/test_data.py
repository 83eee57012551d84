"""Reading data tables and preparing inputs: interpreter/data.py and interpreter/errors.py."""

from __future__ import annotations

import codecs
import datetime
import hashlib
import re
import zipfile
from pathlib import Path

import attrs
import numpy as np
import openpyxl
import pandas as pd
import pytest

from dsl.errors import TierlangError
from dsl.model import Methodology, Node
from dsl.types import LevelType, boolean, level, number, text
from interpreter.data import (
    Dataset,
    PreparedInputs,
    dataset_from_frame,
    prepare_inputs,
    read_dataset,
)
from interpreter.errors import (
    DataError,
    DataProblem,
    render_data_error,
    rows_text,
)

DATA = Path(__file__).parent / "data"
RATING = LevelType("rating", ("limited", "emerging", "established"))
HEADER = "code,name,AE_4HR_PCT,RTT,leadership,breach,region"


def inp(name, type=None, **kw) -> Node:
    return Node(name=name, kind="input", type=type or number(), deps=(), **kw)


def methodology(*inputs: Node, key="code", label="name") -> Methodology:
    return Methodology(
        name="test",
        version=None,
        effective=None,
        entity="org",
        key=key,
        label_column=label,
        doc=None,
        path="test.tier",
        sources=(("test.tier", ""),),
        types={"rating": RATING},
        nodes=tuple(inputs),
    )


ORGS = methodology(
    inp("ae", column="AE_4HR_PCT", range=(0.0, 1.0), required=True),
    inp("rtt", column="RTT"),
    inp("leadership", level(RATING)),
    inp("breach", boolean()),
    inp("region", text()),
)


def write(tmp_path: Path, name: str, content: str | bytes) -> str:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", newline="")
    else:
        path.write_bytes(content)
    return str(path)


def write_xlsx(tmp_path: Path, rows: list[list], name="data.xlsx", sheets=None) -> str:
    workbook = openpyxl.Workbook()
    workbook.active.title = "Data"
    for row in rows:
        workbook.active.append(row)
    for other, other_rows in (sheets or {}).items():
        sheet = workbook.create_sheet(other)
        for row in other_rows:
            sheet.append(row)
    path = tmp_path / name
    workbook.save(path)
    return str(path)


def problems_of(call) -> DataError:
    with pytest.raises(DataError) as info:
        call()
    return info.value


def rendered(call) -> str:
    return render_data_error(problems_of(call))


def prepare_csv(tmp_path, content: str, m: Methodology = ORGS) -> PreparedInputs:
    return prepare_inputs(m, read_dataset(write(tmp_path, "data.csv", content)))


def csv_error(tmp_path, content: str, m: Methodology = ORGS) -> DataError:
    path = write(tmp_path, "data.csv", content)
    dataset = read_dataset(path)
    return problems_of(lambda: prepare_inputs(m, dataset))


def lines_after_header(error: DataError) -> list[str]:
    return render_data_error(error).splitlines()[1:]


# ---------------------------------------------------------------- reading CSV


def test_csv_is_read_as_text_exactly(tmp_path):
    content = 'code,name,x\nE1, Alpha ,NA\nE2,   ,null\nE3,"a, b",1e3\n'
    path = write(tmp_path, "data.csv", content)
    dataset = read_dataset(path)
    assert isinstance(dataset, Dataset)
    assert dataset.path == path
    assert dataset.format == "csv"
    assert dataset.rows == 3
    assert dataset.columns == ("code", "name", "x")
    assert dataset.sha256 == hashlib.sha256(content.encode()).hexdigest()
    frame = dataset.frame
    assert frame.to_dict("records") == [
        {"code": "E1", "name": " Alpha ", "x": "NA"},
        {"code": "E2", "name": None, "x": "null"},
        {"code": "E3", "name": "a, b", "x": "1e3"},
    ]
    assert all(frame[c].dtype == object for c in frame.columns)
    assert list(frame.index) == [2, 3, 4]
    assert frame.index.name == "row"


def test_path_may_be_a_path_object(tmp_path):
    path = Path(write(tmp_path, "data.csv", "code\nE1\n"))
    assert read_dataset(path).path == str(path)


def test_bom_is_accepted_silently(tmp_path):
    path = write(tmp_path, "data.csv", codecs.BOM_UTF8 + b"code,x\nE1,1\n")
    dataset = read_dataset(path)
    assert dataset.columns == ("code", "x")
    assert dataset.sha256 == hashlib.sha256(codecs.BOM_UTF8 + b"code,x\nE1,1\n").hexdigest()


def test_latin1_file_read_as_utf8_names_byte_offset(tmp_path):
    path = write(tmp_path, "data.csv", "code,name\nE1,Café\n".encode("latin-1"))
    assert rendered(lambda: read_dataset(path)) == (
        f"{path}: cannot decode the file as utf-8: byte 0xE9 at byte offset 16 (line 2) is not "
        "valid utf-8\n"
        "  help: the file is in another encoding: if it was saved by Excel or another Windows "
        "program, try --encoding cp1252 (or --encoding latin-1)"
    )
    assert read_dataset(path, encoding="latin-1").frame["name"].tolist() == ["Café"]


def test_byte_offset_counts_the_bom(tmp_path):
    path = write(tmp_path, "data.csv", codecs.BOM_UTF8 + b"a\n\xff\n")
    assert "byte 0xFF at byte offset 5 (line 2)" in str(problems_of(lambda: read_dataset(path)))


def test_unknown_encoding(tmp_path):
    path = write(tmp_path, "data.csv", "a\n1\n")
    error = problems_of(lambda: read_dataset(path, encoding="klingon"))
    assert error.problems[0].code == "bad-encoding"
    assert render_data_error(error) == (
        f'{path}: unknown encoding "klingon"\n'
        "  help: use an encoding such as utf-8, cp1252 or latin-1"
    )


def test_empty_file(tmp_path):
    for content in ("", "\n\n", "  \n"):
        path = write(tmp_path, "data.csv", content)
        assert rendered(lambda p=path: read_dataset(p)) == f"{path}: the file is empty"


def test_header_only_file_has_no_data_rows(tmp_path):
    path = write(tmp_path, "data.csv", "code,x\n")
    error = problems_of(lambda: read_dataset(path))
    assert [p.code for p in error.problems] == ["no-data-rows"]
    assert render_data_error(error) == f"{path}: no data rows: only a header (row 1)"
    path = write(tmp_path, "blank.csv", "code,x\n,\n\n")
    assert "no data rows" in str(problems_of(lambda: read_dataset(path)))


def test_duplicate_headers_are_listed(tmp_path):
    path = write(tmp_path, "data.csv", "a,b,a,c,b,a\n1,2,3,4,5,6\n")
    assert rendered(lambda: read_dataset(path)) == (
        f"{path}: 2 problems in the data:\n"
        '  column "a": the header appears 3 times: columns A, C and F\n'
        "    help: give each column a different header\n"
        '  column "b": the header appears 2 times: columns B and E\n'
        "    help: give each column a different header"
    )


def test_ragged_rows_are_reported_with_row_and_line(tmp_path):
    content = 'code,x,y\nE1,1,2\nE2,1,2,3\nE3,"multi\nline",2\nE4,1\nE5,1,2,,\n'
    path = write(tmp_path, "data.csv", content)
    error = problems_of(lambda: read_dataset(path))
    assert [(p.code, p.row) for p in error.problems] == [("ragged-row", 3), ("ragged-row", 5)]
    assert render_data_error(error) == (
        f"{path}: 2 problems in the data:\n"
        "  row 3: has 4 cells but the header has 3\n"
        "    help: a value that contains a comma must be in double quotes\n"
        "  row 5: has 2 cells but the header has 3 (line 6 of the file)"
    )


def test_unclosed_quote_is_an_error_not_a_swallowed_file(tmp_path):
    path = write(tmp_path, "data.csv", 'code,x\nE1,"oops\nE2,2\nE3,3\n')
    assert rendered(lambda: read_dataset(path)) == (
        f"{path}: 1 problem in the data:\n"
        "  row 2: a quoted value starting on line 2 is never closed\n"
        '    help: look for a stray double quote (")'
    )


def test_malformed_quote(tmp_path):
    path = write(tmp_path, "data.csv", 'code,x\nE1,"a"b\n')
    error = problems_of(lambda: read_dataset(path))
    assert error.problems[0].code == "malformed-csv"
    assert error.problems[0].message.startswith("malformed CSV on line 2:")


def test_missing_file_and_directory(tmp_path):
    missing = str(tmp_path / "nope.csv")
    assert rendered(lambda: read_dataset(missing)) == f"{missing}: file not found"
    assert (
        rendered(lambda: read_dataset(tmp_path)) == f"{tmp_path}: is a directory, not a data file"
    )


def test_unsupported_formats(tmp_path):
    path = write(tmp_path, "data.xls", b"\xd0\xcf\x11\xe0")
    assert rendered(lambda: read_dataset(path)) == (
        f'{path}: cannot read ".xls" files: tierlang reads .csv, .tsv and .xlsx files\n'
        "  help: save the table as .xlsx, or export it as CSV"
    )
    path = write(tmp_path, "data", "a\n1\n")
    assert "has no extension" in str(problems_of(lambda: read_dataset(path)))
    path = write(tmp_path, "data.json", "{}")
    assert problems_of(lambda: read_dataset(path)).problems[0].code == "unsupported-format"


def test_extension_is_case_insensitive(tmp_path):
    assert read_dataset(write(tmp_path, "DATA.CSV", "a\n1\n")).rows == 1


def test_sheet_is_refused_for_csv(tmp_path):
    path = write(tmp_path, "data.csv", "a\n1\n")
    assert "not an Excel file" in str(problems_of(lambda: read_dataset(path, sheet="Data")))


def test_tsv(tmp_path):
    dataset = read_dataset(write(tmp_path, "data.tsv", "code\tname\nE1\tA, B\n"))
    assert dataset.format == "csv"
    assert dataset.frame.to_dict("records") == [{"code": "E1", "name": "A, B"}]


def test_blank_rows_keep_spreadsheet_row_numbers(tmp_path):
    dataset = read_dataset(write(tmp_path, "data.csv", "code,x,,\nE1,1,,\n,,,\n\nE2,2,,\n"))
    assert dataset.columns == ("code", "x")  # unnamed empty columns dropped
    assert list(dataset.frame.index) == [2, 5]
    assert dataset.frame["code"].tolist() == ["E1", "E2"]


def test_unnamed_column_with_data_is_kept(tmp_path):
    dataset = read_dataset(write(tmp_path, "data.csv", "code,,x\nE1,note,1\n"))
    assert dataset.columns == ("code", "Unnamed: 1", "x")


def test_windows_line_endings(tmp_path):
    dataset = read_dataset(write(tmp_path, "data.csv", 'code,x\r\nE1,"a\r\nb"\r\nE2,2\r\n'))
    assert dataset.frame["x"].tolist() == ["a\r\nb", "2"]
    assert list(dataset.frame.index) == [2, 3]


# ---------------------------------------------------------------- reading Excel


def test_xlsx_values_become_text(tmp_path):
    path = write_xlsx(
        tmp_path,
        [
            ["code", "x", "flag", "day", "note"],
            ["E1", 1.0, True, datetime.date(2020, 1, 2), "  "],
            ["E2", 0.1, False, datetime.datetime(2020, 1, 2, 13, 30), "#DIV/0!"],
            ["E3", 12345678901234, None, None, " a "],
            ["E4", 1 / 3, None, None, None],
        ],
    )
    dataset = read_dataset(path)
    assert dataset.format == "xlsx"
    assert dataset.sheet == "Data"
    assert dataset.sha256 == hashlib.sha256(Path(path).read_bytes()).hexdigest()
    assert dataset.frame.to_dict("list") == {
        "code": ["E1", "E2", "E3", "E4"],
        "x": ["1", "0.1", "12345678901234", "0.3333333333333333"],
        "flag": ["true", "false", None, None],
        "day": ["2020-01-02", "2020-01-02T13:30:00", None, None],
        "note": [None, "#DIV/0!", " a ", None],
    }
    assert list(dataset.frame.index) == [2, 3, 4, 5]


def test_xlsx_sheet_by_name_and_default_first(tmp_path):
    path = write_xlsx(tmp_path, [["code"], ["E1"]], sheets={"Other": [["id"], ["X"], ["Y"]]})
    assert read_dataset(path).columns == ("code",)
    other = read_dataset(path, sheet="Other")
    assert (other.columns, other.rows, other.sheet) == (("id",), 2, "Other")


def test_xlsx_unknown_sheet_lists_sheets(tmp_path):
    path = write_xlsx(tmp_path, [["code"], ["E1"]], sheets={"Notes": [["x"]]})
    assert rendered(lambda: read_dataset(path, sheet="data")) == (
        f'{path}: the workbook has no sheet "data"\n'
        '  help: did you mean "Data"? The sheets are "Data", "Notes"'
    )
    assert rendered(lambda: read_dataset(path, sheet="zzz")) == (
        f'{path}: the workbook has no sheet "zzz"\n  help: The sheets are "Data", "Notes"'
    )


def test_xlsx_table_not_at_a1_keeps_row_numbers(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet["B3"], sheet["C3"] = "code", "x"
    sheet["B5"], sheet["C5"] = "E1", 2
    path = tmp_path / "data.xlsx"
    workbook.save(path)
    dataset = read_dataset(path)
    assert dataset.columns == ("code", "x")
    assert list(dataset.frame.index) == [5]


def test_xlsx_empty_sheet_and_header_only(tmp_path):
    path = write_xlsx(tmp_path, [])
    assert rendered(lambda: read_dataset(path)) == f'{path}: sheet "Data" is empty'
    path = write_xlsx(tmp_path, [["code", "x"]], name="header.xlsx")
    assert rendered(lambda: read_dataset(path)) == f"{path}: no data rows: only a header (row 1)"


def test_xlsx_duplicate_headers(tmp_path):
    path = write_xlsx(tmp_path, [["code", "x", "x"], ["E1", 1, 2]])
    assert problems_of(lambda: read_dataset(path)).problems == [
        DataProblem(
            "the header appears 2 times: columns B and C",
            column="x",
            hint="give each column a different header",
            code="duplicate-column",
        )
    ]


def test_xlsx_formula_without_saved_value(tmp_path):
    path = write_xlsx(tmp_path, [["code", "x", "y"], ["E1", 1, "=B2*2"], ["E2", 2, 5]])
    error = problems_of(lambda: read_dataset(path))
    assert error.problems == [
        DataProblem(
            "formula with no saved value: open and save the file in Excel, or export CSV",
            row=2,
            column="y",
            value="=B2*2",
            code="formula-no-value",
        )
    ]
    assert render_data_error(error) == (
        f"{path}: 1 problem in the data:\n"
        '  row 2, column "y": formula with no saved value: open and save the file in Excel, or '
        "export CSV"
    )


def _set_cached_values(path: str, replacements: dict[str, str]) -> None:
    """Rewrite cells of the first sheet's XML as Excel would have saved them."""
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    for ref, xml in replacements.items():
        sheet, n = re.subn(rf'<c r="{ref}"[^>]*>.*?</c>', xml, sheet)
        assert n == 1
    parts["xl/worksheets/sheet1.xml"] = sheet.encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in parts.items():
            archive.writestr(name, content)


def test_xlsx_formula_with_saved_value_reads_the_value(tmp_path):
    path = write_xlsx(
        tmp_path, [["code", "x", "y"], ["E1", 1, "=B2*2"], ["E2", 2, '=IF(B3>1,"",1)']]
    )
    _set_cached_values(
        path,
        {
            "C2": '<c r="C2"><f>B2*2</f><v>2</v></c>',
            "C3": '<c r="C3" t="str"><f>IF(B3&gt;1,"",1)</f><v></v></c>',  # an empty text result
        },
    )
    assert read_dataset(path).frame["y"].tolist() == ["2", None]


def test_not_an_xlsx_file(tmp_path):
    path = write(tmp_path, "data.xlsx", "code,x\nE1,1\n")
    error = problems_of(lambda: read_dataset(path))
    assert error.problems[0].code == "bad-xlsx"
    assert str(error).startswith(f"{path}: not a readable .xlsx file (")
    assert str(error).endswith("help: open it in Excel and save it as .xlsx, or export it as CSV")


# ---------------------------------------------------------------- frames


def test_dataset_from_frame():
    frame = pd.DataFrame(
        {
            "code": ["E1", "E2", None],
            "x": [1.0, 0.25, np.nan],
            "flag": [True, False, None],
            "n": [1, 2, 3],
            "s": ["a", "  ", " b"],
        },
        index=["p", "q", "r"],
    )
    dataset = dataset_from_frame(frame)
    assert (dataset.path, dataset.format, dataset.rows) == ("<frame>", "frame", 3)
    assert dataset.columns == ("code", "x", "flag", "n", "s")
    assert dataset.frame.to_dict("list") == {
        "code": ["E1", "E2", None],
        "x": ["1", "0.25", None],
        "flag": ["true", "false", None],
        "n": ["1", "2", "3"],
        "s": ["a", None, " b"],
    }
    assert list(dataset.frame.index) == [2, 3, 4]
    canonical = "code,x,flag,n,s\nE1,1,true,1,a\nE2,0.25,false,2,\n,,,3, b\n"
    assert dataset.sha256 == hashlib.sha256(canonical.encode()).hexdigest()
    assert dataset_from_frame(frame, name="given").path == "given"


def test_dataset_from_frame_rejects_duplicate_columns():
    frame = pd.DataFrame([[1, 2]], columns=["a", "a"])
    assert problems_of(lambda: dataset_from_frame(frame)).problems[0].code == "duplicate-column"


def test_empty_frame_has_no_data_rows():
    dataset = dataset_from_frame(pd.DataFrame({"code": [], "name": []}))
    error = problems_of(lambda: prepare_inputs(methodology(), dataset))
    assert [p.message for p in error.problems] == ["no data rows"]


# ---------------------------------------------------------------- preparing inputs


def test_prepared_types_follow_the_trace_contract():
    prepared = prepare_inputs(ORGS, read_dataset(DATA / "orgs.csv"))
    frame = prepared.frame
    assert list(frame.columns) == ["ae", "rtt", "leadership", "breach", "region"]
    assert frame.index.name == "code"
    assert frame.index.dtype == object
    assert frame.index.tolist() == ["E1", "E2", "E3", "E4"]
    assert frame["ae"].dtype == np.float64
    assert frame["rtt"].dtype == np.float64
    assert frame["breach"].dtype == pd.BooleanDtype()
    assert frame["region"].dtype == object
    lead = frame["leadership"]
    assert isinstance(lead.dtype, pd.CategoricalDtype)
    assert lead.cat.ordered
    assert list(lead.cat.categories) == ["limited", "emerging", "established"]
    assert frame["ae"].tolist() == [0.95, 0.87, 0.9, 1.0]
    assert frame["rtt"].tolist()[:2] == [0.915, 0.9]
    assert np.isnan(frame["rtt"].iloc[2])
    assert frame["rtt"].iloc[3] == 0.12
    assert lead.tolist() == ["established", "emerging", "limited", "established"]
    assert frame["breach"].tolist() == [False, True, pd.NA, True]
    assert frame["region"].tolist() == ["North", "South", None, "North"]
    assert prepared.labels.tolist() == ["Alpha", "Beta", "Gamma", "Delta"]
    assert prepared.labels.index.equals(frame.index)
    assert prepared.labels.dtype == object
    assert prepared.dataset.path == str(DATA / "orgs.csv")


def test_no_label_column():
    m = methodology(inp("x"), label=None)
    prepared = prepare_inputs(m, dataset_from_frame(pd.DataFrame({"code": ["E1"], "x": ["2"]})))
    assert prepared.labels is None
    assert prepared.frame["x"].tolist() == [2.0]


def test_input_column_defaults_to_name_and_may_be_read_twice():
    m = methodology(
        inp("x"), inp("x_again", column="x"), inp("x_text", text(), column="x"), label=None
    )
    frame = prepare_inputs(m, dataset_from_frame(pd.DataFrame({"code": ["E1"], "x": ["2"]}))).frame
    assert frame.iloc[0].tolist() == [2.0, 2.0, "2"]


def test_no_inputs():
    prepared = prepare_inputs(
        methodology(label=None), dataset_from_frame(pd.DataFrame({"code": ["E1", "E2"]}))
    )
    assert prepared.frame.shape == (2, 0)
    assert prepared.frame.index.tolist() == ["E1", "E2"]


def test_csv_and_xlsx_prepare_equal_frames(tmp_path):
    csv_path = DATA / "orgs.csv"
    xlsx_path = write_xlsx(
        tmp_path,
        [
            HEADER.split(","),
            ["E1", "Alpha", 0.95, "91.5%", "established", "no", "North"],
            ["E2", "Beta", 0.87, 0.9, "Emerging", "yes", "South"],
            ["E3", "Gamma", 0.9, None, "limited", None, None],
            ["E4", "Delta", 1, 0.12, "  ESTABLISHED ", True, "North"],
        ],
    )
    from_csv = prepare_inputs(ORGS, read_dataset(csv_path))
    from_xlsx = prepare_inputs(ORGS, read_dataset(xlsx_path))
    pd.testing.assert_frame_equal(from_csv.frame, from_xlsx.frame, check_exact=True)
    pd.testing.assert_series_equal(from_csv.labels, from_xlsx.labels)


def test_ten_thousand_rows():
    n = 10_000
    rng = np.random.default_rng(1)
    values = rng.random(n)
    frame = pd.DataFrame(
        {
            "code": [f"E{i:05d}" for i in range(n)],
            "name": [f"Org {i}" for i in range(n)],
            "AE_4HR_PCT": values,
            "RTT": [f"{v * 100:.1f}%" for v in values],
            "leadership": rng.choice(["limited", "Emerging", " established"], n),
            "breach": rng.choice(["yes", "no", ""], n),
            "region": rng.choice(["North", "South"], n),
        }
    )
    prepared = prepare_inputs(ORGS, dataset_from_frame(frame))
    assert prepared.frame.shape == (n, 5)
    assert prepared.frame["ae"].tolist() == values.tolist()
    assert prepared.frame["leadership"].isna().sum() == 0


# ---- columns


def test_missing_columns_with_did_you_mean(tmp_path):
    content = "org_code,Name,AE_4HR_PC,RTT ,leadership,breach,region\nE1,A,0.9,1,limited,no,N\n"
    error = csv_error(tmp_path, content)
    assert [p.code for p in error.problems] == ["missing-column"] * 4
    assert lines_after_header(error) == [
        '  column "code": not found in the data (needed as the key)',
        '    help: did you mean "org_code"?',
        '  column "name": not found in the data (needed as the label)',
        '    help: did you mean "Name"?',
        '  column "AE_4HR_PCT": not found in the data (needed by input ae)',
        '    help: did you mean "AE_4HR_PC"?',
        '  column "RTT": not found in the data (needed by input rtt)',
        '    help: the data has "RTT ": remove the spaces around the header',
    ]


def test_missing_column_shared_by_inputs_lists_them_and_the_columns():
    m = methodology(inp("a", column="zzz"), inp("b", column="zzz"), key="id", label=None)
    dataset = dataset_from_frame(pd.DataFrame({"id": ["E1"]}))
    error = problems_of(lambda: prepare_inputs(m, dataset))
    assert error.problems == [
        DataProblem(
            "not found in the data (needed by inputs a, b)",
            column="zzz",
            hint='the columns are "id"',
            code="missing-column",
        )
    ]


# ---- keys


def test_key_problems(tmp_path):
    content = (
        HEADER
        + "\n"
        + "\n".join(
            [
                "E1,A,0.9,,,,",
                ",B,0.9,,,,",
                "E1,C,0.9,,,,",
                " E2,D,0.9,,,,",
                "E3\t,E,0.9,,,,",
                "E1,F,0.9,,,,",
                "   ,G,0.9,,,,",
            ]
        )
        + "\n"
    )
    error = csv_error(tmp_path, content)
    assert render_data_error(error) == (
        f"{error.source}: 4 problems in the data:\n"
        '  column "code": the key is empty in rows 3 and 8\n'
        '  row 5, column "code": key " E2" has spaces around it\n'
        '    help: remove them: "E2"\n'
        '  row 6, column "code": key "E3\\t" has spaces around it\n'
        '    help: remove them: "E3"\n'
        '  column "code": key "E1" appears in rows 2, 4 and 7'
    )
    assert error.problems[3] == DataProblem(
        'key "E1" appears in rows 2, 4 and 7', column="code", value="E1", code="duplicate-key"
    )


# ---- numbers


def _one_column(cells: list[str | None], node: Node | None = None) -> Dataset:
    return dataset_from_frame(
        pd.DataFrame({"code": [f"E{i}" for i in range(len(cells))], "x": cells})
    )


def _numbers(cells, **kw) -> list[float]:
    m = methodology(inp("x", **kw), label=None)
    return prepare_inputs(m, _one_column(cells)).frame["x"].tolist()


def _number_error(cells, **kw) -> DataError:
    m = methodology(inp("x", **kw), label=None)
    dataset = _one_column(cells)
    return problems_of(lambda: prepare_inputs(m, dataset))


def test_accepted_number_forms():
    cells = [
        "1",
        "-2.5",
        "+3",
        ".5",
        "5.",
        " 7 ",
        "1e3",
        "2.5E-2",
        "25%",
        "12.5 %",
        "-0.5%",
        "1e2%",
        "0",
        None,
    ]
    assert _numbers(cells)[:-1] == [
        1.0,
        -2.5,
        3.0,
        0.5,
        5.0,
        7.0,
        1000.0,
        0.025,
        0.25,
        0.125,
        -0.005,
        1.0,
        0.0,
    ]
    assert np.isnan(_numbers(cells)[-1])


def test_percent_is_the_decimal_divided_by_100():
    # 0.7 / 100 in floating point is 0.006999999999999999; the decimal 0.7% is 0.007
    assert _numbers(["0.7%", "1.1%", "33.3%"]) == [0.007, 0.011, 0.333]


def test_numbers_parse_like_python_float():
    cells = ["0.1", "2.675", "9007199254740993", "2.2250738585072011e-308", "123456.78901234567"]
    assert _numbers(cells) == [float(c) for c in cells]


def test_not_a_number_messages_and_hints():
    cells = [
        "n/a",
        "1,234.5",
        "12,5",
        "£12",
        "#DIV/0!",
        "abc",
        "nan",
        "-inf",
        "Infinity",
        "1e400",
        "1_000",
        "NA",
        "0x10",
    ]
    error = _number_error(cells)
    assert all(p.code == "not-a-number" for p in error.problems)
    assert [p.row for p in error.problems] == list(range(2, 15))
    assert lines_after_header(error) == [
        '  row 2, column "x": "n/a" is not a number',
        "    help: leave the cell empty for a missing value",
        '  row 3, column "x": "1,234.5" is not a number',
        "    help: remove the thousands separators: 1234.5",
        '  row 4, column "x": "12,5" is not a number',
        "    help: use a dot for the decimal point: 12.5",
        '  row 5, column "x": "£12" is not a number',
        "    help: remove the currency symbol: 12",
        '  row 6, column "x": "#DIV/0!" is not a number',
        "    help: this is a spreadsheet error: fix the formula, or leave the cell empty for a "
        "missing value",
        '  row 7, column "x": "abc" is not a number',
        '  row 8, column "x": "nan" is not a number a methodology can use',
        '  row 9, column "x": "-inf" is not a number a methodology can use',
        '  row 10, column "x": "Infinity" is not a number a methodology can use',
        '  row 11, column "x": "1e400" is not a number a methodology can use',
        '  row 12, column "x": "1_000" is not a number',
        '  row 13, column "x": "NA" is not a number',
        '  row 14, column "x": "0x10" is not a number',
    ]
    # the same hint is not repeated for a column (row 13's "NA" has the row 2 hint)
    assert error.problems[11].hint == "leave the cell empty for a missing value"


def test_many_non_numeric_cells_are_summarised():
    error = _number_error(["n/a"] * 57 + ["1"])
    assert len(error.problems) == 57
    lines = render_data_error(error).splitlines()
    assert lines[0] == "<frame>: 57 problems in the data:"
    assert lines[1:3] == [
        '  row 2, column "x": "n/a" is not a number',
        "    help: leave the cell empty for a missing value",
    ]
    assert lines[21] == '  row 21, column "x": "n/a" is not a number'
    assert lines[22:] == ['  ... and 37 more non-numeric cells in "x"']
    assert "1 more non-numeric cell in" in str(_number_error(["x"] * 21))


def test_range_is_inclusive_and_checked():
    assert _numbers(["0", "1", "100%", "0%"], range=(0.0, 1.0)) == [0.0, 1.0, 1.0, 0.0]
    assert _numbers(["1.0000000000001"], range=(0.0, 1.0)) == [1.0000000000001]  # decimal-safe
    error = _number_error(["-0.1", "95", "1.5%", "0.5", "101%", "200"], range=(0.0, 1.0))
    assert [p.code for p in error.problems] == ["out-of-range"] * 4
    assert lines_after_header(error) == [
        '  row 2, column "x": -0.1 is outside the range 0 to 1',
        '  row 3, column "x": 95 is outside the range 0 to 1',
        "    help: percentages must be written with a % sign or as fractions (95% or 0.95)",
        '  row 6, column "x": 101% is outside the range 0 to 1',
        '  row 7, column "x": 200 is outside the range 0 to 1',
    ]
    assert error.problems[1].value == "95"


def test_open_ended_ranges():
    error = _number_error(["-1", "5"], range=(0.0, float("inf")))
    assert error.problems[0].message == "-1 is below the minimum 0"
    error = _number_error(["2.5", "5"], range=(float("-inf"), 2.5))
    assert error.problems[0].message == "5 is above the maximum 2.5"


def test_required_inputs_list_empty_rows():
    error = _number_error(["1", None, "2", None, None], required=True)
    assert error.problems == [
        DataProblem("required, but empty in rows 3, 5 and 6", column="x", code="missing-required")
    ]
    m = methodology(inp("t", text(), column="x", required=True), label=None)
    dataset = _one_column(["a", "   "])
    assert problems_of(lambda: prepare_inputs(m, dataset)).problems[0].message == (
        "required, but empty in row 3"
    )


# ---- levels, booleans, text


def _prepare_one(node: Node, cells):
    m = methodology(node, label=None)
    return prepare_inputs(m, _one_column(cells)).frame[node.name]


def test_level_labels_exact_or_case_and_space_insensitive():
    values = _prepare_one(
        inp("x", level(RATING)), ["limited", "Emerging", " ESTABLISHED ", None, "emerging"]
    )
    assert values.tolist()[:3] == ["limited", "emerging", "established"]
    assert pd.isna(values.iloc[3])
    assert values.cat.codes.tolist() == [0, 1, 2, -1, 1]


def test_level_label_with_spaces_inside():
    scale = LevelType("q", ("inadequate", "requires improvement", "good"))
    values = _prepare_one(inp("x", level(scale)), ["Requires Improvement", "good "])
    assert values.tolist() == ["requires improvement", "good"]


def test_unknown_level_label():
    m = methodology(inp("x", level(RATING)), label=None)
    dataset = _one_column(["establishd", "Good", "limited"])
    error = problems_of(lambda: prepare_inputs(m, dataset))
    assert lines_after_header(error) == [
        '  row 2, column "x": "establishd" is not a label of rating (limited < emerging < established)',
        '    help: did you mean "established"?',
        '  row 3, column "x": "Good" is not a label of rating (limited < emerging < established)',
    ]


def test_labels_differing_only_in_case_need_an_exact_match():
    scale = LevelType("odd", ("low", "Low", "high"))
    values = _prepare_one(inp("x", level(scale)), ["low", "Low", "HIGH"])
    assert values.tolist() == ["low", "Low", "high"]
    m = methodology(inp("x", level(scale)), label=None)
    dataset = _one_column(["LOW"])
    assert problems_of(lambda: prepare_inputs(m, dataset)).problems[0].code == "unknown-label"


def test_booleans():
    cells = ["true", "FALSE", "Yes", "no", "1", "0", " y ", "N", None]
    values = _prepare_one(inp("x", boolean()), cells)
    assert values.dtype == pd.BooleanDtype()
    assert values.tolist() == [True, False, True, False, True, False, True, False, pd.NA]
    m = methodology(inp("x", boolean()), label=None)
    dataset = _one_column(["maybe", "2", "t"])
    error = problems_of(lambda: prepare_inputs(m, dataset))
    assert lines_after_header(error) == [
        '  row 2, column "x": "maybe" is not a boolean',
        "    help: write true or false (yes/no, y/n and 1/0 are also accepted)",
        '  row 3, column "x": "2" is not a boolean',
        '  row 4, column "x": "t" is not a boolean',
    ]


def test_text_is_kept_as_written():
    values = _prepare_one(inp("x", text()), [" a ", "  ", None, "NA"])
    assert values.dtype == object
    assert values.tolist() == [" a ", None, None, "NA"]


def test_unreadable_input_type_is_a_programming_error():
    from dsl.types import list_of

    m = methodology(inp("x", list_of(number())), label=None)
    with pytest.raises(ValueError, match="cannot be read from data"):
        prepare_inputs(m, _one_column(["1"]))


# ---- everything at once


def test_all_problems_are_reported_together():
    m = methodology(*ORGS.nodes, inp("cancer", column="CANCER_62D"))
    error = problems_of(lambda: prepare_inputs(m, read_dataset(DATA / "orgs_problems.csv")))
    assert len({p.code for p in error.problems}) >= 9
    assert (
        render_data_error(error)
        == f"""\
{DATA / "orgs_problems.csv"}: 10 problems in the data:
  column "CANCER_62D": not found in the data (needed by input cancer)
    help: the columns are "code", "name", "AE_4HR_PCT", "RTT", "leadership", "breach", "region"
  column "code": the key is empty in row 6
  row 5, column "code": key " E4" has spaces around it
    help: remove them: "E4"
  column "code": key "E2" appears in rows 3 and 4
  row 4, column "AE_4HR_PCT": 1.5 is outside the range 0 to 1
    help: percentages must be written with a % sign or as fractions (95% or 0.95)
  column "AE_4HR_PCT": required, but empty in row 3
  row 2, column "RTT": "n/a" is not a number
    help: leave the cell empty for a missing value
  row 5, column "RTT": "1,234.5" is not a number
    help: remove the thousands separators: 1234.5
  row 3, column "leadership": "good" is not a label of rating (limited < emerging < established)
  row 4, column "breach": "maybe" is not a boolean
    help: write true or false (yes/no, y/n and 1/0 are also accepted)"""
    )


def test_same_problems_from_xlsx(tmp_path):
    rows = [line.split(",") for line in (DATA / "orgs_problems.csv").read_text().splitlines()]
    rows[4] = [" E4", "Delta", "0.5", "1,234.5", "emerging", "no", "North"]  # undo the quoted comma
    path = write_xlsx(tmp_path, [[c or None for c in r] for r in rows])
    from_xlsx = problems_of(lambda: prepare_inputs(ORGS, read_dataset(path)))
    from_csv = problems_of(lambda: prepare_inputs(ORGS, read_dataset(DATA / "orgs_problems.csv")))
    assert from_xlsx.problems == from_csv.problems


# ---------------------------------------------------------------- errors module


def test_data_error_carries_problems_and_source():
    problem = DataProblem("file not found", code="file-not-found")
    error = DataError([problem], "x.csv")
    assert error.problems == [problem]
    assert error.source == "x.csv"
    assert str(error) == render_data_error(error) == "x.csv: file not found"
    assert problem.to_json() == {
        "severity": "error",
        "code": "file-not-found",
        "message": "file not found",
        "file": None,
        "row": None,
        "column": None,
        "value": None,
        "hint": None,
    }
    # the error names the file of every problem, as a methodology's diagnostics do
    assert error.to_json() == [{**problem.to_json(), "file": "x.csv"}]
    assert isinstance(error, TierlangError) and error.stage == "data"


def test_single_row_problem_uses_the_list_form():
    error = DataError([DataProblem("bad", row=3)], "x.csv")
    assert str(error) == "x.csv: 1 problem in the data:\n  row 3: bad"


def test_rows_text():
    assert rows_text([5]) == "row 5"
    assert rows_text([5, 9]) == "rows 5 and 9"
    assert rows_text([5, 9, 12]) == "rows 5, 9 and 12"
    assert rows_text(list(range(2, 60))) == (
        "rows " + ", ".join(str(r) for r in range(2, 22)) + " and 38 more"
    )


def test_datasets_are_frozen():
    dataset = dataset_from_frame(pd.DataFrame({"code": ["E1"]}))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        dataset.path = "other"


def test_missing_column_needed_as_key_and_by_inputs_named_like_roles():
    m = methodology(inp("label", text(), column="code"), inp("key", column="k"), label="code")
    dataset = dataset_from_frame(pd.DataFrame({"id": ["E1"], "k": ["1"]}))
    error = problems_of(lambda: prepare_inputs(m, dataset))
    assert [p.message for p in error.problems] == [
        "not found in the data (needed as the key and as the label and by input label)"
    ]


def test_unreadable_input_type_is_refused_even_without_its_column():
    from dsl.types import list_of

    m = methodology(inp("x", list_of(number()), column="absent"), label=None)
    with pytest.raises(ValueError, match="cannot be read from data"):
        prepare_inputs(m, _one_column(["1"]))


def test_decoding_failure_in_another_encoding(tmp_path):
    path = write(tmp_path, "data.csv", b"code\nE\x81\n")
    assert rendered(lambda: read_dataset(path, encoding="cp1252")) == (
        f"{path}: cannot decode the file as cp1252: byte 0x81 at byte offset 6 (line 2) is not "
        "valid cp1252\n"
        "  help: try another encoding, such as --encoding utf-8 or --encoding cp1252"
    )


def test_tsv_ragged_row_hint_names_the_tab(tmp_path):
    path = write(tmp_path, "data.tsv", "code\tx\nE1\t1\t2\n")
    assert problems_of(lambda: read_dataset(path)).problems[0].hint == (
        "a value that contains a tab must be in double quotes"
    )


def test_many_formulas_without_value_are_summarised(tmp_path):
    rows = [["code", "x"]] + [[f"E{i}", f"=ROW()*{i}"] for i in range(25)]
    error = problems_of(lambda: read_dataset(write_xlsx(tmp_path, rows)))
    assert len(error.problems) == 25
    assert render_data_error(error).splitlines()[-1] == (
        '  ... and 5 more formulas with no saved value in "x"'
    )


CHECKED_SOURCE = """methodology "Data test"
entity STP key stp_code label stp_name
type rating = level inadequate < "requires improvement" < good < outstanding
input ae: number from "AE_4HR_PCT" range 0..1 required
input safe: rating "Safe"
input breach: boolean
input region: text
indicator ae_score = ae * 100
"""


def _checked():
    import dsl

    if not hasattr(dsl, "check_source"):
        pytest.skip("the checker is not available")
    return dsl.check_source(CHECKED_SOURCE, "data_test.tier")


def test_with_a_checked_methodology(tmp_path):
    content = (
        "stp_code,stp_name,AE_4HR_PCT,safe,breach,region\n"
        "E1,Dorset,96%,Requires improvement,No,South\n"
        "E2,Cumbria,0.9,outstanding,,North\n"
    )
    prepared = prepare_csv(tmp_path, content, _checked())
    assert prepared.frame.index.name == "stp_code"
    assert prepared.frame["ae"].tolist() == [0.96, 0.9]
    assert prepared.frame["safe"].tolist() == ["requires improvement", "outstanding"]
    assert prepared.frame["breach"].tolist() == [False, pd.NA]
    assert prepared.labels.tolist() == ["Dorset", "Cumbria"]


def test_with_a_checked_methodology_errors(tmp_path):
    content = "stp_code,stp_name,AE_4HR_PCT,Safe,breach\nE1,Dorset,,Good,maybe\n"
    error = csv_error(tmp_path, content, _checked())
    assert lines_after_header(error) == [
        '  column "safe": not found in the data (needed by input safe)',
        '    help: did you mean "Safe"?',
        '  column "region": not found in the data (needed by input region)',
        '    help: the columns are "stp_code", "stp_name", "AE_4HR_PCT", "Safe", "breach"',
        '  column "AE_4HR_PCT": required, but empty in row 2',
        '  row 2, column "breach": "maybe" is not a boolean',
        "    help: write true or false (yes/no, y/n and 1/0 are also accepted)",
    ]
