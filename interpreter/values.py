"""The interpreter's internal value: one numpy array per expression, over all entities.

Internal representation (converted to the trace.py representation only when recorded):
- number:  float64 array, NaN = missing.
- boolean: float64 array of 1.0 / 0.0, NaN = missing (three-valued logic is min/max-like).
- level:   float64 array of label positions (0 = worst), NaN = missing.
- text:    object array of str, None = missing.
- list:    a tuple of item values (`Val.items`), one per list element.
Scalars are the same arrays with one value repeated for every entity.

`codes` is a uint8 array holding the code of a missing reason (interpreter.reason_codes)
where the value is missing and 0 elsewhere (lists carry their reasons in their items);
`reasons` gives them as texts (trace.REASONS, None where present), for the trace.
"""

from __future__ import annotations

import attrs
import numpy as np
import pandas as pd

from dsl.types import BOOLEAN, LEVEL, LIST, NUMBER, TEXT, Type
from interpreter.reason_codes import COMPONENT_MISSING, DTYPE, code, codes_of, no_reasons, texts


class LazyCodes:
    """A value's reasons, computed when first read: an evaluation nobody records or explains
    never needs the reasons of most values (a node read by another becomes component_missing
    whatever its own reasons). Holds what computing them needs (masks, other LazyCodes), never
    a value's data."""

    __slots__ = ("_make", "_codes")

    def __init__(self, make):
        self._make = make
        self._codes = None

    def get(self) -> np.ndarray:
        if self._codes is None:
            self._codes, self._make = self._make(), None
        return self._codes


def resolved(codes):
    """Codes as an array (a LazyCodes computed)."""
    return codes.get() if isinstance(codes, LazyCodes) else codes


@attrs.frozen(eq=False)
class Val:
    type: Type
    data: np.ndarray | None  # None for lists
    # None for lists: uint8, a reason's code where missing, else 0 (`codes`), or a LazyCodes
    # that computes them when first read
    _codes: np.ndarray | LazyCodes | None = attrs.field(alias="codes")
    items: tuple[Val, ...] | None = None  # lists only
    # the mask of missing values, when the maker knows it already (else computed when read)
    _missing: np.ndarray | None = attrs.field(default=None, kw_only=True, alias="mask", repr=False)
    # whether any value is missing, when the maker knows it (else computed when first asked)
    _somewhere: bool | None = attrs.field(default=None, kw_only=True, alias="missing_somewhere", repr=False)

    @property
    def is_list(self) -> bool:
        return self.items is not None

    @property
    def codes(self) -> np.ndarray | None:
        """The reasons' codes (computed now if they were left for later)."""
        codes = self._codes
        if isinstance(codes, LazyCodes):
            codes = codes.get()
            object.__setattr__(self, "_codes", codes)
        return codes

    @property
    def codes_or_later(self) -> np.ndarray | LazyCodes | None:
        """The codes, or what computes them when first read: for another LazyCodes to hold."""
        return self._codes

    @property
    def missing(self) -> np.ndarray:
        """The mask of missing values, computed once (`data` is never changed in place)."""
        if self._missing is None:
            assert self.data is not None, "a list has no single missing mask"
            object.__setattr__(self, "_missing", is_missing(self.data))
        return self._missing

    @property
    def missing_somewhere(self) -> bool:
        """Whether any entity's value is missing (`missing.any()`), computed once."""
        if self._somewhere is None:
            object.__setattr__(self, "_somewhere", bool(self.missing.any()))
        return self._somewhere

    @property
    def present(self) -> np.ndarray:
        return ~self.missing

    @property
    def reasons(self) -> np.ndarray:
        """The reasons as texts (trace.REASONS; None where the value is present)."""
        return texts(self.codes)

    def __len__(self) -> int:
        if self.items is not None:
            return len(self.items[0].data) if self.items else 0
        return len(self.data)


def is_missing(data: np.ndarray) -> np.ndarray:
    if data.dtype == object:
        return pd.isna(data)
    return np.isnan(data)


def nones(n: int) -> np.ndarray:
    return np.empty(n, dtype=object)  # numpy fills an empty object array with None


def empty_like_type(t: Type, n: int) -> np.ndarray:
    """An all-missing data array for type t (not lists)."""
    if t.base == TEXT:
        return nones(n)
    return np.full(n, np.nan)


def finish(t: Type, data: np.ndarray, codes=None) -> Val:
    """Build a Val keeping the invariant: a reason exactly where the value is missing
    (component_missing where a missing value has no more specific reason). `codes`: the
    reasons' codes (an array, or one code or text for every entity), or None."""
    miss = is_missing(data)
    if t.base == TEXT:
        data = np.where(miss, None, data).astype(object)
    if not miss.any():
        return Val(t, data, no_reasons(len(data)), mask=miss, missing_somewhere=False)
    if codes is None:
        return Val(t, data, miss.astype(DTYPE) * DTYPE(COMPONENT_MISSING), mask=miss, missing_somewhere=True)
    if isinstance(codes, str):
        codes = code(codes)
    if isinstance(codes, np.ndarray) and codes.dtype == DTYPE:
        out = codes * miss  # np.where(miss, codes, 0) without a branch per value
    else:
        out = np.where(miss, codes, 0).astype(DTYPE, copy=False)
    unexplained = miss & (out == 0)
    if unexplained.any():
        out[unexplained] = COMPONENT_MISSING
    return Val(t, data, out, mask=miss, missing_somewhere=True)


