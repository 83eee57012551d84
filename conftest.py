"""Lets pytest collect the `test` blocks of methodologies/*.tier as test items."""

from __future__ import annotations

from pathlib import Path

import pytest

METHODOLOGIES = Path(__file__).resolve().parent / "methodologies"


def pytest_collect_file(parent, file_path: Path):
    if file_path.suffix == ".tier" and file_path.resolve().parent == METHODOLOGIES:
        return TierFile.from_parent(parent, path=file_path)
    return None


class TierFile(pytest.File):
    def collect(self):
        import dsl

        methodology = dsl.load(self.path)
        for case in methodology.tests:
            yield TierTestItem.from_parent(self, name=case.name, methodology=methodology)


class TierTestItem(pytest.Item):
    def __init__(self, *, methodology, **kwargs):
        super().__init__(**kwargs)
        self.methodology = methodology

    def runtest(self):
        from tierlang.testing import run_methodology

        (outcome,) = run_methodology(self.methodology, only=self.name)
        if not outcome.passed:
            raise TierTestFailure(outcome)

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, TierTestFailure):
            return "\n".join(excinfo.value.outcome.details)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"{self.path.name}: {self.name}"


class TierTestFailure(Exception):
    def __init__(self, outcome):
        super().__init__(outcome.name)
        self.outcome = outcome
