"""Structural diff (dsl.diff): golden texts for each kind of change, no-change cases, extends.

Each `tests/golden/diff/CASE.tier` is a variant of `base.tier`; the diff from base to it,
rendered as `tierlang diff` prints it, must equal `CASE.expected` exactly (paths are relative
to the repository root). `definitions.json` pins the JSON shape. To regenerate after a
deliberate change:
    TIERLANG_REGENERATE=1 .venv/bin/pytest tests/test_diff_structural.py
and review every changed file before committing it.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dsl
from dsl.diff import canonical, diff
from tierlang.render.structural import render_text, to_json

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path("tests/golden/diff")  # relative to ROOT: the paths the texts show
REGENERATE = os.environ.get("TIERLANG_REGENERATE") == "1"

CHANGE_CASES = ["inputs", "params", "definitions", "weights", "components", "tiers", "rule_order",
                "limits", "kind", "labels", "types", "from", "extends_draft"]
NO_CHANGE_CASES = ["reordered", "reformatted", "comment"]


@pytest.fixture(autouse=True)
def _at_root(monkeypatch):
    monkeypatch.chdir(ROOT)


def _load(case: str):
    return dsl.load(str(GOLDEN / f"{case}.tier"))


def _check_golden(path: Path, actual: str) -> None:
    if REGENERATE:
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"{path} missing: run with TIERLANG_REGENERATE=1 and review it"
    assert actual == path.read_text(encoding="utf-8")


def test_every_case_has_a_golden_file_and_every_golden_file_a_case():
    tiers = {p.stem for p in (ROOT / GOLDEN).glob("*.tier")}
    assert tiers == {"base", *CHANGE_CASES, *NO_CHANGE_CASES}
    expected = {p.stem for p in (ROOT / GOLDEN).glob("*.expected")}
    assert expected == set(CHANGE_CASES)


@pytest.mark.parametrize("case", CHANGE_CASES)
def test_structural_diff_golden(case):
    d = diff(_load("base"), _load(case))
    assert not d.is_empty
    _check_golden(ROOT / GOLDEN / f"{case}.expected", render_text(d))


@pytest.mark.parametrize("case", NO_CHANGE_CASES)
def test_reordering_reformatting_and_comments_are_no_change(case):
    d = diff(_load("base"), _load(case))
    assert d.is_empty
    assert d.changes == ()
    assert render_text(d).endswith("  no change: the two methodologies are the same node by node\n")
    assert to_json(d)["counts"] == {"added": 0, "removed": 0, "changed": 0, "semantic": 0}


def test_json_golden_and_round_trip():
    d = diff(_load("base"), _load("definitions"))
    data = to_json(d)
    assert json.loads(json.dumps(data)) == data
    _check_golden(ROOT / GOLDEN / "definitions.json", json.dumps(data, indent=2, ensure_ascii=False) + "\n")


# ---------------------------------------------------------------- classification


def _changes(case: str) -> dict:
    return {c.name: c for c in diff(_load("base"), _load(case)).changes}


def _details(change) -> list[tuple]:
    return [(d.what, d.item, d.change, d.old, d.new) for d in change.details]


def test_input_changes_are_classified():
    c = _changes("inputs")
    assert _details(c["ae"]) == [("range", None, "changed", "0..100", "0..120")]
    assert _details(c["rtt"]) == [("column", None, "changed", '"RTT_PCT"', '"RTT"')]
    assert _details(c["finance"]) == [("required", None, "changed", "false", "true")]
    assert (c["cancer"].change, c["cancer"].section) == ("added", "inputs")
    assert (c["leadership"].change, c["lead_score"].change) == ("removed", "removed")
    assert c["ae"].details[0].old_value == [0.0, 100.0] and c["ae"].details[0].new_value == [0.0, 120.0]


def test_param_value_keeps_its_written_form_and_its_number():
    (detail,) = _changes("params")["w"].details
    assert (detail.what, detail.old, detail.new, detail.old_value, detail.new_value) == (
        "value", "50%", "45%", 0.5, 0.45)
    assert _changes("params")["w"].cause == "w 50% → 45%"


def test_weights_changed_per_component_old_and_new():
    change = _changes("weights")["overall"]
    assert _details(change) == [
        ("weight", "access", "changed", "w", "60%"),
        ("weight", "money", "changed", "1 - w", "40%"),
    ]
    assert change.details[1].new_value == 0.4
    assert change.old_expression == "weighted_mean(access: w, money: 1 - w)"
    assert change.new_expression == "weighted_mean(access: 60%, money: 40%)"


def test_definition_changes_show_old_and_new_expression_and_source():
    c = _changes("definitions")
    assert _details(c["ae_score"]) == [
        ("expression", None, "changed", "quartile(ae, higher is better)", "zscore(ae)")]
    assert c["ae_score"].old_source == 'indicator ae_score "A&E (quartile)" = quartile(ae, higher is better)'
    assert c["ae_score"].new_source == 'indicator ae_score "A&E (quartile)" = zscore(ae)'
    assert _details(c["finance_score"]) == [
        ("cutoff", "case 2", "changed", ">= -1", ">= -1.5"),
        ("case", "case 3", "changed", "2", "1.5"),
    ]
    assert _details(c["lead_score"]) == [("case", "emerging", "changed", "2", "3")]
    assert _details(c["money"]) == [("component", "lead_score", "added", None, None)]
    assert _details(c["access"]) == [("option", "skip missing", "removed", "skip missing", "none")]
    assert _details(c["rtt_score"]) == [
        ("option", "polarity", "changed", "higher is better", "lower is better")]


def test_tier_rules_cutoffs_missing_label_and_order():
    (change,) = diff(_load("base"), _load("tiers")).changes
    assert _details(change) == [
        ("missing_label", None, "added", None, '"Not rated"'),
        ("rule", "good #2", "added", None, "top 3"),
        ("rule", "fair", "changed", ">= 1.5", ">= 1.75"),
    ]
    assert change.details[2].old_value == 1.5 and change.details[2].new_value == 1.75
    (order,) = diff(_load("base"), _load("rule_order")).changes
    assert _details(order) == [("rule_order", None, "changed", "good, fair, poor", "fair, good, poor")]
    assert order.semantic


def test_limits_added_and_removed():
    (change,) = diff(_load("base"), _load("limits")).changes
    assert _details(change) == [
        ("limit", None, "added", None, "limit rated to at most poor when leadership == limited"),
        ("limit", None, "removed", "limit rated to at most fair when breach", None),
    ]


def test_kind_change_and_types():
    (kind,) = diff(_load("base"), _load("kind")).changes
    assert _details(kind) == [("kind", None, "changed", "domain", "score")]
    types = {c.name: c for c in diff(_load("base"), _load("types")).changes}
    assert _details(types["rating"]) == [("labels", None, "changed", "poor < fair < good",
                                          "poor < fair < good < excellent")]
    assert ("scale", None, "changed", "good > fair > poor", "excellent > good > fair > poor") in \
        _details(types["rated"])


def test_labels_and_docstrings_are_not_semantic():
    d = diff(_load("base"), _load("labels"))
    assert {c.name for c in d.changes} == {"version", "w", "ae_score"}
    assert d.semantic_changes == ()
    assert d.node_changes() == {}


def test_commutative_reordering_of_components_is_not_semantic():
    c = _changes("components")
    assert not c["access"].semantic
    assert c["overall"].semantic
    assert [d.what for d in c["overall"].details] == ["component", "weight", "option"]


def test_extends_shows_exactly_the_overrides():
    d = diff(_load("base"), _load("extends_draft"))
    assert d.extends
    assert [(o.name, o.changed) for o in d.overrides] == [("w", True), ("cutoff", False), ("access", True)]
    nodes = {c.name: c for c in d.changes if c.section not in ("header", "types")}
    assert set(nodes) == {"w", "access", "outcome_score"}
    assert nodes["w"].override == "tests/golden/diff/base.tier"
    assert nodes["outcome_score"].change == "added" and nodes["outcome_score"].override is None
    # every changed node is an override or an addition
    overridden = {o.name for o in d.overrides}
    assert all(c.name in overridden or c.change == "added" for c in nodes.values())


def test_the_2018_draft_against_2017():
    old = dsl.load("methodologies/stp_dashboard_2017.tier")
    new = dsl.load("methodologies/stp_dashboard_2018_draft.tier")
    d = diff(old, new)
    assert d.extends
    causes = {c.name: c.cause for c in d.semantic_changes if c.section not in ("header", "types")}
    assert causes == {
        "cancer_1yr_survival": "input cancer_1yr_survival added",
        "transformation_weight": "transformation_weight 50% → 40%",
        "finance_score": "finance_score redefined",
        "cancer_survival_score": "indicator cancer_survival_score added",
        "cancer": "cancer: + component cancer_survival_score",
    }
    assert {o.name for o in d.overrides} == {"cancer", "transformation_weight", "finance_score"}


# ---------------------------------------------------------------- properties

METHODOLOGY_FILES = sorted(
    [str(p.relative_to(ROOT)) for p in (ROOT / "methodologies").glob("*.tier")]
    + [str(p.relative_to(ROOT)) for p in (ROOT / "tests/golden/valid").glob("*.tier")]
    + [str(p.relative_to(ROOT)) for p in (ROOT / GOLDEN).glob("*.tier")]
)


@pytest.mark.parametrize("path", METHODOLOGY_FILES)
def test_a_methodology_diffed_with_itself_has_no_change(path):
    report = dsl.check_file(path)
    if report.methodology is None:
        pytest.skip("does not check")
    m = report.methodology
    again = dsl.check_file(path).methodology
    assert diff(m, m).is_empty
    assert diff(m, again).is_empty
    assert all(canonical(n) == canonical(n) for n in m.nodes)


def _statements(text: str) -> tuple[str, list[str]]:
    """The header (up to the first declaration) and the declarations of base.tier, each with the
    docstring or block lines that belong to it."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("type "))
    header, body = "\n".join(lines[:start]), lines[start:]
    chunks: list[list[str]] = []
    for line in body:
        if not line.strip():
            continue
        if re.match(r"(type|input|param|indicator|domain|score|let|tier|limit|#)\b", line) and not (
                chunks and chunks[-1][-1].startswith("#")):
            chunks.append([line])
        else:
            chunks[-1].append(line)
    return header, ["\n".join(c) for c in chunks]


