"""The checker never crashes: whatever the text, `dsl.check_file(path, text)` returns a report
(a methodology, or diagnostics), and every diagnostic renders.

Inputs are random mutations of every valid methodology in the repository (globbed when the
tests are collected): characters, tokens and lines deleted, inserted, duplicated or swapped,
names replaced by other names of the same file, lines dropped or copied elsewhere. Deeply
nested expressions are checked separately.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dsl import Diagnostic, TierError, check_file, check_source, load
from dsl.errors import diagnostics_json, render, render_all

ROOT = Path(__file__).resolve().parents[1]
VALID_GLOBS = ("tests/golden/valid_checked/*.tier", "methodologies/**/*.tier", "examples/**/*.tier")

TOKEN = re.compile(r'"""(?:.|\n)*?"""|"(?:\\.|[^"\\\n])*"|\d+(?:\.\d+)?%?|[A-Za-z_]\w*|\S')
NAME = re.compile(r"[A-Za-z_]\w*")
# fmt: off
SNIPPETS = [
    '"', '"""', "{", "}", "(", ")", "[", "]", ",", ":", "=", "==", "<", ">=", "..", "%", "#", "-",
    "^", "*", "/", "\n", " ", "\t", "\\", "\x00", "\ufeff", "é", "\U0001f4a5", "top", "bottom",
    "otherwise", "missing", "not", "if", "then", "else", "map", "band", "within", "skip missing",
    "require", "require 99", "normalise", "for", '"RXA"', "limit", "tier", "test", "given",
    "given data", "expect", "extends", "function", "let", "type", "level", "input", "param",
    "from", "range", "0", "1e999", "-0", "100%", "150%", "2017-02-30", "true", "false",
    "is missing", "is not missing", "higher is better", "lower is better", "at most", "at least",
    "x: 50%", "rank(", "quartile(", "population_mean(", "count(", "mean(", "[]", "level a < a",
]
MUTATIONS = (
    "delete_char", "delete_range", "insert", "insert_text", "duplicate_range", "swap_chars",
    "drop_line", "duplicate_line", "swap_lines", "move_line", "delete_token", "duplicate_token",
    "swap_tokens", "replace_name", "rename_everywhere",
)
# fmt: on


# A NUL in an extends path is covered by test_a_nul_character_in_an_extends_path_is_a_diagnostic
# and kept out of the random tests so that they stay deterministic.
LOADER_NUL_BUG = re.compile(r'extends[ \t]*"[^"\n]*\x00')


def valid_files() -> list[Path]:
    files = sorted({p for pattern in VALID_GLOBS for p in ROOT.glob(pattern)})
    return [p for p in files if not check_file(p).errors]


VALID_FILES = valid_files()


def test_there_are_valid_files_to_mutate():
    names = {p.name for p in VALID_FILES}
    assert {"stp_dashboard_2017.tier", "cqc_adult_social_care.tier", "types.tier"} <= names
    assert len(VALID_FILES) >= 9


# ---------------------------------------------------------------- the property


def assert_checks_cleanly(path, text: str) -> None:
    """check_file returns a consistent report, and every diagnostic renders."""
    report = check_file(path, text)
    assert isinstance(report.diagnostics, tuple)
    assert (report.methodology is None) == bool(report.errors)
    assert list(report.diagnostics) == sorted(report.diagnostics, key=Diagnostic.sort_key)
    for d in report.diagnostics:
        assert d.severity in ("error", "warning")
        assert d.code and d.message
        if d.span is not None:
            assert d.span.file in report.sources
            assert d.span.line >= 1 and d.span.column >= 1
        assert isinstance(render(d, report.sources), str)
        assert d.to_json()["code"] == d.code
    assert isinstance(render_all(report.diagnostics, report.sources), str)
    assert isinstance(diagnostics_json(report.diagnostics), str)
    m = report.methodology
    if m is not None:
        position = {n.name: i for i, n in enumerate(m.nodes)}
        assert len(position) == len(m.nodes)
        for node in m.nodes:
            assert all(position[d] < position[node.name] for d in node.deps), node.name


# ---------------------------------------------------------------- mutations


