"""The commands that must answer at once do not import pandas or numpy: `--version`, `--help`,
shell completion, and `check`/`fmt` of a small file. Each runs in a fresh interpreter, which
then reports the modules it imported (an import check, not a timing: speed is measured in
benchmarks/startup.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SMALL = Path(__file__).parent / "data" / "cli" / "small.tier"

# Runs the CLI as `tierlang`, then prints which heavy modules it imported (at exit, whatever
# the exit code).
PROBE = """
import atexit, json, sys
atexit.register(lambda: print("MODULES " + json.dumps(
    sorted(m for m in ("pandas", "numpy", "sqlite3", "sqlite_utils", "scipy.stats", "lark") if m in sys.modules))))
sys.argv[0] = "tierlang"
from tierlang.cli import main
main()
"""


def imported(*args: str, env: dict | None = None) -> list[str]:
    completed = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=env, check=False
    )
    marker = [line for line in completed.stdout.splitlines() if line.startswith("MODULES ")]
    assert marker, completed.stdout + completed.stderr
    return json.loads(marker[-1].removeprefix("MODULES "))


@pytest.mark.parametrize(
    "args",
    [
        ["--version"],
        ["--help"],
        ["run", "--help"],
        ["check", str(SMALL)],
        ["fmt", "--check", str(SMALL)],
    ],
)
def test_quick_commands_import_neither_pandas_nor_numpy(args):
    assert [m for m in imported(*args) if m != "lark"] == []


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["run", "--help"]])
def test_version_and_help_do_not_build_the_parser(args):
    """`import dsl.errors` (the CLI's exit codes) must not import the checker and Lark: the
    package's names are imported on first use (dsl/__init__.py)."""
    assert imported(*args) == []


def test_shell_completion_imports_neither_pandas_nor_numpy():
    env = dict(
        os.environ, _TIERLANG_COMPLETE="bash_complete", COMP_WORDS="tierlang ch", COMP_CWORD="1"
    )
    assert imported(env=env) == []  # nor Lark


def test_the_probe_sees_pandas_when_a_command_imports_it(tmp_path):
    """The check above can fail: a run imports pandas, and the probe reports it."""
    data = tmp_path / "small.csv"
    data.write_bytes((Path(__file__).parent / "data" / "cli" / "small.csv").read_bytes())
    assert "pandas" in imported("run", str(SMALL), "--data", str(data), "--no-audit")


def test_a_run_that_uses_no_moment_statistic_does_not_import_scipy_stats(tmp_path):
    """scipy.stats takes about half a second to import: only population_skewness and
    population_kurtosis need it (interpreter/statistics.py imports it on first use)."""
    data = tmp_path / "small.csv"
    data.write_bytes((Path(__file__).parent / "data" / "cli" / "small.csv").read_bytes())
    assert "scipy.stats" not in imported("run", str(SMALL), "--data", str(data), "--no-audit")


def test_the_api_is_still_importable_by_name():
    import tierlang

    assert callable(tierlang.run) and callable(tierlang.load)
    from tierlang import RunOutcome, Tables, UsageError  # noqa: F401

    with pytest.raises(AttributeError):
        tierlang.no_such_thing  # noqa: B018
