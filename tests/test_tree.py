"""The one traversal of syntax and checked-model trees (dsl/tree.py): children, walk, map_children,
transform and expressions, checked against an independent enumeration of the attrs fields, on
every methodology and golden file, and on generated expressions (hypothesis)."""

from pathlib import Path

import attrs
import pytest
from hypothesis import given, settings

import dsl
from dsl import model as M
from dsl import syntax as S
from dsl import tree
from dsl.parser import parse
from tests.test_formatter import EXPRESSIONS

ROOT = Path(__file__).resolve().parent.parent
METHODOLOGIES = sorted((ROOT / "methodologies").glob("*.tier"))
VALID = sorted((ROOT / "tests" / "golden" / "valid").glob("*.tier"))


def _oracle(node) -> list:
    """Every node below and including `node`, pre-order, by reading the attrs fields directly
    (recursively: the trees here are shallow)."""
    out = [node]
    for field in attrs.fields(type(node)):
        if field.name.endswith("span"):
            continue
        value = getattr(node, field.name)
        for v in value if isinstance(value, tuple) else (value,):
            if attrs.has(type(v)) and type(v).__module__ in ("dsl.syntax", "dsl.model"):
                out.extend(_oracle(v))
    return out


def _syntax_trees():
    for path in METHODOLOGIES + VALID:
        yield path.name, parse(path.read_text(encoding="utf-8"), str(path))


def _checked():
    for path in METHODOLOGIES:
        yield path.name, dsl.load(path)


@pytest.mark.parametrize("name,module", list(_syntax_trees()), ids=lambda v: v if isinstance(v, str) else "")
def test_walk_visits_every_syntax_node_once_in_pre_order(name, module):
    assert [id(n) for n in tree.walk(module)] == [id(n) for n in _oracle(module)]


def test_walk_visits_every_checked_node():
    for _, methodology in _checked():
        assert [id(n) for n in tree.walk(methodology)] == [id(n) for n in _oracle(methodology)]


def test_every_node_class_is_a_tree_and_the_expressions_are_the_expr_unions():
    for module in (S, M):
        classes = [v for v in vars(module).values() if isinstance(v, type) and attrs.has(v)
                   and v.__module__ == module.__name__]
        assert classes and all(issubclass(c, tree.Tree) for c in classes)
        expressions = {c for c in classes if issubclass(c, tree.Expression)}
        assert expressions == set(module.Expr.__args__)


def test_children_are_nodes_only_never_spans_types_or_text():
    methodology = dsl.load(METHODOLOGIES[0])
    for node in tree.walk(methodology):
        for child in tree.children(node):
            assert isinstance(child, tree.Tree)
    label = next(n for n in tree.walk(methodology) if isinstance(n, (M.LabelConst, M.Ref)))
    assert tree.children(label) == ()  # its type (and a label's level type) is no child


def test_map_and_transform_with_identity_give_the_same_tree():
    for _, module in _syntax_trees():
        assert tree.transform(module, lambda n: n) is module
        assert tree.map_children(module, lambda n: n) is module
    for _, methodology in _checked():
        assert tree.transform(methodology, lambda n: n) is methodology


def test_transform_rebuilding_every_node_gives_an_equal_tree_of_new_objects():
    for _, methodology in _checked():
        copied = tree.transform(methodology, lambda n: attrs.evolve(n))
        assert copied == methodology
        assert all(a is not b for a, b in zip(tree.walk(copied), tree.walk(methodology)))


def test_transform_rewrites_bottom_up_and_keeps_what_it_did_not_touch():
    expr = S.Binary("+", S.Name("a"), S.Binary("*", S.Name("b"), S.Number(2.0, "2")))
    renamed = tree.transform(expr, lambda n: S.Name(n.name.upper()) if isinstance(n, S.Name) else n)
    assert renamed == S.Binary("+", S.Name("A"), S.Binary("*", S.Name("B"), S.Number(2.0, "2")))
    assert renamed.right.right is expr.right.right
    seen = []
    tree.transform(expr, lambda n: seen.append(type(n).__name__) or n)
    assert seen == ["Name", "Name", "Number", "Binary", "Binary"]  # children before their parent


@settings(max_examples=200, deadline=None)
@given(EXPRESSIONS)
def test_generated_expressions(expr):
    assert [id(n) for n in tree.walk(expr)] == [id(n) for n in _oracle(expr)]
    assert tree.transform(expr, lambda n: n) is expr
    assert tree.transform(expr, lambda n: attrs.evolve(n)) == expr
    statement = S.Definition("let", "x", expr)
    assert tree.expressions(statement) == [expr]


def test_walk_and_transform_go_deeper_than_the_recursion_limit():
    expr = S.Name("x")
    for _ in range(5000):
        expr = S.Unary("-", expr)
    assert sum(1 for _ in tree.walk(expr)) == 5001
    assert tree.transform(expr, lambda n: n) is expr
    renamed = tree.transform(expr, lambda n: S.Name("y") if isinstance(n, S.Name) else n)
    assert [n.name for n in tree.walk(renamed) if isinstance(n, S.Name)] == ["y"]


def test_a_nodes_expressions_are_its_definition_or_its_tiers_from_rules_and_limits():
    methodology = dsl.load(ROOT / "methodologies" / "stp_dashboard_2017.tier")
    for node in methodology.nodes:
        expected = [node.expr] if node.expr is not None else []
        if node.tier is not None:
            spec = node.tier
            expected += [spec.source] if spec.source is not None else []
            for rule in spec.rules:
                if isinstance(rule.condition, M.ThresholdRule):
                    expected.append(rule.condition.value)
                elif isinstance(rule.condition, M.ConditionRule):
                    expected.append(rule.condition.condition)
            expected += [limit.condition for limit in spec.limits]
        assert node.expressions() == expected
    assert any(node.tier is not None and node.tier.limits for node in methodology.nodes)


def test_a_statements_expressions_are_the_outermost_ones():
    tier, limit = parse('tier t from s { good: >= 2\n bad: otherwise }\nlimit t to at most bad when x < 1\n').statements
    assert tier.expressions() == [tier.rules[0].condition.value, tier.source]  # in field order
    assert limit.expressions() == [limit.condition]
