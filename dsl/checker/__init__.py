"""Static checks: syntax tree (+ extended files) → checked Methodology (dsl.model).

Stages, each using only the previous one's output:
  1. merge   — apply `extends`: later files replace same-named definitions (recorded overrides)
  2. collect — one symbol table: level types, nodes (inputs, params, definitions, tiers), functions
  3. order   — dependency graph from the names each statement mentions; cycles are reported
  4. resolve — in dependency order, every expression is typed and resolved (dsl.resolve)
  5. lint    — whole-methodology checks: unused inputs, tiers without `otherwise`
Every problem found is collected; a TierError carrying all of them is raised at the end.

Modules: `check` (entry points and the report), `checker` (the stages run in order), `merge`,
`collect`, `order`, `entity_levels` (one stage each), `common` (what they share); resolving is
dsl.resolve's.
"""

from dsl.checker.check import CheckReport, check_file, check_source, check_sources, load
from dsl.checker.common import NODE_STATEMENTS
from dsl.resolve import source_slice

__all__ = ["NODE_STATEMENTS", "CheckReport", "check_file", "check_source", "check_sources", "load",
           "source_slice"]
