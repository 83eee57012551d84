"""Stage 2, collect: one symbol table of level types, nodes, functions and lookup tables (each
table checked for completeness), and measure tables lowered."""

from __future__ import annotations

import itertools

from dsl import syntax as S
from dsl import types as T
from dsl.builtins import BUILTINS
from dsl.checker.common import _a, _kind_word, _Merged
from dsl.local_lets import lower_lets
from dsl.measures import BROKEN as MEASURES_BROKEN
from dsl.measures import Lowering, check_measures
from dsl.resolve import Symbols, not_rated_spellings
from dsl.text import RESERVED_WORDS  # words that start or continue an expression


class CollectStage:
    # -- 2. collect
    def _collect(self, merged: _Merged) -> Symbols:
        symbols = Symbols()
        for name, (decl, _file) in merged.types.items():
            symbols.level_types[name] = self._level_type(name, decl.level)
            symbols.type_spans[name] = decl.name_span
        symbols.broken = {name for loaded in self.chain for name in loaded.module.broken}
        for statement, file in merged.statements:
            symbols.statements[statement.name] = (statement, file)
            if statement.name in RESERVED_WORDS:
                self.error("reserved-word", f"'{statement.name}' is a word of the language and cannot name "
                           f"{_a(_kind_word(statement))}", statement.name_span,
                           f"choose another name, e.g. '{statement.name}_{_kind_word(statement)}'.")
            if statement.name in merged.types and merged.types[statement.name][1] != file:  # same file: reported
                self.error("duplicate-name", f"'{statement.name}' is both a type and {_a(_kind_word(statement))}",
                           statement.name_span, "rename one of them.")
        for name, (decl, file) in merged.functions.items():
            if name in BUILTINS:
                self.error("shadows-builtin", f"function '{name}' has the name of a built-in function",
                           decl.name_span, "choose another name.")
                continue
            if name in symbols.statements:
                if symbols.statements[name][1] != file:  # same file: reported as defined twice
                    self.error("duplicate-name", f"'{name}' is both a function and "
                               f"{_a(_kind_word(symbols.statements[name][0]))}", decl.name_span, "rename one of them.")
                continue
            if isinstance(decl, S.TableDecl):
                decl = decl.as_function(self._check_table(decl, symbols))
                if decl is None:
                    continue
            if len(set(decl.params)) != len(decl.params):
                self.error("duplicate-parameter", f"function '{name}' names a parameter twice", decl.span,
                           "give each parameter its own name.")
            symbols.functions[name] = lower_lets(decl, self.error, self.warning, symbols.broken)
        return symbols

    def _lower_measures(self, merged: _Merged, symbols: Symbols) -> None:
        """Expand `measures NAME group G` arguments everywhere (dsl.measures), before ordering."""
        tables = {name: check_measures(decl, self.error) for name, (decl, _file) in merged.measures.items()}
        lower = Lowering(tables, self.error).node
        symbols.broken.add(MEASURES_BROKEN)
        merged.statements = [(lower(s), f) for s, f in merged.statements]
        merged.limits = [(lower(s), f) for s, f in merged.limits]
        merged.tests = [(lower(s), f) for s, f in merged.tests]
        symbols.statements = {s.name: (s, f) for s, f in merged.statements}
        symbols.functions = {name: lower(decl) for name, decl in symbols.functions.items()}

    def _check_table(self, table: S.TableDecl, symbols: Symbols) -> tuple[S.TableRow, ...]:
        """Every row names one value of each key's domain, no combination twice, and every
        combination is listed (docs/language.md, "Lookup tables"). Gives the rows that fit."""
        domains = []
        for key in table.keys:
            domain = self._table_domain(table, key, symbols)
            if domain is None:
                return ()
            domains.append(domain)
        seen: dict[tuple, S.TableRow] = {}
        for row in table.rows:
            if len(row.keys) != len(table.keys):
                self.error("table-row", f"this row of table '{table.name}' gives {len(row.keys)} key"
                           f"{'s' if len(row.keys) != 1 else ''}, the table has {len(table.keys)}", row.span,
                           f"write one value per key: {', '.join(k.name for k in table.keys)}.")
                continue
            values = []
            for key, written, domain in zip(table.keys, row.keys, domains):
                value = _table_key_value(written)
                if value not in domain:
                    shown = ", ".join(_table_value_text(v) for v in domain[:8]) + (", ..." if len(domain) > 8 else "")
                    self.error("table-key", f"{_table_value_text(value)} is not a value of key '{key.name}' of "
                               f"table '{table.name}'", written.span, f"the values are {shown}.")
                    break
                values.append(value)
            else:
                combination = tuple(values)
                if combination in seen:
                    self.error("table-duplicate-row", f"table '{table.name}' lists "
                               f"({', '.join(_table_value_text(v) for v in combination)}) twice", row.span,
                               "keep one row per combination.")
                    continue
                seen[combination] = row
        missing = [c for c in itertools.product(*domains) if c not in seen]
        if missing:
            listed = "; ".join("(" + ", ".join(_table_value_text(v) for v in c) + ")" for c in missing[:5])
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            self.error("table-incomplete", f"table '{table.name}' has no row for {listed}{more}", table.name_span,
                       "give every combination of the keys' values a row.")
        return tuple(seen.values())

    def _table_domain(self, table: S.TableDecl, key: S.TableKey, symbols: Symbols) -> list | None:
        domain = key.domain
        if isinstance(domain, S.Range):
            low, high = domain.low.value, domain.high.value
            if not (float(low).is_integer() and float(high).is_integer() and low <= high and high - low < 1000):
                self.error("table-domain", f"key '{key.name}' of table '{table.name}': {low:g}..{high:g} is not a "
                           "range of whole numbers (at most 1000)", key.span, "write e.g. `band: 1..5`.")
                return None
            return [float(v) for v in range(int(low), int(high) + 1)]
        if isinstance(domain, S.BooleanType):
            return [True, False]
        if isinstance(domain, S.LevelTypeExpr):
            return [label.text for label in domain.labels]
        if isinstance(domain, S.NamedType) and domain.name in symbols.level_types:
            return list(symbols.level_types[domain.name].labels)
        self.error("table-domain", f"key '{key.name}' of table '{table.name}' must be a level type, boolean or a "
                   "whole-number range LOW..HIGH, so that every combination can be checked", key.span,
                   "write e.g. `band: 1..5` or `rating: level poor < fair < good`.")
        return None

    def _level_type(self, name: str, expr: S.LevelTypeExpr) -> T.LevelType:
        labels: list[str] = []
        for label in expr.labels:
            if label.text in labels:
                self.error("duplicate-label", f"label {label.text!r} appears twice in level type '{name}'",
                           label.span, "each label of a level type must be distinct.")
            else:
                labels.append(label.text)
        return T.LevelType(name, tuple(labels), not_rated_spellings(self, name, expr))


def _table_key_value(key: S.Expr):
    """A table row's key as the value it matches: a label's text, a number, a boolean."""
    if isinstance(key, S.Name):
        return key.name
    if isinstance(key, (S.String, S.Boolean)):
        return key.value
    if isinstance(key, S.Number):
        return float(key.value)
    if isinstance(key, S.Unary) and isinstance(key.operand, S.Number):
        return -float(key.operand.value)
    return None


def _table_value_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return repr(value) if value is not None else "?"
