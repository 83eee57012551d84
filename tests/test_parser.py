"""The parser: one small valid file per construct (tests/golden/valid/) and the exact tree it
gives; syntax error messages; and that no input makes `parse` raise anything but TierError."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsl import syntax as S
from dsl.errors import TierError
from dsl.parser import number_value, parse

VALID = Path(__file__).parent / "golden" / "valid"
VALID_FILES = sorted(VALID.glob("*.tier"))


# ---------------------------------------------------------------- building expected trees


def num(text: str) -> S.Number:
    return S.Number(number_value(text), text)


def neg_num(text: str) -> S.Number:
    """A signed number where the grammar reads one (a range bound, a param, a map key)."""
    return S.Number(-number_value(text), "-" + text)


def n(name: str) -> S.Name:
    return S.Name(name)


def lab(text: str) -> S.Label:
    return S.Label(text)


def b(op: str, left, right) -> S.Binary:
    return S.Binary(op, left, right)


def neg(operand) -> S.Unary:
    return S.Unary("-", operand)


def call(function: str, *arguments) -> S.Call:
    return S.Call(function, arguments)


def let(name: str, expr, kind: str = "let", display: str | None = None, doc: str | None = None) -> S.Definition:
    return S.Definition(kind, name, expr, display=display, doc=doc)


def number_input(name: str, **fields) -> S.InputDecl:
    return S.InputDecl(name, S.NumberType(), **fields)


def level(*labels: str) -> S.LevelTypeExpr:
    return S.LevelTypeExpr(tuple(lab(x) for x in labels))


def header(name: str, **fields) -> S.Header:
    return S.Header(name=name, entity="Trust", key="trust_code", **fields)


def parse_golden(name: str) -> S.Module:
    path = VALID / name
    return parse(path.read_text(encoding="utf-8"), str(path))


def assert_tree(actual, expected) -> None:
    """Equal, and equal in repr too: repr shows what equality ignores on purpose (a number as
    written: `0.800`, `25%`), so the test pins that as well. Spans are in neither."""
    assert actual == expected
    assert repr(actual) == repr(expected)


def assert_module(module: S.Module, expected_header: S.Header, *statements) -> None:
    assert_tree(module.header, expected_header)
    for got, want in zip(module.statements, statements, strict=True):
        assert_tree(got, want)


RATING = S.TypeDecl("rating", level("inadequate", "requires improvement", "good", "outstanding"))


# ---------------------------------------------------------------- one construct per file


def test_header_with_every_line():
    module = parse_golden("header.tier")
    assert_module(
        module,
        S.Header(name="Header: every line", version="2024-01", effective="2024-04-01", entity="Trust",
                 key="trust_code", label="trust_name", doc="A methodology's header, with a docstring\nover two lines."),
        number_input("ae"),
        let("ae_score", n("ae"), kind="indicator"),
    )


def test_header_lines_in_any_order_give_the_same_header():
    ordered = parse('methodology "m"\nversion "1"\neffective 2024-01-01\nentity E key k label l\nextends "b.tier"')
    shuffled = parse('extends "b.tier"\nentity E label l key k\neffective 2024-01-01\nversion "1"\nmethodology "m"')
    assert ordered.header == shuffled.header == S.Header(
        name="m", version="1", effective="2024-01-01", entity="E", key="k", label="l", extends="b.tier")


def test_extends():
    assert_module(
        parse_golden("extends.tier"),
        S.Header(name="Extends: a new version", version="2025", extends="extends_base.tier"),
        S.ParamDecl("target", num("90%")),
    )


def test_types():
    assert_module(
        parse_golden("types.tier"),
        header("Types"),
        S.TypeDecl("rating", RATING.level, doc="The CQC scale, worst first."),
        S.TypeDecl("answer", level("no", "yes")),
        S.InputDecl("safe", S.NamedType("rating")),
        S.InputDecl("consulted", S.NamedType("answer")),
        let("safe_enough", b("and", b(">=", n("safe"), n("good")), b("==", n("consulted"), n("yes")))),
    )


def test_inputs_of_each_type_with_from_range_and_required():
    assert_module(
        parse_golden("inputs.tier"),
        header("Inputs"),
        RATING,
        number_input("ae_4hr", display="A&E: % seen within 4 hours", column="AE_4HR_PCT",
                     range=S.Range(num("0"), num("100")), required=True,
                     doc="Share of attendances seen within four hours."),
        number_input("finance", range=S.Range(neg_num("100"), num("1.5e2"))),
        S.InputDecl("breach", S.BooleanType(), column="BREACH"),
        S.InputDecl("region", S.TextType(), required=True),
        S.InputDecl("leadership", level("limited", "emerging", "well established")),
        S.InputDecl("safe", S.NamedType("rating"), display="Safe"),
        number_input("stretch", column="STRETCH", range=S.Range(num("0%"), num("100%")), required=True),
        let("used", S.ListExpr((n("ae_4hr"), n("finance"), n("stretch")))),
        let("flags", S.ListExpr((n("breach"), b("==", n("safe"), n("good")), b("==", n("leadership"), n("limited"))))),
        let("by_region", call("rank", n("ae_4hr"), S.Within("region"))),
    )


def test_params_with_ranges_percentages_and_negative_numbers():
    assert_module(
        parse_golden("params.tier"),
        header("Params"),
        S.ParamDecl("weight", num("50%"), range=S.Range(num("40%"), num("60%")),
                    doc="Overridable with --param weight=0.45."),
        S.ParamDecl("floor", neg_num("2")),
        S.ParamDecl("cutoff", num("2.5"), range=S.Range(neg_num("1.5"), num("3"))),
        S.ParamDecl("region_name", S.String("national")),
        S.ParamDecl("strict", S.Boolean(True)),
        S.ParamDecl("lenient", S.Boolean(False)),
    )


def test_params_varying_normally_or_among_options():
    assert_module(
        parse_golden("param_variation.tier"),
        header("Params: how they may vary"),
        S.TypeDecl("rating", level("poor", "fair", "good")),
        S.ParamDecl("weight", num("50%"), range=S.Normal(num("50%"), num("5%"))),
        S.ParamDecl("offset", neg_num("1"), range=S.Normal(neg_num("1"), num("0.5"))),
        S.ParamDecl("region_name", S.String("north"),
                    range=S.OneOf((S.String("north"), S.String("south"), S.String("east")))),
        S.ParamDecl("strict", S.Boolean(True), range=S.OneOf((S.Boolean(True), S.Boolean(False)))),
        S.ParamDecl("floor", n("fair"), range=S.OneOf((n("poor"), n("fair")))),
        S.ParamDecl("cutoff", num("2"), range=S.OneOf((num("1"), num("2"), neg_num("3%")))),
    )


def test_a_param_may_name_a_level_label():
    assert_tree(parse("param lowest = inadequate").statements[0], S.ParamDecl("lowest", n("inadequate")))


def test_definitions_of_each_kind():
    assert_module(
        parse_golden("definitions.tier"),
        header("Definitions"),
        number_input("ae"),
        let("ae_score", b("*", n("ae"), num("2")), kind="indicator", display="A&E score",
            doc="Twice the A&E figure."),
        let("access", n("ae_score"), kind="domain"),
        let("overall", n("access"), kind="score", display="Overall"),
        let("national", call("population_mean", n("ae"))),
    )


def test_functions():
    x, lo, hi = n("x"), n("lo"), n("hi")
    assert_module(
        parse_golden("functions.tier"),
        header("Functions"),
        number_input("ae"),
        S.FunctionDecl("index", ("x", "lo", "hi"),
                       call("clip", b("/", b("-", x, lo), b("-", hi, lo)), num("0"), num("1")),
                       doc="Where x sits between lo and hi, from 0 to 1."),
        S.FunctionDecl("hundred", (), num("100")),
        let("ae_index", call("index", n("ae"), num("0"), call("hundred"))),
    )


def test_every_expression_form():
    a, bb, flag = n("a"), n("b"), n("flag")
    assert_module(
        parse_golden("expressions.tier"),
        header("Expressions: every form"),
        number_input("a"), number_input("b"), S.InputDecl("flag", S.BooleanType()),
        let("decimal", num("0.800")),
        let("percent", num("25%")),
        let("exponent", num("1.5e3")),
        let("text", S.String('say "hi" \\ bye')),
        let("yes", S.Boolean(True)),
        let("no", S.Boolean(False)),
        let("name", a),
        let("negative", neg(a)),
        let("negated", S.Unary("not", flag)),
        let("sum", b("-", b("+", a, bb), num("1"))),
        let("product", b("/", b("*", a, bb), num("2"))),
        let("power", b("^", a, num("2"))),
        let("comparisons", S.ListExpr(tuple(b(op, a, bb) for op in ("==", "!=", "<", "<=", ">", ">=")))),
        let("logic", b("or", b("and", flag, b(">", a, num("1"))), S.Unary("not", flag))),
        let("absent", S.IsMissing(a)),
        let("present", S.IsMissing(a, negated=True)),
        let("choice", S.IfElse(flag, a, bb)),
        let("items", S.ListExpr((a, bb, num("3")))),
        let("one", S.Pick(a, "RXX")),
        let("call", call("max", a, bb)),
        let("grouped", b("*", b("+", a, bb), num("2"))),
    )


def test_empty_list_and_call_without_arguments():
    assert_tree(parse("let x = f([], g())").statements[0].expr, call("f", S.ListExpr(()), call("g")))


def test_precedence_and_associativity():
    a, bb, c, p, q, r = n("a"), n("b"), n("c"), n("p"), n("q"), n("r")
    number_inputs = [number_input(x) for x in "abc"]
    boolean_inputs = [S.InputDecl(x, S.BooleanType()) for x in "pqr"]
    assert_module(
        parse_golden("precedence.tier"),
        header("Expressions: precedence"),
        *number_inputs, *boolean_inputs,
        let("times_first", b("+", a, b("*", bb, c))),
        let("parentheses", b("*", b("+", a, bb), c)),
        let("left_to_right", b("-", b("-", a, bb), c)),
        let("power_right_to_left", b("^", a, b("^", bb, c))),
        let("minus_after_power", neg(b("^", a, num("2")))),
        let("power_of_minus", b("^", a, neg(bb))),
        let("times_minus", b("*", a, neg(bb))),
        let("not_and_or", b("or", b("and", S.Unary("not", p), q), r)),
        let("not_comparison", S.Unary("not", b("==", a, bb))),
        let("sum_is_missing", S.IsMissing(b("+", a, bb))),
        let("compare_missing", b("==", S.IsMissing(a), S.IsMissing(bb, negated=True))),
        let("else_takes_all", S.IfElse(p, a, b("+", bb, c))),
        let("pick_then_power", b("^", S.Pick(a, "K"), num("2"))),
        let("minus_pick", neg(S.Pick(a, "K"))),
    )


@pytest.mark.parametrize("text", ["a < b < c", "a == b == c", "a is missing is missing", "not a == b == c"])
def test_comparisons_do_not_chain(text):
    with pytest.raises(TierError):
        parse(f"let x = {text}")


def test_map_and_band():
    finance = n("finance")
    assert_module(
        parse_golden("map_band.tier"),
        header("Map and band"),
        S.InputDecl("leadership", level("limited", "emerging", "established")),
        number_input("finance"),
        S.InputDecl("region", S.TextType()),
        let("lead_score", S.MapExpr(n("leadership"), (
            S.MapCase(n("limited"), num("1")), S.MapCase(n("emerging"), num("2")),
            S.MapCase(n("established"), num("4")))), kind="indicator"),
        let("region_score", S.MapExpr(n("region"), (
            S.MapCase(S.String("North East"), num("1")), S.MapCase(S.String("London"), num("2")),
            S.MapCase(None, num("0")))), kind="indicator"),
        let("number_key", S.MapExpr(finance, (
            S.MapCase(neg_num("1"), num("0")), S.MapCase(num("0"), num("1")), S.MapCase(num("2.5"), num("2")),
            S.MapCase(None, num("3"))))),
        let("boolean_key", S.MapExpr(b(">", finance, num("0")), (
            S.MapCase(S.Boolean(True), num("1")), S.MapCase(S.Boolean(False), num("0"))))),
        let("finance_score", S.BandExpr(finance, (
            S.BandCase(">=", num("1%"), num("4")), S.BandCase(">=", num("0"), num("3")),
            S.BandCase(">", neg(num("2%")), num("2")), S.BandCase(None, None, num("1")))), kind="indicator"),
        let("spelled_out", S.BandExpr(finance, (
            S.BandCase(">=", num("10"), S.String("high")), S.BandCase(">=", num("5"), S.String("middle")),
            S.BandCase(None, None, S.String("low"))))),
    )


def test_weights_and_options():
    a, bb = n("a"), n("b")
    assert_module(
        parse_golden("calls.tier"),
        header("Calls: weights and options"),
        number_input("a"), number_input("b"), S.InputDecl("region", S.TextType()),
        S.ParamDecl("w", num("25%")),
        let("weighted", call("weighted_mean", S.Weighted(a, num("25%")), S.Weighted(bb, num("75%")))),
        let("weighted_by_param", call("weighted_mean", S.Weighted(a, n("w")), S.Weighted(bb, num("75%")))),
        let("skipping", call("mean", a, bb, S.SkipMissing(), S.Require(1))),
        let("normalised", call("weighted_mean", S.Weighted(a, num("1")), S.Weighted(bb, num("3")), S.Normalise())),
        let("normalized", call("weighted_mean", S.Weighted(a, num("1")), S.Weighted(bb, num("3")), S.Normalise())),
        let("ranked", call("rank", a, S.Polarity("lower"), S.Within("region"))),
        let("best_first", call("percentile", a, S.Polarity("higher"))),
    )


def test_tiers_with_each_kind_of_condition():
    value = n("value")
    assert_module(
        parse_golden("tiers.tier"),
        header("Tiers"),
        S.TypeDecl("rating", level("poor", "fair", "good")),
        number_input("value"), S.InputDecl("breach", S.BooleanType()),
        S.TierDecl("banded", (
            S.TierRule(lab("Very high"), S.Threshold(">=", num("0.800"))),
            S.TierRule(lab("high"), S.Threshold(">", num("0.7"))),
            S.TierRule(lab("low"), S.Otherwise()),
        ), display="Banded", source=value, missing_label=lab("Not rated")),
        S.TierDecl("ranked", (
            S.TierRule(lab("best"), S.RankCut("top", num("5"))),
            S.TierRule(lab("worst"), S.RankCut("bottom", num("5"))),
            S.TierRule(lab("leading"), S.RankCut("top", num("10%"))),
            S.TierRule(lab("rest"), S.Otherwise()),
        ), source=value),
        S.TierDecl("rules", (
            S.TierRule(lab("poor"), n("breach")),
            S.TierRule(lab("good"), b("and", b(">=", value, num("2")), S.Unary("not", n("breach")))),
            S.TierRule(lab("fair"), S.Otherwise()),
        ), type=S.NamedType("rating"), doc="Rule-based: no `from`."),
        S.TierDecl("inline_type", (
            S.TierRule(lab("high"), S.Threshold(">=", num("1"))),
            S.TierRule(lab("low"), S.Otherwise()),
        ), type=level("low", "high"), source=value),
    )


def test_limits_at_most_and_at_least():
    module = parse_golden("limits.tier")
    assert_tree(module.statements[-2:], (
        S.LimitDecl("rated", "at most", lab("fair"), n("breach")),
        S.LimitDecl("rated", "at least", lab("fair"), b(">", n("value"), num("100")),
                    doc="Very high values are never poor."),
    ))


def test_tests_with_given_values_and_given_data():
    module = parse_golden("tests.tier")
    doubled, value = n("doubled"), n("value")
    assert_tree(module.statements[3:], (
        S.TestDecl("given values", (
            S.GivenValues((S.GivenValue("value", num("3")), S.GivenValue("breach", S.Boolean(False)))),
            S.Expect(b("==", doubled, num("6"))),
            S.Expect(b(">", doubled, value)),
        )),
        S.TestDecl("a negative value", (
            S.GivenValues((S.GivenValue("value", neg(num("1"))), S.GivenValue("breach", S.Boolean(False)))),
            S.Expect(b("==", doubled, neg(num("2")))),
        )),
        S.TestDecl("given data", (
            S.GivenData("data/two_trusts.csv"),
            S.Expect(b("==", S.Pick(doubled, "T1"), num("2"))),
            S.Expect(b("==", call("count", b(">", doubled, num("0"))), num("1"))),
        )),
    ))


def test_keywords_stay_usable_as_names_inside_expressions():
    assert_tree(parse("let score = domain + level").statements[0], let("score", b("+", n("domain"), n("level"))))


def test_comments_and_layout_are_not_in_the_tree():
    spaced = parse("let   x =\n  1 +   # one\n  2   # two\n")
    assert spaced == parse("let x = 1 + 2")


def test_string_escapes():
    assert parse(r'let s = "a\"b\\c\nd\te"').statements[0].expr == S.String('a"b\\c\nd\te')


def test_spans_locate_statements_and_names():
    module = parse("input ae: number\n\nindicator ae_score = ae * 2\n", "f.tier")
    definition = module.statements[1]
    assert (definition.span.line, definition.span.column, definition.span.end_column) == (3, 1, 28)
    assert (definition.name_span.line, definition.name_span.column) == (3, 11)
    assert definition.span.file == "f.tier"


def test_line_endings_do_not_change_the_tree():
    text = 'methodology "m"\n"""Doc\nover lines."""\nlet x = 1  # c\n"""Its doc\n  indented."""\n'
    assert parse(text.replace("\n", "\r\n")) == parse(text)
    assert parse(text.replace("\n", "\r\n")).header.doc == "Doc\nover lines."


def test_a_byte_order_mark_is_skipped_and_columns_stay_true():
    module = parse("\ufefflet x = 1")
    assert module.statements == (let("x", num("1")),)
    assert module.statements[0].span.column == 2


@pytest.mark.parametrize("number", ["1e999999999999", "1e999999999%", "1e-999999999%", "1e99999999999999999999999"])
def test_numbers_beyond_what_floats_hold_are_reported_not_a_crash(number):
    with pytest.raises(TierError):
        parse(f"let a = {number}")


# ---------------------------------------------------------------- syntax errors


def rendered_error(text: str) -> str:
    with pytest.raises(TierError) as raised:
        parse(text, "f.tier")
    return str(raised.value)


def test_message_for_an_unexpected_token():
    assert rendered_error("input ae: number\nindicator ae_score = ae + * 2\n") == (
        "f.tier:2:27: error: unexpected '*'\n"
        "   2 | indicator ae_score = ae + * 2\n"
        "     |                           ^\n"
        "     = help: expected one of '(', '-', '[', a name, a number, a string here."
    )


def test_message_for_an_unterminated_string():
    assert rendered_error('input ae: number "A&E attendances\n') == (
        "f.tier:1:18: error: unterminated string\n"
        '   1 | input ae: number "A&E attendances\n'
        "     |                  ^\n"
        '     = help: close the string with " on the same line.'
    )


def test_message_for_an_unterminated_docstring():
    assert rendered_error('let x = 1\n"""never closed\nlet y = 2\n') == (
        "f.tier:2:1: error: unterminated docstring\n"
        '   2 | """never closed\n'
        "     | ^^^\n"
        '     = help: close the docstring with """.'
    )


