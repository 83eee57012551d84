"""Local `let`s of function bodies (docs/language.md, "Functions with local lets"): checked, then
lowered by substitution into the one body expression.

    function treated(x) {
      let capped = clip(x, -3, 3)
      let z = zscore(capped)
      z * 10
    }

is `function treated(x) = zscore(clip(x, -3, 3)) * 10`: each let's expression (with the lets
before it already put in) replaces every use of its name in the lets after it and in the result.
A function stays a named expression, so the resolver, the interpreter and the audit see exactly
what they see for a function written in one expression; `explain` shows the expanded expression.

Checked here, before the function is used, each located at the name it is about: a let defined
twice (`duplicate-let`), a let with the name of a parameter (`let-shadows-parameter`), of a
built-in function (`shadows-builtin`) or of a word of the language (`reserved-word`), a let used
before (or in) its own definition (`let-before-definition`), and, as a warning, a let the result
does not depend on (`unused-let`).
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from dsl import syntax as S
from dsl.builtins import BUILTINS
from dsl.text import RESERVED_WORDS

# What a use of a let before its definition becomes: a name no statement can have, in
# Symbols.broken, so the call is an error value without a second, cascading "unknown name".
BROKEN = "let before definition"


def lower_lets(decl: S.FunctionDecl, error: Callable, warning: Callable, broken: set[str]) -> S.FunctionDecl:
    """`decl` with its lets checked and substituted into its body (the same object if it has none).
    Adds BROKEN to `broken` when a use had to be replaced."""
    if not decl.lets:
        return decl
    names = [let.name for let in decl.lets]
    values: dict[str, S.Expr] = {}  # the lets so far, each with the earlier lets put in
    uses: dict[str, set[str]] = {}  # let -> the earlier lets its expression names
    first: dict[str, S.LocalLet] = {}
    misnamed: set[str] = set()  # reported already: not reported again as unused
    for index, let in enumerate(decl.lets):
        if not _check_name(decl, let, first, error):
            misnamed.add(let.name)
        later = set(names[index:]) - set(values)
        for name in _names(let.expr):
            if name.name in later:
                where = "its own definition" if name.name == let.name else "the `let` that defines it"
                error("let-before-definition", f"'{name.name}' is used before {where} in function '{decl.name}'",
                      name.span, "each let may use the parameters and the lets before it: move the definition up.")
                broken.add(BROKEN)
                misnamed.add(name.name)  # it is used, wrongly: not reported again as unused
        uses[let.name] = {n.name for n in _names(let.expr) if n.name in values}
        values[let.name] = _substitute(let.expr, values, later)
        first.setdefault(let.name, let)
    _warn_unused(decl, uses, misnamed, warning)
    body = _substitute(decl.body, values, set())
    return attrs.evolve(decl, body=body, lets=())


def _check_name(decl: S.FunctionDecl, let: S.LocalLet, first: dict[str, S.LocalLet], error: Callable) -> bool:
    """Report a let whose name is taken; False if it was."""
    if let.name in decl.params:
        error("let-shadows-parameter", f"let '{let.name}' has the name of a parameter of function '{decl.name}'",
              let.name_span, "give the let its own name.")
    elif let.name in BUILTINS:
        error("shadows-builtin", f"let '{let.name}' has the name of a built-in function", let.name_span,
              "choose another name.")
    elif let.name in RESERVED_WORDS:
        error("reserved-word", f"'{let.name}' is a word of the language and cannot name a let", let.name_span,
              f"choose another name, e.g. '{let.name}_value'.")
    elif let.name in first:
        earlier = first[let.name].name_span
        error("duplicate-let", f"let '{let.name}' is defined twice in function '{decl.name}'", let.name_span,
              "define each let once" + (f" (the first is at line {earlier.line})." if earlier else "."))
    else:
        return True
    return False


def _warn_unused(decl: S.FunctionDecl, uses: dict[str, set[str]], misnamed: set[str], warning: Callable) -> None:
    """Warn of each let the result does not depend on (directly or through other lets)."""
    needed: set[str] = set()
    pending = [n.name for n in _names(decl.body) if n.name in uses]
    while pending:
        name = pending.pop()
        if name not in needed:
            needed.add(name)
            pending.extend(uses[name])
    reported = set(misnamed)
    for let in decl.lets:
        if let.name not in needed and let.name not in reported:
            reported.add(let.name)
            warning("unused-let", f"let '{let.name}' of function '{decl.name}' is never used", let.name_span,
                    "the result does not depend on it: remove it, or use it.")


def _children(node):
    """The nodes directly below a syntax node, except map keys (which name labels, not values)."""
    if not attrs.has(type(node)):
        return
    for field in attrs.fields(type(node)):
        if field.name.endswith("span") or (isinstance(node, S.MapCase) and field.name == "key"):
            continue
        value = getattr(node, field.name)
        for child in value if isinstance(value, tuple) else (value,):
            if attrs.has(type(child)):
                yield child


def _names(expr: S.Expr):
    """Every bare name below `expr` that stands for a value."""
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, S.Name):
            yield node
        stack.extend(_children(node))


def _substitute(node, values: dict[str, S.Expr], undefined: set[str]):
    """`node` with each name of `values` replaced by its value, and each name of `undefined` by
    BROKEN (the same object if nothing changes)."""
    if isinstance(node, S.Name):
        if node.name in values:
            return values[node.name]
        return S.Name(BROKEN, span=node.span) if node.name in undefined else node
    if not attrs.has(type(node)):
        return node
    changes = {}
    for field in attrs.fields(type(node)):
        if field.name.endswith("span") or (isinstance(node, S.MapCase) and field.name == "key"):
            continue
        value = getattr(node, field.name)
        if isinstance(value, tuple):
            new = tuple(_substitute(v, values, undefined) for v in value)
            if any(n is not v for n, v in zip(new, value)):
                changes[field.name] = new
        elif attrs.has(type(value)):
            new = _substitute(value, values, undefined)
            if new is not value:
                changes[field.name] = new
    return attrs.evolve(node, **changes) if changes else node
