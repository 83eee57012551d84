"""Safety: what a methodology (or its data) cannot make tierlang do.

- File access: a methodology reads only files inside its root folder (dsl/paths.py,
  docs/language.md "File access"), for `extends` and `given data`, through `..`, absolute paths
  or symbolic links; the data path is checked again when a test reads it.
- No code execution: the language has no way to reach Python; the source tree has no eval, exec,
  pickle and the like.
- Deep nesting: refused with a located message, never a RecursionError; the deepest accepted
  expression goes through every stage (check, run, audit, explain, fmt, test).
- SQL: every statement is parameterised (statically: no SQL is built from values; dynamically:
  no user-supplied text ever reaches the SQL text sqlite runs), and entity keys and labels with
  quotes, semicolons, unicode and HTML are stored and shown verbatim.
"""

from __future__ import annotations

import ast
import builtins
import json
import os
import re
import sqlite3
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import dsl
from dsl import builtins as tier_builtins
from dsl.errors import render_all
from dsl.parser import MAX_NESTING
from dsl.paths import ROOT_MARKERS, PathRefused, methodology_root, resolve_reference
from interpreter.testing import run_tests
from tierlang.cli import main

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("dsl", "interpreter", "audit", "tierlang")
HEADER = 'methodology "Safety"\nentity Trust key code\ninput a: number\n'


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def codes(report) -> list[str]:
    return [d.code for d in report.errors]


def _no_marker_above(folder: Path) -> bool:
    return not any((p / m).exists() for p in folder.parents for m in ROOT_MARKERS)


# ================================================================ file access


def test_the_root_is_the_nearest_folder_with_a_marker(tmp_path):
    write(tmp_path / "a" / "b" / "c" / "m.tier", HEADER)
    (tmp_path / "a" / ".git").mkdir()
    assert methodology_root(tmp_path / "a" / "b" / "c" / "m.tier") == (tmp_path / "a").resolve()
    write(tmp_path / "a" / "b" / ".tierlang-root", "")
    assert methodology_root(tmp_path / "a" / "b" / "c" / "m.tier") == (tmp_path / "a" / "b").resolve()
    write(tmp_path / "a" / "b" / "c" / "pyproject.toml", "")
    assert methodology_root(tmp_path / "a" / "b" / "c" / "m.tier") == (tmp_path / "a" / "b" / "c").resolve()


def test_without_a_marker_the_root_is_the_methodology_folder(tmp_path):
    if not _no_marker_above(tmp_path):
        pytest.skip("a folder above the temporary folder holds a root marker")
    path = write(tmp_path / "x" / "m.tier", HEADER)
    assert methodology_root(path) == (tmp_path / "x").resolve()


def test_the_repository_methodologies_read_inside_the_repository():
    for path in (ROOT / "methodologies").glob("*.tier"):
        assert methodology_root(path) == ROOT
    # ... which is why `given data "../examples/..."` is allowed for them
    assert not dsl.check_file(ROOT / "methodologies" / "undp_hdi_groups.tier").errors


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("/etc/passwd", "absolute-path"),
        ("\\\\server\\share\\x.csv", "absolute-path"),
        ("C:\\data\\x.csv", "absolute-path"),
        ("../../../../../../../../../etc/passwd", "outside-root"),
        ("sub/../../../outside.csv", "outside-root"),
        ("a\x00b.csv", "unreadable-file"),
        ("", "unreadable-file"),
        ("   ", "unreadable-file"),
    ],
)
def test_paths_the_rule_refuses(tmp_path, written, code):
    project = tmp_path / "project"
    write(project / ".tierlang-root", "")
    methodology = write(project / "sub" / "m.tier", HEADER)
    with pytest.raises(PathRefused) as refused:
        resolve_reference(methodology, written, methodology_root(methodology))
    assert refused.value.code == code


def test_paths_the_rule_allows(tmp_path):
    project = tmp_path / "project"
    write(project / ".tierlang-root", "")
    methodology = write(project / "sub" / "m.tier", HEADER)
    root = methodology_root(methodology)
    assert resolve_reference(methodology, "../data/x.csv", root) == project / "sub" / ".." / "data" / "x.csv"
    assert resolve_reference(methodology, "x.csv", root) == project / "sub" / "x.csv"
    assert resolve_reference(methodology, "does/not/exist/yet.csv", root)  # existence is checked elsewhere


