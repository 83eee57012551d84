"""docs/language.md is tested against the code: every ```tier block parses, and the table of
built-in functions matches dsl.builtins.BUILTINS."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dsl.builtins import BUILTINS
from dsl.parser import parse

LANGUAGE = Path(__file__).resolve().parents[1] / "docs" / "language.md"


def tier_blocks() -> list[tuple[int, str]]:
    """(line number, text) of every ```tier fenced block."""
    text = LANGUAGE.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 2, m.group(1))
            for m in re.finditer(r"^```tier\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)]


def test_the_reference_has_examples():
    assert len(tier_blocks()) >= 15


@pytest.mark.parametrize(("line", "block"), tier_blocks(), ids=lambda x: f"line {x}" if isinstance(x, int) else "")
def test_every_tier_block_parses(line, block):
    parse(block, f"docs/language.md (block at line {line})")


def builtin_rows() -> dict[str, tuple[str, str, str]]:
    """The built-ins table: function name → (signature, scope, result) as written."""
    rows = {}
    for line in LANGUAGE.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\| `(([a-z_0-9]+)\(.*?\))` \| (row|population) \| ([^|]+) \|", line)
        if match:
            signature, name, scope, result = match.groups()
            rows[name] = (signature.replace("\\|", "|"), scope, result.strip())
    return rows


def test_the_builtins_table_lists_every_builtin_as_the_registry_declares_it():
    documented = builtin_rows()
    assert documented.keys() == BUILTINS.keys()
    for name, builtin in BUILTINS.items():
        assert documented[name] == (builtin.signature(), builtin.scope, builtin.returns), name