def _tokens(text: str) -> list[re.Match]:
    return list(TOKEN.finditer(text))


def mutate(draw, text: str) -> str:
    kind = draw(st.sampled_from(MUTATIONS))
    n = len(text)
    lines = text.split("\n")
    tokens = _tokens(text)

    def pos(upper: int) -> int:
        return draw(st.integers(0, max(upper, 0)))

    if kind == "delete_char" and n:
        i = pos(n - 1)
        return text[:i] + text[i + 1 :]
    if kind == "delete_range" and n:
        i = pos(n - 1)
        j = draw(st.integers(i, min(n, i + 40)))
        return text[:i] + text[j:]
    if kind == "insert":
        i = pos(n)
        return text[:i] + draw(st.sampled_from(SNIPPETS)) + text[i:]
    if kind == "insert_text":
        i = pos(n)
        return text[:i] + draw(st.text(max_size=6)) + text[i:]
    if kind == "duplicate_range" and n:
        i = pos(n - 1)
        j = draw(st.integers(i, min(n, i + 40)))
        return text[:j] + text[i:j] + text[j:]
    if kind == "swap_chars" and n >= 2:
        i, j = sorted((pos(n - 1), pos(n - 1)))
        return text[:i] + text[j] + text[i + 1 : j] + text[i] + text[j + 1 :]
    if kind == "drop_line":
        del lines[pos(len(lines) - 1)]
        return "\n".join(lines)
    if kind == "duplicate_line":
        i = pos(len(lines) - 1)
        lines.insert(pos(len(lines)), lines[i])
        return "\n".join(lines)
    if kind == "swap_lines":
        i, j = pos(len(lines) - 1), pos(len(lines) - 1)
        lines[i], lines[j] = lines[j], lines[i]
        return "\n".join(lines)
    if kind == "move_line":
        line = lines.pop(pos(len(lines) - 1))
        lines.insert(pos(len(lines)), line)
        return "\n".join(lines)
    if kind == "delete_token" and tokens:
        t = tokens[pos(len(tokens) - 1)]
        return text[: t.start()] + text[t.end() :]
    if kind == "duplicate_token" and tokens:
        t = tokens[pos(len(tokens) - 1)]
        return text[: t.end()] + " " + t.group() + text[t.end() :]
    if kind == "swap_tokens" and len(tokens) >= 2:
        a, b = sorted((pos(len(tokens) - 1), pos(len(tokens) - 1)))
        if a == b:
            return text
        ta, tb = tokens[a], tokens[b]
        return (
            text[: ta.start()]
            + tb.group()
            + text[ta.end() : tb.start()]
            + ta.group()
            + text[tb.end() :]
        )
    names = [t for t in tokens if NAME.fullmatch(t.group())]
    if kind == "replace_name" and names:
        t = names[pos(len(names) - 1)]
        other = draw(st.sampled_from(sorted({m.group() for m in names})))
        return text[: t.start()] + other + text[t.end() :]
    if kind == "rename_everywhere" and names:
        pool = sorted({m.group() for m in names})
        old, new = draw(st.sampled_from(pool)), draw(st.sampled_from(pool))
        return re.sub(rf"\b{re.escape(old)}\b", new, text)
    return text


@st.composite
def mutated(draw, text: str) -> str:
    for _ in range(draw(st.integers(1, 3))):
        text = mutate(draw, text)
    return text


FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("path", VALID_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_mutations_of_valid_files_give_a_report_never_an_exception(path):
    original = path.read_text(encoding="utf-8")

    @FUZZ
    @given(mutated(original))
    def check(text):
        assume(not LOADER_NUL_BUG.search(text))
        assert_checks_cleanly(path, text)

    check()


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_gives_a_report(text):
    assume(not LOADER_NUL_BUG.search(text))
    assert_checks_cleanly("arbitrary.tier", text)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(SNIPPETS), max_size=40))
