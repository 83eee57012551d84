"""A run's params: declared values with overrides applied, checked as the checker checks them.

An override (or a sampled value, docs/sensitivity.md) must name a declared param, have its type,
lie in its range and be one of its options; and the params a run uses must keep the weights of
every `weighted_mean` summing to 100% (dsl.constants, the checker's rule) unless it `normalise`s.
"""

from __future__ import annotations

import difflib

import numpy as np

from dsl.constants import WeightRule
from dsl.model import ONE_OF, Methodology, Node
from dsl.types import BOOLEAN, LEVEL, NUMBER
from interpreter import numeric
from interpreter.param_errors import ParamError


def resolve_params(methodology: Methodology, overrides: dict | None) -> dict:
    """Declared param values with `overrides` applied; raises ParamError for an unknown name,
    a value of the wrong type or one outside the param's range, or when the values make the
    weights of a `weighted_mean` stop summing to 100% (dsl.constants, the checker's rule)."""
    declared = {p.name: p for p in methodology.params}
    used = {name: p.value for name, p in declared.items()}
    for name, value in (overrides or {}).items():
        if name not in declared:
            raise ParamError(unknown_param(name, declared))
        used[name] = _check_param(declared[name], value)
    if overrides:
        weight_notes(methodology, used)
    return used


def weight_notes(methodology: Methodology, used: dict, rule: WeightRule | None = None,
                 what: str = "with these params") -> tuple[str, ...]:
    """The weights rule of the checker (dsl.constants) run again with the params a run uses:
    a ParamError for a `weighted_mean` whose weights no longer sum to 100%; with `normalise`,
    a note (the weights are divided by their sum)."""
    notes = []
    for found in (rule or WeightRule(methodology)).changed(used):
        if not found.normalise:
            raise ParamError(f"{found.where()}{found.message()} {what}; add `normalise` to divide by their sum")
        notes.append(f"{found.where()}note: {found.message()} {what}; `normalise` divides them by their sum")
    return tuple(notes)


def _describe_param(p: Node) -> str:
    if p.range is not None:
        return f"{p.name} (range {p.range[0]:g}..{p.range[1]:g})"
    if p.distribution is not None:
        return f"{p.name} ({p.distribution.text})"
    if p.type.base == LEVEL:
        return f"{p.name} (one of {', '.join(p.type.level.labels)})"
    return f"{p.name} ({p.type.base})"


def unknown_param(name: str, declared: dict[str, Node]) -> str:
    if not declared:
        return f"unknown param {name!r}: this methodology declares no params"
    close = difflib.get_close_matches(name, list(declared), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    allowed = ", ".join(_describe_param(p) for p in declared.values())
    return f"unknown param {name!r}{hint}; the params are: {allowed}"


def _check_param(p: Node, value):
    value = _check_param_type(p, value)
    if p.distribution is not None and p.distribution.kind == ONE_OF:
        options = p.distribution.values
        if not any(numeric.close(value, o) if p.type.base == NUMBER else value == o for o in options):
            raise ParamError(f"param {p.name} = {value!r} is not one of its options ({p.distribution.text})")
    return value


def _check_param_type(p: Node, value):
    base = p.type.base
    if base == NUMBER:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise ParamError(f"param {p.name} needs a number, not {value!r}")
        value = float(value)
        if not np.isfinite(value):
            raise ParamError(f"param {p.name} needs a finite number, not {value!r}")
        if p.range is not None:
            lo, hi = p.range
            if not (numeric.compare(">=", value, lo) and numeric.compare("<=", value, hi)):
                raise ParamError(f"param {p.name} = {value:g} is outside its range {lo:g}..{hi:g}")
        return value
    if base == BOOLEAN:
        if not isinstance(value, (bool, np.bool_)):
            raise ParamError(f"param {p.name} needs true or false, not {value!r}")
        return bool(value)
    if base == LEVEL:
        if not isinstance(value, str) or value not in p.type.level.labels:
            raise ParamError(f"param {p.name} needs one of {', '.join(p.type.level.labels)}, not {value!r}")
        return value
    if not isinstance(value, str):
        raise ParamError(f"param {p.name} needs a text, not {value!r}")
    return value



def check_samples(p: Node, values) -> np.ndarray:
    """Sampled values of one param as an array, checked like overrides (type, range, options)."""
    base = p.type.base
    if base == NUMBER:
        arr = np.asarray(values, dtype=float)
        if not np.isfinite(arr).all():
            raise ParamError(f"param {p.name} needs finite numbers")
        if p.range is not None:
            lo, hi = p.range
            inside = numeric.compare(">=", arr, lo) & numeric.compare("<=", arr, hi)
            if not inside.all():
                bad = arr[~inside][0]
                raise ParamError(f"param {p.name} = {bad:g} is outside its range {lo:g}..{hi:g}")
        if p.distribution is not None and p.distribution.kind == ONE_OF:
            allowed = np.zeros(len(arr), dtype=bool)
            for option in p.distribution.values:
                allowed |= numeric.close(arr, option)
            if not allowed.all():
                raise ParamError(f"param {p.name} = {arr[~allowed][0]:g} is not one of its options "
                                 f"({p.distribution.text})")
        return arr
    distinct = {(type(v), v) for v in values}
    for _, value in distinct:
        _check_param(p, value)
    if base == BOOLEAN:
        return np.asarray(values, dtype=bool)
    return np.asarray(values, dtype=object)
