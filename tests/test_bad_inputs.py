"""Bad input never crashes and never corrupts: the corpus under tests/bad_inputs/.

Every malformed methodology (tests/bad_inputs/methodologies/*.tier) and data file
(tests/bad_inputs/data/*) is given to the real CLI, in process (click's CliRunner):

- a methodology to `tierlang check FILE` and `tierlang run FILE --data good.csv --audit STORE`
  (a file whose first line is `# bad-input: test` is valid, and fails in `tierlang test FILE`);
- a data file to `tierlang run base.tier --data FILE --audit STORE` (plus the arguments listed in
  its `FILE.args`, one a line).

Each must exit non-zero, print its expected message (the sidecar `.expected`, see below) located
(file:line:col for a methodology, the data file and its row or column for data), print no
traceback, and leave the audit store byte for byte as it was: STORE holds one good run, and
every file in its folder (the database, and any -wal/-shm/-journal) is hashed before and after.

`.expected` holds the beginning of what the command prints on stderr, taken by a fixed rule
(tests/bad_inputs/README.md): the first diagnostic's head line, source line and caret line for
a methodology; the first line, plus the first problem when the first line introduces a list,
for a data file. The test asserts that this text appears verbatim on stderr. Large cases
(10,000 definitions, 10,000 levels of nesting, 100,000-character lines, symbolic links) are
generated here at run time, listed in GENERATED_*, with their expected text beside them.

To regenerate the committed `.expected` files after a deliberate change to a message:
    TIERLANG_REGENERATE=1 .venv/bin/pytest tests/test_bad_inputs.py
then review every changed file before committing it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from tierlang.cli import main

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path("tests/bad_inputs")  # relative to ROOT: the paths messages show
BASE = CORPUS / "base.tier"
GOOD = CORPUS / "good.csv"
REGENERATE = os.environ.get("TIERLANG_REGENERATE") == "1"
TEST_MARKER = "# bad-input: test"
SIDECARS = (".expected", ".args")

METHODOLOGIES = sorted(p.stem for p in (ROOT / CORPUS / "methodologies").glob("*.tier"))
DATA = sorted(p.name for p in (ROOT / CORPUS / "data").iterdir() if not p.name.endswith(SIDECARS))

GUTTER = re.compile(r"^ *\d+ \| ")
LOCATED_METHODOLOGY = re.compile(r"^(\S.*?):(\d+):(\d+): error: ", re.MULTILINE)


@pytest.fixture(autouse=True)
def _at_root(monkeypatch):
    monkeypatch.chdir(ROOT)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """An audit store holding one good run, closed."""
    path = tmp_path_factory.mktemp("store") / "audit.db"
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)
        result = CliRunner().invoke(main, ["run", str(BASE), "--data", str(GOOD), "--audit", str(path)])
    assert result.exit_code == 0, result.output
    assert "run 1 recorded" in result.output
    return path


def snapshot(store: Path) -> dict[str, str]:
    """sha256 of every file in the store's folder (the database and any -wal, -shm, -journal)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(store.parent.iterdir())}


# ---------------------------------------------------------------- running a case


def invoke(args: list[str]):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{args}: {type(result.exception).__name__}: {result.exception}\n{result.output}"
    )
    assert "Traceback" not in result.output
    assert result.exit_code != 0, f"{args} succeeded:\n{result.output}"
    return result


def excerpt(stderr: str, kind: str) -> str:
    """The stable beginning of an error output that `.expected` holds (the module docstring)."""
    lines = stderr.split("\n")
    usage = next((i for i, line in enumerate(lines) if line.startswith("Error: ")), None)
    if usage is not None:  # a click usage error: its one line
        return lines[usage] + "\n"
    if kind == "methodology":
        first = next((i for i, line in enumerate(lines) if LOCATED_METHODOLOGY.match(line)), 0)
        keep = 3 if first + 1 < len(lines) and GUTTER.match(lines[first + 1]) else 1
        return "\n".join(lines[first : first + keep]) + "\n"
    if kind == "test":  # the failing test, and what failed
        return "\n".join(lines[:2]) + "\n"
    keep = 2 if lines[0].endswith(":") and len(lines) > 1 else 1
    return "\n".join(lines[:keep]) + "\n"