def test_a_symbolic_link_out_of_the_root_is_refused_and_one_inside_is_followed(tmp_path):
    project = tmp_path / "project"
    write(project / ".tierlang-root", "")
    write(tmp_path / "secret.csv", "code,a\nS,1\n")
    write(project / "inside.csv", "code,a\nI,1\n")
    os.symlink(tmp_path / "secret.csv", project / "out.csv")
    os.symlink(project / "inside.csv", project / "in.csv")
    methodology = write(project / "m.tier", HEADER)
    root = methodology_root(methodology)
    with pytest.raises(PathRefused):
        resolve_reference(methodology, "out.csv", root)
    assert resolve_reference(methodology, "in.csv", root) == project / "in.csv"


def test_a_base_file_cannot_reach_out_of_the_root_of_the_methodology(tmp_path):
    project = tmp_path / "project"
    write(project / ".tierlang-root", "")
    write(tmp_path / "secret.tier", 'methodology "Secret"\nentity Trust key code\ninput secret: number\n')
    write(project / "lib" / "base.tier", 'methodology "Base"\nentity Trust key code\nextends "../../secret.tier"\n')
    path = write(project / "m.tier", 'methodology "M"\nentity Trust key code\nextends "lib/base.tier"\n')
    report = dsl.check_file(path)
    assert codes(report) == ["outside-root"]
    assert report.errors[0].span.file == str(project / "lib" / "base.tier")
    assert "Secret" not in render_all(report.diagnostics, report.sources)
    assert str(tmp_path / "secret.tier") not in report.sources


def test_test_data_is_checked_again_when_it_is_read(tmp_path):
    """The file is swapped for a link out of the root after the check: the test fails with the
    rule's message and the secret file is never read."""
    project = tmp_path / "project"
    write(project / ".tierlang-root", "")
    write(tmp_path / "secret.csv", "code,a\nSECRET_KEY,1\n")
    data = write(project / "d.csv", "code,a\nA,1\n")
    path = write(project / "m.tier", HEADER + 'let x = a\ntest "t" {\n  given data "d.csv"\n  expect x >= 0\n}\n')
    methodology = dsl.load(path)
    data.unlink()
    os.symlink(tmp_path / "secret.csv", data)
    (outcome,) = run_tests(methodology)
    assert not outcome.passed
    message = outcome.failures[0].message
    assert "outside the methodology's root folder" in message
    assert "SECRET_KEY" not in message


def test_a_test_of_a_methodology_given_as_text_reads_inside_the_working_directory_root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report = dsl.check_file("<string>", HEADER + 'let x = a\ntest "t" {\n  given data "/etc/passwd"\n  expect x\n}\n')
    assert "absolute-path" in codes(report)


# ================================================================ no code execution

ATTEMPTS = {
    "import": 'let x = __import__("os")',
    "exec": 'let x = exec("import os")',
    "eval": 'let x = eval("1 + 1")',
    "compile": 'let x = compile("1", "f", "eval")',
    "open": 'let x = open("/etc/passwd")',
    "getattr": 'let x = getattr(a, "__class__")',
    "globals": "let x = globals()",
    "breakpoint": "let x = breakpoint()",
    "dotted": 'let x = os.system("touch /tmp/tierlang-pwned")',
    "dunder_name": "let x = __builtins__",
    "attribute": "let x = a.__class__",
    "subscript": "let x = a[0]",
    "lambda": "let x = lambda: 1",
    "semicolon": 'let x = a; __import__("os").system("id")',
    "backticks": "let x = `id`",
    "dollar": "let x = $(id)",
    "string_as_function": 'let x = "os"("id")',
}


@pytest.mark.parametrize("name", sorted(ATTEMPTS))
def test_python_is_out_of_reach(name):
    report = dsl.check_file("attempt.tier", HEADER + ATTEMPTS[name] + "\n")
    assert report.methodology is None
    assert set(codes(report)) <= {"unknown-function", "unknown-name", "syntax", "function-as-value"}, codes(report)


