"""A sensitivity analysis's result: per choice, per entity and per dropped indicator."""

from __future__ import annotations

import attrs
import pandas as pd

from dsl.model import Methodology
from tierlang import api


@attrs.frozen
class ChoiceResult:
    name: str
    kind: str  # "param" or "weights"
    description: str
    declared: str
    first_order: float | None  # of the score, pooled over entities (None: the score never varied)
    total_order: float | None
    first_order_tier: float | None  # of the tier position
    total_order_tier: float | None
    tier_change_share: float  # varied alone: share of (sample, entity) pairs whose tier changed
    rank: int  # 1 = matters most


@attrs.frozen
class EntityResult:
    key: str
    label: str | None
    nominal_tier: str | None  # as `tierlang run` shows it (the `missing:` label, or None)
    nominal_rank: int | None
    nominal_score: float | None
    probabilities: dict[str, float]  # tier label (best first, then UNRATED) -> share of samples
    held: float  # share of samples with the nominal tier
    stable: bool  # held >= STABLE_SHARE
    median_rank: float | None
    rank_low: float | None  # 90% rank interval
    rank_high: float | None
    most_sensitive: str | None  # the choice changing its tier most often alone, else moving its score most


@attrs.frozen
class DropResult:
    indicator: str
    label: str | None
    tier_change_share: float  # entities whose tier changes
    changed: int
    mean_abs_rank_shift: float | None


@attrs.frozen
class Analysis:
    outcome: api.RunOutcome  # the nominal run (what `tierlang run` gives)
    tier: str
    tier_title: str
    score: str  # the tier's `from` expression, or "tier position" for a rule-based tier
    labels: tuple[str, ...]  # the tier's labels, best first
    unrated: str  # the key of "no tier" in the probabilities: the `missing:` label, or UNRATED
    seed: int
    samples: int  # uncertainty samples (A and B rows)
    base_samples: int  # rows of A (and of B)
    evaluations: int
    choices: tuple[ChoiceResult, ...]  # ranked, matters most first
    entities: tuple[EntityResult, ...]  # in nominal rank order
    drop_one: tuple[DropResult, ...]
    stable_count: int
    mean_abs_rank_shift: float | None
    notes: tuple[str, ...]
    spec: dict  # the sampling spec as recorded
    seconds: float
    analysis_id: int | None = None
    audit_path: str | None = None

    @property
    def methodology(self) -> Methodology:
        return self.outcome.methodology

    @property
    def stable_share(self) -> float:
        return self.stable_count / len(self.entities) if self.entities else float("nan")

    def entity(self, key: str) -> EntityResult:
        return next(e for e in self.entities if e.key == key)

    @property
    def frame(self) -> pd.DataFrame:
        """Per entity, indexed by key: nominal tier (ordered Categorical), `p_LABEL` shares,
        rank interval... (tierlang.frames)."""
        from tierlang.frames import sensitivity_frame

        return sensitivity_frame(self)

    @property
    def choices_frame(self) -> pd.DataFrame:
        from tierlang.frames import choices_frame

        return choices_frame(self)

    def __repr__(self) -> str:
        recorded = f"analysis {self.analysis_id}" if self.analysis_id is not None else "analysis not recorded"
        most = f"; most important {self.choices[0].name}" if self.choices else ""
        return (f"<Analysis {recorded}: {self.tier}, {self.samples:,} samples, {self.stable_count} of "
                f"{len(self.entities)} stable{most}>")

    def _repr_html_(self) -> str:
        import html

        return (f"<p>{html.escape(repr(self)[1:-1])}</p>" + self.choices_frame.to_html()
                + self.frame.to_html(max_rows=20))

    def choice(self, name: str) -> ChoiceResult:
        return next(c for c in self.choices if c.name == name)