def assert_expected(output: str, expected_file: Path | None, expected: str | None, kind: str) -> None:
    if expected is None:
        assert expected_file is not None
        if REGENERATE or not expected_file.exists():
            if not REGENERATE:
                pytest.fail(f"{expected_file} is missing: run with TIERLANG_REGENERATE=1 and review it")
            expected_file.write_text(excerpt(output, kind), encoding="utf-8")
        expected = expected_file.read_text(encoding="utf-8")
    assert expected.strip(), f"{expected_file}: empty"
    assert expected in output, f"expected:\n{expected}\ngot:\n{output}"


def assert_located_methodology(output: str, path: str) -> None:
    """The message names the file, and a line and column in it (or the file, if unreadable)."""
    match = LOCATED_METHODOLOGY.search(output)
    if match is None:  # only a file that cannot be read at all has no line to point at
        assert re.search(rf"^error: .*{re.escape(path)}", output, re.MULTILINE), output
    else:
        assert int(match.group(2)) >= 1 and int(match.group(3)) >= 1


def assert_located_data(output: str, path: str) -> None:
    first = output.split("\n")[0] if not output.startswith("Usage:") else output
    assert path in first, output


def check_methodology(path: str, store: Path, expected_file: Path | None = None,
                      expected: str | None = None) -> None:
    text = Path(path).read_bytes() if Path(path).is_file() else b""  # never open a FIFO or a device
    before = snapshot(store)
    if text.startswith(TEST_MARKER.encode()):
        assert CliRunner().invoke(main, ["check", path]).exit_code == 0  # valid: fails when tested
        result = invoke(["test", path])
        assert_expected(result.output, expected_file, expected, "test")
    else:
        for args in (["check", path], ["run", path, "--data", str(GOOD), "--audit", str(store)]):
            result = invoke(args)
            assert_expected(result.stderr, expected_file, expected, "methodology")
            assert_located_methodology(result.stderr, path)
            if args[0] == "run":
                assert "nothing was run" in result.stderr
    assert snapshot(store) == before, "the audit store changed"


def check_data(path: str, store: Path, extra: list[str], expected_file: Path | None = None,
               expected: str | None = None) -> None:
    before = snapshot(store)
    result = invoke(["run", str(BASE), "--data", path, "--audit", str(store), *extra])
    assert_expected(result.stderr, expected_file, expected, "data")
    assert_located_data(result.stderr, path)
    assert snapshot(store) == before, "the audit store changed"


def args_of(data_file: Path) -> list[str]:
    sidecar = data_file.with_name(data_file.name + ".args")
    return sidecar.read_text(encoding="utf-8").split() if sidecar.exists() else []


# ---------------------------------------------------------------- the committed corpus


def test_the_corpus_is_complete():
    assert len(METHODOLOGIES) + len(GENERATED_METHODOLOGIES) >= 60
    assert len(DATA) + len(GENERATED_DATA) >= 30
    folder = ROOT / CORPUS
    for name in METHODOLOGIES:
        assert (folder / "methodologies" / f"{name}.expected").exists() or REGENERATE, name
    for name in DATA:
        assert (folder / "data" / f"{name}.expected").exists() or REGENERATE, name
    # no expected text without its case
    for sidecar in (folder / "methodologies").glob("*.expected"):
        assert sidecar.stem in METHODOLOGIES, sidecar
    for sidecar in (folder / "data").glob("*.expected"):
        assert sidecar.name.removesuffix(".expected") in DATA, sidecar


@pytest.mark.parametrize("name", METHODOLOGIES)
def test_bad_methodology(name, store):
    path = CORPUS / "methodologies" / f"{name}.tier"
    check_methodology(str(path), store, expected_file=ROOT / path.with_suffix(".expected"))


@pytest.mark.parametrize("name", DATA)
def test_bad_data(name, store):
    path = CORPUS / "data" / name
    check_data(str(path), store, args_of(ROOT / path),
               expected_file=ROOT / path.with_name(name + ".expected"))


def test_a_data_file_that_does_not_exist(store):
    check_data(str(CORPUS / "data" / "no_such_file.csv"), store, [],
               expected="tests/bad_inputs/data/no_such_file.csv: file not found\n")