def test_no_python_builtin_is_a_function_of_the_language():
    """Every Python built-in is an unknown function, unless the language has a function of that
    name of its own (abs, min, max, round, sum, any, all: dsl/builtins.py)."""
    own = set(tier_builtins.BUILTINS)
    for name in dir(builtins):
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            continue
        report = dsl.check_file("b.tier", HEADER + f"let x = {name}(a)\n")
        if name in own:
            continue
        assert report.methodology is None, name
        assert {"unknown-function", "reserved-word", "syntax"} & set(codes(report)), (name, codes(report))


def _python_files() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__", "breakpoint", "input"}
FORBIDDEN_MODULES = {"pickle", "marshal", "shelve", "dill", "cloudpickle", "subprocess", "importlib",
                     "code", "codeop", "ctypes", "runpy", "numexpr", "yaml"}
ALLOWED_MODULES = {"importlib.metadata"}  # the installed version of tierlang
FORBIDDEN_ATTRIBUTES = {("os", "system"), ("os", "popen"), ("os", "execv"), ("os", "execvp"), ("os", "spawnl"),
                        ("pd", "eval"), ("pandas", "eval"), ("np", "load")}


def test_the_source_tree_executes_no_dynamic_code():
    """No eval/exec/compile/__import__, no pickle or subprocess, no pandas eval or query: nothing a
    methodology or a data file says can become code. (`ev.eval(expr)` is the interpreter's own
    tree-walking evaluator, not Python's eval.)"""
    found = []
    for path in _python_files():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FORBIDDEN_CALLS:
                found.append(f"{where}: {node.func.id}()")
            elif isinstance(node, ast.Import):
                found += [f"{where}: import {a.name}" for a in node.names
                          if a.name.split(".")[0] in FORBIDDEN_MODULES and a.name not in ALLOWED_MODULES]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in FORBIDDEN_MODULES \
                    and node.module not in ALLOWED_MODULES:
                found.append(f"{where}: from {node.module} import")
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and (
                    (node.value.id, node.attr) in FORBIDDEN_ATTRIBUTES):
                found.append(f"{where}: {node.value.id}.{node.attr}")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "query" \
                    and not ast.unparse(node.func.value).endswith("db"):  # sqlite_utils' db.query(sql, params)
                found.append(f"{where}: .query() (pandas evaluates its argument)")
    assert found == []


# ================================================================ deep nesting

DEEP = {
    "parentheses": lambda n: "(" * n + "a" + ")" * n,
    "minus": lambda n: "-" * n + "a",
    "not": lambda n: "not " * n + "true",
    "sum": lambda n: "a" + " + a" * n,
    "power": lambda n: "a" + " ^ 1" * n,
    "calls": lambda n: "abs(" * n + "a" + ")" * n,
    "lists": lambda n: "[" * n + "a" + "]" * n,
    "if_then": lambda n: "if true then " * n + "a" + " else a" * n,
    "if_else": lambda n: "if true then a else " * n + "a",
    "maps": lambda n: "map a { 1: " * n + "a" + " }" * n,
    "bands": lambda n: "band a { >= 1: " * n + "a" + ", otherwise: 0 }" * n,
    "picks": lambda n: 'a for "A"' + ' + a for "A"' * (n - 1),
}


@pytest.mark.parametrize("name", sorted(DEEP))
def test_ten_thousand_levels_are_one_located_message(name):
    text = HEADER + "let x = " + DEEP[name](10_000) + "\n"
    report = dsl.check_file("deep.tier", text)
    if name == "parentheses":  # parentheses alone do not nest expressions
        assert not report.errors
        return
    assert codes(report) == ["too-deep"]
    (error,) = report.errors
    assert error.span.file == "deep.tier" and error.span.line == 4 and error.span.column > 1
    assert f"nested more than {MAX_NESTING} levels deep" in error.message
    with pytest.raises(dsl.TierError):
        from dsl.formatter import format_source

        format_source(text, "deep.tier")


def _deep_stack(frames: int, action):
    """Run `action` with `frames` more Python frames on the stack, as a caller deep in a larger
    program (or in pytest and click) would."""
    return action() if frames == 0 else _deep_stack(frames - 1, action)