def test_message_for_an_unexpected_character():
    assert rendered_error("let x = 1 $ 2\n") == (
        "f.tier:1:11: error: unexpected character '$'\n"
        "   1 | let x = 1 $ 2\n"
        "     |           ^\n"
        "     = help: remove it; `#` starts a comment, and text must be in double quotes."
    )


def test_message_for_an_incomplete_statement():
    assert rendered_error("let x = 1 +\nlet y = 2\n") == (
        "f.tier:2:1: error: unexpected 'let'\n"
        "   2 | let y = 2\n"
        "     | ^^^\n"
        "     = help: the statement before line 2 is incomplete: expected one of '(', '-', '[', 'band', "
        "'false', 'map', 'true', a name (or 2 more) here."
    )


def test_message_for_an_unexpected_end_of_file_points_after_the_last_token():
    assert rendered_error("tier t from x {\n  a: >= 1\n\n\n") == (
        "f.tier:2:10: error: unexpected end of file\n"
        "   2 |   a: >= 1\n"
        "     |          ^\n"
        "     = help: expected one of 'missing', '}', a name, a string here."
    )


def test_an_incomplete_statement_does_not_hide_the_next_one():
    with pytest.raises(TierError) as raised:
        parse("let x = (1\nlet y = 2 3\n")
    assert [(d.span.line, d.message) for d in raised.value.diagnostics] == [
        (2, "unexpected 'let'"), (2, "unexpected number '3'")]


