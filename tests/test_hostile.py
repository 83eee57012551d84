"""Hostile input and damaged stores (issue 15): no traceback, no hang, no injection, nothing lost.

The cases that are not one bad file (those are in the corpus, tests/bad_inputs/, README there):
output to /dev/full and a full disk, damaged and read-only stores, text a terminal would act on
in every command's output, CSV and xlsx cells a spreadsheet would evaluate, the tamper attacks
`verify` must catch, writers queueing in several processes, and the bounds the tool enforces
(each refusal comes from the tool's own limit: no test here measures time).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import seals
from dsl.escaping import csv_text, json_text, spreadsheet_cell, terminal_text
from dsl.paths import FileTooLarge, read_regular_file
from interpreter.numeric import round_half_away
from tierlang.cli import main
from tierlang.render import files

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "tests" / "bad_inputs" / "base.tier"
GOOD = ROOT / "tests" / "bad_inputs" / "good.csv"
TIERLANG = [sys.executable, "-m", "tierlang.cli"]
SAFETY_NET_S = 300  # a subprocess's timeout: only so that a regression fails instead of hanging

# what must never reach a terminal: ESC (CSI, OSC), BEL, C1 (one-character CSI, OSC), bidi and
# zero-width controls, and a carriage return that is not part of a CRLF line end
RAW_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x80-\x9f\u061c\u200b\u200e\u200f\u202a-\u202e"
                          "\u2066-\u2069\ufeff]|\r(?!\n)")
HOSTILE = "\x1b]0;owned\x07\x1b]52;c;cGF5bG9hZA==\x07\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\\x1b[2J\x9b31m\u202eevil\r"


def invoke(*args, code: int | None = 0):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    if code is not None:
        assert result.exit_code == code, result.output
    return result


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8", newline="")
    return path


def hostile_data(folder: Path) -> Path:
    """good.csv with hostile labels and text values (keys may not hold controls: see the corpus)."""
    rows = [["code", "name", "score", "safe", "flagged", "region"],
            ["A1", "Alpha" + HOSTILE, "90", "good", "false", "North" + HOSTILE],
            ["B2", "=HYPERLINK(\"http://x\",\"click\")", "40", "inadequate", "true", "-South"],
            ["C3", "@SUM(A1:A9)", "75.5", "outstanding", "no", "+North"]]
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)  # "\r\n": a cell holding a CR is quoted
    return write(folder / "hostile.csv", out.getvalue())


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".tierlang-root").write_text("")
    write(tmp_path / "base.tier", BASE.read_text(encoding="utf-8"))
    write(tmp_path / "good.csv", GOOD.read_text(encoding="utf-8"))
    return tmp_path


# ================================================================ tracebacks that were


def test_inf_inside_a_list_value_is_recorded_explained_and_verified(project):
    write(project / "m.tier", 'methodology "Inf"\nentity T key code\ninput a: number\n'
          "let l = [a * 1e308 * 10, 1, -(10 ^ 400)]\nlet m = max(l)\n")
    write(project / "d.csv", "code,a\nA,2\n")
    invoke("run", "m.tier", "--data", "d.csv", "--audit", "s.db")
    assert "l (let) = [inf, 1, -inf]" in invoke("explain", "A", "--audit", "s.db").output
    assert "ok: 1 run reproduced" in invoke("verify", "--all", "--audit", "s.db").output


def test_explain_a_chain_of_600_definitions(project):
    lines = ['methodology "Chain"', "entity T key code", "input a: number", "let d0 = a",
             *[f"let d{i} = d{i - 1} + 1" for i in range(1, 600)], "tier t from d599 {", "  hi: >= 1",
             "  lo: otherwise", "}"]
    write(project / "chain.tier", "\n".join(lines) + "\n")
    write(project / "d.csv", "code,a\nA,1\n")
    invoke("run", "chain.tier", "--data", "d.csv", "--audit", "s.db")
    text = invoke("explain", "A", "--audit", "s.db").output
    assert "(see below)" in text and "d0 (let) = 1" in text  # the chain goes on in trees of its own
    document = json.loads(invoke("explain", "A", "--audit", "s.db", "--format", "json").output)
    assert "see_below" in json.dumps(document)
    assert invoke("run", "chain.tier", "--data", "d.csv", "--audit", "s.db").exit_code == 0
    invoke("explain", "A", "--audit", "s.db", "--against", "1")


def test_stdout_to_dev_full_is_a_message_not_a_traceback(project):
    with open("/dev/full", "w") as full:
        done = subprocess.run([*TIERLANG, "run", "base.tier", "--data", "good.csv", "--no-audit"],
                              stdout=full, stderr=subprocess.PIPE, text=True, cwd=project, timeout=SAFETY_NET_S)
    assert done.returncode == 6  # the output stage
    assert done.stderr == "error: cannot write the output: No space left on device\n"


def test_a_closed_pipe_ends_quietly(project):
    done = subprocess.run(f"{sys.executable} -m tierlang.cli runs --help | head -c 1",
                          shell=True, capture_output=True, text=True, cwd=project, timeout=SAFETY_NET_S)
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr


@pytest.mark.parametrize("encoding", ["rot13", "base64", "zlib_codec", "hex", "uu"])
def test_encodings_that_are_not_text_are_refused(project, encoding):
    result = invoke("run", "base.tier", "--data", "good.csv", "--no-audit", "--encoding", encoding, code=4)
    assert result.stderr.startswith(f'good.csv: "{encoding}" is not a text encoding\n')


def test_out_xlsx_with_control_characters_in_labels(project):
    hostile_data(project)
    invoke("run", "base.tier", "--data", "hostile.csv", "--no-audit", "--out", "r.xlsx")
    import openpyxl

    sheet = openpyxl.load_workbook(project / "r.xlsx").active
    cells = [c for row in sheet.iter_rows() for c in row]
    assert not [c for c in cells if c.data_type == "f"]
    assert "Alpha\\x1b]0;owned\\x07" in "".join(str(c.value) for c in cells)  # tierlang/render/xlsx.py: \xNN


def _mount_tmpfs(folder: Path, size_kb: int) -> bool:
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(folder)],
                          capture_output=True)
    return done.returncode == 0


@pytest.mark.parametrize("extension", ["xlsx", "csv", "json"])
def test_out_on_a_full_disk_leaves_nothing_behind(project, extension):
    full = project / "full"
    if not _mount_tmpfs(full, 12):
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        with open(full / "padding", "wb") as pad, contextlib.suppress(OSError):  # fill the disk
            pad.write(b"\0" * 12 * 1024)
        result = invoke("run", "base.tier", "--data", "good.csv", "--no-audit", "--out", f"full/r.{extension}",
                        code=6)
        assert f"error: --out full/r.{extension}: cannot write the results: No space left on device" in result.stderr
        assert "Exception ignored" not in result.output
        assert sorted(p.name for p in full.iterdir()) == ["padding"]  # no partial file
    finally:
        subprocess.run(["umount", str(full)], check=True)


def test_a_store_whose_schema_version_is_not_a_number(project):
    invoke("run", "base.tier", "--data", "good.csv", "--audit", "s.db")
    with sqlite3.connect(project / "s.db") as conn:
        conn.execute("UPDATE tierlang_meta SET value = 'five' WHERE key = 'schema_version'")
    for command in (["runs"], ["explain", "A1"], ["run", "base.tier", "--data", "good.csv"]):
        result = invoke(*command, "--audit", "s.db", code=5)
        assert "its schema_version is 'five', not a number" in result.stderr
    verified = invoke("verify", "--all", "--audit", "s.db", code=1)
    assert "the store is damaged: its schema_version is 'five', not a number" in verified.output


def _pages(path: Path) -> tuple[bytes, int]:
    data = path.read_bytes()
    return data, int.from_bytes(data[16:18], "big") or 65536


def test_damaged_stores_are_reported_never_a_traceback(project):
    """Every page of a store in turn, 16 bytes of it inverted: verify, runs, explain and run
    each exit with a message (0 when the damage hit unused space, as SQLite cannot tell)."""
    invoke("run", "base.tier", "--data", "good.csv", "--audit", "clean.db")
    with sqlite3.connect(project / "clean.db") as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data, page = _pages(project / "clean.db")
    reported = 0
    for number in range(len(data) // page):
        damaged = bytearray(data)
        offset = number * page + (100 if number == 0 else 8)
        damaged[offset:offset + 16] = bytes(b ^ 0xFF for b in damaged[offset:offset + 16])
        for command in (["verify", "--all"], ["runs"], ["explain", "A1"],
                        ["run", "base.tier", "--data", "good.csv"]):
            for leftover in project.glob("w.db*"):
                leftover.unlink()
            (project / "w.db").write_bytes(bytes(damaged))
            result = invoke(*command, "--audit", "w.db", code=None)
            assert result.exit_code in (0, 1, 5), (number, command, result.output)
            if command[0] == "verify" and result.exit_code == 1:
                reported += 1
                assert "FAILED" in result.output, result.output
    assert reported >= len(data) // page // 2  # most pages hold something verify checks


def test_round_with_digits_beyond_any_float(project):
    import numpy as np

    x = np.array([1234.5678, -2.5, 1e300])
    assert list(round_half_away(x, 1e308)) == list(x)
    assert list(round_half_away(x, -1e308)) == [0.0, 0.0, 0.0]
    assert list(round_half_away(x, -320)) == [0.0, 0.0, 0.0]  # was NaN: 10^320 overflows
    write(project / "r.tier", 'methodology "R"\nentity T key code\ninput a: number\n'
          "let b = round(a, 1e308)\nlet c = round(a, -1e308)\n")
    write(project / "d.csv", "code,a\nA,1234.5678\n")
    invoke("run", "r.tier", "--data", "d.csv", "--no-audit", "--out", "r.csv")
    assert (project / "r.csv").read_text().splitlines()[1].endswith(",1234.5678,0.0")


def test_diff_runs_and_reading_commands_on_a_read_only_store(project):
    (project / "src").mkdir()
    invoke("run", "base.tier", "--data", "good.csv", "--audit", "src/s.db")
    invoke("run", "base.tier", "--data", "good.csv", "--audit", "src/s.db")
    with sqlite3.connect(project / "src" / "s.db") as conn:
        conn.execute("PRAGMA journal_mode = DELETE")  # no -wal/-shm: readable from read-only media
    (project / "ro").mkdir()
    bound = subprocess.run(["mount", "--bind", "src", "ro"], capture_output=True, cwd=project)
    if bound.returncode != 0:
        pytest.skip("cannot bind-mount here (needs root)")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", "ro"], check=True, cwd=project)
        shown = invoke("diff", "--runs", "1", "2", "--audit", "ro/s.db")
        assert "not recorded: ro/s.db is read-only" in shown.output
        assert json.loads(invoke("diff", "--runs", "1", "2", "--audit", "ro/s.db", "--format", "json").output)[
            "comparison"] is None
        assert "complete" in invoke("runs", "--audit", "ro/s.db").output
        assert "Trust A1" in invoke("explain", "A1", "--audit", "ro/s.db").output
        assert "ok: 2 runs reproduced" in invoke("verify", "--all", "--audit", "ro/s.db").output
        refused = invoke("run", "base.tier", "--data", "good.csv", "--audit", "ro/s.db", code=5)
        assert "readonly" in refused.stderr or "read-only" in refused.stderr
    finally:
        subprocess.run(["umount", "ro"], check=True, cwd=project)


# ================================================================ silent content loss


def test_cr_only_line_endings_keep_every_statement(project):
    """Old Mac line ends: a lone CR ends a line, so the first comment ends where it shows."""
    text = BASE.read_text(encoding="utf-8").replace("\n", "\r")
    write(project / "cr.tier", "# a draft, saved with CR line ends\r" + text)
    checked = invoke("check", "cr.tier").output
    assert checked == "cr.tier: ok: 4 inputs, 0 params, 2 definitions, 1 tier, 0 tests\n"
    write(project / "crlf.tier", "# the same with CRLF\r\n" + text.replace("\r", "\r\n"))
    assert invoke("check", "crlf.tier").output.endswith("4 inputs, 0 params, 2 definitions, 1 tier, 0 tests\n")
    ran = invoke("run", "cr.tier", "--data", "good.csv", "--no-audit").output
    assert ran.endswith("overall: top_band 2, middle 0, bottom 1\n")  # as with LF line ends
    assert ran == invoke("run", "base.tier", "--data", "good.csv", "--no-audit").output


# ================================================================ hangs and memory


def test_a_file_is_read_at_most_its_limit_even_when_it_says_it_is_empty(tmp_path):
    """/proc files have st_size 0: the bound applies while reading, not only to the size."""
    with pytest.raises(FileTooLarge):
        read_regular_file("/proc/self/maps", 64)
    path = tmp_path / "big.csv"
    path.write_bytes(b"x" * 1000)
    with pytest.raises(FileTooLarge):
        read_regular_file(path, 999)
    assert read_regular_file(path, 1000) == b"x" * 1000


def test_data_over_the_size_limit_is_refused(project, monkeypatch):
    from interpreter.data import files

    monkeypatch.setattr(files, "MAX_DATA_BYTES", 100)
    write(project / "big.csv", GOOD.read_text() + "".join(f"K{i},N,1,good,false,North\n" for i in range(10)))
    result = invoke("run", "base.tier", "--data", "big.csv", "--no-audit", code=4)
    assert result.stderr.startswith("big.csv: the file is larger than 100 bytes: not read\n")


def test_a_workbook_with_a_huge_shared_string_is_refused_before_openpyxl_reads_it(project, monkeypatch):
    """The bound is on what the workbook's parts declare once inflated: here one string of
    2,000,000 characters (openpyxl itself writes at most 32,767: the sheet's XML is edited)."""
    import zipfile

    import openpyxl

    from interpreter.data import xlsx

    book = openpyxl.Workbook()
    book.active.append(["code", "name", "score", "safe", "flagged", "region"])
    book.active.append(["A1", "HUGE", 1, "good", "false", "North"])
    book.save(project / "small.xlsx")
    with zipfile.ZipFile(project / "small.xlsx") as small, \
            zipfile.ZipFile(project / "huge.xlsx", "w", zipfile.ZIP_DEFLATED) as huge:
        for info in small.infolist():
            part = small.read(info.filename)
            huge.writestr(info, part.replace(b"HUGE", b"x" * 2_000_000))
    assert "x" * 32_768 in invoke("run", "base.tier", "--data", "huge.xlsx", "--no-audit", "--format", "json").output
    monkeypatch.setattr(xlsx, "MAX_XLSX_INFLATED", 1_000_000)
    result = invoke("run", "base.tier", "--data", "huge.xlsx", "--no-audit", code=4)
    assert "more than the 1,000,000 tierlang reads: not read" in result.stderr
    assert "(its part xl/worksheets/sheet1.xml alone to 2,0" in result.stderr


def test_quantile_band_beyond_the_bound_is_missing_at_run_time(project):
    """A param overridden at run time past MAX_BANDS: missing (out of domain), no 10^8 quantiles."""
    write(project / "q.tier", 'methodology "Q"\nentity T key code\ninput a: number\nparam n = 4\n'
          "let b = quantile_band(a, n)\n")
    write(project / "d.csv", "code,a\nA,1\nB,2\n")
    invoke("run", "q.tier", "--data", "d.csv", "--audit", "s.db", "--param", "n=100000000")
    assert "* b (let) = missing (out_of_domain)" in invoke("explain", "A", "--audit", "s.db").output


def test_samples_beyond_the_bound_are_refused(project):
    write(project / "s.tier", BASE.read_text().replace(
        'score total "Total" = score / 25 + base_points',
        'param d = 25 range 20..30\nscore total "Total" = score / d + base_points'))
    result = invoke("sensitivity", "s.tier", "--data", "good.csv", "--samples", "100000000", "--no-audit", code=2)
    assert result.stderr.startswith("error: --samples 100,000,000: take at most 100,000 samples")


# ================================================================ injection


def test_the_escaping_functions():
    assert terminal_text("a\x1b]0;t\x07b\x9b2J\u202ec\rd\r\ne\tf\n") == "a␛]0;t␇b\ufffd2J\ufffdc␍d\r\ne\tf\n"
    assert spreadsheet_cell("=1+1") == "'=1+1" and spreadsheet_cell("-1.5") == "-1.5"
    assert [spreadsheet_cell(v) for v in ("+x", "@x", "\tx", "\rx", "-x", "x", 3)] == [
        "'+x", "'@x", "'\tx", "'\rx", "'-x", "x", 3]
    rows = [["k", "v"], ["a\rb", "=cmd"], ["c", "d"]]
    assert list(csv.reader(io.StringIO(csv_text(rows), newline=""))) == [["k", "v"], ["a\rb", "'=cmd"], ["c", "d"]]
    assert json.loads(json_text({"k": "a\u202eb\x85"})) == {"k": "a\u202eb\x85"}
    assert RAW_CONTROLS.search(json_text({"k": "a\u202eb\x85\x1b"})) is None


def _assert_safe(text: str, where: str) -> None:
    found = RAW_CONTROLS.search(text)
    assert found is None, f"{where}: raw {found.group()!r} at {found.start()}: {text[max(0, found.start() - 40):][:80]!r}"


def test_every_command_output_is_safe_for_a_terminal(project):
    hostile_data(project)
    second = write(project / "base2.tier", BASE.read_text().replace(">= 5", ">= 4"))
    outputs = {}
    for name, args in {
        "run": ["run", "base.tier", "--data", "hostile.csv", "--audit", "s.db"],
        "run csv": ["run", "base.tier", "--data", "hostile.csv", "--no-audit", "--format", "csv"],
        "run json": ["run", "base.tier", "--data", "hostile.csv", "--no-audit", "--format", "json"],
        "explain": ["explain", "A1", "--audit", "s.db"],
        "explain json": ["explain", "A1", "--audit", "s.db", "--format", "json"],
        "runs": ["runs", "--audit", "s.db"],
        "diff": ["diff", "base.tier", second.name, "--data", "hostile.csv", "--audit", "s.db"],
        "diff csv": ["diff", "--runs", "1", "2", "--audit", "s.db", "--format", "csv"],
        "diff json": ["diff", "--runs", "1", "2", "--audit", "s.db", "--format", "json"],
        "explain against": ["explain", "A1", "--audit", "s.db", "--against", "2"],
        "verify": ["verify", "--all", "--audit", "s.db"],
    }.items():
        outputs[name] = invoke(*args).output
    bad = write(project / "bad.csv", "code,name,score,safe,flagged,region\nA1,x,9\x1b[2J0,good,false,N\n")
    outputs["data error"] = invoke("run", "base.tier", "--data", bad.name, "--no-audit", code=4).output
    for name, text in outputs.items():
        _assert_safe(text, name)
    assert "Alpha␛]0;owned" in outputs["run"] and "Alpha␛]0;owned␇" in outputs["explain"]  # rich drops BEL
    assert json.loads(outputs["run json"])["entities"][0]["label"] == "Alpha" + HOSTILE  # same data
    assert json.loads(outputs["explain json"])["entity"]["label"] == "Alpha" + HOSTILE


def test_through_a_pipe_too(project):
    hostile_data(project)
    for args in (["run", "base.tier", "--data", "hostile.csv", "--audit", "s.db"], ["explain", "A1", "--audit", "s.db"]):
        done = subprocess.run([*TIERLANG, *args], capture_output=True, cwd=project, timeout=SAFETY_NET_S)
        assert done.returncode == 0, done.stderr
        _assert_safe(done.stdout.decode("utf-8"), " ".join(args))


def _cells(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as f:  # newline="": a CR in a cell stays a CR
        return list(csv.reader(f))


def test_csv_outputs_neutralise_formulas_and_read_back(project):
    hostile_data(project)
    invoke("run", "base.tier", "--data", "hostile.csv", "--no-audit", "--out", "r.csv")
    rows = _cells(project / "r.csv")
    assert len(rows) == 4 and len({len(r) for r in rows}) == 1  # the bare CR did not split a row
    labels = [r[1] for r in rows[1:]]
    assert labels == ["Alpha" + HOSTILE, "'=HYPERLINK(\"http://x\",\"click\")", "'@SUM(A1:A9)"]
    assert [r[rows[0].index("region")] for r in rows[1:]] == ["North" + HOSTILE, "'-South", "'+North"]
    assert rows[1][2] == "5.6" and not any(c.startswith(("=", "+", "@")) for r in rows for c in r)
    second = write(project / "base2.tier", BASE.read_text().replace("middle:   >= 2", "middle:   >= 1.5"))
    invoke("diff", "base.tier", second.name, "--data", "hostile.csv", "--audit", "s.db", "--format", "csv",
           "--out", "movers.csv")
    movers = _cells(project / "movers.csv")
    assert [r[:4] for r in movers] == [["key", "label", "old_tier", "new_tier"],
                                       ["B2", "'=HYPERLINK(\"http://x\",\"click\")", "bottom", "middle"]]


def test_sensitivity_csv_neutralises_labels(project):
    hostile_data(project)
    write(project / "s.tier", BASE.read_text().replace(
        'score total "Total" = score / 25 + base_points',
        'param d = 25 range 20..30\nscore total "Total" = score / d + base_points'))
    invoke("sensitivity", "s.tier", "--data", "hostile.csv", "--samples", "20", "--seed", "1", "--no-audit",
           "--out", "s.csv")
    rows = _cells(project / "s.csv")
    assert {r[1] for r in rows[1:]} == {"Alpha" + HOSTILE, "'=HYPERLINK(\"http://x\",\"click\")", "'@SUM(A1:A9)"}


# ================================================================ tamper evidence


@pytest.fixture
def sealed_store(project):
    """A store with two runs, a comparison and a sensitivity analysis; its digest."""
    write(project / "s.tier", BASE.read_text().replace(
        'score total "Total" = score / 25 + base_points',
        'param d = 25 range 20..30\nscore total "Total" = score / d + base_points'))
    write(project / "base2.tier", BASE.read_text().replace(">= 5", ">= 4"))
    invoke("diff", "base.tier", "base2.tier", "--data", "good.csv", "--audit", "s.db")
    invoke("sensitivity", "s.tier", "--data", "good.csv", "--samples", "20", "--seed", "1", "--audit", "s.db")
    assert "ok: 3 runs reproduced, store intact" in invoke("verify", "--all", "--audit", "s.db").output
    digest = invoke("runs", "--digest", "--audit", "s.db").output.strip()
    assert re.fullmatch(r"tierlang-chain-v1 run 3 [0-9a-f]{64} comparison 1 [0-9a-f]{64} analysis 1 [0-9a-f]{64}",
                        digest)
    return project / "s.db", digest


ATTACKS = {
    "view named_values replaced (fabricated labels)": (
        "DROP VIEW named_values; CREATE VIEW named_values AS SELECT e.run AS run, 'Fake' AS entity_key, "
        "'Fake' AS entity_label FROM entities e",
        "view named_values: its definition differs from the one tierlang creates"),
    "view named_tier_steps dropped": ("DROP VIEW named_tier_steps", "view named_tier_steps: missing"),
    "trigger added": ("CREATE TRIGGER t AFTER INSERT ON runs BEGIN SELECT 1; END",
                      "trigger t: not created by tierlang"),
    "table altered": ("ALTER TABLE comparisons ADD COLUMN forged TEXT",
                      "table comparisons: its definition differs"),
    "comparison outcome edited": (
        "UPDATE comparisons SET outcome = replace(outcome, 'top_band', 'bottom')",
        "comparison 1: its rows do not match its seal"),
    "comparison runs swapped": ("UPDATE comparisons SET old_run = new_run, new_run = old_run",
                                "comparison 1: its rows do not match its seal"),
    "comparison deleted": ("DELETE FROM comparisons", "comparison 1: deleted from the store"),
    "comparison seal deleted": ("DELETE FROM tierlang_meta WHERE key = 'seal.comparison.1'",
                                "comparison 1: not sealed"),
    "analysis row edited": ("UPDATE analyses SET seed = 7", "analysis 1: its rows do not match its seal"),
    "analysis entity edited": ("UPDATE analysis_entities SET held = 0.99",
                               "analysis 1: its rows do not match its seal"),
    "analysis choice edited": ("UPDATE analysis_choices SET first_order_index = 0.5",
                               "analysis 1: its rows do not match its seal"),
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_verify_catches_the_attack_and_names_the_object(sealed_store, attack):
    store, _digest = sealed_store
    sql, expected = ATTACKS[attack]
    with sqlite3.connect(store) as conn:
        conn.executescript(sql)
    result = invoke("verify", "--all", "--audit", store.name, code=1)
    assert expected in result.output, result.output
    assert "FAILED" in result.output


def test_a_forger_who_reseals_is_caught_by_the_digest(sealed_store):
    store, digest = sealed_store
    with sqlite3.connect(store) as conn:
        conn.execute("UPDATE comparisons SET outcome = replace(outcome, 'top_band', 'bottom')")
        seals.seal_record(conn, "comparison", 1)  # knows the scheme: recomputes the seal
    assert "store: integrity ok" in invoke("verify", "--all", "--audit", store.name).output  # no digest: unseen
    caught = invoke("verify", "--all", "--audit", store.name, "--expect-digest", digest, code=1)
    assert "digest: comparison 1 has seal" in caught.output


def test_records_made_after_a_digest_keep_it_valid(sealed_store):
    store, digest = sealed_store
    invoke("diff", "--runs", "2", "1", "--audit", store.name)  # comparison 2, after the digest
    shown = invoke("verify", "--all", "--audit", store.name, "--expect-digest", digest)
    assert "digest matches" in shown.output


# ================================================================ concurrency


HOLDER = textwrap.dedent("""
    import sqlite3, sys, time
    from pathlib import Path
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    Path(sys.argv[2]).write_text("held")
    while not Path(sys.argv[3]).exists():  # released once every writer is waiting
        time.sleep(0.05)
    conn.execute("COMMIT")
""")
WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    import audit.store
    import tierlang.cli.support as support
    from tierlang.cli import main
    audit.store.BUSY_TIMEOUT_MS = 100  # each attempt gives up fast: the queue must retry
    progress, flag = support._waiting, Path(sys.argv[2])
    def note(message):  # the CLI's own progress line, and a sign for the test
        progress(message)
        flag.write_text("waiting")
    support._waiting = note
    sys.argv = ["tierlang", "run", "base.tier", "--data", "good.csv", "--audit", sys.argv[1]]
    main()
""")


def test_writers_in_several_processes_queue_instead_of_failing(project):
    invoke("run", "base.tier", "--data", "good.csv", "--audit", "s.db")
    (project / "holder.py").write_text(HOLDER)
    (project / "writer.py").write_text(WRITER)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    holder = subprocess.Popen([sys.executable, "holder.py", "s.db", "held", "release"], cwd=project, env=env)
    try:
        while not (project / "held").exists():
            assert holder.poll() is None
        writers = [subprocess.Popen([sys.executable, "writer.py", "s.db", f"waiting{i}"], cwd=project, env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(5)]
        while not all((project / f"waiting{i}").exists() for i in range(5)):  # each is queued, retrying
            assert all(w.poll() is None for w in writers), [w.communicate() for w in writers]
        (project / "release").write_text("")
        results = [w.communicate(timeout=SAFETY_NET_S) for w in writers]
    finally:
        holder.wait(timeout=SAFETY_NET_S)
    assert [w.returncode for w in writers] == [0] * 5, results
    assert all("waiting for s.db: another process is recording in it" in err for _out, err in results)
    recorded = sorted(int(re.search(r"run (\d+) recorded", out).group(1)) for out, _err in results)
    assert recorded == [2, 3, 4, 5, 6]
    assert "ok: 6 runs reproduced, store intact" in invoke("verify", "--all", "--audit", "s.db").output


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.just(float("nan")), st.just(pd.NA), st.sampled_from(["=1+1", "+x", "-", "@a", "ok", "\tt", ""]),
                          st.text(max_size=4), st.integers(-2, 2), st.booleans(), st.floats(allow_nan=False)),
                max_size=12))
def test_text_columns_are_neutralised_cell_by_cell_as_map_would(cells):
    """tierlang.render.files makes each distinct text safe once: the same cells as mapping
    spreadsheet_cell over every one (a missing cell NaN, as map makes it)."""
    column = pd.Series(cells, dtype=object)
    expected = column.map(spreadsheet_cell, na_action="ignore")
    got = files._each_text(column, spreadsheet_cell)
    assert [type(v) for v in got] == [type(v) for v in expected]
    assert all(g is e or g == e or (g != g and e != e) for g, e in zip(got, expected))
