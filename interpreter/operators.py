"""The operators of the Tier language over internal values (interpreter.values), vectorised.

Missing values and reasons
--------------------------
Inside one node's expression, an operation whose operand is missing takes that operand's
reason (the left operand's first), so `(a / b) + 1` with b = 0 is missing with
`division_by_zero`. `and`/`or` follow three-valued logic; `if` with a missing condition takes
the condition's reason. `map`/`band` without a matching case or `otherwise` give
`no_rule_held`; a band threshold that is missing makes the entities it would decide missing.
`^` with a zero base and negative exponent is `division_by_zero`; other undefined arithmetic
(a negative base to a fractional power) is `out_of_domain`. Division checks for an exact zero
divisor. A list value is never missing as a whole (its tuple holds None for missing items), so
list nodes record no reasons; `list is missing` holds when any item is missing. Operators
apply item by item to lists.
"""

from __future__ import annotations

import numpy as np

from dsl.types import BOOLEAN, LEVEL, LIST, TEXT, Type
from interpreter import numeric
from interpreter.reason_codes import DIVISION_BY_ZERO, DTYPE, NO_RULE, OUT_OF_DOMAIN, no_reasons
from interpreter.values import (
    LazyCodes,
    Val,
    empty_like_type,
    finish,
    first_reason,
    first_reason_later,
    item_type,
    list_val,
    resolved,
    select,
)

ARITHMETIC = ("+", "-", "*", "/", "^")
LOGIC = ("and", "or")


def unary(op: str, a: Val, t: Type) -> Val:
    """`-a` or `not a`."""
    if a.is_list:
        return list_val(t, [unary(op, item, item_type(t)) for item in a.items])
    data = -a.data if op == "-" else 1.0 - a.data
    return Val(t, data, a.codes_or_later, mask=a.missing, missing_somewhere=a._somewhere)  # missing where a is


def binary(op: str, a: Val, b: Val, t: Type, n: int) -> Val:
    """An arithmetic, comparison or logical operator over n entities."""
    if a.is_list or b.is_list:
        count = len(a.items) if a.is_list else len(b.items)
        left = a.items if a.is_list else (a,) * count
        right = b.items if b.is_list else (b,) * count
        assert len(left) == len(right), "lists of different lengths"
        return list_val(t, [binary(op, x, y, item_type(t), n) for x, y in zip(left, right)])
    if op in ARITHMETIC:
        return _arithmetic(op, a, b, t, n)
    if op in numeric.COMPARISONS:
        return _comparison(op, a, b, t, n)
    if op in LOGIC:
        return _logic(op, a, b, t, n)
    raise AssertionError(f"unknown operator {op!r}")  # pragma: no cover


def _arithmetic(op: str, a: Val, b: Val, t: Type, n: int) -> Val:
    x, y = a.data, b.data
    a_missing, b_missing = a.missing_somewhere, b.missing_somewhere
    if a_missing and b_missing:
        missing = a.missing | b.missing
        codes = first_reason_later(n, a, b)
    else:  # one operand (or none) missing somewhere: its mask and reasons as they are
        missing, codes = (b.missing, b.codes_or_later) if b_missing else (a.missing, a.codes_or_later)
    # (numpy's floating-point warnings are off: numeric.float_errors_ignored)
    if op == "+":
        out = x + y
    elif op == "-":
        out = x - y
    elif op == "*":
        out = x * y
    elif op == "/":
        out = x / y
    else:
        out = np.power(x, y)
        if a_missing or b_missing:  # numpy: nan ** 0 == 1 ** nan == 1; a missing operand stays missing
            out[missing] = np.nan
    if op == "/":
        zero = y == 0
        zero = zero & ~missing if zero.any() else None  # None: no divisor is zero
    elif op == "^":
        zero = ~missing & (x == 0) & (y < 0)
    else:
        zero = None
    result_missing = np.isnan(out)  # NaN where an operand is missing, and where undefined
    # NaN wherever an operand is (IEEE; for ^ set above): the masks are equal when their counts are
    if zero is None and (np.count_nonzero(result_missing) == (np.count_nonzero(missing) if a_missing or b_missing else 0)):
        return Val(t, out, codes, mask=missing, missing_somewhere=a_missing or b_missing)
    if zero is None:
        zero = np.zeros(n, dtype=bool)
    undefined = ~missing & ~zero & result_missing
    failed = zero | undefined
    codes = resolved(codes)
    if failed.any():
        out = np.where(failed, np.nan, out)
        codes = np.where(zero, DIVISION_BY_ZERO, np.where(undefined, OUT_OF_DOMAIN, codes))
    return finish(t, out, codes)