def test_several_errors_are_reported_together():
    text = (
        "let a = 1 +\n"            # 1: incomplete, reported at the next line's keyword
        "let b = (2\n"             # 2: incomplete, reported at line 3
        "input c number\n"         # 3: missing colon
        "tier t from x { a: }\n"   # 4: missing condition
        "limit t to at most fair when\n"  # 5: missing condition at the end of the file
    )
    with pytest.raises(TierError) as raised:
        parse(text, "f.tier")
    positions = [(d.span.line, d.span.column) for d in raised.value.diagnostics]
    assert positions == [(2, 1), (3, 1), (3, 9), (4, 20), (5, 29)]
    assert {d.code for d in raised.value.diagnostics} == {"syntax"}


def test_valid_statements_between_errors_still_parse():
    from dsl.parser import parse_with_recovery

    module, diagnostics = parse_with_recovery("let a = 1 +\nlet b = 2\ninput c number\nlet d = 4\n")
    assert len(diagnostics) == 2
    assert [s.name for s in module.statements] == ["b", "d"]


# ---------------------------------------------------------------- deep nesting


def test_deeply_nested_parentheses_parse():
    assert parse("let x = " + "(" * 2000 + "1" + ")" * 2000).statements[0].expr == num("1")


@pytest.mark.parametrize("text", [
    "-" * 2000 + "1",
    "f(" * 2000 + "1" + ")" * 2000,
    "[" * 2000 + "]" * 2000,
    " + ".join(["1"] * 5000),
    "(" * 2000 + "-" * 2000 + "1" + ")" * 2000,
    "(" * 200_000,
])
def test_deep_nesting_is_a_tier_error_not_a_recursion_error(text):
    with pytest.raises(TierError):
        parse("let x = " + text)


