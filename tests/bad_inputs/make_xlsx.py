"""Writes the malformed Excel cases of the bad-input corpus (tests/bad_inputs/README.md).

    .venv/bin/python tests/bad_inputs/make_xlsx.py [FOLDER]     (default: tests/bad_inputs/data)

The .xlsx files in tests/bad_inputs/data/ were written by this script; tests/test_bad_inputs.py
runs it again into a temporary folder and checks that every case it writes gives the message
recorded for the committed file, so the script and the committed files cannot drift apart.
"""

from __future__ import annotations

import datetime
import io
import re
import sys
import zipfile
from pathlib import Path

import openpyxl

HEADER = ["code", "name", "score", "safe", "flagged", "region"]
GOOD = ["A1", "Alpha", 90, "good", "false", "North"]
FIXED_TIME = datetime.datetime(2017, 7, 21, 9, 0, 0)


def workbook(rows: list[list], title: str = "Sheet") -> bytes:
    book = openpyxl.Workbook()
    book.properties.created = book.properties.modified = FIXED_TIME
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return rezip(out.getvalue())


def rezip(book: bytes, replace: tuple[bytes, bytes] | None = None) -> bytes:
    """The archive written again with fixed times (so that the script writes the same bytes each
    time), with `replace = (old, new)` applied to the first sheet's XML if given."""
    source = zipfile.ZipFile(io.BytesIO(book))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the time of saving
                content = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2017-07-21T09:00:00Z", content)
            if replace is not None and info.filename == "xl/worksheets/sheet1.xml":
                assert replace[0] in content
                content = content.replace(*replace)
            target.writestr(zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6]), content,
                            zipfile.ZIP_DEFLATED)
    return out.getvalue()


def cases() -> dict[str, tuple[bytes, list[str]]]:
    """File name -> (bytes, extra command-line arguments)."""
    good = workbook([HEADER, GOOD])
    not_xlsx = io.BytesIO()
    with zipfile.ZipFile(not_xlsx, "w") as archive:
        archive.writestr(zipfile.ZipInfo("hello.txt", date_time=FIXED_TIME.timetuple()[:6]),
                         "a zip archive, but not a workbook")
    return {
        "formula_no_value.xlsx": (workbook([HEADER, ["A1", "Alpha", "=40+50", "good", "false", "North"],
                                            ["B2", "Beta", "=SUM(C2:C2)", "good", "false", "South"]]), []),
        "empty_workbook.xlsx": (workbook([]), []),
        "header_only.xlsx": (workbook([HEADER]), []),
        "duplicate_header.xlsx": (workbook([["code", "name", "score", "score", "safe", "flagged", "region"],
                                            ["A1", "Alpha", 90, 80, "good", "false", "North"]]), []),
        "unknown_sheet.xlsx": (workbook([HEADER, GOOD], title="Data"), ["--sheet", "Dta"]),
        "csv_named_xlsx.xlsx": (b"code,name,score,safe,flagged,region\nA1,Alpha,90,good,false,North\n", []),
        "zip_not_xlsx.xlsx": (not_xlsx.getvalue(), []),
        "truncated.xlsx": (good[: len(good) // 2], []),
        "mixed_types.xlsx": (workbook([HEADER, ["A1", "Alpha", datetime.datetime(2017, 7, 21), "good", True, "North"],
                                       ["B2", "Beta", "#DIV/0!", "good", "maybe", "South"],
                                       ["C3", "Gamma", True, "good", 2, "East"]]), []),
        "huge_numbers.xlsx": (workbook([HEADER, ["A1", "Alpha", "1e400", "good", "false", "North"],
                                        ["B2", "Beta", "NaN", "good", "false", "South"],
                                        ["C3", "Gamma", "-inf", "good", "false", "East"]]), []),
        "key_spaces.xlsx": (workbook([HEADER, [" A1", "Alpha", 90, "good", "false", "North"],
                                      ["B2 ", "Beta", 50, "good", "false", "South"]]), []),
        "unknown_label.xlsx": (workbook([HEADER, ["A1", "Alpha", 90, "Outstanding!", "false", "North"]]), []),
        # a number cell that holds no number: openpyxl fails only when the rows are read
        "damaged_sheet_xml.xlsx": (rezip(good, (b"<v>90</v>", b"<v>NaN</v>")), []),
    }



def write(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (data, args) in cases().items():
        (folder / name).write_bytes(data)
        if args:
            (folder / f"{name}.args").write_text("\n".join(args) + "\n", encoding="utf-8")
        written.append(folder / name)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("data")
    for path in write(target):
        print(path)