def _comparison(op: str, a: Val, b: Val, t: Type, n: int) -> Val:
    somewhere = a.missing_somewhere or b.missing_somewhere
    missing = a.missing | b.missing if somewhere else a.missing
    if a.type.base == TEXT or b.type.base == TEXT:
        x = np.where(a.missing, "", a.data).astype(str)
        y = np.where(b.missing, "", b.data).astype(str)
        holds = {"==": x == y, "!=": x != y, "<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]
    else:
        holds = numeric.compare_unguarded(op, a.data, b.data)  # (an evaluation ignores float errors)
    out = holds.astype(float)
    if somewhere:
        out[missing] = np.nan
    return Val(t, out, first_reason_later(n, a, b), mask=missing, missing_somewhere=somewhere)


def _logic(op: str, a: Val, b: Val, t: Type, n: int) -> Val:
    x, y = a.data, b.data
    missing = a.missing | b.missing
    if op == "and":
        out = np.where((x == 0.0) | (y == 0.0), 0.0, np.where(missing, np.nan, 1.0))
    else:
        out = np.where((x == 1.0) | (y == 1.0), 1.0, np.where(missing, np.nan, 0.0))
    return finish(t, out, first_reason(n, a, b))


def is_missing(a: Val, negated: bool, t: Type, n: int) -> Val:
    """`a is missing` (`is not missing` when negated); a list is missing where any item is."""
    if a.is_list:
        if t.base == LIST:
            return list_val(t, [is_missing(item, negated, item_type(t), n) for item in a.items])
        missing = np.zeros(n, dtype=bool)
        for item in a.items:
            missing |= item.missing
    else:
        missing = a.missing
    return Val(t, (~missing if negated else missing).astype(float), no_reasons(n), mask=np.zeros(n, dtype=bool),
               missing_somewhere=False)


def where(c: Val, a: Val, b: Val, t: Type, n: int) -> Val:
    """`if c then a else b`: missing with c's reason where c is missing."""
    if a.is_list or b.is_list:
        assert a.is_list and b.is_list and len(a.items) == len(b.items)
        return list_val(t, [where(c, x, y, item_type(t), n) for x, y in zip(a.items, b.items)])
    take_a = c.data == 1.0
    if t.base != TEXT:
        # a condition is 1.0, 0.0 or missing (NaN): neither branch is taken where it is missing
        return _where_numbers(c, a, b, t, take_a, c.missing if c.missing_somewhere else None)
    take_b = c.data == 0.0
    data = np.where(take_a, a.data, np.where(take_b, b.data, empty_like_type(t, n)))
    # the chosen branch's reason (0 where it is present); the condition's where it is missing
    codes = np.where(take_a, a.codes, np.where(take_b, b.codes, c.codes))
    if t.base == TEXT:
        return finish(t, data, codes)
    return Val(t, data, codes)


def _where_numbers(c: Val, a: Val, b: Val, t: Type, take_a: np.ndarray, neither: np.ndarray | None) -> Val:
    """`where` for float data, with the values of the nested form
    `np.where(take_a, a, np.where(take_b, b, NaN))` (and the same for the codes) but one
    selection by the condition (a condition splits the entities unpredictably, and each
    selection by it costs more than all the other operations) and none where nothing is
    undecided (`neither`: the condition missing; None where it is nowhere) or no branch is
    missing."""
    undecided = neither is not None
    data = select(take_a, a.data, b.data)
    if undecided:
        data[neither] = np.nan
    branches_missing = a.missing_somewhere or b.missing_somewhere
    a_codes, b_codes = a.codes_or_later, b.codes_or_later
    c_codes = c.codes_or_later if undecided else None

    def codes() -> np.ndarray:
        if branches_missing:
            out = select(take_a, resolved(a_codes), resolved(b_codes))
        else:  # both branches present: no reason but the condition's
            out = np.zeros(len(take_a), dtype=DTYPE)
        if undecided:
            out[neither] = resolved(c_codes)[neither]
        return out

    return Val(t, data, LazyCodes(codes))


class Choice:
    """First case that holds wins (map, band): a value built case by case, vectorised."""

    def __init__(self, t: Type, n: int):
        assert t.base != LIST, "map and band give single values"
        self.type = t
        self.data = empty_like_type(t, n)
        self.codes = no_reasons(n)
        self.decided = np.zeros(n, dtype=bool)

    def take(self, mask: np.ndarray, value: Val) -> None:
        m = mask & ~self.decided
        self.data = np.where(m, value.data, self.data)
        self.codes = np.where(m, value.codes, self.codes)
        self.decided |= m

    def fail(self, mask: np.ndarray, codes: np.ndarray) -> None:
        m = mask & ~self.decided
        self.codes = np.where(m, codes, self.codes)
        self.decided |= m

    def result(self) -> Val:
        return finish(self.type, self.data, np.where(self.decided, self.codes, NO_RULE))


def matches(s: Val, key) -> np.ndarray:
    """Where a `map` subject equals one case's key (numbers decimal-safe)."""
    t = s.type
    if t.base == LEVEL:
        return s.data == float(t.level.order(str(key)))
    if t.base == TEXT:
        return np.asarray(s.data == key, dtype=bool) & s.present
    if t.base == BOOLEAN:
        return s.data == (1.0 if key else 0.0)
    return numeric.close(s.data, float(key))