# ---------------------------------------------------------------- robustness

_TOKENS = re.compile(r'"""(?:.|\n)*?"""|"(?:\\.|[^"\\\n])*"|\w+|\s+|.', re.DOTALL)
_PIECES = list('abcxyz019_ .%:=<>!+-*/^()[]{},"#\n\\$é\ufeff') + [
    "let ", "input ", "tier ", "map ", "band ", "if ", "then ", "else ", "is ", "not ", "missing",
    "otherwise", "top ", "for ", "level ", "given ", "expect ", "limit ", "to at most ", "when ",
    '"""', "higher is better", "skip missing", "require ", "within ", "..", "range ",
]
_GRAMMAR_TEXT = st.lists(st.sampled_from(_PIECES), max_size=60).map("".join)


def parse_only_raises_tier_error(text: str) -> None:
    try:
        parse(text)
    except TierError as error:
        assert error.diagnostics


@settings(max_examples=200, deadline=None)
@given(_GRAMMAR_TEXT)
def test_random_text_only_raises_tier_error(text):
    parse_only_raises_tier_error(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_random_unicode_only_raises_tier_error(text):
    parse_only_raises_tier_error(text)


def mutate(text: str, data) -> str:
    """Delete, duplicate or swap characters or tokens, a few times."""
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        units = list(text) if data.draw(st.booleans(), label="by character") else _TOKENS.findall(text)
        if not units:
            break
        i = data.draw(st.integers(0, len(units) - 1), label="at")
        j = data.draw(st.integers(0, len(units) - 1), label="with")
        action = data.draw(st.sampled_from(["delete", "duplicate", "swap"]), label="action")
        if action == "delete":
            del units[i]
        elif action == "duplicate":
            units.insert(j, units[i])
        else:
            units[i], units[j] = units[j], units[i]
        text = "".join(units)
    return text


@pytest.mark.parametrize("path", VALID_FILES, ids=lambda p: p.name)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_golden_files_only_raise_tier_error(path, data):
    parse_only_raises_tier_error(mutate(path.read_text(encoding="utf-8"), data))


def test_every_golden_file_parses():
    assert VALID_FILES
    for path in VALID_FILES:
        parse(path.read_text(encoding="utf-8"), str(path))


def test_entity_levels_per_and_over():
    module = parse_golden("levels.tier")
    assert module.header == S.Header(
        name="Levels: every construct", entity="service", key="service_id", label="service_name",
        within=("location", "trust"),
        more_entities=(S.EntityDecl("trust", (), "trust_code", "trust_name"),))
    safe, beds, led = module.statements[1:4]
    assert (safe.per, beds.per, led.per) == ("service", "service", "trust")
    assert beds.column == "BEDS" and beds.range == S.Range(S.Number(0.0, "0"), S.Number(1000.0, "1000"))
    count, mean = module.statements[4:6]
    assert count == S.Definition(
        "let", "outstanding_services",
        S.Call("count", (S.Binary("==", S.Name("safe"), S.Name("outstanding")), S.SkipMissing()), over="services"),
        per="location")
    assert mean.expr == S.Call("mean", (S.Name("beds"), S.Require(2)), over="service")
    tier = module.statements[6]
    assert (tier.name, tier.per, tier.display) == ("location_rating", "location", "Location")
    test = module.statements[7]
    assert test.items[:2] == (S.GivenData("data/trusts.csv"), S.GivenData("data/services.csv", level="service"))
