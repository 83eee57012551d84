"""Static checks: syntax tree (+ extended files) → checked Methodology (dsl.model).

Stages, each using only the previous one's output:
  1. merge   — apply `extends`: later files replace same-named definitions (recorded overrides)
  2. collect — one symbol table: level types, nodes (inputs, params, definitions, tiers), functions
  3. order   — dependency graph from the names each statement mentions; cycles are reported
  4. resolve — in dependency order, every expression is typed and resolved (dsl.resolve)
  5. lint    — whole-methodology checks: unused inputs, tiers without `otherwise`
Every problem found is collected; a TierError carrying all of them is raised at the end.
"""

from __future__ import annotations

import errno
import heapq
import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import attrs

from dsl import model as M
from dsl import syntax as S
from dsl import types as T
from dsl.builtins import BUILTINS
from dsl.errors import ERROR, WARNING, Diagnostic, Span, TierError, did_you_mean
from dsl.levels import (
    LevelDecl,
    Levels,
    build_levels,
    check_expression,
    infer_level,
    needed_level,
)
from dsl.loader import LoadedFile, load_chain
from dsl.local_lets import lower_lets
from dsl.measures import BROKEN as MEASURES_BROKEN
from dsl.measures import Lowering, check_measures
from dsl.resolve import Resolver, Symbols, names_in, not_rated_spellings, source_slice
from dsl.text import RESERVED_WORDS  # words that start or continue an expression
from dsl.tree import walk

NODE_STATEMENTS = (S.InputDecl, S.ParamDecl, S.Definition, S.TierDecl)


@attrs.frozen
class CheckReport:
    """Everything `tierlang check` shows: the methodology (None if it has errors), every
    diagnostic (errors and warnings), and the source texts to render them."""

    methodology: M.Methodology | None
    diagnostics: tuple[Diagnostic, ...]
    sources: dict[str, str]
    # the file checked, then every file it extends, as parsed (for editors: names and positions)
    files: tuple[LoadedFile, ...] = attrs.field(default=(), eq=False)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if not d.is_error]


def check_file(path: str | Path, text: str | None = None,
               read: Callable[[str], str] | None = None) -> CheckReport:
    """Check the methodology at `path` (or `text` under that name). Extended files are read
    with `read(path)` if given (see `check_sources`), else from disk."""
    return _check(str(path), text, read)


def _check(path: str, text: str | None, read: Callable[[str], str] | None,
           test_data: bool = True) -> CheckReport:
    """`test_data=False`: report nothing about the files `given data` names (they are not
    sources: whether they exist or may be read is a question for the disk)."""
    chain, diagnostics = load_chain(path, text, read)
    sources = {f.path: f.text for f in chain}
    if not chain:
        return CheckReport(None, tuple(sorted(diagnostics, key=Diagnostic.sort_key)), sources, tuple(chain))
    try:
        methodology, found = _Checker(chain, reading_failed=any(d.is_error for d in diagnostics)).run()
    except RecursionError:
        methodology, found = None, [Diagnostic(ERROR, "too-deep", "expressions are nested too deeply to check",
                                               Span.point(chain[0].path, 1, 1),
                                               "split the expression into named definitions.")]
    diagnostics = diagnostics + found
    if not test_data:
        data_spans = {item.span for f in chain for statement in f.module.statements
                      if isinstance(statement, S.TestDecl)
                      for item in statement.items if isinstance(item, S.GivenData)}
        diagnostics = [d for d in diagnostics if d.span not in data_spans]
    ordered = tuple(sorted(_dedupe(diagnostics), key=Diagnostic.sort_key))
    if any(d.is_error for d in ordered):
        methodology = None
    elif methodology is not None:
        methodology = attrs.evolve(methodology, warnings=tuple(d for d in ordered if not d.is_error))
    return CheckReport(methodology, ordered, sources, tuple(chain))