def test_arbitrary_token_soup_gives_a_report(snippets):
    header = 'methodology "M"\nentity E key k\ninput a: number\n'
    assert_checks_cleanly("soup.tier", header + " ".join(snippets))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_lines_spliced_from_two_valid_files_give_a_report(data):
    first, second = (data.draw(st.sampled_from(VALID_FILES)) for _ in range(2))
    a = first.read_text(encoding="utf-8").split("\n")
    b = second.read_text(encoding="utf-8").split("\n")
    cut_a = data.draw(st.integers(0, len(a)))
    cut_b = data.draw(st.integers(0, len(b)))
    assert_checks_cleanly(first, "\n".join(a[:cut_a] + b[cut_b:]))


# ---------------------------------------------------------------- random expressions

# fmt: off
ATOMS = [
    "ae", "region", "breach", "safe", "target", "weight", "floor", "strict", "ae_score", "met",
    "pair", "checks", "national", "good", "inadequate", "outstanding", "nope", "mean", "1", "0",
    "2.5", "50%", '"good"', '"London"', "true", "false",
]
FUNCTIONS = [
    "mean", "sum", "min", "weighted_mean", "count", "any", "coalesce", "rank", "quartile",
    "population_mean", "round", "clip", "abs", "winsorize", "quantile_band", "goalpost", "nope",
]
OPTIONS = ["skip missing", "require 2", "normalise", "higher is better", "within region", "within ae"]
# fmt: on


def _expression(draw, depth: int) -> str:
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(ATOMS))

    def sub() -> str:
        return _expression(draw, depth - 1)

    kind = draw(st.integers(0, 10))
    if kind == 0:
        op = draw(st.sampled_from(["+", "-", "*", "/", "^", "and", "or", "==", "!=", "<", ">="]))
        return f"{sub()} {op} {sub()}"
    if kind == 1:
        return draw(
            st.sampled_from(
                ["not {}", "-{}", "({})", "{} is missing", "{} is not missing", '{} for "RXA"']
            )
        ).format(sub())
    if kind == 2:
        return f"if {sub()} then {sub()} else {sub()}"
    if kind == 3:
        return "[" + ", ".join(sub() for _ in range(draw(st.integers(0, 3)))) + "]"
    if kind in (4, 5, 6):
        arguments = []
        for _ in range(draw(st.integers(0, 4))):
            form = draw(st.integers(0, 2))
            arguments.append(
                sub()
                if form == 0
                else f"{sub()}: {sub()}"
                if form == 1
                else draw(st.sampled_from(OPTIONS))
            )
        return f"{draw(st.sampled_from(FUNCTIONS))}({', '.join(arguments)})"
    if kind in (7, 8):
        cases = [f"{draw(st.sampled_from(ATOMS))}: {sub()}" for _ in range(draw(st.integers(0, 3)))]
        if draw(st.booleans()):
            cases.append(f"otherwise: {sub()}")
        return f"map {sub()} {{ {', '.join(cases) or 'otherwise: 1'} }}"
    cases = [
        f"{draw(st.sampled_from(['>=', '<', '==']))} {sub()}: {sub()}"
        for _ in range(draw(st.integers(0, 3)))
    ]
    if draw(st.booleans()):
        cases.insert(draw(st.integers(0, len(cases))), f"otherwise: {sub()}")
    return f"band {sub()} {{ {', '.join(cases) or 'otherwise: 1'} }}"


@st.composite
def expressions(draw) -> str:
    """Random expressions over the names of types.tier, labels, literals and every built-in."""
    return _expression(draw, 4)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions(), expressions(), st.sampled_from(["let", "indicator", "score"]))
def test_random_expressions_added_to_a_valid_file_give_a_report(first, second, kind):
    base = (ROOT / "tests/golden/valid_checked/types.tier").read_text(encoding="utf-8")
    text = (
        f"{base}\n{kind} fuzz_a = {first}\nlet fuzz_b = {second}\n"
        f"tier fuzz_t from {second} {{\n  high: {first}\n  low: otherwise\n}}\n"
        f"limit fuzz_t to at most low when {first}\n"
        f'test "fuzz" {{\n  given ae = {second}\n  expect {first}\n}}\n'
    )
    assert_checks_cleanly(ROOT / "tests/golden/valid_checked/fuzz.tier", text)


# ---------------------------------------------------------------- deep nesting

