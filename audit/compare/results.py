"""What comparing two recorded runs gives: the comparison, each entity's change and its
attribution to causes. Plain result objects; rendering is tierlang.render.compare.
"""

from __future__ import annotations

import math
from typing import Any

import attrs

from audit.store import (
    RunInfo,
)
from dsl.numbers import format_number

UNRATED = "(no tier)"
_ARROW = "→"


# ---------------------------------------------------------------- results


@attrs.frozen
class Part:
    """One piece of an entity's score change."""

    cause: str  # cause id: change:NAME, param:NAME, data:NAME, population:NAME, value:NAME, or
    #             several joined with " + "
    text: str  # the cause in words
    node: str  # where the piece was found
    component: str | None  # the aggregation's component, for weight and component effects
    effect: str  # weight, component, definition, via
    amount: float


@attrs.frozen
class Cause:
    cause: str
    text: str
    amount: float


@attrs.frozen
class Attribution:
    score_change: float | None  # None when either score is missing
    parts: tuple[Part, ...]  # in the order found, walking down from the score
    causes: tuple[Cause, ...]  # parts summed per cause, largest first
    tier_causes: tuple[str, ...]  # what else moved the tier: rules, thresholds, limits, ranks
    changed_nodes: tuple[str, ...]  # nodes on the path to the tier whose value changed

    @property
    def total(self) -> float:
        return math.fsum(p.amount for p in self.parts)


@attrs.frozen
class EntityDiff:
    key: str
    label: str | None
    old_tier: str | None
    new_tier: str | None
    move: int | None  # steps up the scale (negative: down); None when not comparable
    old_score: float | None
    new_score: float | None
    old_rank: int | None
    new_rank: int | None
    attribution: Attribution | None

    @property
    def score_change(self) -> float | None:
        if self.old_score is None or self.new_score is None:
            return None
        return self.new_score - self.old_score

    @property
    def title(self) -> str:
        return f"{self.label} ({self.key})" if self.label and self.label != self.key else self.key

    def rank_summary(self) -> str:
        """`Dorset (41): rank 4 → 2: cause (+0.21)`: an index's mover."""
        old, new = ("-" if r is None else str(r) for r in (self.old_rank, self.new_rank))
        head = f"{self.title}: rank {old} {_ARROW} {new}"
        a = self.attribution
        parts = [f"{c.text} ({signed(c.amount)})" for c in a.causes] if a is not None else []
        return head + (": " + ", ".join(parts) if parts else "")

    def summary(self) -> str:
        """`Dorset (41): advanced → outstanding: cause (+0.21), cause (-0.03)`."""
        head = f"{self.title}: {self.old_tier or UNRATED} {_ARROW} {self.new_tier or UNRATED}"
        a = self.attribution
        if a is None:
            return head
        parts = [f"{c.text} ({signed(c.amount)})" for c in a.causes]
        parts += list(a.tier_causes)
        return head + (": " + ", ".join(parts) if parts else "")


@attrs.frozen
class ParamChange:
    name: str
    old: Any  # the value used in the old run
    new: Any
    old_declared: Any  # the value the methodology declares
    new_declared: Any

    @property
    def overridden(self) -> bool:
        """A value used is not the declared one (`--param`)."""
        return self.old != self.old_declared or self.new != self.new_declared


@attrs.frozen
class Comparison:
    old: RunInfo
    new: RunInfo
    old_tier: str | None  # headline tier names
    new_tier: str | None
    rows: tuple[str, ...]  # old tier labels, best first (then the missing label, UNRATED)
    columns: tuple[str, ...]  # new tier labels
    counts: tuple[tuple[int, ...], ...]  # rows x columns
    common: int  # entities in both runs
    only_old: tuple[str, ...]  # keys
    only_new: tuple[str, ...]
    up: int
    down: int
    same: int
    other: int  # tier changed but not comparable on a scale (to or from no tier, other labels)
    spearman: float | None
    kendall: float | None
    correlated: int  # entities with a score in both runs
    movers: tuple[EntityDiff, ...]
    params: tuple[ParamChange, ...]  # params (in both runs) whose value used differs between the
    #                                  runs or from the declared value (`--param`)
    entities: tuple[EntityDiff, ...] = ()  # every common entity, when asked for (attribute="all")
    # two runs without tiers (indices): the score each ranks by; entities move by rank
    ranked_by: tuple[str | None, str | None] | None = None

    @property
    def moved(self) -> int:
        return self.up + self.down + self.other


# ---------------------------------------------------------------- reading a run


def value_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return format_number(float(v))
    return str(v)


def signed(x: float) -> str:
    text = format_number(x)
    return text if text.startswith("-") or text == "0" else f"+{text}"
