"""The language server's analysis in-process: what the protocol tests (tests/test_lsp.py) do not
reach — layering, and every feature at every position of hostile or broken text."""

from __future__ import annotations

import contextlib
import subprocess
import sys

import pytest
from pygls.workspace.position_codec import PositionCodec

from tierlang.lsp import completion, diagnostics, formatting, hover, navigation, symbols
from tierlang.lsp.analysis import analyse


def test_the_command_line_and_dsl_do_not_import_the_server():
    # `tierlang lsp` imports pygls when it runs; no other command, and nothing in dsl, pays for it
    code = (
        "import sys, pkgutil, dsl, tierlang.cli\n"
        "for m in pkgutil.iter_modules(dsl.__path__): __import__('dsl.' + m.name)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'pygls', 'lsprotocol', 'pytest_lsp'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


BROKEN = [
    "",
    '\x00\x01 @@@ """',
    "let x = " + "(" * 300 + "1" + ")" * 300,
    'methodology "a"\nentity e key k\ninput é: number\nlet y = é + 1\n',
    'extends "../../../../../../etc/passwd"\n',
    'extends "/etc/passwd"\nlet x = 1\n',
    "let 😀 = 1",
    "tier t { a: x == \n",
    'methodology "m"\nentity e key k\nfunction f(a, a) = a\nlet y = f(1) over\n',
]


@pytest.mark.parametrize("text", BROKEN, ids=range(len(BROKEN)))
def test_every_feature_answers_at_every_position_of_broken_text(tmp_path, text):
    codec = PositionCodec()
    path = str(tmp_path / "broken.tier")
    analysis = analyse(path, text)
    found = diagnostics.diagnostics(analysis, codec)
    assert found and all(d.code for d in found)  # each of these texts has errors, each one located
    lines = text.split("\n")
    for line in range(1, len(lines) + 1):
        for column in range(1, len(lines[line - 1]) + 2):
            hover.hover_text(analysis, line, column)
            navigation.definition(analysis, line, column)
            navigation.references(analysis, line, column)
            completion.completions(analysis, line, column)
            with contextlib.suppress(navigation.RenameRefused):
                navigation.rename(analysis, line, column, "renamed")
    symbols.document_symbols(analysis, codec)
    edits = formatting.formatting(path, text, codec)
    if any(d.code == "syntax" for d in found):
        assert edits is None  # a text that does not parse is not formatted
