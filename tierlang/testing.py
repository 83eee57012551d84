"""`tierlang test` and pytest collection: run a methodology's `test` blocks and, for every
failing expectation, show expected vs actual and the explanation of the entity involved."""

from __future__ import annotations

import attrs

import dsl
from dsl.model import Methodology
from interpreter import run_tests
from interpreter.testing import TestOutcome

MAX_EXPLAINED = 3  # entities explained per failing expectation


@attrs.frozen
class FileTestOutcome:
    file: str
    name: str
    passed: bool
    details: tuple[str, ...]  # what failed, with explanations


def run_file(path: str) -> list[FileTestOutcome]:
    return run_methodology(dsl.load(path), file=path)


def run_methodology(methodology: Methodology, only: str | None = None, file: str | None = None):
    file = file or methodology.path
    outcomes = []
    for outcome in run_tests(methodology):
        if only is not None and outcome.name != only:
            continue
        outcomes.append(FileTestOutcome(file, outcome.name, outcome.passed,
                                        () if outcome.passed else tuple(_details(outcome))))
    return outcomes


def _details(outcome: TestOutcome) -> list[str]:
    details = []
    for failure in outcome.failures:
        details.append(failure.describe())
        if outcome.result is None or failure.is_scalar or failure.message:
            continue
        for key in failure.keys[:MAX_EXPLAINED]:
            details.append(f"why {key} has these values:\n{_explain(outcome.result, key)}")
    return details


def _explain(result, key: str) -> str:
    """Explain one entity of an unrecorded test run, through a throwaway in-memory store."""
    from audit import open_store
    from audit.explain import explain
    from tierlang.render.explain import render_text

    store = open_store(":memory:")
    try:
        run_id = store.record(result, dataset=None, tool_version="test")
        return render_text(explain(store, key, run_id)).rstrip("\n")
    finally:
        store.close()
