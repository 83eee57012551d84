"""Stage 1, merge: `extends` applied (later files replace same-named definitions, each override
recorded with the definitions that use it), duplicates and kind changes refused."""

from __future__ import annotations

import attrs

from dsl import model as M
from dsl import syntax as S
from dsl.checker.common import NODE_STATEMENTS, _a, _kind_word, _Merged, _written_span
from dsl.tree import walk


class MergeStage:
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