@settings(max_examples=25, deadline=None)
@given(st.randoms(use_true_random=False))
def test_any_order_of_declarations_is_no_change(rng):
    text = (ROOT / GOLDEN / "base.tier").read_text(encoding="utf-8")
    header, statements = _statements(text)
    shuffled = list(statements)
    rng.shuffle(shuffled)
    old = dsl.check_source(text, "base.tier")
    new = dsl.check_source(header + "\n\n" + "\n".join(shuffled) + "\n", "shuffled.tier")
    assert diff(old, new).is_empty


def test_a_definition_turned_constant_does_not_change_the_definitions_that_read_it(tmp_path):
    """An override turning `b_score` from per-entity into a constant changes `b_score` only:
    `s = mean(a, b_score)` is written the same, so it is no change (it was shown as
    `+ component b_score; - component b_score` and blamed for the moves)."""
    (tmp_path / "base.tier").write_text(
        'methodology "Base"\nentity org key code\ninput a: number\ninput b: number\n'
        "score b_score = b * 2\nscore s = mean(a, b_score)\n"
        "tier grade from s {\n  high: >= 5\n  low: otherwise\n}\n", encoding="utf-8")
    (tmp_path / "draft.tier").write_text(
        'methodology "Draft"\nextends "base.tier"\nscore b_score = 2\n', encoding="utf-8")
    d = diff(dsl.load(str(tmp_path / "base.tier")), dsl.load(str(tmp_path / "draft.tier")))
    changed = [c.name for c in d.changes if c.section == "definitions"]
    assert changed == ["b_score"]
    assert "component b_score" not in render_text(d)