@pytest.mark.parametrize("name", sorted(set(DEEP) - {"parentheses", "not", "if_then", "if_else", "lists"}))
def test_the_deepest_accepted_expression_goes_through_every_stage(name, tmp_path, monkeypatch):
    """Exactly MAX_NESTING levels: checked, run, recorded, explained, formatted and tested, with
    300 frames already on the stack; one level more is refused."""
    monkeypatch.chdir(tmp_path)
    expression = DEEP[name](MAX_NESTING)
    text = (HEADER + f"let x = {expression}\ntier t from a {{\n  high: >= 1\n  low: otherwise\n}}\n"
            'test "t" {\n  given a = 1\n  expect x is missing or x == x\n}\n')
    write(tmp_path / "m.tier", text)
    write(tmp_path / "d.csv", "code,a\nA,1\nB,2\n")
    limit = sys.getrecursionlimit()
    for args in (["check", "m.tier"], ["run", "m.tier", "--data", "d.csv", "--audit", "a.db"],
                 ["explain", "A", "--audit", "a.db", "--format", "json"], ["test", "m.tier"]):
        result = _deep_stack(300, lambda args=args: CliRunner().invoke(main, args))
        assert result.exception is None or isinstance(result.exception, SystemExit), (args, result.exception)
        assert result.exit_code == 0, (args, result.output[:2000])
    from dsl.formatter import format_source

    formatted = _deep_stack(300, lambda: format_source(text, "m.tier"))
    assert dsl.check_file("m.tier", formatted).methodology is not None
    assert sys.getrecursionlimit() == limit  # nothing raised the limit for good
    one_more = HEADER + f"let x = {DEEP[name](MAX_NESTING + 1)}\n"
    assert codes(dsl.check_file("m.tier", one_more)) == ["too-deep"]


def test_functions_that_expand_too_deep_are_located_at_the_call():
    body = "abs(" * 60 + "y" + ")" * 60
    text = HEADER + f"function f(y) = {body}\nfunction g(y) = f(f(y))\nlet fine = f(a)\nlet x = a + g(a)\n"
    report = dsl.check_file("f.tier", text)
    assert codes(report) == ["too-deep"]
    assert (report.errors[0].span.line, report.errors[0].span.column) == (7, 13)


def test_a_long_chain_of_definitions_is_not_nesting():
    """Depth is per expression: 2,000 definitions each using the one before are fine."""
    text = HEADER + "let d0 = a\n" + "".join(f"let d{i} = d{i - 1} + 1\n" for i in range(1, 2000))
    report = dsl.check_file("chain.tier", text)
    assert not report.errors


# ================================================================ SQL

SQL_WORDS = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|PRAGMA|VALUES|WHERE|FROM)\b")
# Names whose values are identifiers or placeholders chosen from fixed sets in the code (column
# lists, table names, `?, ?, ?`, a comparison operator chosen by an `if`, a constant). Any other
# value interpolated into SQL text fails this test: bind it as a parameter instead.
SQL_FRAGMENTS = {"names", "table", "where", "order", "columns", "marks", "op", "BUSY_TIMEOUT_MS", "sql"}


def _is_sql(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and bool(SQL_WORDS.search(node.value))


def _string_constants(tree: ast.Module) -> set[str]:
    """Module-level names bound to a string constant (e.g. `_RUN_SELECT = "SELECT ..."`)."""
    return {target.id for node in tree.body if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
            for target in node.targets if isinstance(target, ast.Name)}


def test_no_sql_is_built_from_values():
    found = []
    for path in sorted((ROOT / "audit").rglob("*.py")) + sorted((ROOT / "tierlang").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        fragments = SQL_FRAGMENTS | _string_constants(tree)
        for node in ast.walk(tree):
            where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.JoinedStr) and any(_is_sql(v) for v in node.values):
                for value in node.values:
                    if isinstance(value, ast.FormattedValue) and not (
                            isinstance(value.value, ast.Name) and value.value.id in fragments):
                        found.append(f"{where}: f-string SQL interpolates {ast.unparse(value.value)}")
            elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and _is_sql(node.left):
                found.append(f"{where}: SQL built with %")
            elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add) and (
                    _is_sql(node.left) or _is_sql(node.right)):
                other = node.right if _is_sql(node.left) else node.left
                if not (isinstance(other, ast.Constant) or isinstance(other, ast.Name) and other.id in fragments):
                    found.append(f"{where}: SQL concatenated with {ast.unparse(other)}")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format" \
                    and _is_sql(node.func.value):
                found.append(f"{where}: SQL built with .format()")
    assert found == []


