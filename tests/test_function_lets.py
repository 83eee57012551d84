"""Functions with local lets (docs/language.md, "Functions with local lets"): parsed, checked,
lowered by substitution (dsl.local_lets), formatted back, run, and explained; results checked
against an independent pandas computation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from dsl import TierError, check_file, load
from dsl import syntax as S
from dsl.checker import check_source
from dsl.formatter import format_module, format_source
from dsl.parser import parse
from tests.test_formatter import EXPRESSIONS, NAMES
from tierlang.cli import main

ROOT = Path(__file__).resolve().parents[1]
VALID = ROOT / "tests/golden/valid_checked/function_lets.tier"


def node_expr(methodology, name):
    return methodology.node(name).expr


# ---------------------------------------------------------------- lowering


def test_a_function_with_lets_is_the_function_written_in_one_expression():
    m = load(VALID)
    assert node_expr(m, "ae_treated") == node_expr(m, "ae_inline")
    assert m.node("ae_treated").deps == m.node("ae_inline").deps == ("ae", "cap")


def test_lets_are_substituted_in_order_and_labels_in_map_keys_are_left_alone():
    text = ('methodology "m"\nentity org key id\ninput a: number\ninput region: text\n'
            "function f(x) {\n  let North = x * 2\n  let y = North + 1\n"
            '  y * map region { "North": 1, otherwise: 0 }\n}\nlet r = f(a)\n')
    inline = ('methodology "m"\nentity org key id\ninput a: number\ninput region: text\n'
              'function f(x) = (x * 2 + 1) * map region { "North": 1, otherwise: 0 }\nlet r = f(a)\n')
    assert node_expr(check_source(text), "r") == node_expr(check_source(inline), "r")


def test_a_let_may_have_the_name_of_a_definition_and_then_means_the_let():
    text = ('methodology "m"\nentity org key id\ninput a: number\nlet z = 100\n'
            "function f(x) {\n  let z = x + 1\n  z\n}\nlet r = f(a)\n")
    m = check_source(text)
    assert m.node("r").deps == ("a",)


def test_every_let_problem_is_reported_at_once_and_located():
    text = ('methodology "m"\nentity org key id\ninput a: number\n'
            "function f(x) {\n  let x = 1\n  let sum = 2\n  let p = q\n  let q = 3\n  let q = 4\n"
            "  let unused = 5\n  p + q\n}\nlet r = f(a)\n")
    report = check_file("f.tier", text)
    found = [(d.code, d.span.line, d.span.column) for d in report.diagnostics]
    assert found == [
        ("let-shadows-parameter", 5, 7),
        ("shadows-builtin", 6, 7),
        ("let-before-definition", 7, 11),
        ("duplicate-let", 9, 7),
        ("unused-let", 10, 7),
    ]


def test_an_unused_let_is_a_warning_and_the_methodology_runs():
    text = ('methodology "m"\nentity org key id\ninput a: number\n'
            "function f(x) {\n  let spare = x * 2\n  x + 1\n}\nlet r = f(a)\n")
    report = check_file("f.tier", text)
    assert [d.code for d in report.warnings] == ["unused-let"] and report.errors == []
    assert report.methodology is not None


def test_a_let_outside_a_function_body_is_an_error_located_at_the_let():
    with pytest.raises(TierError) as error:
        parse("input a: number\ntier t from a {\n  let b = 1\n  good: otherwise\n}\n", "f.tier")
    (diagnostic,) = error.value.diagnostics
    assert (diagnostic.code, diagnostic.span.line, diagnostic.span.column) == ("let-outside-function", 3, 3)


def test_a_result_starting_with_a_minus_is_reported_with_what_to_do():
    with pytest.raises(TierError) as error:
        parse("function f(x) {\n  let z = x\n  -z\n}\n", "f.tier")
    (diagnostic,) = error.value.diagnostics
    assert diagnostic.span.line == 4 and "let result = -y" in diagnostic.hint


def test_a_let_at_the_start_of_a_line_inside_a_body_is_still_a_local_let():
    module = parse("function f(x) {\nlet y = x\ny * 2\n}\nlet z = f(1)\n")
    assert [type(s).__name__ for s in module.statements] == ["FunctionDecl", "Definition"]
    assert module.statements[0].lets[0].name == "y"


# ---------------------------------------------------------------- formatting


def test_the_canonical_layout_of_a_function_with_lets():
    text = "function f(x) {  let a = x*2   let b = a+1\n b }\nfunction g(x) { x + 1 }\n"
    assert format_source(text) == ("function f(x) {\n  let a = x * 2\n  let b = a + 1\n  b\n}\n\n"
                                   "function g(x) = x + 1\n")


def test_a_result_that_would_continue_the_last_let_is_written_so_that_it_does_not():
    decl = S.FunctionDecl("f", ("x",), S.Unary("-", S.Name("y")), lets=(S.LocalLet("y", S.Name("x")),))
    text = format_module(S.Module(S.Header(), (decl,)))
    assert text == "function f(x) {\n  let y = (x)\n  (-y)\n}\n"
    assert parse(text) == S.Module(S.Header(), (decl,))


LETS = st.lists(st.builds(S.LocalLet, NAMES, EXPRESSIONS), min_size=1, max_size=3).map(tuple)


@settings(max_examples=200, deadline=None)
@given(st.lists(NAMES, max_size=3, unique=True).map(tuple), LETS, EXPRESSIONS)
def test_generated_functions_with_lets_read_back_as_the_same_tree(params, lets, body):
    module = S.Module(S.Header(), (S.FunctionDecl("f", params, body, lets=lets),))
    text = format_module(module)
    assert parse(text) == module
    assert format_module(parse(text)) == text


def test_comments_inside_a_function_body_are_kept():
    text = ("function f(x) {  # the pipeline\n  # cap first\n  let a = clip(x, 0, 1)  # capped\n"
            "  a * 2\n  # done\n}\n")
    assert format_source(text) == text


# ---------------------------------------------------------------- running: an independent oracle


def test_a_treatment_function_with_lets_matches_pandas(tmp_path):
    rng = np.random.default_rng(13)
    frame = pd.DataFrame({
        "trust_code": [f"T{i:02d}" for i in range(40)],
        "ae": rng.normal(0, 2, 40).round(3),
        "rtt": rng.normal(1, 3, 40).round(3),
        "region": rng.choice(["North", "South"], 40),
    })
    data = tmp_path / "d.csv"
    frame.to_csv(data, index=False)
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(main, ["run", str(VALID), "--data", str(data), "--no-audit", "--out", str(out)])
    assert result.exit_code == 0, result.output
    got = pd.read_csv(out, dtype={"key": str}).set_index("key")

    def treated(s: pd.Series) -> pd.Series:  # capped at +-3, standardised (sample sd), times 10
        capped = s.clip(-3, 3)
        return (capped - capped.mean()) / capped.std(ddof=1) * 10

    want = frame.set_index("trust_code")
    gap = np.where(want["region"] == "North", 2, 1)
    assert np.allclose(got["ae_treated"], treated(want["ae"]), rtol=1e-12)
    assert np.allclose(got["rtt_treated"], treated(want["rtt"]), rtol=1e-12)
    assert np.allclose(got["ae_rtt_spread"], (np.maximum(want["ae"], want["rtt"])
                                               - np.minimum(want["ae"], want["rtt"])) * gap, rtol=1e-12)


def test_explain_shows_the_expanded_expression(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("trust_code,ae,rtt,region\nA,1,2,North\nB,5,3,South\nC,-4,9,North\n", encoding="utf-8")
    db = tmp_path / "a.db"
    runner = CliRunner()
    result = runner.invoke(main, ["run", str(VALID), "--data", str(data), "--audit", str(db)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["explain", "B", "--audit", str(db)])
    assert result.exit_code == 0, result.output
    # the headline, spread(ae, rtt): its lets low, high and gap put in place
    assert '= (max(ae, rtt) - min(ae, rtt)) * map region { "North": 2, otherwise: 1 }' in result.output