def test_an_overridden_function_table_or_measure_table_has_effect_through_its_users(tmp_path, monkeypatch):
    # Functions, lookup tables and measure tables are inlined, never nodes: their override used to be
    # called "without effect" even when every definition using it changed.
    (tmp_path / ".tierlang-root").write_text("")
    (tmp_path / "base.tier").write_text(
        'methodology "b"\nentity org key id\ninput ae: number\ninput other: number\n'
        "function scaled(x) = x / 10\nfunction unused(x) = x\n"
        "measures m { ae: weight 1, higher is better, group g, treated by scaled }\n"
        "measures q { other: weight 1, higher is better, group g }\n"
        "table reward(band: 1..2) {\n  1: 0\n  2: 1\n}\n"
        "indicator w = weighted_mean(measures m group g)\n"
        "indicator r = reward(if ae > 5 then 2 else 1)\n"
        "indicator o = weighted_mean(measures q group g)\n")
    (tmp_path / "function.tier").write_text('methodology "c"\nextends "base.tier"\nfunction scaled(x) = x / 20\n')
    (tmp_path / "table.tier").write_text(
        'methodology "c"\nextends "base.tier"\ntable reward(band: 1..2) {\n  1: 0\n  2: 2\n}\n')
    (tmp_path / "idle.tier").write_text(
        'methodology "c"\nextends "base.tier"\nfunction unused(x) = x * 2\n'
        "measures q { other: weight 1, higher is better, group g }\n")
    monkeypatch.chdir(tmp_path)
    base = dsl.load("base.tier")
    assert [(o.name, o.changed) for o in diff(base, dsl.load("function.tier")).overrides] == [("scaled", True)]
    assert [(o.name, o.changed) for o in diff(base, dsl.load("table.tier")).overrides] == [("reward", True)]
    idle = diff(base, dsl.load("idle.tier"))
    assert [(o.name, o.changed) for o in idle.overrides] == [("unused", False), ("q", False)]
    assert "2 without effect: unused, q" in render_text(idle)