_BITS = {np.dtype(np.float64): np.uint64, np.dtype(np.uint8): np.uint8}


def select(mask: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`np.where(mask, a, b)` as a new array, bit for bit, for two float64 or two uint8 arrays:
    the bits chosen with a mask of all ones or all zeros, with no branch per entity (np.where
    mispredicts about half of an unpredictable mask; this is several times faster)."""
    bits = _BITS.get(a.dtype)
    if bits is None or b.dtype != a.dtype or mask.dtype != bool:
        return np.where(mask, a, b)
    a_bits, b_bits = a.view(bits), b.view(bits)
    # 1 where mask holds, then all ones (two's complement)
    if bits is np.uint8:
        ones = np.negative(mask.view(np.uint8))
    else:
        ones = mask.view(np.uint8).astype(bits)
        np.negative(ones, out=ones)
    out = a_bits ^ b_bits
    out &= ones
    out ^= b_bits
    return out.view(a.dtype)


def list_val(t: Type, items) -> Val:
    return Val(t, None, None, tuple(items))


def first_reason(n: int, *vals: Val) -> np.ndarray:
    """Per entity, the reason of the first of `vals` that is missing there (0 if none is)."""
    return first_reason_later(n, *vals).get()


def first_reason_later(n: int, *vals: Val) -> LazyCodes:
    """`first_reason`, computed when read (holding the values' masks and codes, not their data)."""
    # (a value missing nowhere takes no entity's reason: no mask)
    parts = [(v.missing if v.missing_somewhere else None, v.codes_or_later) for v in vals]

    def codes() -> np.ndarray:
        if not parts:
            return no_reasons(n)
        last = resolved(parts[-1][1])
        out = last
        for mask, v_codes in reversed(parts[:-1]):  # the first missing one is taken last
            if mask is not None:
                out = select(mask, resolved(v_codes), out)
        return out.copy() if out is last else out

    return LazyCodes(codes)


def const_val(value, t: Type, n: int) -> Val:
    """A constant broadcast to n entities. Level values are label positions already."""
    if value is None:
        return finish(t, empty_like_type(t, n))
    if t.base == TEXT:
        return finish(t, np.full(n, value, dtype=object))
    return finish(t, np.full(n, float(value)))


def level_codes(values, labels: tuple[str, ...]) -> np.ndarray:
    """Label strings (any array-like; None/NaN missing) to float positions; unknown -> NaN."""
    cat = pd.Categorical(pd.Series(values, dtype=object), categories=list(labels))
    codes = np.asarray(cat.codes, dtype=float)
    codes[codes < 0] = np.nan
    return codes


# ---------------------------------------------------------------- values made whole


def constant(value, t: Type, n: int) -> Val:
    """A literal or param value broadcast to n entities (labels become level positions)."""
    if value is None:
        return finish(t, empty_like_type(t, n))
    if t.base == LEVEL:
        return finish(t, np.full(n, float(t.level.order(str(value)))))
    if t.base == TEXT:
        return finish(t, np.full(n, value, dtype=object))
    return finish(t, np.full(n, float(value)))


def per_block_or_one(values: np.ndarray):
    """One value per block as a float (None if missing) when every block has the same, else
    the float array itself."""
    first = values[0]
    if np.isnan(first):
        return None if np.isnan(values).all() else values
    return float(first) if (values == first).all() else values


def block_constant(values, t: Type, n: int) -> Val:
    """A param's sampled values (one per block: numbers, booleans, labels or texts), each
    repeated for the n entities of its block."""
    values = np.asarray(values, dtype=object if t.base in (LEVEL, TEXT) else None)
    if t.base == LEVEL:
        codes = np.array([np.nan if v is None else float(t.level.order(str(v))) for v in values])
        return finish(t, np.repeat(codes, n))
    if t.base == TEXT:
        return finish(t, np.repeat(values.astype(object), n))
    return finish(t, np.repeat(values.astype(float), n))


def tile(v: Val, blocks: int) -> Val:
    """A value over the entities, repeated for each block."""
    if v.is_list:
        return list_val(v.type, [tile(item, blocks) for item in v.items])
    return Val(v.type, np.tile(v.data, blocks), np.tile(v.codes, blocks))


def as_component(v: Val, t: Type) -> Val:
    """A node's value read by another expression: its missing values become component_missing."""
    if v.is_list:
        return list_val(t, [as_component(item, item_type(t)) for item in v.items])
    if t.base != v.type.base:  # pragma: no cover - the checker guarantees the type
        t = v.type.as_scalar(t.scalar)
    missing = v.missing
    if not v.missing_somewhere:  # no reason to change: every code is 0
        return Val(t, v.data, v.codes_or_later, mask=missing, missing_somewhere=False)
    return Val(t, v.data, LazyCodes(lambda: missing.view(DTYPE) * DTYPE(COMPONENT_MISSING)), mask=missing,
               missing_somewhere=True)


def retype(v: Val, t: Type) -> Val:
    if v.items is None and v.type == t:  # (a Val is never changed: the same one will do)
        return v
    if v.is_list:
        return list_val(t, [retype(item, item_type(t)) for item in v.items])
    return Val(t, v.data, v.codes_or_later, mask=v._missing, missing_somewhere=v._somewhere)


# ---------------------------------------------------------------- recorded representation


def item_type(t: Type) -> Type:
    return t.item if t.base == LIST else t


def to_series(v: Val, index: pd.Index) -> pd.Series:
    """The trace.py representation of a value."""
    t = v.type
    if v.is_list:
        return pd.Series(_tuples(v, len(index)), index=index, dtype=object)
    data = v.data
    if t.base == NUMBER:
        return pd.Series(data.astype(float), index=index, dtype="float64")
    if t.base == BOOLEAN:
        miss = np.isnan(data)
        arr = pd.arrays.BooleanArray(np.where(miss, False, data == 1.0), miss)
        return pd.Series(arr, index=index)
    if t.base == LEVEL:
        codes = np.where(np.isnan(data), -1, data).astype(np.int64)
        cat = pd.Categorical.from_codes(codes, categories=list(t.level.labels), ordered=True)
        return pd.Series(cat, index=index)
    if t.base == TEXT:
        return pd.Series(np.asarray(data, dtype=object), index=index, dtype=object)
    raise AssertionError(f"unknown type {t}")


def reasons_series(v: Val, index: pd.Index) -> pd.Series:
    if v.is_list:
        return pd.Series(nones(len(index)), index=index, dtype=object)
    return pd.Series(texts(v.codes), index=index, dtype=object)


def _plain_objects(v: Val) -> np.ndarray:
    """Plain Python values per entity (labels as str, missing None) for list tuples."""
    t = v.type
    miss = v.missing
    if t.base == NUMBER:
        out = v.data.astype(object)
    elif t.base == BOOLEAN:
        out = (v.data == 1.0).astype(object)
    elif t.base == LEVEL:
        labels = np.array(list(t.level.labels) + [None], dtype=object)
        out = labels[np.where(miss, -1, v.data).astype(np.int64)]
    else:
        out = v.data.astype(object)
    out = out.copy()
    out[miss] = None
    return out


def plain_values(v: Val) -> np.ndarray:
    """Plain Python values per entity (for reports and test failures); lists give tuples."""
    if v.is_list:
        return _tuples(v, len(v))
    return _plain_objects(v)


def _tuples(v: Val, n: int) -> np.ndarray:
    columns = [_plain_objects(item) for item in v.items]
    rows = list(zip(*columns)) if columns else [()] * n
    return np.fromiter(rows, dtype=object, count=n)


def from_series(series: pd.Series, t: Type, index: pd.Index, reasons: np.ndarray | None = None) -> Val:
    """Internal value from a typed column (an input, or a recorded node), aligned on index."""
    s = series.reindex(index) if not series.index.equals(index) else series
    if t.base == LIST:
        # a list node's values are tuples of equal length (a list value is never missing)
        frame = pd.DataFrame(s.tolist(), index=index) if len(index) else pd.DataFrame()
        items = [from_series(frame[col].astype(object), t.item, index) for col in frame.columns]
        return list_val(t, items)
    if t.base == NUMBER and s.dtype == np.float64:  # a typed input's column: numbers already
        data = s.to_numpy(dtype=float, copy=False)  # (read-only: a value is never written)
    elif t.base == NUMBER:
        data = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    elif t.base == BOOLEAN:
        data = _booleans(s)
    elif t.base == LEVEL:
        obj = s.astype(object).to_numpy()
        data = level_codes(obj, t.level.labels)
    elif t.base == TEXT:
        obj = s.astype(object).to_numpy()
        data = np.where(pd.isna(obj), None, obj).astype(object)
    else:
        raise AssertionError(f"unknown type {t}")
    # reasons as texts: a recorded run's may read back NaN for none
    return finish(t, data, None if reasons is None else codes_of(reasons))


def _booleans(s: pd.Series) -> np.ndarray:
    if s.dtype == object or isinstance(s.dtype, pd.StringDtype):
        obj = s.astype(object)
        text = obj.where(obj.isna(), obj.astype(str).str.strip().str.lower())
        mapped = text.map({"true": 1.0, "yes": 1.0, "1": 1.0, "1.0": 1.0,
                           "false": 0.0, "no": 0.0, "0": 0.0, "0.0": 0.0})
        return mapped.to_numpy(dtype=float, na_value=np.nan)
    return s.astype("boolean").to_numpy(dtype=float, na_value=np.nan)
