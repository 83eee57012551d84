"""The one traversal of tierlang's trees: syntax nodes (dsl.syntax) and checked-model nodes (dsl.model).

Every node class of both trees derives from `Tree` (expressions from `Expression`), and is a frozen
attrs class. A node's children are the `Tree` values of its fields (a tuple field's items in order),
found by introspecting the class's attrs fields once (cached per class): spans are never children;
types (dsl.types), strings, numbers and diagnostics are not nodes. So no traversal is written per
class:

    children(node)          the direct child nodes, in field order
    walk(node)              node and every node below it, pre-order (as Python's ast.walk, but ordered)
    map_children(node, fn)  node rebuilt with each child c replaced by fn(c) (attrs.evolve); the same
                            object when nothing changed
    transform(node, fn)     bottom-up rewrite: every node below is rebuilt first, then fn(rebuilt node)
    expressions(node)       the outermost expressions a node holds (a statement's expression, a tier's
                            `from`, thresholds, conditions and limits), in field order

`walk` and `transform` are iterative: expressions nest deeply (dsl.parser.MAX_NESTING, and user
functions expanded in place).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import attrs


class Tree:
    """A node of a syntax or checked-model tree (mixin of frozen attrs classes)."""

    __slots__ = ()

    def children(self) -> tuple[Tree, ...]:
        return children(self)

    def expressions(self) -> list[Expression]:
        return expressions(self)

    def map_children(self, fn: Callable[[Tree], Tree]) -> Tree:
        return map_children(self, fn)


class Expression(Tree):
    """An expression node (dsl.syntax.Expr or dsl.model.Expr)."""

    __slots__ = ()


_FIELDS: dict[type, tuple[str, ...]] = {}


def _fields(cls: type) -> tuple[str, ...]:
    """The fields of a node class that may hold child nodes: every attrs field but the spans."""
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in attrs.fields(cls) if not f.name.endswith("span"))
    return names


def children(node) -> tuple[Tree, ...]:
    """The direct child nodes of `node`, in field order (a tuple field's items in order)."""
    out: list[Tree] = []
    for name in _fields(type(node)):
        value = getattr(node, name)
        if isinstance(value, Tree):
            out.append(value)
        elif isinstance(value, tuple):
            out.extend(v for v in value if isinstance(v, Tree))
    return tuple(out)


def walk(node) -> Iterator[Tree]:
    """`node` and every node below it, pre-order, children in field order."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))


def map_children(node: Tree, fn: Callable[[Tree], Tree]) -> Tree:
    """`node` with every child c replaced by fn(c); `node` itself when fn changed nothing."""
    changes = {}
    for name in _fields(type(node)):
        value = getattr(node, name)
        if isinstance(value, Tree):
            new = fn(value)
            if new is not value:
                changes[name] = new
        elif isinstance(value, tuple):
            new = tuple(fn(v) if isinstance(v, Tree) else v for v in value)
            if any(a is not b for a, b in zip(new, value)):
                changes[name] = new
    return attrs.evolve(node, **changes) if changes else node


def transform(node: Tree, fn: Callable[[Tree], Tree]) -> Tree:
    """Bottom-up rewrite: each node below `node` is rebuilt with its children already rewritten,
    then replaced by fn(rebuilt), children before parents, left to right; the result for `node`
    itself. Unchanged parts stay the same objects (fn returning its argument changes nothing)."""
    done: dict[int, Tree] = {}
    stack: list[tuple[Tree, bool]] = [(node, False)]
    while stack:
        current, expanded = stack.pop()
        if id(current) in done:
            continue
        if not expanded:
            stack.append((current, True))
            stack.extend((c, False) for c in reversed(children(current)) if id(c) not in done)
        else:
            done[id(current)] = fn(map_children(current, lambda c: done[id(c)]))
    return done[id(node)]


def expressions(node: Tree) -> list[Expression]:
    """The outermost expressions below `node` (not `node` itself), in field order: nothing inside
    an expression is listed, and the walk goes through the other nodes (a tier's rules, limits...)."""
    out: list[Expression] = []
    stack = list(reversed(children(node)))
    while stack:
        current = stack.pop()
        if isinstance(current, Expression):
            out.append(current)
        else:
            stack.extend(reversed(children(current)))
    return out
