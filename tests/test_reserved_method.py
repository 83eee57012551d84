"""`method` stays a reserved word (issue: make it contextual if the grammar allows it cleanly).

It cannot be contextual: in a call, `method: 7` is both the quantile-definition option (R type 7)
and a weighted argument named `method` with weight 7, so a value called `method` could not be an
argument. The checker says so at the name, with a suggestion (docs/language.md, "Names")."""

from __future__ import annotations

from click.testing import CliRunner

from tierlang.cli import main

METHOD_INPUT = """methodology "m"
entity e key id
input method: number
indicator x = method
tier t from x {
  "a": >= 1
  "b": otherwise
}
"""


def test_a_definition_called_method_is_a_located_reserved_word_error(tmp_path):
    path = tmp_path / "m.tier"
    path.write_text(METHOD_INPUT)
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code != 0
    assert f"{path}:3:7: error: 'method' is a word of the language and cannot name an input" in result.output
    assert "   3 | input method: number\n     |       ^^^^^^\n" in result.output
    assert "help: choose another name, e.g. 'method_input'." in result.output


def test_renamed_it_checks(tmp_path):
    path = tmp_path / "m.tier"
    path.write_text(METHOD_INPUT.replace("input method:", "input method_input:").replace("= method\n", "= method_input\n"))
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 0, result.output