WEIRD = [
    # (key, label)
    ("'; DROP TABLE runs; --", 'Robert"); DROP TABLE entities;-- zqxj'),
    ("<script>alert('zqxj')</script>", "<b onmouseover=\"alert(1)\">bold</b> &amp; &lt;"),
    ("😀🏥 zqxj", "مستشفى الشفاء zqxj"),
    # a key may not hold a bidirectional control, a zero-width character or a tab (it would print as
    # another key: interpreter/data.py refuses it, test_hostile.py); a label may, escaped where shown
    ("rtl zqxj", "a\u202eb\u200f \u05e9\u05dc\u05d5\u05dd 'x' \"y\" zqxj"),
    ("O'Brien; SELECT * FROM runs", 'Smith, "Jr" \\ zqxj'),
    ("%s %d ? :name $1 zqxj", "{0} {key} %(x)s zqxj"),
    ("[/red] zqxj", "[bold]markup[/bold] :smile: zqxj"),
    ("=HYPERLINK(\"http://zqxj\", \"x\")", "=1+1 zqxj"),
    ("zqxj tab", "line\u2028separator\ttab zqxj"),
]
PRINTABLE = [(k, v) for k, v in WEIRD if (k + v).isprintable()]  # a table shows a tab as spaces


class RecordingConnection(sqlite3.Connection):
    """A connection that keeps the text of every statement it is asked to run."""

    statements: list[str] = []

    def execute(self, sql, *args, **kwargs):
        RecordingConnection.statements.append(sql)
        return super().execute(sql, *args, **kwargs)

    def executemany(self, sql, *args, **kwargs):
        RecordingConnection.statements.append(sql)
        return super().executemany(sql, *args, **kwargs)

    def executescript(self, sql, *args, **kwargs):
        RecordingConnection.statements.append(sql)
        return super().executescript(sql, *args, **kwargs)

    def cursor(self, *args, **kwargs):
        return super().cursor(RecordingCursor)


class RecordingCursor(sqlite3.Cursor):
    def execute(self, sql, *args, **kwargs):
        RecordingConnection.statements.append(sql)
        return super().execute(sql, *args, **kwargs)

    def executemany(self, sql, *args, **kwargs):
        RecordingConnection.statements.append(sql)
        return super().executemany(sql, *args, **kwargs)

    def executescript(self, sql, *args, **kwargs):
        RecordingConnection.statements.append(sql)
        return super().executescript(sql, *args, **kwargs)


@pytest.fixture
def recorded_sql(monkeypatch):
    connect = sqlite3.connect

    def recording_connect(*args, **kwargs):
        kwargs.setdefault("factory", RecordingConnection)
        return connect(*args, **kwargs)

    RecordingConnection.statements = []
    monkeypatch.setattr(sqlite3, "connect", recording_connect)
    return RecordingConnection.statements


def _weird_project(folder: Path) -> tuple[Path, Path]:
    import csv

    methodology = write(folder / "zqxj's methodology; DROP.tier", (
        'methodology "Zqxj \'quoted\'; DROP TABLE runs; -- <i>html</i> 😀"\n'
        'version "v\'1; zqxj"\n'
        "entity Trust key code label name\n"
        'input score: number "Score \'zqxj\'"\n'
        'param zqxj_weight = 2\n'
        'let zqxj_points "Points; DROP TABLE nodes; zqxj" = score * zqxj_weight\n'
        'tier zqxj_tier "Tier <zqxj>" from zqxj_points {\n'
        '  "top \'zqxj\'; --": >= 100\n'
        '  "<b>rest zqxj</b>": otherwise\n'
        "}\n"))
    data = folder / "zqxj data; DROP.csv"
    with data.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["code", "name", "score"])
        for i, (key, label) in enumerate(WEIRD):
            writer.writerow([key, label, 40 + 10 * i])
    return methodology, data


