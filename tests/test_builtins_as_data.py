"""Built-in functions are declared as data (dsl/builtins.py, as jmespath.py's functions.py): the
checker reads each entry's signature, options, bounds of constant arguments and special rules,
and names no built-in function itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import dsl
from dsl.builtins import BUILTINS, CONST, NUM

ROOT = Path(__file__).resolve().parent.parent
CHECKING = [*sorted((ROOT / "dsl" / "resolve").glob("*.py")), *sorted((ROOT / "dsl" / "checker").glob("*.py")),
            ROOT / "dsl" / "constants.py", ROOT / "dsl" / "levels.py", ROOT / "dsl" / "measures.py"]


def test_the_checker_names_no_built_in_function():
    for path in CHECKING:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert node.value not in BUILTINS, \
                    f"{path.relative_to(ROOT)}:{node.lineno} names {node.value!r}: declare it in dsl/builtins.py"


def _value(bound, index: int) -> float:
    """A constant that satisfies `bound` (None: any), different for each argument."""
    if bound is None:
        return 1.0
    if bound.high is not None:
        value = bound.low + (bound.high - bound.low) * index / 4
    else:
        value = (bound.low or 0) + index
    return float(round(value)) if bound.whole else value


def _breaking(bound, index: int) -> float:
    if bound.whole:
        return _value(bound, index) + 0.5
    return bound.low - 1 if bound.low is not None else bound.high + 1


def _source(name: str, args: list[str]) -> str:
    return (f'methodology "m" version "1"\nentity org key code\ninput a: number\ninput b: number\n'
            f"let s = {name}({', '.join(args)})\nindicator i = a\n")


BOUNDED = [(name, index, bound) for name, b in sorted(BUILTINS.items()) for index, bound in b.bounds]


@pytest.mark.parametrize("name, index, bound", BOUNDED, ids=[f"{n}-{i}" for n, i, _ in BOUNDED])
def test_each_declared_bound_is_checked_before_any_data_is_read(name, index, bound):
    spec = BUILTINS[name]
    def args(broken: int | None) -> list[str]:
        out = []
        for i, kind in enumerate(spec.params):
            if kind == CONST:
                b = spec.bound(i)
                out.append(repr(_breaking(b, i) if i == broken else _value(b, i)))
            else:
                out.append("a" if kind == NUM else "a > 1")
        return out
    assert dsl.check_file("m.tier", _source(name, args(None))).errors == []
    report = dsl.check_file("m.tier", _source(name, args(index)))
    assert {d.code for d in report.errors} == {"bad-constant"}
    assert any(f"argument {index + 1} of {name} must be {bound.what}" in d.message for d in report.errors)


def test_an_ordered_pair_is_checked():
    (name, spec), = [(n, b) for n, b in BUILTINS.items() if b.ordered is not None]
    report = dsl.check_file("m.tier", _source(name, ["a", "90%", "10%"]))
    assert [d.message for d in report.errors] == [spec.ordered.message.format(first="0.9", second="0.1")]