def test_the_xlsx_script_writes_the_committed_cases(tmp_path, store):
    spec = importlib.util.spec_from_file_location("make_xlsx", ROOT / CORPUS / "make_xlsx.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    written = module.write(tmp_path)
    committed = {n for n in DATA if n.endswith(".xlsx")}
    assert {p.name for p in written} == committed
    for path in written:
        expected = (ROOT / CORPUS / "data" / f"{path.name}.expected").read_text(encoding="utf-8")
        shown = str(CORPUS / "data" / path.name)
        result = invoke(["run", str(BASE), "--data", str(path), "--audit", str(store), *args_of(path)])
        assert expected.replace(shown, str(path)) in result.stderr, path.name


# ---------------------------------------------------------------- generated cases
# name -> (writer(folder) -> path of the file to give, expected text with {path} for that path)

HEADER = 'methodology "Bad input"\nentity Trust key code\ninput a: number\n'
N = 10_000


def _write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _deep(expression: str) -> Callable[[Path], Path]:
    return lambda folder: _write(folder, "deep.tier", HEADER + f"let x = {expression}\n")


def _project(folder: Path) -> Path:
    """A project folder (marked with .tierlang-root) inside `folder`, with a secret beside it."""
    project = folder / "project"
    _write(project, ".tierlang-root", "")
    _write(folder, "secret.tier", 'methodology "Secret"\nentity Trust key code\n')
    _write(folder, "secret.csv", "code,a\nS1,1\n")
    return project


def _extends_symlink(folder: Path) -> Path:
    project = _project(folder)
    (project / "sub").mkdir()
    os.symlink(folder / "secret.tier", project / "sub" / "base.tier")
    return _write(project / "sub", "m.tier", 'methodology "M"\nentity Trust key code\nextends "base.tier"\n')


def _given_data_symlink(folder: Path) -> Path:
    project = _project(folder)
    (project / "data").mkdir()
    os.symlink(folder / "secret.csv", project / "data" / "d.csv")
    return _write(project, "m.tier", HEADER + 'let x = a\ntest "t" {\n  given data "data/d.csv"\n  expect x >= 0\n}\n')


def _given_data_via_symlinked_folder(folder: Path) -> Path:
    project = _project(folder)
    os.symlink(folder, project / "up")
    return _write(project, "m.tier",
                  HEADER + 'let x = a\ntest "t" {\n  given data "up/secret.csv"\n  expect x >= 0\n}\n')


def _extends_symlink_loop(folder: Path) -> Path:
    project = _project(folder)
    os.symlink(project / "b.tier", project / "a.tier")
    os.symlink(project / "a.tier", project / "b.tier")
    return _write(project, "m.tier", 'methodology "M"\nentity Trust key code\nextends "a.tier"\n')


def _extends_chain(folder: Path) -> Path:
    for i in range(40):
        _write(folder, f"m{i}.tier", f'methodology "M{i}"\nentity Trust key code\nextends "m{i + 1}.tier"\n')
    _write(folder, "m40.tier", 'methodology "M40"\nentity Trust key code\n')
    return folder / "m0.tier"


def _fifo(folder: Path, name: str) -> Path:
    """A named pipe no process writes to: opening it for reading would wait forever."""
    path = folder / name
    os.mkfifo(path)
    return path


def _extends_fifo(folder: Path) -> Path:
    _fifo(folder, "base.tier")
    return _write(folder, "m.tier", 'methodology "M"\nentity Trust key code\nextends "base.tier"\n')


def _device(folder: Path) -> Path:
    """/dev/zero under a data file's name: endless, never read."""
    path = folder / "zero.csv"
    os.symlink("/dev/zero", path)
    return path


def _doubling_functions(folder: Path) -> Path:
    """Each function uses its parameter twice: fully expanded, f18(a) would have 2^19 parts."""
    functions = "function f0(x) = x + x\n" + "".join(
        f"function f{i}(x) = f{i - 1}(x) + f{i - 1}(x)\n" for i in range(1, 19))
    return _write(folder, "doubling.tier", HEADER + functions + "let b = f18(a)\n")


def _xlsx_bomb(folder: Path) -> Path:
    """A workbook of 0.6 MB whose parts declare 630 MB once inflated."""
    import zipfile

    path = folder / "bomb.xlsx"
    with zipfile.ZipFile(ROOT / CORPUS / "data" / "duplicate_header.xlsx") as source, \
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bomb:
        for info in source.infolist():
            bomb.writestr(info, source.read(info.filename))
        with bomb.open("xl/sharedStrings2.xml", "w") as part:
            chunk = b"A" * (1 << 20)
            for _ in range(600):
                part.write(chunk)
    return path


GENERATED_METHODOLOGIES: dict[str, tuple[Callable[[Path], Path], str]] = {
    # issue 15: refused before opening (a FIFO would block forever), bounded expansion
    "methodology_is_a_fifo": (
        lambda f: _fifo(f, "pipe.tier"),
        "error: {path} is a named pipe (FIFO), not a file: not read\n",
    ),
    "extends_a_fifo": (
        _extends_fifo,
        "{path}:3:1: error: {folder}/base.tier is a named pipe (FIFO), not a file: not read\n",
    ),
    "methodology_is_dev_zero": (
        lambda f: Path("/dev/zero"),
        "error: /dev/zero is a device, not a file: not read\n",
    ),
    "functions_doubling_per_level": (
        _doubling_functions,
        "{path}:23:9: error: with its functions expanded, this expression has more than 100,000 parts\n",
    ),
    "quantile_band_of_a_hundred_million": (
        lambda f: _write(f, "bands.tier", HEADER + "param n = 100000000\nlet b = quantile_band(a, n)\n"),
        "{path}:5:26: error: argument 2 of quantile_band must be a whole number of bands from 2 to 1,000, "
        "not 100000000\n",
    ),
    "ten_thousand_definitions": (
        lambda f: _write(f, "many.tier", HEADER + "let d0 = a\n"
                         + "".join(f"let d{i} = d{i - 1} + 1\n" for i in range(1, N)) + "let z = d9999 + nope\n"),
        "{path}:10004:17: error: unknown name 'nope'\n"
        "10004 | let z = d9999 + nope\n"
        "      |                 ^^^^\n",
    ),
    "ten_thousand_definitions_in_a_cycle": (
        lambda f: _write(f, "cycle.tier", HEADER + "let d0 = d9999 + a\n"
                         + "".join(f"let d{i} = d{i - 1} + 1\n" for i in range(1, N))),
        "{path}:4:5: error: definitions depend on each other in a cycle: d0 -> d9999 -> d9998 -> d9997 -> "
        "d9996 -> d9995 -> d9994 -> d9993 -> d9992 -> d9991 -> ... (9989 more) -> d1 -> d0\n",
    ),
    "deep_parentheses_unclosed": (
        _deep("(" * N + "a"),
        "{path}:4:10010: error: unexpected end of file\n",
    ),
    "deep_minus": (_deep("-" * N + "a"), "{path}:4:109: error: this expression is nested more than 100 levels deep\n"),
    "deep_not": (_deep("not " * N + "true"),
                 "{path}:4:409: error: this expression is nested more than 100 levels deep\n"),
    "deep_sum": (_deep("a" + " + a" * N), "{path}:4:9: error: this expression is nested more than 100 levels deep\n"),
    "deep_power": (_deep("a" + " ^ a" * N),
                   "{path}:4:409: error: this expression is nested more than 100 levels deep\n"),
    "deep_calls": (_deep("abs(" * N + "a" + ")" * N),
                   "{path}:4:409: error: this expression is nested more than 100 levels deep\n"),
    "deep_lists": (_deep("[" * N + "a" + "]" * N),
                   "{path}:4:109: error: this expression is nested more than 100 levels deep\n"),
    "deep_if": (_deep("if a > 1 then " * N + "a" + " else a" * N),
                "{path}:4:1398: error: this expression is nested more than 100 levels deep\n"),
    "deep_maps": (_deep("map a { 1: " * 2000 + "a" + " }" * 2000),
                  "{path}:4:1109: error: this expression is nested more than 100 levels deep\n"),
    "deep_tier_rule": (
        lambda f: _write(f, "deep.tier", HEADER + "tier t from a {\n  high: >= " + "-" * N + "1\n  low: otherwise\n}\n"),
        "{path}:5:112: error: this expression is nested more than 100 levels deep\n",
    ),
    "deep_expect": (
        lambda f: _write(f, "deep.tier", HEADER + 'let x = a\ntest "t" {\n  given a = 1\n  expect '
                         + "not " * N + "x > 0\n}\n"),
        "{path}:7:410: error: this expression is nested more than 100 levels deep\n",
    ),
    "long_line_string": (
        lambda f: _write(f, "long.tier", HEADER + 'let x = "' + "x" * 100_000 + '" + a\n'),
        "{path}:4:9: error: '+' needs numbers, but this is text (scalar text)\n",
    ),
    "long_line_comment_then_error": (
        lambda f: _write(f, "long.tier", HEADER + "# " + "y" * 100_000 + "\nlet x = a +* 1\n"),
        "{path}:5:12: error: unexpected '*'\n",
    ),
    "long_line_of_errors": (
        lambda f: _write(f, "long.tier", HEADER + "let x = " + "@" * 100_000 + "\n"),
        "{path}:4:9: error: unexpected character '@'\n",
    ),
    "file_too_large": (
        lambda f: _write(f, "large.tier", HEADER + "# " + "z" * 5_000_001 + "\n"),
        "{path}:1:1: error: the file is larger than 5,000,000 characters\n",
    ),
    "extends_chain_too_long": (
        _extends_chain,
        '{folder}/m31.tier:3:1: error: more than 32 files extend each other\n',
    ),
    "extends_symlink_out_of_the_root": (
        _extends_symlink,
        "{path}:3:1: error: extends: 'base.tier' is outside the methodology's root folder\n",
    ),
    "extends_symlink_loop": (
        _extends_symlink_loop,
        "{path}:3:1: error: cannot read {folder}/project/a.tier: Too many levels of symbolic links\n",
    ),
    "given_data_symlink_out_of_the_root": (
        _given_data_symlink,
        "{path}:6:3: error: given data: 'data/d.csv' is outside the methodology's root folder\n",
    ),
    "given_data_through_a_symlinked_folder": (
        _given_data_via_symlinked_folder,
        "{path}:6:3: error: given data: 'up/secret.csv' is outside the methodology's root folder\n",
    ),
}


def _data(header: str, rows: list[str]) -> str:
    return header + "\n" + "\n".join(rows) + "\n"


DATA_HEADER = "code,name,score,safe,flagged,region"
GENERATED_DATA: dict[str, tuple[Callable[[Path], Path], str]] = {
    # issue 15: refused before opening or reading whole
    "data_is_a_fifo": (
        lambda f: _fifo(f, "pipe.csv"),
        "{path}: is a named pipe (FIFO), not a file: not read\n",
    ),
    "data_is_dev_zero": (
        _device,
        "{path}: is a device, not a file: not read\n",
    ),
    "xlsx_bomb": (
        _xlsx_bomb,
        "{path}: the workbook inflates to ",
    ),
    "long_line_number": (
        lambda f: _write(f, "long.csv", _data(DATA_HEADER, ["A1,Alpha," + "9" * 100_000 + ",good,false,North"])),
        '{path}: 1 problem in the data:\n  row 2, column "score": "' + "9" * 50
        + '…" (100,000 characters) is not a number a methodology can use\n',
    ),
    "long_line_key_with_spaces": (
        lambda f: _write(f, "long.csv", _data(DATA_HEADER, [" " + "K" * 100_000 + ",Alpha,90,good,false,North"])),
        '{path}: 1 problem in the data:\n  row 2, column "code": key " ' + "K" * 49
        + '…" (100,001 characters) has spaces around it\n',
    ),
    "long_header": (
        lambda f: _write(f, "long.csv", _data("code,name," + "s" * 100_000 + ",safe,flagged,region",
                                              ["A1,Alpha,90,good,false,North"])),
        '{path}: 1 problem in the data:\n  column "score": not found in the data (needed by input score)\n',
    ),
    "hundred_thousand_rows_one_bad_cell": (
        lambda f: _write(f, "rows.csv", _data(DATA_HEADER, [
            f"K{i},N{i},{'abc' if i == 54_321 else i % 100},good,false,North" for i in range(100_000)])),
        '{path}: 1 problem in the data:\n  row 54323, column "score": "abc" is not a number\n',
    ),
    "five_thousand_problems": (
        lambda f: _write(f, "many.csv", _data(DATA_HEADER, [
            f"K{i},N{i},x{i},good,false,North" for i in range(5_000)])),
        '{path}: 5000 problems in the data:\n  row 2, column "score": "x0" is not a number\n',
    ),
    "ten_thousand_columns_one_duplicate": (
        lambda f: _write(f, "wide.csv", _data(DATA_HEADER + "," + ",".join(f"c{i}" for i in range(N)) + ",c77",
                                              ["A1,Alpha,90,good,false,North" + ",1" * (N + 1)])),
        '{path}: 1 problem in the data:\n  column "c77": the header appears 2 times: columns CF and NTW\n',
    ),
}


def _format(expected: str, path: Path, folder: Path) -> str:
    return expected.replace("{path}", str(path)).replace("{folder}", str(folder))


@pytest.mark.parametrize("name", sorted(GENERATED_METHODOLOGIES))
def test_generated_bad_methodology(name, store, tmp_path):
    writer, expected = GENERATED_METHODOLOGIES[name]
    path = writer(tmp_path)
    check_methodology(str(path), store, expected=_format(expected, path, tmp_path))


@pytest.mark.parametrize("name", sorted(GENERATED_DATA))
def test_generated_bad_data(name, store, tmp_path):
    writer, expected = GENERATED_DATA[name]
    path = writer(tmp_path)
    check_data(str(path), store, [], expected=_format(expected, path, tmp_path))


def test_symlinks_inside_the_root_are_followed(tmp_path):
    """The rule is about where a file really is, not about links as such."""
    project = _project(tmp_path)
    _write(project, "real/base.tier", 'methodology "Base"\nentity Trust key code\ninput a: number\nlet x = a\n')
    os.symlink(project / "real", project / "linked")
    path = _write(project, "m.tier", 'methodology "M"\nentity Trust key code\nextends "linked/base.tier"\n')
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 0, result.output


# ---------------------------------------------------------------- a real process

SUBPROCESS_CASES = [
    ("check", "methodologies/latin1.tier"),
    ("check", "methodologies/extends_outside_root.tier"),
    ("check", "methodologies/nul_byte.tier"),
    ("check", "methodologies/escape_sequence_in_string.tier"),
    ("test", "methodologies/test_data_undecodable.tier"),
    ("run", "data/binary_junk.csv"),
    ("run", "data/utf16_bom.csv"),
    ("run", "data/truncated.xlsx"),
    ("run", "data/dir.csv"),
    ("fmt", "methodologies/latin1.tier"),
]


@pytest.mark.parametrize(("command", "case"), SUBPROCESS_CASES, ids=[f"{m} {c}" for m, c in SUBPROCESS_CASES])
def test_a_real_process_prints_no_traceback(command, case, store):
    executable = Path(sys.executable).with_name("tierlang")
    target = CORPUS / case
    if command == "run":
        args = ["run", str(BASE), "--data", str(target), "--audit", str(store), *args_of(ROOT / target)]
    elif command == "fmt":
        args = ["fmt", "--check", str(target)]
    else:
        args = [command, str(target)]
    before = snapshot(store)
    done = subprocess.run([str(executable), *args], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          encoding="utf-8", errors="replace")
    assert done.returncode != 0
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
    assert done.stderr.strip() or done.stdout.strip()
    expected_file = ROOT / target.with_name(target.name + ".expected" if command == "run" else target.stem
                                            + ".expected")
    if command in ("check", "run", "test"):
        expected = expected_file.read_text(encoding="utf-8")
        assert expected in (done.stdout if command == "test" else done.stderr)
    assert "\x1b" not in done.stderr  # control characters of a source line are shown, not sent
    assert snapshot(store) == before


# ---------------------------------------------------------------- around the corpus


@pytest.mark.parametrize("out", ["/no-such-folder/results.csv", "results.txt"])
def test_a_bad_out_path_is_refused_before_anything_is_recorded(out, store):
    before = snapshot(store)
    result = invoke(["run", str(BASE), "--data", str(GOOD), "--audit", str(store), "--out", out])
    assert result.stderr.startswith(f"error: --out {out}: ")
    assert snapshot(store) == before


@pytest.mark.parametrize("name", METHODOLOGIES)
def test_fmt_never_crashes(name):
    result = CliRunner().invoke(main, ["fmt", "--check", str(CORPUS / "methodologies" / f"{name}.tier")])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output


def test_odd_line_separators_do_not_shift_what_the_audit_records(tmp_path):
    """A form feed or U+2028 in a comment is not a line break for the parser, so it must not be
    one when the source text of a rule is cut out for the audit (str.splitlines breaks there)."""
    path = _write(tmp_path, "m.tier", 'methodology "M"\nentity Trust key code\n# odd \x0c and \u2028 here\n'
                  "input a: number\ntier t from a {\n  high: >= 5\n  low: otherwise\n}\n")
    data = _write(tmp_path, "d.csv", "code,a\nA1,7\n")
    store = tmp_path / "a.db"
    ran = CliRunner().invoke(main, ["run", str(path), "--data", str(data), "--audit", str(store)])
    assert ran.exit_code == 0, ran.output
    explained = CliRunner().invoke(main, ["explain", "A1", "--audit", str(store)])
    assert "rule 1 of 2 (>= 5) assigned high" in explained.output
