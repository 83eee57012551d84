"""Highlighting: the Pygments lexer and the VS Code extension's TextMate grammar know every word
of the grammar, lex every methodology and every documented example, and cannot drift."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest
from pygments.lexers import find_lexer_class_for_filename, get_lexer_by_name
from pygments.token import Error, Keyword, Name

from dsl.builtins import BUILTINS
from dsl.parser import STATEMENT_KEYWORDS, _lark
from tierlang.highlight import DATE, IDENTIFIER, NUMBER, TierLexer

ROOT = Path(__file__).resolve().parent.parent
GRAMMAR = ROOT / "dsl" / "grammar.lark"
VSCODE = ROOT / "editors" / "vscode"
REGENERATE = "run `.venv/bin/python editors/vscode/generate.py` and commit editors/vscode/syntaxes/"


def grammar_code() -> str:
    return "\n".join(
        line.split("//")[0] for line in GRAMMAR.read_text(encoding="utf-8").splitlines()
    )


def keyword_literals() -> set[str]:
    """Every word the grammar spells in quotes: "if", "score", "normalise", ..."""
    return set(re.findall(r'"([A-Za-z_]\w*)"', grammar_code()))


def phrase_words() -> set[str]:
    """The words of the grammar's regular-expression terminals (`/at[ \\t]+(most|least)\\b/`)."""
    found = set()
    for pattern in re.findall(r"^[A-Z_]+(?:\.\d+)?:\s*/(.*)/\s*$", grammar_code(), re.MULTILINE):
        bare = re.sub(r"\[[^\]]*\]|\\.", " ", pattern)
        found |= {w for w in re.findall(r"[A-Za-z]+", bare)}
    return found


def lexed(text: str) -> list[tuple]:
    return [(t, v) for t, v in TierLexer().get_tokens(text) if v.strip()]


def test_the_grammar_has_the_words_this_test_looks_for():
    # the extraction itself: a grammar change that hid the keywords would make the tests below vacuous
    assert {"methodology", "if", "normalise", "otherwise", "true"} <= keyword_literals()
    assert phrase_words() == {"at", "most", "least", "higher", "lower", "is", "better"}, (
        "the grammar's keyword phrases changed: update PHRASES in tierlang/highlight.py and "
        f"test_the_lexer_knows_the_keyword_phrases, then {REGENERATE}"
    )


@pytest.mark.parametrize("word", sorted(keyword_literals()))
def test_the_lexer_knows_every_keyword_of_the_grammar(word):
    # statement keywords are keywords at the start of a line; the others wherever they are
    text = f"{word} x" if word in STATEMENT_KEYWORDS else f"x = {word}"
    tokens = dict((v, t) for t, v in lexed(text))
    assert tokens[word] in Keyword, f"the lexer reads {word!r} as {tokens[word]}"


def test_statement_keywords_are_names_inside_expressions():
    tokens = lexed("score overall = mean(score, domain)")
    assert tokens[0] == (Keyword.Declaration, "score")
    assert (Name, "score") in tokens and (Name, "domain") in tokens


def test_the_lexer_knows_the_keyword_phrases():
    text = (
        "limit t to at most good when x\nlimit t to at least poor when y\nlet a = rank(x, lower is better)\n"
        "let b = rank(x, higher is better)"
    )
    keyword_text = " ".join(v for t, v in lexed(text) if t in Keyword)
    for word in phrase_words():
        assert re.search(rf"\b{word}\b", keyword_text), f"{word!r} is not highlighted as a keyword"


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_builtins_are_highlighted_before_a_parenthesis(name):
    assert lexed(f"let x = {name}(y)")[3] == (Name.Builtin, name)
    assert (Name, name) in lexed(f"let x = {name} + 1")


def test_the_shared_patterns_match_what_the_grammar_matches():
    terminals = {t.name: t.pattern.to_regexp() for t in _lark().terminals}
    samples = [
        "12",
        "0.5",
        "50%",
        "1e-3",
        "2.5E+2%",
        "abc",
        "_x1",
        "1abc",
        "2018-04-01",
        "2018-4-1",
        "x.5",
        "",
    ]
    for ours, theirs in ((NUMBER, "NUMBER"), (IDENTIFIER, "NAME"), (DATE, "DATE")):
        for sample in samples:
            assert bool(re.fullmatch(ours, sample)) == bool(
                re.fullmatch(terminals[theirs], sample)
            ), (theirs, sample)


