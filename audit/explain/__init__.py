"""Why did this organisation get this tier? Answered from the audit store alone.

`explain(store, "Dorset")` reads one run's nodes, the entity's values (one index range), the
run's population statistics and the entity's tier steps, and builds the derivation tree of
each tier back to the inputs. Nothing is recomputed from the methodology: every number shown
is a recorded value, except the arithmetic that explains a recorded value (a component's
contribution, the distance to a threshold, a rank among the recorded `from` values).

Entities at several levels: a lower level's entity (a location, a service) is explained like
a top-level one, from its own nodes (its level's tiers), with a line naming the entities it
lies within; a value it reads from a level above is that ancestor's. A node that aggregates
`over` a lower level (`count(safe == outstanding) over services`) lists the members of the
entity that it aggregated, each with its recorded value of the nodes the aggregation read,
at most `member_limit` of them followed by "... and N more".

The result is plain data (audit/explain/result.py); tierlang/render/explain.py shows it as
text (deterministic: the same store gives the same text, byte for byte) and JSON.

Modules: `build` (explain(): read the run and entity, build the trees), `builder` (one node's
derivation: its definition, components, members, branch and statistics in sentences), `tiers`
(a tier's rules, thresholds and ranks in sentences), `words` (shared wording), `result` (the
plain-data result).
"""

from audit.explain.build import explain
from audit.explain.builder import MAX_TREE_DEPTH, MEMBER_LIMIT
from audit.explain.result import (
    Component,
    Explanation,
    LimitActed,
    Member,
    MemberGroup,
    MemberValue,
    NodeExplanation,
    TierDetail,
)
from audit.explain.words import entity_kind, format_value, group_key, squash
from dsl.numbers import format_number

__all__ = [
    "MAX_TREE_DEPTH",
    "MEMBER_LIMIT",
    "Component",
    "Explanation",
    "LimitActed",
    "Member",
    "MemberGroup",
    "MemberValue",
    "NodeExplanation",
    "TierDetail",
    "entity_kind",
    "explain",
    "format_number",
    "format_value",
    "group_key",
    "squash",
]
