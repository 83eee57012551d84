"""The exit code says which stage failed (docs/cli.md, "Exit codes"): one table of failures, each
with the code a script would see, and the rules that keep the mapping in one place."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from dsl.errors import STAGES, TierlangError
from tierlang.cli import main
from tierlang.cli.support import EXIT_CODES, FINDING

ROOT = Path(__file__).resolve().parent.parent

GOOD = """\
methodology "m" version "1"
entity org key code
input a: number range 0..10
param w = 50% range 0%..100%
indicator sa = a
score s = weighted_mean(sa: w, sa: 1 - w)
tier t from s {
  high: >= 5
  low: otherwise
}
"""
FAILING_TEST = GOOD + """
test "always fails" {
  given a = 1
  expect t == high
}
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "good.tier").write_text(GOOD)
    (tmp_path / "bad.tier").write_text(GOOD.replace("indicator sa = a", "indicator sa = nope"))
    (tmp_path / "ugly.tier").write_text(GOOD.replace("indicator sa = a", "indicator   sa =   a"))
    (tmp_path / "failing.tier").write_text(FAILING_TEST)
    (tmp_path / "good.csv").write_text("code,a\nA,1\nB,9\n")
    (tmp_path / "bad.csv").write_text("code,a\nA,one\nB,9\n")
    (tmp_path / "published.csv").write_text("code,grade\nA,low\nB,high\n")
    CliRunner().invoke(main, ["run", "good.tier", "--data", "good.csv", "--audit", "a.db"], catch_exceptions=False)
    return tmp_path


CASES = [
    # (what, arguments, stage)
    ("a run", ["run", "good.tier", "--data", "good.csv", "--no-audit"], None),
    ("a failing test block", ["test", "failing.tier"], FINDING),
    ("fmt --check of a file not canonical", ["fmt", "--check", "ugly.tier"], FINDING),
    ("verify of a run whose hashes were edited", ["verify", "1", "--audit", "edited.db"], FINDING),
    ("reconcile below --fail-under", ["reconcile", "1", "--audit", "a.db", "--expected", "published.csv",
                                      "--key", "code", "--column", "grade", "--fail-under", "1.01"], FINDING),
    ("an unknown option", ["run", "good.tier", "--colour"], "usage"),
    ("a --param naming no param", ["run", "good.tier", "--data", "good.csv", "--no-audit", "--param", "x=1"], "usage"),
    ("a --param outside its range", ["run", "good.tier", "--data", "good.csv", "--no-audit", "--param", "w=2"], "usage"),
    ("--out with an unknown extension", ["run", "good.tier", "--data", "good.csv", "--no-audit", "--out", "x.pdf"],
     "usage"),
    ("a methodology with errors", ["run", "bad.tier", "--data", "good.csv", "--no-audit"], "methodology"),
    ("check of a methodology with errors", ["check", "bad.tier"], "methodology"),
    ("check of good and bad files", ["check", "good.tier", "bad.tier"], "methodology"),
    ("a cell that is not a number", ["run", "good.tier", "--data", "bad.csv", "--no-audit"], "data"),
    ("a data file that does not exist", ["run", "good.tier", "--data", "none.csv", "--no-audit"], "data"),
    ("a published column that does not exist", ["reconcile", "1", "--audit", "a.db", "--expected", "published.csv",
                                                "--key", "code", "--column", "nope"], "data"),
    ("no audit store", ["explain", "A", "--audit", "none.db"], "audit"),
    ("an unknown run", ["verify", "7", "--audit", "a.db"], "audit"),
    ("an unknown entity", ["explain", "Z9", "--audit", "a.db"], "audit"),
]


@pytest.mark.parametrize("what, args, stage", CASES, ids=[c[0] for c in CASES])
def test_each_failure_exits_with_its_stage_code(project, what, args, stage):
    if "edited.db" in args:
        import shutil
        import sqlite3

        shutil.copy("a.db", "edited.db")
        with sqlite3.connect("edited.db") as conn:
            conn.execute("UPDATE runs SET content_hash = 'x' || substr(content_hash, 2)")
    result = CliRunner().invoke(main, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == (0 if stage is None else EXIT_CODES[stage]), (what, result.output)
    if stage not in (None, FINDING):
        assert "Traceback" not in result.output


def test_every_stage_has_a_code_and_the_codes_differ():
    assert set(EXIT_CODES) == {FINDING, *STAGES}
    assert len(set(EXIT_CODES.values())) == len(EXIT_CODES) and 0 not in EXIT_CODES.values()
    assert EXIT_CODES["usage"] == 2  # click's own usage errors exit 2


def test_every_error_type_of_ours_is_a_tierlang_error_with_a_stage():
    """The error types a user sees: each one subclasses the root and names a known stage."""
    named = {"TierError", "FormatError", "DataError", "ParamError", "AuditError", "ReconcileError",
             "UsageError", "OutputFailed"}
    found = {}
    for layer in ("dsl", "interpreter", "audit", "tierlang"):
        package = importlib.import_module(layer)
        for info in pkgutil.walk_packages(package.__path__, f"{layer}."):
            if ".lsp" in info.name or info.name.endswith("__main__"):
                continue
            module = importlib.import_module(info.name)
            for name, value in vars(module).items():
                if inspect.isclass(value) and name in named and value.__module__ == info.name:
                    found[name] = value
    assert set(found) == named
    for name, cls in found.items():
        assert issubclass(cls, TierlangError), name
        assert cls.stage in STAGES, name


def test_no_command_exits_with_a_number_of_its_own():
    """Exit codes come from tierlang/cli/support.py's one mapping: no `sys.exit(1)` elsewhere."""
    for path in (ROOT / "tierlang").rglob("*.py"):
        if path.name == "support.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "exit" and node.args \
                    and isinstance(node.args[0], ast.Constant):
                raise AssertionError(f"{path.relative_to(ROOT)}:{node.lineno}: sys.exit({node.args[0].value!r})")
