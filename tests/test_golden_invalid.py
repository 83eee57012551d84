"""The invalid corpus: every file under tests/golden/invalid/ is checked, and the diagnostics
(rendered as `tierlang check` prints them) must equal the file's `.expected` text exactly.

Each `.tier` file is small and exercises one mistake (files named `warning_*` are valid and
exercise one warning; `ten_mistakes.tier` holds ten independent mistakes). Paths are given
relative to the repository root, as a user running `tierlang check tests/golden/invalid/X.tier`
from the root would, so the expected text is stable.

To regenerate the expected files after a deliberate change to a message, run
    TIERLANG_REGENERATE=1 .venv/bin/pytest tests/test_golden_invalid.py
and review the diff of every `.expected` file before committing it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from dsl import TierError, check_file, load
from dsl.errors import render_all
from tierlang.cli import main

ROOT = Path(__file__).resolve().parents[1]
INVALID = Path("tests/golden/invalid")  # relative to ROOT: the paths diagnostics show
REGENERATE = os.environ.get("TIERLANG_REGENERATE") == "1"
CORPUS = sorted(p.stem for p in (ROOT / INVALID).glob("*.tier"))

# The codes of every diagnostic each file gives, in the order they are reported.
CODES: dict[str, tuple[str, ...]] = {
    "ambiguous_label": ("ambiguous-label",),
    "level_bad_over_function": ("bad-over", "wrong-arity"),
    "level_cycle": ("entity-cycle",),
    "level_declared_twice": ("duplicate-entity",),
    "level_given_lower": ("given-lower-level",),
    "level_mix": ("level-mix",),
    "level_over_not_below": ("over-not-below",),
    "level_over_without_levels": ("unknown-level",),
    "level_parent_conflict": ("entity-parent-conflict",),
    "level_per_scalar": ("per-scalar",),
    "level_read_below": ("level-mismatch",),
    "level_same_key": ("entity-same-key",),
    "level_several_tops": ("entity-several-tops",),
    "level_unknown_over": ("unknown-level",),
    "level_unknown_per": ("unknown-level",),
    "arithmetic_on_level": ("type-error",),
    "arithmetic_on_text": ("type-error",),
    "bad_constant_arguments": ("bad-constant",) * 6,
    "bad_effective_date": ("bad-date",),
    "bad_option_for_function": ("bad-option",),
    "band_otherwise_not_last": ("band-order",),
    "band_out_of_order": ("band-order",),
    "compare_number_with_text": ("type-error",),
    "cycle_of_three": ("cycle",),
    "cycle_of_two": ("cycle",),
    "duplicate_definition": ("duplicate-name",),
    "duplicate_function_parameter": ("duplicate-parameter",),
    "function_let_before_definition": ("let-before-definition", "let-before-definition"),
    "function_let_duplicate": ("duplicate-let",),
    "function_let_shadows": ("let-shadows-parameter", "shadows-builtin"),
    "syntax_function_result_continues_let": ("syntax",),
    "syntax_let_outside_function": ("let-outside-function",) * 3,
    "warning_function_let_unused": ("unused-let",),
    "duplicate_given": ("duplicate-given",),
    "duplicate_header_line": ("duplicate-header",),
    "duplicate_label_in_level_type": ("duplicate-label",),
    "duplicate_map_key": ("duplicate-key",),
    "duplicate_option": ("duplicate-option",),
    "duplicate_test_name": ("duplicate-test",),
    "empty_list": ("empty-list",),
    "empty_range": ("bad-range",),
    "entity_without_key": ("missing-key",),
    "extends_cycle": ("extends-cycle",),
    "extends_not_found": ("unreadable-file",),
    "function_shadows_builtin": ("shadows-builtin",),
    "function_used_as_value": ("function-as-value",),
    "given_a_tier": ("given-not-input",),
    "given_not_literal": ("given-not-literal",),
    "given_wrong_type": ("type-mismatch",),
    "if_branches_differ": ("type-error",),
    "if_condition_not_boolean": ("type-error",),
    "limit_on_non_tier": ("limit-not-tier",),
    "limit_unknown_tier": ("unknown-tier",),
    "list_of_mixed_types": ("type-error",),
    "missing_entity": ("missing-header",),
    "missing_methodology_header": ("missing-header",),
    "missing_weight": ("missing-weight",),
    "non_constant_argument": ("not-constant",),
    "not_on_number": ("type-error",),
    "order_text_with_less_than": ("type-error",),
    "override_different_kind": ("override-kind",),
    "param_outside_range": ("param-out-of-range",),
    "population_function_of_scalar": ("type-error",),
    "range_on_text_input": ("range-not-number",),
    "recursive_function": ("recursive-function",),
    "require_more_than_components": ("require-too-many",),
    "self_reference": ("cycle",),
    "syntax_incomplete_statement": ("syntax",),
    "syntax_missing_closing_brace": ("syntax",),
    "syntax_require_not_whole": ("bad-require",),
    "syntax_several_errors": ("syntax", "syntax", "syntax"),
    "syntax_unexpected_character": ("syntax",),
    "syntax_unexpected_token": ("syntax",),
    "syntax_unterminated_string": ("syntax",),
    "ten_mistakes": (
        "param-out-of-range",
        "unknown-name",
        "unknown-function",
        "type-error",
        "wrong-arity",
        "unknown-label",
        "weights-sum",
        "bad-option",
        "unreachable-rule",
        "unknown-tier",
    ),
    "test_data_and_values": ("test-data-and-values",),
    "test_data_not_found": ("test-data-missing",),
    "test_two_data_files": ("test-two-datasets",),
    "tier_from_level": ("tier-from-type",),
    "tier_missing_twice": ("duplicate-missing",),
    "tier_rule_after_otherwise": ("unreachable-rule",),
    "tier_threshold_without_from": ("tier-needs-from", "tier-needs-from"),
    "tier_top_150_percent": ("bad-rank-cut",),
    "tier_top_zero": ("bad-rank-cut",),
    "tier_typed_with_number": ("tier-type",),
    "tier_unreachable_threshold": ("unreachable-rule",),
    "tier_unreachable_top": ("unreachable-rule",),
    "type_and_input_same_name": ("duplicate-name",),
    "unknown_function_did_you_mean": ("unknown-function",),
    "unknown_label_in_comparison": ("unknown-label",),
    "unknown_label_in_given": ("unknown-label",),
    "unknown_label_in_limit": ("unknown-label",),
    "unknown_label_in_map_key": ("unknown-label",),
    "unknown_label_in_typed_tier": ("unknown-label",),
    "unknown_name_did_you_mean": ("unknown-name",),
    "unknown_name_no_suggestion": ("unknown-name",),
    "unknown_type_did_you_mean": ("unknown-type",),
    "warning_map_not_exhaustive": ("map-not-exhaustive",),
    "warning_test_no_expect": ("test-no-expect",),
    "warning_tier_without_otherwise": ("tier-no-otherwise",),
    "warning_unused_input": ("unused-input",),
    "weight_not_a_number": ("bad-weight",),
    "weighted_mean_without_weights": ("missing-weight",),
    "weights_not_100_percent": ("weights-sum",),
    "weights_on_min": ("bad-argument",),
    "within_a_param": ("bad-group",),
    "within_a_scalar": ("bad-group",),
    "within_unknown_in_tier": ("bad-group",),
    "bad_quantile_method": ("bad-method", "bad-method", "bad-option"),
    "kmeans_bad_arguments": ("bad-constant", "bad-constant", "not-constant"),
    "statistics_bad_arguments": ("bad-constant", "bad-constant", "bad-option", "wrong-arity"),
    "optional_required": ("optional-required",),
    "library_not_a_folder": ("bad-library",),
    "table_incomplete": ("table-incomplete",),
    "measures_duplicate": ("duplicate-measure",),
    "measures_empty_group": ("measure-group-empty",),
    "measures_incomplete": ("measure-incomplete", "duplicate-option"),
    "measures_unknown_input": ("unknown-name", "unknown-function"),
    "measures_unknown_table": ("unknown-measures",),
    "measures_weights_sum": ("weights-sum",),
    "table_bad_rows": ("table-duplicate-row", "table-key", "table-row", "table-key", "table-domain"),
    "library_base_not_found": ("unreadable-file",),
    "not_rated_is_a_label": ("not-rated-is-label",),
    "wrong_arity_builtin": ("wrong-arity",),
    "wrong_arity_user_function": ("wrong-arity",),
}


@pytest.fixture(autouse=True)
def _at_repository_root(monkeypatch):
    monkeypatch.chdir(ROOT)


def tier_path(name: str) -> str:
    return (INVALID / f"{name}.tier").as_posix()


def expected_path(name: str) -> Path:
    return ROOT / INVALID / f"{name}.expected"


def rendered(report) -> str:
    return render_all(report.diagnostics, report.sources) + "\n"


def is_warning_file(name: str) -> bool:
    return name.startswith("warning_")


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


# ---------------------------------------------------------------- the corpus as a whole


def test_corpus_is_large_and_covers_many_error_codes():
    assert len(CORPUS) >= 45
    error_codes = {
        d.code for name in CORPUS for d in check_file(tier_path(name)).diagnostics if d.is_error
    }
    assert len(error_codes) >= 40, sorted(error_codes)


def test_every_file_has_expected_text_and_codes():
    expected_files = sorted(p.stem for p in (ROOT / INVALID).glob("*.expected"))
    if not REGENERATE:
        assert expected_files == CORPUS
    assert sorted(CODES) == CORPUS


def test_ten_mistakes_give_ten_located_errors_of_different_kinds():
    report = check_file(tier_path("ten_mistakes"))
    errors = report.errors
    assert len(errors) == 10
    assert len({d.code for d in errors}) == 10
    assert len({d.span.line for d in errors}) == 10
    assert all(d.span.file == tier_path("ten_mistakes") for d in errors)
    assert report.warnings == []


# ---------------------------------------------------------------- file by file


@pytest.mark.parametrize("name", CORPUS)
def test_diagnostics_match_expected_text(name):
    report = check_file(tier_path(name))
    text = rendered(report)
    if REGENERATE:
        expected_path(name).write_text(text, encoding="utf-8")
    assert text == expected_path(name).read_text(encoding="utf-8")
    assert tuple(d.code for d in report.diagnostics) == CODES[name]
    assert all(d.span is not None for d in report.diagnostics)
    if is_warning_file(name):
        assert report.errors == []
        assert report.methodology is not None
        assert report.methodology.warnings == report.diagnostics
    else:
        assert len(report.errors) >= 1
        assert report.methodology is None


@pytest.mark.parametrize("name", CORPUS)
def test_load_raises_with_the_same_text(name):
    if is_warning_file(name):
        assert load(tier_path(name)).warnings == check_file(tier_path(name)).diagnostics
        return
    with pytest.raises(TierError) as raised:
        load(tier_path(name))
    assert str(raised.value) + "\n" == expected_path(name).read_text(encoding="utf-8")


@pytest.mark.parametrize("name", CORPUS)
def test_cli_check_prints_the_same_diagnostics(name):
    path = tier_path(name)
    report = check_file(path)
    expected = expected_path(name).read_text(encoding="utf-8")
    result = CliRunner().invoke(main, ["check", path])
    if is_warning_file(name):
        assert result.exit_code == 0
        assert result.stderr == ""
        assert result.stdout.startswith(expected + "\n")
        summary = result.stdout[len(expected) + 1 :]
        assert summary.startswith(f"{path}: ok: ")
        assert summary.endswith(f" ({_count(len(report.warnings), 'warning')})\n")
    else:
        assert result.exit_code == 3  # the methodology stage
        assert result.stdout == ""
        assert result.stderr == (
            f"{expected}\n{path}: {_count(len(report.errors), 'error')}, "
            f"{_count(len(report.warnings), 'warning')}\n"
        )


# ---------------------------------------------------------------- JSON output


def test_cli_check_json_output_is_exact():
    path = tier_path("unknown_name_did_you_mean")
    result = CliRunner().invoke(main, ["check", "--format", "json", path])
    assert result.exit_code == 3
    assert json.loads(result.stdout) == [
        {
            "file": path,
            "ok": False,
            "errors": 1,
            "warnings": 0,
            "diagnostics": [
                {
                    "severity": "error",
                    "code": "unknown-name",
                    "message": "unknown name 'ae_4h'",
                    "file": path,
                    "line": 5,
                    "column": 22,
                    "end_line": 5,
                    "end_column": 27,
                    "hint": "did you mean 'ae_4hr'?",
                    "notes": [],
                }
            ],
        }
    ]


def test_cli_check_json_output_for_a_file_with_a_warning():
    path = tier_path("warning_unused_input")
    result = CliRunner().invoke(main, ["check", "--format", "json", path])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == [
        {
            "file": path,
            "ok": True,
            "errors": 0,
            "warnings": 1,
            "diagnostics": [
                {
                    "severity": "warning",
                    "code": "unused-input",
                    "message": "input 'rtt' is not used by any definition",
                    "file": path,
                    "line": 5,
                    "column": 7,
                    "end_line": 5,
                    "end_column": 10,
                    "hint": "use it, or delete it so the data need not provide it.",
                    "notes": [],
                }
            ],
            "summary": {
                "name": "Warning: unused input",
                "version": None,
                "inputs": 2,
                "params": 0,
                "definitions": 1,
                "tiers": 0,
                "tests": 0,
            },
        }
    ]
