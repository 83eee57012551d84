"""Run the tests written inside a methodology (`test "..." { given ...  expect ... }`).

`run_tests(methodology, data_loader=None) -> list[TestOutcome]`, one outcome per TestCase in
written order:
- `given a = v, b = w`: a one-entity inputs table with key "test"; inputs not given are
  missing; a given param overrides the param for that test; a given definition (indicator,
  domain, score, let) takes the given value for every entity, replacing its computation in
  that test (what it depends on is still computed and recorded; what reads it sees the value).
- `given data "path"`: `data_loader(path) -> (inputs_frame, labels)` is called with the path as
  written (the caller resolves it against the methodology's directory); it may also return
  (inputs_frame, labels, members), the members of each lower entity level (interpreter/levels.py).
  With tables of lower levels (`given data service "services.csv"`) it is called as
  `data_loader(path, tables)` (path None if only named tables are given; tables a tuple of
  (level, path)). Without a loader,
  `default_loader(methodology)` is used: interpreter.data reads the file, the path taken
  relative to the methodology file's directory. When loading fails, the test fails with the
  error as its message. Given values alongside a
  data file still apply (params override; inputs replace the column for every entity).
- `expect E`: E is evaluated against the run; it passes when it is true for every entity
  of the level it is evaluated at (dsl/levels.py; missing counts as failure). A failure records the entities where it failed and what was
  actually there: for a comparison `L op R` the value of L (and of R as `expected`), otherwise
  the value of E; for a scalar expectation the actual scalar.

Nothing here raises for a failing methodology: errors while evaluating (a bad param given,
an evaluation error) become failures with a message, so that every test is reported.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
import numpy as np
import pandas as pd

from dsl.levels import expression_level
from dsl.model import DEFINITION_KINDS, INPUT, PARAM, Binary, Const, Expr, Methodology, TestCase
from interpreter import numeric
from interpreter.evaluate import evaluate, evaluate_value
from interpreter.trace import RunResult
from interpreter.values import plain_values

TEST_KEY = "test"

DataLoader = Callable[[str], tuple[pd.DataFrame, "pd.Series | None"]]


@attrs.frozen
class ExpectFailure:
    __test__ = False

    expect: str  # the expectation as written
    keys: tuple[str, ...] = ()  # entities for which it did not hold (all of them if scalar)
    actual: tuple = ()  # per failing entity: the value of the left side (or of the expect)
    expected: tuple = ()  # per failing entity: the value of the right side of a comparison
    scalar: object = None  # for a scalar expectation: the actual value of its left side
    is_scalar: bool = False
    message: str | None = None  # an error that prevented checking

    def describe(self) -> str:
        if self.message:
            return f"{self.expect}: {self.message}"
        if self.is_scalar:
            return f"{self.expect}: actual {_show(self.scalar)}"
        shown = ", ".join(f"{k}: {_show(a)}" for k, a in list(zip(self.keys, self.actual))[:10])
        more = f" (and {len(self.keys) - 10} more)" if len(self.keys) > 10 else ""
        return f"{self.expect}: failed for {len(self.keys)} entit{'y' if len(self.keys) == 1 else 'ies'}: {shown}{more}"


@attrs.frozen
class TestOutcome:
    __test__ = False

    name: str
    passed: bool
    failures: tuple[ExpectFailure, ...]
    result: RunResult | None  # the run the expectations were checked against (for explain)
    case: TestCase | None = attrs.field(default=None, eq=False, repr=False)


def _show(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "missing"
    return repr(value)


def run_tests(methodology: Methodology, data_loader: DataLoader | None = None) -> list[TestOutcome]:
    if data_loader is None:
        data_loader = default_loader(methodology)
    return [run_test(methodology, case, data_loader) for case in methodology.tests]


def default_loader(methodology: Methodology) -> DataLoader:
    """Loads `given data` files with interpreter.data, relative to the methodology's folder and
    only inside its root folder (dsl.paths: checked again here, when the file is read)."""
    from dsl.paths import PathRefused, methodology_root, resolve_reference

    referrer = methodology.path if methodology.path else "<string>"
    root = methodology_root(referrer)

    def load(path: str | None, tables: tuple[tuple[str, str], ...] = ()):
        from interpreter.data import prepare_inputs, read_dataset
        from interpreter.errors import UNREADABLE, DataError, DataProblem

        def read(written: str):
            try:
                target = resolve_reference(referrer, written, root)
            except PathRefused as refused:
                raise DataError([DataProblem(refused.message, hint=refused.hint, code=UNREADABLE)],
                                written) from None
            return read_dataset(target)

        main = read(path) if path is not None else None
        prepared = prepare_inputs(methodology, main, {level: read(p) for level, p in tables})
        return prepared.frame, prepared.labels, prepared.members

    return load


def run_test(methodology: Methodology, case: TestCase, data_loader: DataLoader | None = None) -> TestOutcome:
    texts = _expect_texts(case)
    try:
        inputs, labels, params, members = _test_inputs(methodology, case, data_loader)
        result = evaluate(_with_given_definitions(methodology, case), inputs, params=params, labels=labels,
                          members=members)
    except Exception as error:  # noqa: BLE001 - reported as the test's failure
        failure = ExpectFailure("given", message=f"{type(error).__name__}: {error}")
        return TestOutcome(case.name, False, (failure,), None, case)
    failures = []
    for expr, text in zip(case.expects, texts):
        failure = check_expect(result, expr, text)
        if failure is not None:
            failures.append(failure)
    return TestOutcome(case.name, not failures, tuple(failures), result, case)


def check_expect(result: RunResult, expr: Expr, text: str) -> ExpectFailure | None:
    """None if `expr` holds for every entity of `result`, else what failed."""
    try:
        level = expression_level(result.methodology, expr)
        value = evaluate_value(result, expr, level)
    except Exception as error:  # noqa: BLE001
        return ExpectFailure(text, message=f"{type(error).__name__}: {error}")
    entity_keys = result.members[level].keys if level is not None else result.keys
    if value.is_list:
        return ExpectFailure(text, message="the expectation gives a list, not a boolean")
    holds = value.present & (value.data == 1.0)
    if holds.all():
        return None
    failed = ~holds
    keys = tuple(str(k) for k in entity_keys[failed])
    if isinstance(expr, Binary) and expr.op in numeric.COMPARISONS:
        left = plain_values(evaluate_value(result, expr.left, level))
        right = plain_values(evaluate_value(result, expr.right, level))
    else:
        left = plain_values(value)
        right = np.full(len(entity_keys), None, dtype=object)
    if expr.type.scalar:
        scalar = left[0] if len(left) else None
        return ExpectFailure(text, keys, tuple(left[failed]), tuple(right[failed]), scalar=scalar,
                             is_scalar=True)
    return ExpectFailure(text, keys, tuple(left[failed]), tuple(right[failed]))


def _expect_texts(case: TestCase) -> list[str]:
    texts = list(case.expect_texts)
    return [texts[i] if i < len(texts) and texts[i] else f"expect #{i + 1}" for i in range(len(case.expects))]


def _given_value(methodology: Methodology, name: str, expr: Expr):
    """The plain value of a given (a literal or a label; any expression without data works)."""
    one = pd.Index([TEST_KEY])
    bare = RunResult(methodology, one, None, {p.name: p.value for p in methodology.params}, {})
    return plain_values(evaluate_value(bare, expr))[0], methodology.node(name)


def _test_inputs(methodology: Methodology, case: TestCase, data_loader: DataLoader | None):
    params: dict = {}
    given_inputs: dict[str, object] = {}
    for given in case.givens:
        plain, node = _given_value(methodology, given.name, given.value)
        if node.kind == PARAM:
            params[given.name] = plain
        elif node.kind == INPUT:
            given_inputs[given.name] = plain
        elif node.kind not in DEFINITION_KINDS:
            raise ValueError(f"`given {given.name}`: only inputs, params and definitions can be given")
    labels, members = None, None
    if case.data_path is not None or case.tables:
        if data_loader is None:
            raise ValueError(f"test needs data {case.data_path!r} but no data loader was given")
        loaded = data_loader(case.data_path, case.tables) if case.tables else data_loader(case.data_path)
        inputs, labels = loaded[0], loaded[1]
        members = loaded[2] if len(loaded) > 2 else None
        inputs = inputs.copy()
    else:
        inputs = pd.DataFrame(index=pd.Index([TEST_KEY]))
    for node in methodology.inputs:
        if node.level is not None:
            continue
        if node.name in given_inputs:
            inputs[node.name] = _column(node, given_inputs[node.name], inputs.index)
        elif node.name not in inputs.columns:
            inputs[node.name] = _column(node, None, inputs.index)
    return inputs, labels, params, members


def _with_given_definitions(methodology: Methodology, case: TestCase) -> Methodology:
    """The methodology with each given definition's expression replaced by its given value."""
    given = {g.name: g.value for g in case.givens if methodology.node(g.name).kind in DEFINITION_KINDS}
    if not given:
        return methodology
    nodes = []
    for node in methodology.nodes:
        if node.name in given:
            value = given[node.name]
            expr = attrs.evolve(value, type=node.type) if isinstance(value, Const) else value
            node = attrs.evolve(node, expr=expr, deps=())
        nodes.append(node)
    return attrs.evolve(methodology, nodes=tuple(nodes))


def _column(node, value, index: pd.Index) -> pd.Series:
    """A typed input column (trace.py representation) holding `value` for every entity."""
    base = node.type.base
    n = len(index)
    if base == "number":
        return pd.Series(np.full(n, np.nan if value is None else float(value)), index=index, dtype="float64")
    if base == "boolean":
        return pd.Series(pd.array([value] * n if value is not None else [pd.NA] * n, dtype="boolean"), index=index)
    if base == "level":
        cat = pd.Categorical([value] * n, categories=list(node.type.level.labels), ordered=True)
        return pd.Series(cat, index=index)
    return pd.Series([value] * n, index=index, dtype=object)
