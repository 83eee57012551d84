"""Stage 3, order: the dependency graph from the names each statement mentions, in an order
that resolves every name before its use; cycles reported with their path."""

from __future__ import annotations

import heapq

from dsl import syntax as S
from dsl.checker.common import _Merged
from dsl.resolve import Symbols, names_in


class OrderStage:
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