@pytest.mark.parametrize(
    "path", sorted((ROOT / "methodologies").glob("*.tier")), ids=lambda p: p.name
)
def test_every_methodology_lexes_without_errors(path):
    errors = [v for t, v in TierLexer().get_tokens(path.read_text(encoding="utf-8")) if t in Error]
    assert errors == []


def documented_examples() -> list[tuple[str, int, str]]:
    found = []
    for doc in sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]:
        text = doc.read_text(encoding="utf-8")
        for match in re.finditer(r"^```tier\n(.*?)^```", text, re.MULTILINE | re.DOTALL):
            found.append((doc.name, text.count("\n", 0, match.start()) + 1, match.group(1)))
    return found


def test_the_documented_examples_lex_without_errors():
    examples = documented_examples()
    assert len(examples) >= 10  # docs/language.md alone has more
    for doc, line, code in examples:
        errors = [v for t, v in TierLexer().get_tokens(code) if t in Error]
        assert errors == [], (
            f"{doc}:{line}: the ```tier block has characters the lexer does not know: {errors}"
        )


def test_characters_outside_the_language_are_errors():
    assert [v for t, v in TierLexer().get_tokens("let x = a @ b") if t in Error] == ["@"]


def test_pygments_finds_the_lexer_by_name_and_file_name():
    # registered as a `pygments.lexers` entry point in pyproject.toml: `pygmentize -l tier` works
    assert type(get_lexer_by_name("tier")) is TierLexer
    assert find_lexer_class_for_filename("stp.tier") is TierLexer


# ---------------------------------------------------------------- the VS Code extension


def generator():
    spec = importlib.util.spec_from_file_location("generate", VSCODE / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def committed_grammar() -> dict:
    return json.loads((VSCODE / "syntaxes" / "tier.tmLanguage.json").read_text(encoding="utf-8"))


def test_the_committed_textmate_grammar_is_the_generated_one():
    committed = (VSCODE / "syntaxes" / "tier.tmLanguage.json").read_text(encoding="utf-8")
    assert committed == generator().render(), f"the TextMate grammar is out of date: {REGENERATE}"


def _patterns(grammar: dict) -> dict[str, str]:
    return {
        name: rule.get("match") or rule["begin"] for name, rule in grammar["repository"].items()
    }


def test_every_textmate_pattern_compiles():
    for rule in committed_grammar()["repository"].values():
        for key in ("match", "begin", "end"):
            if key in rule:
                re.compile(rule[key])


@pytest.mark.parametrize("word", sorted(keyword_literals()))
def test_the_textmate_grammar_knows_every_keyword_of_the_grammar(word):
    patterns = _patterns(committed_grammar())
    keyword_rules = ("declaration", "statement", "constant", "type", "keyword")
    text = f"{word} x" if word in STATEMENT_KEYWORDS else f"x = {word} + 1"
    matched = [
        name
        for name in keyword_rules
        if (m := re.search(patterns[name], text)) and word in m.group(0)
    ]
    assert matched, f"no keyword rule of the TextMate grammar matches {word!r}: {REGENERATE}"


def test_the_textmate_grammar_knows_the_phrases_and_builtins():
    patterns = _patterns(committed_grammar())
    for phrase in ("at most", "at  least", "higher is better", "lower\tis better"):
        assert re.fullmatch(patterns["phrase"], phrase), phrase
    for name in BUILTINS:
        assert re.search(patterns["builtin"], f"{name}(x)").group(0) == name, (
            f"{name}: {REGENERATE}"
        )
    assert re.search(patterns["builtin"], "mean_score + 1") is None


def test_the_extension_manifest_names_its_files():
    manifest = json.loads((VSCODE / "package.json").read_text(encoding="utf-8"))
    (language,) = manifest["contributes"]["languages"]
    (grammar,) = manifest["contributes"]["grammars"]
    assert language["extensions"] == [".tier"] and grammar["language"] == language["id"]
    assert grammar["scopeName"] == committed_grammar()["scopeName"]
    for relative in (language["configuration"], grammar["path"]):
        assert (VSCODE / relative).is_file(), relative
    configuration = json.loads((VSCODE / language["configuration"]).read_text(encoding="utf-8"))
    assert re.search(
        r"^COMMENT: /" + re.escape(configuration["comments"]["lineComment"]),
        grammar_code(),
        re.MULTILINE,
    )
