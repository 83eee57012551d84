"""Entity levels: the levels declared in the header, each node's level inferred and checked,
and test blocks checked against them."""

from __future__ import annotations

import attrs

from dsl import model as M
from dsl.checker.common import _Merged
from dsl.levels import (
    LevelDecl,
    Levels,
    build_levels,
    check_expression,
    infer_level,
    needed_level,
)
from dsl.resolve import Symbols


class LevelStage:
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