def test_keys_and_labels_are_stored_and_shown_verbatim_and_never_reach_sql_text(tmp_path, monkeypatch,
                                                                                  recorded_sql):
    monkeypatch.chdir(tmp_path)
    methodology, data = _weird_project(tmp_path)
    store = tmp_path / "zqxj'; DROP.db"

    ran = CliRunner().invoke(main, ["run", methodology.name, "--data", data.name, "--audit", store.name,
                                    "--param", "zqxj_weight=3"])
    assert ran.exit_code == 0, ran.output
    for key, label in PRINTABLE:
        assert key in ran.output and label in ran.output

    as_json = CliRunner().invoke(main, ["run", methodology.name, "--data", data.name, "--no-audit",
                                        "--format", "json", "--param", "zqxj_weight=3"])
    entities = json.loads(as_json.stdout)["entities"]
    assert [(e["key"], e["label"]) for e in entities] == sorted(
        WEIRD, key=lambda kl: [e["key"] for e in entities].index(kl[0]))
    assert {e["key"] for e in entities} == {k for k, _ in WEIRD}

    for key, label in WEIRD:
        for who in (key, label):
            text = CliRunner().invoke(main, ["explain", who, "--audit", store.name])
            assert text.exit_code == 0, (who, text.output)
            if (key, label) in PRINTABLE:
                assert key in text.stdout and label in text.stdout
            shown = CliRunner().invoke(main, ["explain", who, "--audit", store.name, "--format", "json"])
            assert shown.exit_code == 0, (who, shown.output)
            assert json.dumps(key, ensure_ascii=False) in shown.stdout  # the characters, not \u escapes
            explained = json.loads(shown.stdout)
            assert explained["entity"]["key"] == key and explained["entity"]["label"] == label

    listed = CliRunner().invoke(main, ["runs", "--audit", store.name, "--format", "json"])
    assert listed.exit_code == 0
    assert "Zqxj 'quoted'; DROP TABLE runs; -- <i>html</i> 😀" in json.loads(listed.stdout)[0].values()

    # the store still has its tables, and one run
    with sqlite3.connect(store) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"runs", "entities", "nodes"} <= tables
        assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 1
        stored = conn.execute("SELECT key, label FROM entities ORDER BY position").fetchall()
    assert sorted(stored) == sorted(WEIRD)

    assert recorded_sql, "no SQL was recorded: the recording connection was not used"
    leaked = [sql for sql in recorded_sql if "zqxj" in sql.lower() or "DROP" in sql and "DROP TABLE IF" not in sql]
    assert leaked == []


def test_results_written_to_excel_keep_text_as_text(tmp_path, monkeypatch):
    """A label such as `=HYPERLINK(...)` is written as text, never as a live formula."""
    import openpyxl

    monkeypatch.chdir(tmp_path)
    methodology, data = _weird_project(tmp_path)
    result = CliRunner().invoke(main, ["run", methodology.name, "--data", data.name, "--no-audit",
                                       "--out", "results.xlsx"])
    assert result.exit_code == 0, result.output
    sheet = openpyxl.load_workbook(tmp_path / "results.xlsx").active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert not [c.value for c in cells if c.data_type == "f"]
    written = {c.value for c in cells}
    assert {k for k, _ in WEIRD} <= written and {v for _, v in WEIRD} <= written


def test_a_linked_methodology_reads_from_where_it_is_linked(tmp_path):
    """Relative paths start from the folder the methodology is given in, and so does the search
    for its root: a methodology linked into a project reads that project's files."""
    project = tmp_path / "project"
    write(project / ".tierlang-root", "")
    write(project / "d.csv", "code,a\nA,1\n")
    real = write(tmp_path / "elsewhere" / "m.tier",
                 HEADER + 'let x = a\ntest "t" {\n  given data "d.csv"\n  expect x >= 0\n}\n')
    os.symlink(real, project / "m.tier")
    assert methodology_root(project / "m.tier") == project.resolve()
    report = dsl.check_file(project / "m.tier")
    assert not report.errors
    (outcome,) = run_tests(report.methodology)
    assert outcome.passed, outcome.failures