def check_sources(sources: Sequence[tuple[str, str]]) -> CheckReport:
    """Check a methodology given from memory, reading nothing from disk: `sources` is
    (path, text) of the file, then of every file it extends, as `Methodology.sources` and
    the audit store's `methodologies.sources` keep them. An extended file not among them is
    reported as not found. The data files named by `given data` in `test` blocks are not
    sources: nothing is reported about them."""
    if not sources:
        raise ValueError("check_sources needs at least the methodology's own (path, text)")
    texts = {str(p): t for p, t in sources}

    def read(path: str) -> str:
        if path not in texts:
            raise FileNotFoundError(errno.ENOENT, "not among the given sources", path)
        return texts[path]

    path, text = sources[0]
    return _check(str(path), text, read, test_data=False)


def check_source(text: str, path: str = "<string>") -> M.Methodology:
    """Check methodology text; raise TierError with every error found."""
    return _raise_on_errors(check_file(path, text))


def load(path: str | Path) -> M.Methodology:
    """Read, check and return the methodology at `path`; raise TierError with every error."""
    return _raise_on_errors(check_file(path))


def _raise_on_errors(report: CheckReport) -> M.Methodology:
    if report.methodology is None:
        raise TierError(report.diagnostics, report.sources)
    return report.methodology


def _dedupe(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    seen, out = set(), []
    for d in diagnostics:
        key = (d.code, d.message, d.span)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


# ---------------------------------------------------------------- the checker


@attrs.define
class _Merged:
    header: dict
    header_spans: dict
    statements: list  # (statement, file) in final order
    functions: dict  # name -> (FunctionDecl, file)
    types: dict  # name -> (TypeDecl, file)
    limits: list  # (LimitDecl, file)
    tests: list  # (TestDecl, file) of the root file only
    overrides: list
    measures: dict = attrs.Factory(dict)  # name -> (MeasuresDecl, file): measure tables


class _Checker:
    def __init__(self, chain: list[LoadedFile], reading_failed: bool = False):
        self.reading_failed = reading_failed  # a file was unreadable or had syntax errors
        self.chain = chain
        self.texts = {f.path: f.text for f in chain}
        self.diagnostics: list[Diagnostic] = []
        self.root = chain[0]

    def error(self, code, message, span, hint=None, notes=()):
        self.diagnostics.append(Diagnostic(ERROR, code, message, span, hint, tuple(notes)))

    def warning(self, code, message, span, hint=None, notes=()):
        self.diagnostics.append(Diagnostic(WARNING, code, message, span, hint, tuple(notes)))

    def run(self) -> tuple[M.Methodology | None, list[Diagnostic]]:
        merged = self._merge()
        symbols = self._collect(merged)
        self._lower_measures(merged, symbols)
        entity_levels = self._levels(merged)
        symbols.levels = Levels(entity_levels) if entity_levels else None
        symbols.levels_failed = entity_levels is None and "entity" in merged.header
        order = self._order(merged, symbols)
        resolver = Resolver(symbols, self.diagnostics, self.texts)
        nodes = []
        for statement, file in order:
            node = resolver.node(statement, file)
            if node is not None:
                nodes.append(node)
        nodes = self._attach_limits(nodes, merged, resolver)
        level_of = None
        if symbols.levels is not None and len(entity_levels) > 1:
            nodes, level_of = self._assign_levels(nodes, symbols)
        base_files = {o.name: o.base_file for o in merged.overrides}
        merged.overrides = _with_users(merged)
        nodes = [attrs.evolve(n, overrides=base_files[n.name]) if n.name in base_files else n for n in nodes]
        tests = tuple(t for t in (resolver.test(test, file) for test, file in merged.tests) if t is not None)
        if level_of is not None:
            self._level_tests(symbols.levels, level_of, tests)
        header = self._header(merged)
        self._lint(nodes, merged)
        if header is None or entity_levels is None:
            return None, self.diagnostics
        top = entity_levels[0]
        methodology = M.Methodology(
            name=header["name"],
            version=header.get("version"),
            effective=header.get("effective"),
            entity=top.name,
            key=top.key,
            label_column=top.label_column,
            doc=header.get("doc"),
            path=self.root.path,
            sources=tuple((f.path, f.text) for f in self.chain),
            types=dict(symbols.level_types),
            nodes=tuple(nodes),
            tests=tests,
            overrides=tuple(merged.overrides),
            levels=entity_levels,
        )
        return methodology, self.diagnostics

    # -- entity levels
    def _levels(self, merged: _Merged) -> tuple[M.EntityLevel, ...] | None:
        header = merged.header
        if "entity" not in header:
            return None
        span = merged.header_spans.get("entity")
        decls = [LevelDecl(header["entity"], header.get("within", ()), header.get("key"), header.get("label"), span)]
        decls += [LevelDecl(e.name, e.within, e.key, e.label, e.span) for e in header.get("more_entities", ())]
        return build_levels(decls, self.error, span)

    def _assign_levels(self, nodes: list[M.Node], symbols: Symbols) -> list[M.Node]:
        """Each node's level (dsl/levels.py), checked; scalars keep level None and record the
        level they are evaluated over in `context`."""
        levels: Levels = symbols.levels
        level_of: dict[str, str | None] = {}
        out = []
        for node in nodes:
            statement = symbols.statements[node.name][0]
            per, per_span = getattr(statement, "per", None), getattr(statement, "per_span", None)
            if per is not None:
                found = levels.find(per)
                if found is None:
                    self.error("unknown-level", f"no entity level called '{per}'", per_span, levels.unknown_hint(per))
                    out.append(node)
                    continue
                per = found
            if node.kind == M.PARAM:
                out.append(node)
                continue
            if node.kind == M.INPUT:
                at = per or levels.top
            else:
                exprs = node.expressions()
                at, clash = (per, False) if per else self._inferred_level(levels, exprs, level_of, node)
                for expr in exprs if not clash else ():
                    check_expression(levels, expr, at, level_of, self.error, f"'{node.name}'")
            if node.type.scalar and node.kind != M.INPUT:
                if per is not None:
                    self.error("per-scalar", f"'{node.name}' has one value for the whole run, so it cannot be "
                               f"`per {per}`", per_span, f"to count or aggregate for each {per}, aggregate over a "
                               f"lower level with `over`; otherwise remove `per {per}`.")
                level_of[node.name] = None
                out.append(attrs.evolve(node, context=None if at == levels.top else at))
                continue
            level_of[node.name] = at
            out.append(attrs.evolve(node, level=None if at == levels.top else at))
        return out, level_of

    def _inferred_level(self, levels: Levels, exprs, level_of, node: M.Node) -> tuple[str, bool]:
        found, clash = needed_level(levels, exprs, level_of)
        if clash is not None:
            (a, _, a_name), (b, span, b_name) = clash
            self.error("level-mix", f"'{node.name}' reads '{a_name}' (one value per {a}) and '{b_name}' (one value "
                       f"per {b}), but {a} and {b} do not lie within one another", span or node.span,
                       "aggregate one of them to a level both lie within, e.g. with `over`.")
            return levels.top, True
        return found, False

    def _level_tests(self, levels: Levels, level_of: dict[str, str | None], tests) -> None:
        for test in tests:
            for expect in test.expects:
                at = infer_level(levels, [expect], level_of)
                check_expression(levels, expect, at, level_of, self.error, "`expect`")
            for given in test.givens:
                level = level_of.get(given.name)
                if level is not None and level != levels.top:
                    self.error("given-lower-level", f"'{given.name}' has one value per {level}: a test can give "
                               "values only to the top level's inputs, definitions and params",
                               given.value.span, f"give the {level} values in a data file: "
                               f"`given data {level} \"FILE\"`.")

    # -- 1. merge
    def _merge(self) -> _Merged:
        merged = _Merged({}, {}, [], {}, {}, [], [], [])
        positions: dict[str, int] = {}
        for loaded in reversed(self.chain):  # deepest base first
            module, file = loaded.module, loaded.path
            self._check_duplicates_in_file(module)
            if module.header.entity is not None:  # the entity lines of one file describe every level
                merged.header["within"] = module.header.within
                merged.header["more_entities"] = module.header.more_entities
            for field in ("name", "version", "effective", "entity", "key", "label", "doc"):
                value = getattr(module.header, field)
                if value is not None:
                    merged.header[field] = value
                    merged.header_spans[field] = module.header.entity_span or module.header.span
                    if field == "effective":  # the syntax tree keeps no span for the date
                        merged.header_spans[field] = _written_span(loaded.text, file, field, value) or \
                            merged.header_spans[field]
            own_limit_tiers = {s.tier for s in module.statements if isinstance(s, S.LimitDecl)}
            merged.limits = [(lim, f) for lim, f in merged.limits if lim.tier not in own_limit_tiers]
            for statement in module.statements:
                if isinstance(statement, S.LimitDecl):
                    merged.limits.append((statement, file))
                elif isinstance(statement, S.TestDecl):
                    if loaded is self.root:
                        merged.tests.append((statement, file))
                elif isinstance(statement, S.TypeDecl):
                    self._override(merged, merged.types, statement, file)
                    merged.types[statement.name] = (statement, file)
                elif isinstance(statement, S.MeasuresDecl):
                    self._override(merged, merged.measures, statement, file)
                    merged.measures[statement.name] = (statement, file)
                elif isinstance(statement, (S.FunctionDecl, S.TableDecl)):  # tables are called like functions
                    self._override(merged, merged.functions, statement, file)
                    merged.functions[statement.name] = (statement, file)
                elif isinstance(statement, NODE_STATEMENTS):
                    name = statement.name
                    if name in positions:
                        old, old_file = merged.statements[positions[name]]
                        self._check_override_kind(old, statement)
                        if old_file != file:
                            merged.overrides.append(M.Override(name, old_file, file))
                        merged.statements[positions[name]] = (statement, file)
                    else:
                        positions[name] = len(merged.statements)
                        merged.statements.append((statement, file))
        return merged

    def _override(self, merged, table, statement, file):
        if statement.name in table and table[statement.name][1] != file:
            merged.overrides.append(M.Override(statement.name, table[statement.name][1], file))

    def _check_duplicates_in_file(self, module: S.Module) -> None:
        seen: dict[str, S.Statement] = {}
        for statement in module.statements:
            if isinstance(statement, (S.LimitDecl, S.TestDecl)):
                continue
            name = statement.name
            if name in seen:
                first = seen[name].name_span
                self.error("duplicate-name", f"'{name}' is defined twice", statement.name_span,
                           f"rename one of them, or delete one (the first is at line {first.line})." if first
                           else "rename or delete one of them.")
            else:
                seen[name] = statement
        test_names: set[str] = set()
        for statement in module.statements:
            if isinstance(statement, S.TestDecl):
                if statement.name in test_names:
                    self.error("duplicate-test", f"two tests are called {statement.name!r}", statement.span,
                               "give each test its own name.")
                test_names.add(statement.name)

    def _check_override_kind(self, old, new) -> None:
        def family(statement):
            return "definition" if isinstance(statement, S.Definition) else type(statement).__name__

        if family(old) != family(new):
            self.error("override-kind", f"'{new.name}' replaces {_a(_kind_word(old))} of the base methodology with "
                       f"{_a(_kind_word(new))}", new.name_span,
                       f"an override must be of the same kind; rename the new {_kind_word(new)}.")

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

    # -- 3. order
    def _order(self, merged: _Merged, symbols: Symbols) -> list:
        """Statements in dependency order; statements in a cycle are reported and dropped."""
        statements = merged.statements
        index = {s.name: i for i, (s, _) in enumerate(statements)}
        deps: list[set[int]] = []
        for statement, _ in statements:
            mentioned = names_in(statement, symbols.functions)
            deps.append({index[n] for n in mentioned if n in index and n != statement.name})
        for i, (statement, _) in enumerate(statements):
            if statement.name in names_in(statement, symbols.functions) and not isinstance(statement, S.InputDecl):
                self._self_reference(statement)
                deps[i].add(i)
        extra = self._limit_deps(merged, symbols, index)
        for i, more in extra.items():
            deps[i] |= more - {i}
        dependents: list[list[int]] = [[] for _ in statements]
        missing = [len(d) for d in deps]
        for i, ds in enumerate(deps):
            for d in ds:
                dependents[d].append(i)
        ready = [i for i, m in enumerate(missing) if m == 0]
        heapq.heapify(ready)
        order: list[int] = []
        while ready:
            i = heapq.heappop(ready)
            order.append(i)
            for j in dependents[i]:
                missing[j] -= 1
                if missing[j] == 0:
                    heapq.heappush(ready, j)
        if len(order) < len(statements):
            self._report_cycles(statements, deps, set(order))
        return [statements[i] for i in order]

    def _self_reference(self, statement) -> None:
        self.error("cycle", f"'{statement.name}' depends on itself", statement.name_span,
                   "a definition cannot use its own value; use another name for the earlier value.")

    def _limit_deps(self, merged, symbols, index) -> dict[int, set[int]]:
        extra: dict[int, set[int]] = {}
        for limit, _ in merged.limits:
            if limit.tier in index:
                mentioned = names_in(limit.condition, symbols.functions)
                extra.setdefault(index[limit.tier], set()).update(index[n] for n in mentioned if n in index)
        return extra

    def _report_cycles(self, statements, deps, done: set[int]) -> None:
        remaining = {i for i in range(len(statements)) if i not in done}
        reported: set[int] = set()
        for start in sorted(remaining):
            if start in reported or start in deps[start]:
                reported.add(start) if start in deps[start] else None
                continue
            cycle = _find_cycle(start, deps, remaining)
            if not cycle or reported & set(cycle):
                continue
            reported |= set(cycle)
            names = [statements[i][0].name for i in cycle]
            first = statements[cycle[0]][0]
            if len(names) > 12:  # a long cycle: its start and its end
                names = [*names[:10], f"... ({len(names) - 11} more)", names[-1]]
            self.error("cycle", f"definitions depend on each other in a cycle: {' -> '.join(names + [names[0]])}",
                       first.name_span, "break the cycle: one of these must not use the next.")

    # -- limits
    def _attach_limits(self, nodes: list[M.Node], merged: _Merged, resolver: Resolver) -> list[M.Node]:
        by_name = {n.name: i for i, n in enumerate(nodes)}
        limits: dict[str, list[M.Limit]] = {}
        extra_deps: dict[str, list[str]] = {}
        for limit, file in merged.limits:
            statement = resolver.symbols.statements.get(limit.tier, (None, None))[0]
            if not isinstance(statement, S.TierDecl):
                if statement is None:
                    suggestion = did_you_mean(limit.tier, [s.name for s, _ in merged.statements
                                                           if isinstance(s, S.TierDecl)])
                    self.error("unknown-tier", f"no tier called '{limit.tier}'", limit.tier_span,
                               f"did you mean '{suggestion}'?" if suggestion else "limits apply to tiers; "
                               "declare the tier first.")
                else:
                    self.error("limit-not-tier", f"'{limit.tier}' is {_a(_kind_word(statement))}, not a tier",
                               limit.tier_span, "limits apply to tiers.")
                continue
            if limit.tier not in by_name:
                continue  # the tier itself had errors
            resolved = resolver.limit(limit, file, nodes[by_name[limit.tier]].tier.scale)
            if resolved is not None:
                limits.setdefault(limit.tier, []).append(resolved[0])
                extra_deps.setdefault(limit.tier, []).extend(resolved[1])
        for tier, tier_limits in limits.items():
            node = nodes[by_name[tier]]
            deps = tuple(dict.fromkeys(node.deps + tuple(extra_deps[tier])))
            nodes[by_name[tier]] = attrs.evolve(node, tier=attrs.evolve(node.tier, limits=tuple(tier_limits)),
                                                deps=deps)
        return nodes

    # -- header
    def _header(self, merged: _Merged) -> dict | None:
        header = merged.header
        first_line = Span.point(self.root.path, 1, 1)
        ok = True
        # after a syntax error or an unreadable file, a missing header line may only be unread
        missing = (lambda *args: None) if self.reading_failed else self.error
        if "name" not in header:
            missing("missing-header", "the methodology has no name", first_line,
                       'start the file with `methodology "Name"`.')
            ok = False
        if "entity" not in header:
            missing("missing-header", "the methodology does not say what it rates", first_line,
                       "add e.g. `entity STP key stp_code label stp_name`.")
            ok = False
        elif "key" not in header and not header.get("within") and not header.get("more_entities"):
            missing("missing-key", f"entity '{header['entity']}' has no key column",
                       merged.header_spans.get("entity") or first_line,
                       "add `key COLUMN`: the data column that identifies each entity uniquely.")
            ok = False
        effective = header.get("effective")
        if effective is not None:
            import datetime

            try:
                datetime.date.fromisoformat(effective)
            except ValueError:
                self.error("bad-date", f"{effective} is not a calendar date", merged.header_spans.get("effective")
                           or first_line, "write the date as YYYY-MM-DD.")
        return header if ok else None

    # -- 5. lint
    def _lint(self, nodes: list[M.Node], merged: _Merged) -> None:
        if any(loaded.module.broken for loaded in self.chain) or any(d.is_error for d in self.diagnostics):
            return  # what the broken statements (or those with errors) used is unknown
        used = {d for n in nodes for d in n.deps}
        used |= {n.tier.source.name for n in nodes if n.tier and isinstance(n.tier.source, M.Ref)}
        for node in nodes:
            if node.kind == M.INPUT and node.name not in used:
                self.warning("unused-input", f"input '{node.name}' is not used by any definition", node.span,
                             "use it, or delete it so the data need not provide it.")


def _find_cycle(start: int, deps: list[set[int]], allowed: set[int]) -> list[int] | None:
    """A cycle through `start` within `allowed`, by iterative depth-first search."""
    stack = [(start, iter(sorted(deps[start] & allowed)))]
    path = [start]
    on_path = {start}
    visited: set[int] = set()
    while stack:
        node, children = stack[-1]
        advanced = False
        for child in children:
            if child == start:
                return list(path)
            if child not in on_path and child not in visited:
                stack.append((child, iter(sorted(deps[child] & allowed))))
                path.append(child)
                on_path.add(child)
                advanced = True
                break
        if not advanced:
            stack.pop()
            visited.add(path.pop())
            on_path.discard(node)
    return None


def _written_span(text: str, file: str, keyword: str, value: str) -> Span | None:
    """Where `keyword value` is written at the start of a line."""
    match = re.search(rf"^[ \t]*{keyword}[ \t]+({re.escape(value)})", text, re.MULTILINE)
    if match is None:
        return None
    start = match.start(1)
    return Span.point(file, text.count("\n", 0, start) + 1, start - text.rfind("\n", 0, start), len(value))


def _a(word: str) -> str:
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


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


def _kind_word(statement) -> str:
    if isinstance(statement, S.Definition):
        return statement.kind
    return {
        S.InputDecl: "input", S.ParamDecl: "param", S.TierDecl: "tier", S.FunctionDecl: "function",
        S.TableDecl: "table", S.MeasuresDecl: "measure table",
        S.TypeDecl: "type",
    }.get(type(statement), "definition")


__all__ = ["CheckReport", "check_file", "check_source", "load", "source_slice"]


def _with_users(merged) -> list:
    """Each override of a function, lookup table or measure table, with the definitions that use it
    (directly, or through other functions and measure tables): inlined, they are never nodes
    themselves, so the diff needs this to tell an override with effect from one without."""
    inlined = {**merged.functions, **merged.measures}
    wanted = {o.name for o in merged.overrides if o.name in inlined}
    if not wanted:
        return merged.overrides
    users: dict[str, list[str]] = {name: [] for name in wanted}
    for statement, _ in merged.statements:
        for name in _inlined_uses(statement, inlined) & wanted:
            users[name].append(statement.name)
    return [attrs.evolve(o, used_by=tuple(users[o.name])) if o.name in users else o for o in merged.overrides]


def _inlined_uses(statement, inlined: dict) -> set[str]:
    """The functions, lookup tables and measure tables a statement uses, transitively."""
    found: set[str] = set()
    stack = [statement]
    while stack:
        for node in walk(stack.pop()):
            name = None
            if isinstance(node, S.Call):
                name = node.function
            elif isinstance(node, S.MeasuresArg):
                name = node.measures
            elif isinstance(node, S.MeasureAttr) and node.kind == "treatment" and isinstance(node.value, str):
                name = node.value
            if name in inlined and name not in found:
                found.add(name)
                stack.append(inlined[name][0])
    return found
