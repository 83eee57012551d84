"""Row functions: each entity's value from its own arguments (abs, exp, log, log10, sqrt, floor,
ceil, clip, round, goalpost, only, coalesce).

A missing argument gives missing with that argument's reason (the first missing argument's);
log/log10 of x <= 0 and sqrt of x < 0 give `out_of_domain`; goalpost with lo == hi gives
`division_by_zero`; `only(x, condition)` is missing with `excluded` where the condition does
not hold.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from dsl.model import Call
from dsl.types import Type
from interpreter import numeric
from interpreter.functions.population import _per_block
from interpreter.functions.registry import FUNCTIONS, builtin
from interpreter.reason_codes import COMPONENT_MISSING, DIVISION_BY_ZERO, EXCLUDED, OUT_OF_DOMAIN
from interpreter.values import Val, empty_like_type, finish, first_reason


def _args(ev, call: Call) -> list[Val]:
    return [ev.eval(a) for a in call.args]


def _row(t: Type, n: int, args: list[Val], compute, bad: tuple[tuple[str, Callable], ...] = ()) -> Val:
    """A row function: missing if an argument is missing, else compute(*arrays); `bad` lists
    (reason, predicate(*arrays)) making the result missing with that reason."""
    arrays = [a.data for a in args]
    reasons = first_reason(n, *args)
    any_missing = np.zeros(n, dtype=bool)
    for a in args:
        any_missing |= a.missing
    with np.errstate(all="ignore"):
        data = np.asarray(compute(*arrays), dtype=float)
        for reason, predicate in bad:
            hit = ~any_missing & np.asarray(predicate(*arrays), dtype=bool)
            data = np.where(hit, np.nan, data)
            reasons = np.where(hit & (reasons == 0), reason, reasons)
    data = np.where(any_missing, np.nan, data)
    return finish(t, data, reasons)


def _unary(fn, bad=()):
    def impl(ev, call: Call) -> Val:
        return _row(call.type, ev.n, _args(ev, call), fn, bad)

    return impl


# ---------------------------------------------------------------- row-wise arithmetic

FUNCTIONS.update({
    "abs": _unary(np.abs),
    "exp": _unary(np.exp),
    "log": _unary(np.log, ((OUT_OF_DOMAIN, lambda x: x <= 0),)),
    "log10": _unary(np.log10, ((OUT_OF_DOMAIN, lambda x: x <= 0),)),
    "sqrt": _unary(np.sqrt, ((OUT_OF_DOMAIN, lambda x: x < 0),)),
    "floor": _unary(numeric.floor),
    "ceil": _unary(numeric.ceil),
})


@builtin("clip")
def _clip(ev, call: Call) -> Val:
    return _row(call.type, ev.n, _args(ev, call), lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi))


@builtin("round")
def _round(ev, call: Call) -> Val:
    x = ev.eval(call.args[0])
    digits = ev.const(call.args[1])
    if isinstance(digits, np.ndarray):
        return _per_block(ev, digits, lambda d: _round_to(ev, call, x, d))
    return _round_to(ev, call, x, digits)


def _round_to(ev, call: Call, x: Val, digits) -> Val:
    if digits is None or not np.isfinite(digits):
        return finish(call.type, np.full(ev.n, np.nan), np.where(x.missing, x.codes, COMPONENT_MISSING))
    return _row(call.type, ev.n, [x], lambda v: numeric.round_half_away(v, digits))


@builtin("goalpost")
def _goalpost(ev, call: Call) -> Val:
    lower = call.polarity == "lower"

    def compute(x, lo, hi):
        g = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
        return 1.0 - g if lower else g

    return _row(call.type, ev.n, _args(ev, call), compute,
                ((DIVISION_BY_ZERO, lambda x, lo, hi: hi == lo),))


@builtin("only")
def _only(ev, call: Call) -> Val:
    """x where the condition is true; elsewhere missing, reason `excluded` (a missing x keeps
    its own reason where the condition holds)."""
    x, condition = _args(ev, call)
    keep = condition.present & (condition.data == 1.0)
    data = np.where(keep, x.data, np.nan)
    reasons = np.where(keep, x.codes, EXCLUDED)
    return finish(call.type, data, reasons)


@builtin("coalesce")
def _coalesce(ev, call: Call) -> Val:
    args = _args(ev, call)
    data = empty_like_type(call.type, ev.n)
    done = np.zeros(ev.n, dtype=bool)
    for a in args:
        take = ~done & a.present
        data[take] = a.data[take]
        done |= take
    return finish(call.type, data, args[0].codes)

