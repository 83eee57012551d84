"""Entity levels: which level each node is evaluated at, checked before any data is read.

A methodology rates the entities of its top level (`entity trust`); it may also declare
lower levels, each lying within another (`entity location within trust`, `entity service
within location`, or the chain `entity service within location within trust`). Every input
belongs to one level (`per service`; the top level if not said); every definition and tier
is evaluated per entity of one level, said with `per LEVEL` or inferred:

- a reference to a node of level A, read in an expression evaluated at level L, is allowed
  when A is L or a level L lies within (each service reads its trust's value: broadcast down);
- `F(x) over services` evaluates x per service and aggregates it to each entity of the level
  the call is evaluated at, which must be a level the services lie within (aggregate up);
- a definition without `per` is evaluated at the deepest level its references (outside
  `over` arguments) need; with none, at the level just above the first `over` level; with
  neither, at the top level (or it is a scalar).

Scalars (params, constants, population statistics) are read at any level.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import attrs

from dsl import model as M
from dsl.errors import Span, did_you_mean
from dsl.tree import children


@attrs.frozen
class LevelDecl:
    """One `entity` line as written (the first line of the header, or a further one)."""

    name: str
    within: tuple[str, ...]
    key: str | None
    label: str | None
    span: Span | None


Report = Callable[..., None]  # error(code, message, span, hint)


# ---------------------------------------------------------------- the levels themselves


def build_levels(decls: list[LevelDecl], error: Report, fallback: Span | None) -> tuple[M.EntityLevel, ...] | None:
    """The levels declared by the header's entity lines, the top level first and each level
    after its parent (in the order the lines name them); None if they are inconsistent."""
    parent: dict[str, str | None] = {}
    keys: dict[str, str | None] = {}
    labels: dict[str, str | None] = {}
    spans: dict[str, Span | None] = {}
    own_line: set[str] = set()
    ok = True
    for decl in decls:
        span = decl.span or fallback
        if decl.name in own_line:
            error("duplicate-entity", f"entity level '{decl.name}' is declared twice", span,
                  "keep one `entity` line for each level.")
            ok = False
            continue
        own_line.add(decl.name)
        keys[decl.name], labels[decl.name] = decl.key, decl.label
        chain = (decl.name, *decl.within)
        for child, above in zip(chain, (*decl.within, None)):
            spans.setdefault(child, span)
            if child in parent and above is not None and parent[child] not in (None, above):
                error("entity-parent-conflict", f"entity level '{child}' is said to lie within both "
                      f"'{parent[child]}' and '{above}'", span, "a level lies within one level only.")
                ok = False
            elif above is not None or child not in parent:
                parent[child] = above if above is not None else parent.get(child)
    if not ok:
        return None
    for name in parent:
        seen = [name]
        up = parent[name]
        while up is not None:
            if up in seen:
                error("entity-cycle", f"entity levels lie within each other in a cycle: "
                      f"{' within '.join(seen + [up])}", spans[name], "one level must be the top level.")
                return None
            seen.append(up)
            up = parent.get(up)
    tops = [name for name, up in parent.items() if up is None]
    if len(tops) > 1:
        error("entity-several-tops", f"entity levels {_names(tops)} lie within no other level: a methodology "
              "rates one top level", spans[tops[1]],
              f"say what '{tops[1]}' lies within, e.g. `entity {tops[1]} within {tops[0]}`.")
        return None
    several = len(parent) > 1
    for name in parent:
        if keys.get(name) is None and several:
            keys[name] = name  # a level named only in a chain, or without `key`: its key column is its name
    by_key: dict[str, str] = {}
    for name in parent:
        key = keys.get(name)
        if key is not None and key in by_key:
            error("entity-same-key", f"levels '{by_key[key]}' and '{name}' both use the key column '{key}'",
                  spans[name], "each level needs its own key column.")
            ok = False
        elif key is not None:
            by_key[key] = name
    if not ok:
        return None
    ordered: list[str] = list(tops)
    for name in ordered:
        ordered.extend(child for child, up in parent.items() if up == name)
    return tuple(M.EntityLevel(name, keys.get(name), labels.get(name), parent[name], span=spans.get(name))
                 for name in ordered)


def _names(names: Iterable[str]) -> str:
    quoted = [f"'{n}'" for n in names]
    return ", ".join(quoted[:-1]) + " and " + quoted[-1] if len(quoted) > 1 else quoted[0]


class Levels:
    """The declared levels, with the questions the checker and interpreter ask of them."""

    def __init__(self, levels: tuple[M.EntityLevel, ...]):
        self.levels = levels
        self.parent = {lv.name: lv.parent for lv in levels}
        self.top = levels[0].name if levels else None

    def ancestors(self, name: str) -> tuple[str, ...]:
        out = []
        up = self.parent.get(name)
        while up is not None:
            out.append(up)
            up = self.parent.get(up)
        return tuple(out)

    def within(self, lower: str, upper: str) -> bool:
        """`lower` is `upper` or lies within it."""
        return lower == upper or upper in self.ancestors(lower)

    def find(self, written: str) -> str | None:
        """The level a name refers to: its name, or its plural (`services`, `classes`)."""
        if written in self.parent:
            return written
        for name in self.parent:
            if written in (name + "s", name + "es") or (name.endswith("y") and written == name[:-1] + "ies"):
                return name
        return None

    def unknown_hint(self, written: str, otherwise: str | None = None) -> str:
        """The help line for a level name that names no level: did you mean, else `otherwise`
        (by default, the list of levels)."""
        suggestion = did_you_mean(written, [*self.parent, *(n + "s" for n in self.parent)])
        if suggestion:
            return f"did you mean '{suggestion}'?"
        return otherwise or f"the levels are {', '.join(lv.name for lv in self.levels)}."


# ---------------------------------------------------------------- expressions


class _Scan:
    """What an expression needs at the level it is evaluated at."""

    def __init__(self):
        self.refs: list[tuple[str, Span | None, str]] = []  # (level, span, name) of per-entity references
        self.overs: list[tuple[str, Span | None]] = []


def _scan(expr: M.Expr, level_of: dict[str, str | None], scan: _Scan) -> None:
    if isinstance(expr, M.Ref):
        level = level_of.get(expr.name)
        if level is not None:
            scan.refs.append((level, expr.span, expr.name))
        return
    if isinstance(expr, M.Pick):
        return  # the operand is read at the top level; the result is a scalar
    if isinstance(expr, M.Call):
        if expr.within is not None and level_of.get(expr.within) is not None:
            scan.refs.append((level_of[expr.within], expr.span, expr.within))
        if expr.over is not None:
            scan.overs.append((expr.over, expr.span))
            return
    for sub in children(expr):
        _scan(sub, level_of, scan)


def deepest(levels: Levels, needed: list[tuple[str, Span | None, str]]) -> tuple[str | None, tuple | None]:
    """The deepest of the levels needed, if they lie on one chain; else (None, the clashing pair)."""
    best: tuple[str, Span | None, str] | None = None
    for item in needed:
        if best is None or levels.within(item[0], best[0]):
            best = item
        elif not levels.within(best[0], item[0]):
            return None, (best, item)
    return (best[0] if best else None), None


def needed_level(levels: Levels, exprs: list[M.Expr], level_of: dict[str, str | None]) -> tuple[str, tuple | None]:
    """The level a set of expressions is evaluated at when no `per` says (module docstring),
    and the first two references of levels on no common chain (None if there are none)."""
    scan = _Scan()
    for expr in exprs:
        _scan(expr, level_of, scan)
    found, clash = deepest(levels, scan.refs)
    if found is not None:
        return found, None
    if scan.overs:
        return levels.parent.get(scan.overs[0][0]) or levels.top, clash
    return levels.top, clash


def infer_level(levels: Levels, exprs: list[M.Expr], level_of: dict[str, str | None]) -> str:
    """`needed_level` without the clash (left to `check_expression` to report)."""
    return needed_level(levels, exprs, level_of)[0]


def check_expression(levels: Levels, expr: M.Expr, at: str, level_of: dict[str, str | None],
                     error: Report, owner: str) -> None:
    """Report every reference in `expr` that cannot be read at level `at`."""
    if isinstance(expr, M.Ref):
        level = level_of.get(expr.name)
        if level is not None and not levels.within(at, level):
            _read_below(levels, expr.name, level, at, expr.span, error, owner)
        return
    if isinstance(expr, M.Pick):
        check_expression(levels, expr.operand, levels.top, level_of, error, owner)
        return
    if isinstance(expr, M.Call):
        if expr.within is not None:
            level = level_of.get(expr.within)
            if level is not None and not levels.within(at, level):
                _read_below(levels, expr.within, level, at, expr.span, error, owner)
        if expr.over is not None:
            if expr.over == at or at not in levels.ancestors(expr.over):
                inside = "is the level it is evaluated at" if expr.over == at else f"does not lie within '{at}'"
                error("over-not-below", f"`{expr.function}(...) over {expr.over}` in {owner}, evaluated per {at}: "
                      f"'{expr.over}' {inside}", expr.span,
                      f"aggregate over a level that lies within '{at}'"
                      + (f", or say where {owner} is evaluated with `per`." if owner.startswith("'") else "."))
                return
            for sub in children(expr):
                check_expression(levels, sub, expr.over, level_of, error, owner)
            return
    for sub in children(expr):
        check_expression(levels, sub, at, level_of, error, owner)


def _read_below(levels: Levels, name: str, level: str, at: str, span, error: Report, owner: str) -> None:
    if at in levels.ancestors(level):
        hint = f"aggregate it to each {at}, e.g. `mean({name}) over {level}s` or `count(...) over {level}s`."
    else:
        hint = f"'{level}' and '{at}' do not lie within one another; read it where both are within one level."
    error("level-mismatch", f"'{name}' has one value per {level}, but {owner} is evaluated per {at}", span, hint)


def expression_level(methodology: M.Methodology, expr: M.Expr) -> str | None:
    """The level an expression (e.g. a test's `expect`) is evaluated at; None: the top level."""
    if not methodology.is_multilevel:
        return None
    levels = Levels(methodology.levels)
    level_of = {n.name: (n.level or levels.top) for n in methodology.nodes if not n.type.scalar}
    found = infer_level(levels, [expr], level_of)
    return None if found == levels.top else found
