"""The checker: runs the stages in order (merge, collect, order, resolve, levels, lint) over the
files of a methodology and builds the checked Methodology."""

from __future__ import annotations

import attrs

from dsl import model as M
from dsl import syntax as S
from dsl.checker.collect import CollectStage
from dsl.checker.common import _a, _kind_word, _Merged
from dsl.checker.entity_levels import LevelStage
from dsl.checker.merge import MergeStage, _with_users
from dsl.checker.order import OrderStage
from dsl.errors import ERROR, WARNING, Diagnostic, Span, did_you_mean
from dsl.levels import (
    Levels,
)
from dsl.loader import LoadedFile
from dsl.resolve import Resolver


class _Checker(MergeStage, CollectStage, OrderStage, LevelStage):
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