HEADER = 'methodology "Deep"\nentity E key k\ninput a: number\n'
DEEP = {
    "parentheses": "let x = " + "(" * 5000 + "a" + ")" * 5000,
    "unclosed_parentheses": "let x = " + "(" * 5000 + "a",
    "minus_signs": "let x = " + "-" * 3000 + "a",
    "minus_signs_alone": "let x = " + "-" * 3000,
    "not": "let x = " + "not " * 3000 + "true",
    "sum": "let x = a" + " + a" * 5000,
    "power": "let x = a" + " ^ a" * 5000,
    "lists": "let x = " + "[" * 3000 + "a" + "]" * 3000,
    "if": "let x = " + "if true then " * 2000 + "a" + " else a" * 2000,
    "calls": "let x = " + "abs(" * 3000 + "a" + ")" * 3000,
    "maps": "let x = " + "map a { 1: " * 1000 + "a" + " }" * 1000,
    "functions": "".join(f"function f{i}(y) = f{i - 1}(y)\n" for i in range(2, 200))
    + "function f1(y) = y\nlet x = f199(a)",
}


@pytest.mark.parametrize("name", sorted(DEEP))
def test_deep_nesting_gives_a_report_never_an_exception(name):
    text = HEADER + DEEP[name] + "\n"
    assert_checks_cleanly("deep.tier", text)
    report = check_file("deep.tier", text)
    if report.errors:
        with pytest.raises(TierError):
            check_source(text, "deep.tier")


@pytest.mark.parametrize(
    ("name", "codes"),
    [
        ("minus_signs", ["too-deep"]),
        ("not", ["too-deep"]),
        ("sum", ["too-deep"]),
        ("calls", ["too-deep"]),
        ("unclosed_parentheses", ["syntax"]),
        ("minus_signs_alone", ["syntax"]),
        ("functions", ["too-deep"]),
    ],
)
def test_deep_nesting_is_one_located_diagnostic(name, codes):
    report = check_file("deep.tier", HEADER + DEEP[name] + "\n")
    assert [d.code for d in report.diagnostics] == codes
    assert report.diagnostics[0].span.file == "deep.tier"


def test_five_thousand_parentheses_around_a_value_are_fine():
    report = check_file("deep.tier", HEADER + DEEP["parentheses"] + "\n")
    assert report.errors == []
    assert report.methodology.node("x").deps == ("a",)


def test_a_file_too_large_is_one_diagnostic():
    text = HEADER + "# " + "x" * 5_000_001 + "\n"
    report = check_file("large.tier", text)
    assert [d.code for d in report.diagnostics] == ["file-too-large"]
    assert render_all(report.diagnostics, report.sources).startswith(
        "large.tier:1:1: error: the file is larger than 5,000,000 characters"
    )


def test_an_unreadable_root_file_is_a_diagnostic(tmp_path):
    (tmp_path / "latin1.tier").write_bytes(b'methodology "caf\xe9"\n')
    report = check_file(tmp_path / "latin1.tier")
    assert [d.code for d in report.diagnostics] == ["unreadable-file"]
    assert report.methodology is None
    with pytest.raises(TierError):
        load(tmp_path / "latin1.tier")
    assert report.diagnostics[0].message.endswith("is not valid UTF-8 (byte 16)")
    assert render_all(report.diagnostics, report.sources).startswith("error: ")


def test_a_very_long_data_file_name_is_a_diagnostic():
    text = (
        HEADER
        + 'let x = a\ntest "t" {\n  given data "'
        + "d" * 5000
        + '.csv"\n  expect x >= 0\n}\n'
    )
    report = check_file(ROOT / "tests/golden/valid_checked/long.tier", text)
    assert [d.code for d in report.diagnostics] == ["test-data-missing"]


def test_a_nul_character_in_an_extends_path_is_a_diagnostic():
    text = 'methodology "M"\nentity E key k\nextends "base\x00.tier"\n'
    report = check_file(ROOT / "tests/golden/valid_checked/nul.tier", text)
    # the NUL is also a character a file may not hold (issue 15), reported where it is
    assert [d.code for d in report.diagnostics] == ["unreadable-file", "hidden-character"]
