"""The static checker on valid methodologies (tests/golden/valid_checked/): dependency order,
inferred types, labels resolved by context, user functions expanded, `within` groups,
`extends` (overrides, limits, tests), warnings, and the `tierlang check` summary.

The invalid side (every error, located and rendered) is tests/test_golden_invalid.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from dsl import TierError, check_file, check_source, load
from dsl import model as M
from dsl import types as T
from tierlang.cli import main

ROOT = Path(__file__).resolve().parents[1]
VALID = Path("tests/golden/valid_checked")  # relative to ROOT: the paths diagnostics show


@pytest.fixture(autouse=True)
def _at_repository_root(monkeypatch):
    monkeypatch.chdir(ROOT)


def path_of(name: str) -> str:
    return (VALID / f"{name}.tier").as_posix()


def checked(name: str) -> M.Methodology:
    return load(path_of(name))


def num(scalar: bool = False) -> T.Type:
    return T.number(scalar=scalar)


def const(value: float) -> M.Const:
    return M.Const(float(value), T.number(scalar=True))


# ---------------------------------------------------------------- every valid file


def test_every_valid_file_checks_without_errors():
    names = sorted(p.stem for p in (ROOT / VALID).glob("*.tier"))
    assert names == [
        "dependency_order",
        "extends_base",
        "extends_child",
        "function_lets",
        "functions",
        "labels",
        "library_child",
        "measures",
        "optional_inputs",
        "peer_groups",
        "statistics",
        "tables",
        "types",
        "with_warnings",
    ]
    for name in names:
        report = check_file(path_of(name))
        assert report.errors == [], name
        assert report.methodology is not None
        expected_warnings = 4 if name == "with_warnings" else 0
        assert len(report.warnings) == expected_warnings, name


# ---------------------------------------------------------------- dependency order


def test_nodes_are_in_dependency_order():
    m = checked("dependency_order")
    assert [n.name for n in m.nodes] == [
        "ae",
        "ae_score",
        "rtt",
        "rtt_score",
        "access",
        "safe",
        "safe_score",
        "quality",
        "overall",
        "overall_rating",
    ]
    position = {n.name: i for i, n in enumerate(m.nodes)}
    for node in m.nodes:
        assert all(position[d] < position[node.name] for d in node.deps), node.name


def test_deps_are_the_nodes_read_directly_in_first_use_order():
    m = checked("dependency_order")
    assert {n.name: n.deps for n in m.nodes} == {
        "ae": (),
        "ae_score": ("ae",),
        "rtt": (),
        "rtt_score": ("rtt",),
        "access": ("ae_score", "rtt_score"),
        "safe": (),
        "safe_score": ("safe",),
        "quality": ("safe_score",),
        "overall": ("access", "quality"),
        "overall_rating": ("overall",),
    }
    assert [n.kind for n in m.nodes] == [
        "input",
        "indicator",
        "input",
        "indicator",
        "domain",
        "input",
        "indicator",
        "domain",
        "score",
        "tier",
    ]
    assert m.dependents()["access"] == ("overall",)
    assert m.dependents()["overall_rating"] == ()


def test_a_typed_tier_uses_its_level_type_as_scale():
    m = checked("dependency_order")
    tier = m.node("overall_rating").tier
    rating = m.types["rating"]
    assert rating == T.LevelType(
        "rating", ("inadequate", "requires_improvement", "good", "outstanding")
    )
    assert tier.scale == rating
    assert m.node("overall_rating").type == T.level(rating)
    assert tier.source == M.Ref("overall", num())
    assert [r.label for r in tier.rules] == [
        "outstanding",
        "good",
        "requires_improvement",
        "inadequate",
    ]
    assert tier.rules[0].condition == M.ThresholdRule(">=", const(3.5))
    assert tier.rules[-1].condition == M.OtherwiseRule()
    assert tier.rules[0].source_text == ">= 3.5"
    assert tier.missing_label is None
    assert tier.limits == ()


# ---------------------------------------------------------------- types


def test_types_are_inferred():
    m = checked("types")
    assert {n.name: str(n.type) for n in m.nodes} == {
        "ae": "number",
        "region": "text",
        "breach": "boolean",
        "safe": "level rating",
        "target": "scalar number",
        "weight": "scalar number",
        "floor": "scalar level rating",
        "label_text": "scalar text",
        "strict": "scalar boolean",
        "ae_score": "number",
        "met": "boolean",
        "region_name": "text",
        "safe_copy": "level rating",
        "pair": "list of number",
        "checks": "list of level rating",
        "national": "scalar number",
        "dorset_ae": "scalar number",
        "trusts_met": "scalar number",
        "conditions_met": "number",
        "good_checks": "number",
        "checks_good": "list of boolean",
        "gap": "scalar number",
        "regional": "number",
        "relative": "number",
        "scaled_target": "scalar number",
        "flagged": "boolean",
        "ae_rank": "number",
        "mean_pair": "number",
        "safe_or_floor": "level rating",
        "both_met": "boolean",
        "tier_text": "text",
    }


def test_param_values_and_scalars():
    m = checked("types")
    rating = m.types["rating"]
    assert {n.name: n.value for n in m.params} == {
        "target": 95.0,
        "weight": 0.5,
        "floor": "good",
        "label_text": "national",
        "strict": True,
    }
    assert all(n.is_scalar for n in m.params)
    assert not any(n.is_scalar for n in m.inputs)
    assert m.node("floor").type == T.level(rating, scalar=True)
    assert m.node("safe").type == T.level(rating)


def test_population_statistics_picks_and_counts_are_scalars():
    m = checked("types")
    ae = M.Ref("ae", num())
    met = M.Ref("met", T.boolean())
    assert m.node("national").expr == M.Call("population_mean", (ae,), num(scalar=True))
    assert m.node("dorset_ae").expr == M.Pick(ae, "RXA", num(scalar=True))
    # a single per-entity condition: counts entities
    assert m.node("trusts_met").expr == M.Call(
        "count", (met,), num(scalar=True), population_count=True
    )
    # several conditions: row-wise
    assert m.node("conditions_met").expr == M.Call(
        "count", (met, M.Ref("breach", T.boolean())), num()
    )
    # a list of conditions: row-wise
    assert m.node("good_checks").expr.population_count is False
    # `within` makes a population statistic per entity (one value per group)
    assert m.node("regional").expr == M.Call("population_mean", (ae,), num(), within="region")
    assert m.node("gap").expr == M.Binary(
        "-",
        M.Ref("target", num(scalar=True)),
        M.Ref("national", num(scalar=True)),
        num(scalar=True),
    )
    assert m.node("ae_rank").expr == M.Call("rank", (ae,), num(), polarity="lower")
    assert m.node("mean_pair").expr == M.Call(
        "mean", (M.Ref("pair", T.list_of(num())),), num(), skip_missing=True
    )


def test_lists_and_element_wise_comparison():
    m = checked("types")
    rating = m.types["rating"]
    assert m.node("pair").expr == M.ListOf(
        (M.Ref("ae", num()), M.Ref("ae_score", num())), T.list_of(num())
    )
    assert m.node("checks_good").expr == M.Binary(
        "==",
        M.Ref("checks", T.list_of(T.level(rating))),
        M.LabelConst(rating, "good", T.level(rating, scalar=True)),
        T.list_of(T.boolean()),
    )


# ---------------------------------------------------------------- labels


def test_labels_are_resolved_by_context():
    m = checked("labels")
    rating, lead = m.types["rating"], m.types["lead"]
    assert rating.labels == ("inadequate", "requires improvement", "good", "outstanding")

    def label(text, level=rating):
        return M.LabelConst(level, text, T.level(level, scalar=True))

    safe = M.Ref("safe", T.level(rating))
    effective = M.Ref("effective", T.level(rating))
    flag = M.Ref("flag", T.boolean())
    boolean = T.boolean()
    exprs = {n.name: n.expr for n in m.nodes if n.expr is not None}
    # bare and quoted, on either side of a comparison
    assert exprs["a1"] == M.Binary("==", safe, label("good"), boolean)
    assert exprs["a2"] == M.Binary("==", label("good"), safe, boolean)
    assert exprs["a3"] == M.Binary("<=", safe, label("requires improvement"), boolean)
    assert exprs["a4"] == M.Binary(">=", label("requires improvement"), safe, boolean)
    assert exprs["a5"] == M.Binary(">", safe, M.Ref("floor", T.level(rating, scalar=True)), boolean)
    # map keys
    assert exprs["m"] == M.MapOf(
        safe,
        ("inadequate", "requires improvement", "good", "outstanding"),
        (const(1), const(2), const(3), const(4)),
        None,
        num(),
    )
    # if/then/else branches, either branch
    assert exprs["b1"] == M.IfElse(flag, safe, label("good"), T.level(rating))
    assert exprs["b2"] == M.IfElse(flag, label("requires improvement"), safe, T.level(rating))
    # coalesce, either position
    assert exprs["c1"] == M.Call("coalesce", (safe, label("good")), T.level(rating))
    assert exprs["c2"] == M.Call("coalesce", (label("good"), effective), T.level(rating))
    # a name that is both a label and an input: the label where a `lead` label is expected,
    # the input elsewhere
    assert exprs["l1"] == M.Binary(
        "==", M.Ref("leadership", T.level(lead)), label("limited", lead), boolean
    )
    assert exprs["l2"] == M.Binary("and", M.Ref("limited", boolean), flag, boolean)
    assert m.node("floor").value == "good"


def test_labels_in_limits_and_given_values():
    m = checked("labels")
    rating, lead = m.types["rating"], m.types["lead"]

    def label(text, level=rating):
        return M.LabelConst(level, text, T.level(level, scalar=True))

    tier = m.node("overall").tier
    assert tier.limits == (
        M.Limit(
            "at most",
            "requires improvement",
            M.Binary("==", M.Ref("safe", T.level(rating)), label("inadequate"), T.boolean()),
        ),
        M.Limit(
            "at least",
            "requires improvement",
            M.Binary(">=", M.Ref("effective", T.level(rating)), label("good"), T.boolean()),
        ),
    )
    assert m.node("overall").deps == ("ae", "safe", "effective")
    (test,) = m.tests
    assert test.name == "labels in given values"
    assert test.data_path is None
    assert test.givens == (
        M.TestGiven("safe", label("requires improvement")),
        M.TestGiven("effective", label("good")),
        M.TestGiven("leadership", label("established", lead)),
        M.TestGiven("limited", M.Const(False, T.boolean(scalar=True))),
        M.TestGiven("flag", M.Const(True, T.boolean(scalar=True))),
        M.TestGiven("ae", const(95)),
    )
    assert test.expects[0] == M.Binary(
        "==", M.Ref("overall", T.level(rating)), label("requires improvement"), T.boolean()
    )
    assert test.expect_texts == (
        'overall == "requires improvement"',
        'a1 == false and a3 and b1 == "requires improvement"',
    )


def test_a_quoted_label_before_a_level_value_is_a_label():
    m = check_source(
        'methodology "M"\nentity E key k\n'
        "input r: level low < high\n"
        'let a = "high" > r\n'
        'let b = if r == low then "high" else r\n'
        'let c = ["low", r]\n'
    )
    level = m.node("r").type.level
    high = M.LabelConst(level, "high", T.level(level, scalar=True))
    low = M.LabelConst(level, "low", T.level(level, scalar=True))
    r = M.Ref("r", T.level(level))
    assert m.node("a").expr == M.Binary(">", high, r, T.boolean())
    assert m.node("b").expr.then == high
    assert m.node("c").expr == M.ListOf((low, r), T.list_of(T.level(level)))


# ---------------------------------------------------------------- user functions and `within`


def test_user_functions_are_expanded_in_place():
    m = checked("functions")
    assert m.node("ae_scaled").expr == m.node("ae_inline").expr
    assert m.node("ae_scaled").deps == ("ae", "lo", "hi")
    rtt, hi = M.Ref("rtt", num()), M.Ref("hi", num(scalar=True))
    scaled = M.Call(
        "clip",
        (
            M.Binary(
                "/",
                M.Binary("-", rtt, const(0), num()),
                M.Binary("-", hi, const(0), num(scalar=True)),
                num(),
            ),
            const(0),
            const(1),
        ),
        num(),
    )
    assert m.node("rtt_nested").expr == M.Binary("*", scaled, const(2), num())
    assert m.node("rtt_nested").deps == ("rtt", "hi")


def test_a_callers_deps_include_what_the_function_body_and_arguments_reference():
    m = checked("functions")
    # above_target(x) = x >= target: `ae` comes from the argument, `target` from the body
    assert m.node("ae_met").deps == ("ae", "target")
    assert m.node("ae_met").expr == M.Binary(
        ">=", M.Ref("ae", num()), M.Ref("target", num(scalar=True)), T.boolean()
    )
    order = [n.name for n in m.nodes]
    assert order.index("target") < order.index("ae_met")


def test_within_adds_a_dependency_on_the_group():
    m = checked("functions")
    assert m.node("regional_rank").deps == ("region", "ae")
    assert m.node("regional_rank").expr == M.Call(
        "rank", (M.Ref("ae", num()),), num(), within="region"
    )
    assert m.node("regional_mean").deps == ("region", "rtt")
    order = [n.name for n in m.nodes]
    assert order.index("region") < order.index("regional_rank")
    assert m.dependents()["region"] == ("regional_rank", "regional_mean")


def test_within_orders_the_group_first_even_when_declared_later():
    m = check_source(
        'methodology "M"\nentity E key k\n'
        "input x: number\n"
        "let r = rank(x, within g)\n"
        "input g: text\n"
    )
    assert [n.name for n in m.nodes] == ["x", "g", "r"]
    assert m.node("r").deps == ("g", "x")
    assert m.warnings == ()


# ---------------------------------------------------------------- extends


def test_extends_records_overrides():
    m = checked("extends_child")
    base, child = path_of("extends_base"), path_of("extends_child")
    assert m.overrides == (
        M.Override("target", base, child),
        M.Override("ae_score", base, child),
        M.Override("access", base, child),
    )
    assert {n.name: n.overrides for n in m.nodes} == {
        "ae": None,
        "breach": None,
        "target": base,
        "ae_score": base,
        "ae_rating": None,
        "rtt": None,
        "rtt_score": None,
        "access": base,
        "access_rating": None,
    }
    assert m.sources[0][0] == child and m.sources[1][0] == base
    assert m.path == child


def test_extends_merges_the_header():
    m = checked("extends_child")
    assert (m.name, m.version, m.entity, m.key, m.label_column) == (
        "Checker: extending methodology",
        "1",
        "Trust",
        "trust_code",
        "trust_name",
    )


def test_extends_replaces_base_definitions_in_place_and_appends_new_ones():
    m = checked("extends_child")
    base, child = path_of("extends_base"), path_of("extends_child")
    # target and ae_score keep their base positions; rtt and rtt_score (new) come after the
    # base's statements; access (replaced) now waits for rtt_score.
    assert [n.name for n in m.nodes] == [
        "ae",
        "breach",
        "target",
        "ae_score",
        "ae_rating",
        "rtt",
        "rtt_score",
        "access",
        "access_rating",
    ]
    assert {n.name: n.span.file for n in m.nodes} == {
        "ae": base,
        "breach": base,
        "target": child,
        "ae_score": child,
        "ae_rating": base,
        "rtt": child,
        "rtt_score": child,
        "access": child,
        "access_rating": base,
    }
    assert m.node("target").value == 90.0
    assert m.node("ae_score").source_text == "indicator ae_score = ae / target * 100"
    assert m.node("access").deps == ("ae_score", "rtt_score")


def test_extends_replaces_a_tiers_limits_only_when_the_extending_file_writes_some():
    m = checked("extends_child")
    access_rating = m.node("access_rating")
    assert access_rating.tier.limits == (
        M.Limit(
            "at most",
            "poor",
            M.Binary("<", M.Ref("rtt", num()), const(50), T.boolean()),
        ),
    )
    assert access_rating.deps == ("access", "rtt")  # no longer `breach`
    ae_rating = m.node("ae_rating")
    assert ae_rating.tier.limits == (M.Limit("at most", "low", M.Ref("breach", T.boolean())),)
    assert ae_rating.deps == ("ae", "breach")
    assert ae_rating.tier.limits[0].source_text == "limit ae_rating to at most low when breach"


def test_extends_does_not_inherit_tests():
    assert [t.name for t in checked("extends_child").tests] == ["child test"]
    assert [t.name for t in checked("extends_base").tests] == ["base test"]


def test_a_type_in_the_base_and_an_input_of_the_same_name_is_one_error(tmp_path):
    (tmp_path / "base.tier").write_text(
        'methodology "B"\nentity E key k\ntype rating = level low < high\n'
    )
    child = tmp_path / "child.tier"
    child.write_text('methodology "C"\nextends "base.tier"\ninput rating: number\nlet x = rating\n')
    report = check_file(child)
    assert [(d.code, d.message, d.span.line) for d in report.diagnostics] == [
        ("duplicate-name", "'rating' is both a type and an input", 3)
    ]


# ---------------------------------------------------------------- warnings


def test_warnings_are_attached_to_the_methodology():
    report = check_file(path_of("with_warnings"))
    m = report.methodology
    assert m.warnings == report.diagnostics
    assert [(d.code, d.message, d.span.line, d.span.column) for d in m.warnings] == [
        ("unused-input", "input 'unused_column' is not used by any definition", 5, 7),
        ("map-not-exhaustive", "this map has no value for 'emerging'", 8, 24),
        (
            "tier-no-otherwise",
            "tier 'ae_rating' has no `otherwise`: an entity that meets no rule gets no tier",
            9,
            6,
        ),
        ("test-no-expect", "test 'nothing expected' expects nothing", 14, 1),
    ]
    assert all(d.severity == "warning" for d in m.warnings)


def test_an_input_used_only_by_a_definition_with_an_error_is_not_reported_unused():
    report = check_file(
        "<string>",
        'methodology "M"\nentity E key k\ninput x: number\nlet a = b + x\nlet b = a\n',
    )
    assert [d.code for d in report.diagnostics] == ["cycle"]
    assert report.diagnostics[0].message == (
        "definitions depend on each other in a cycle: a -> b -> a"
    )


def test_an_input_used_only_by_a_limit_or_as_a_tier_source_is_used():
    m = check_source(
        'methodology "M"\nentity E key k\ninput x: number\ninput flag: boolean\n'
        "tier t from x {\n  high: >= 1\n  low: otherwise\n}\n"
        "limit t to at most low when flag\n"
    )
    assert m.warnings == ()
    assert m.node("t").deps == ("x", "flag")


# ---------------------------------------------------------------- the API


def test_check_source_and_load_raise_tier_error_with_every_error():
    text = 'methodology "M"\nentity E key k\nlet a = b\nlet c = d\n'
    with pytest.raises(TierError) as raised:
        check_source(text, "m.tier")
    assert [(d.code, d.span.line) for d in raised.value.errors] == [
        ("unknown-name", 3),
        ("unknown-name", 4),
    ]
    assert str(raised.value).startswith("m.tier:3:9: error: unknown name 'b'\n")
    report = check_file("m.tier", text)
    assert report.methodology is None
    assert len(report.errors) == 2 and report.warnings == []
    assert report.sources == {"m.tier": text}


def test_a_clean_file_has_no_diagnostics():
    report = check_file(path_of("dependency_order"))
    assert report.diagnostics == ()
    assert report.methodology.warnings == ()
    assert report.methodology.name == "Checker: definitions written before what they use"
    assert report.methodology.effective is None
    assert len(report.methodology.inputs) == 3
    assert len(report.methodology.tiers) == 1


# ---------------------------------------------------------------- tierlang check


def test_cli_check_prints_a_one_line_summary_for_a_clean_file():
    path = path_of("dependency_order")
    result = CliRunner().invoke(main, ["check", path])
    assert result.exit_code == 0
    assert result.stdout == f"{path}: ok: 3 inputs, 0 params, 6 definitions, 1 tier, 0 tests\n"
    assert result.stderr == ""


def test_cli_check_counts_in_singular_and_plural():
    path = path_of("extends_base")
    result = CliRunner().invoke(main, ["check", path])
    assert result.exit_code == 0
    assert result.stdout == f"{path}: ok: 2 inputs, 1 param, 2 definitions, 2 tiers, 1 test\n"


def test_cli_check_prints_warnings_then_the_summary_and_exits_0():
    path = path_of("with_warnings")
    result = CliRunner().invoke(main, ["check", path])
    assert result.exit_code == 0
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == f"{path}:5:7: warning: input 'unused_column' is not used by any definition"
    assert lines[-1] == (
        f"{path}: ok: 3 inputs, 0 params, 1 definition, 1 tier, 1 test (4 warnings)"
    )
    assert result.stdout.count(": warning: ") == 4


def test_cli_check_several_files_exits_3_if_any_has_errors():
    clean, broken = path_of("types"), "tests/golden/invalid/cycle_of_two.tier"
    result = CliRunner().invoke(main, ["check", clean, broken])
    assert result.exit_code == 3
    assert result.stdout == f"{clean}: ok: 4 inputs, 5 params, 22 definitions, 0 tiers, 0 tests\n"
    assert result.stderr.endswith(f"\n\n{broken}: 1 error, 0 warnings\n")
    result = CliRunner().invoke(main, ["check", clean, path_of("labels")])
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        f"{clean}: ok: 4 inputs, 5 params, 22 definitions, 0 tiers, 0 tests",
        f"{path_of('labels')}: ok: 6 inputs, 1 param, 12 definitions, 1 tier, 1 test",
    ]


def test_cli_check_of_a_missing_file_is_an_error():
    result = CliRunner().invoke(main, ["check", "tests/golden/valid_checked/no_such.tier"])
    assert result.exit_code == 3
    assert result.stderr == (
        "error: file not found: tests/golden/valid_checked/no_such.tier\n"
        "     = help: check the path (relative to the extending file).\n\n"
        "tests/golden/valid_checked/no_such.tier: 1 error, 0 warnings\n"
    )
