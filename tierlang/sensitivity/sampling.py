"""The sample design (A, B, AB_i, OAT_i rows drawn once from the seed), the nominal run's
reference positions, and the running sums the indices are estimated from."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dsl import model as M
from interpreter import ranking
from tierlang.sensitivity.choices import Choice
from tierlang.sensitivity.constants import INDEX_LABEL, INDEX_TIER, MAX_STORED_RANKS


class _Reference:
    """The nominal run's tier positions, scores and ranks, as the samples are compared."""

    def __init__(self, nominal, tier_node: M.Node, outcome):
        self.keys = nominal.keys
        self.table = outcome.table
        self.scale = tier_node.tier.scale
        if tier_node.name == INDEX_TIER:  # an index: every entity with a score holds the one label
            score = nominal.traces[tier_node.tier.source.name]
            self.scores = score.values.to_numpy(dtype=float)
            self.codes = np.where(np.isnan(self.scores), np.nan, 0.0)
            self.ranks = score.rank.to_numpy(dtype=float)  # the nominal run's ranks, as it recorded them
            self.display = pd.Series(np.where(np.isnan(self.scores), None, INDEX_LABEL), index=self.keys)
            return
        trace = nominal.traces[tier_node.name]
        self.codes = trace.values.cat.codes.to_numpy().astype(float)
        self.codes[self.codes < 0] = np.nan
        self.scale = tier_node.tier.scale
        if trace.tier.from_values is not None:
            self.scores = trace.tier.from_values.to_numpy(dtype=float)
        else:
            self.scores = self.codes.copy()
        self.ranks = trace.tier.rank.to_numpy(dtype=float)  # the nominal run's ranks, as it recorded them
        self.display = trace.tier.display


class _Design:
    """The A, B, AB_i and OAT_i rows (docs/sensitivity.md, "Design"), drawn once from the seed."""

    def __init__(self, choices: list[Choice], base: int, samples: int, rng: np.random.Generator):
        self.choices = choices
        self.base = base
        self.samples = samples
        self.row_types = 2 + 2 * len(choices)
        self.evaluations = base * self.row_types if choices else 0
        self.a: dict[str, np.ndarray] = {}
        self.b: dict[str, np.ndarray] = {}
        for matrix in (self.a, self.b):
            for choice in choices:
                matrix.update(choice.draw(rng, base))
        self.nominal = {p: v for c in choices for p, v in zip(c.params, c.nominal)}

    def chunk(self, start: int, stop: int) -> dict[str, np.ndarray]:
        """Rows start..stop of A, B, each AB_i and each OAT_i, in that order, per param."""
        n = stop - start
        a = {p: v[start:stop] for p, v in self.a.items()}
        b = {p: v[start:stop] for p, v in self.b.items()}
        fixed = {p: np.array([v] * n, dtype=a[p].dtype) for p, v in self.nominal.items()}
        parts: dict[str, list[np.ndarray]] = {p: [a[p], b[p]] for p in a}
        for others in (a, fixed):
            for choice in self.choices:
                for p in parts:
                    parts[p].append(b[p] if p in choice.params else others[p])
        return {p: np.concatenate(v) for p, v in parts.items()}


class _Indices:
    """Running sums of the Saltelli (first-order) and Jansen (total-order) estimators, per
    entity, for one output; values are centred on the nominal output (any constant leaves the
    estimators unbiased; the nominal value keeps the sums well conditioned)."""

    def __init__(self, centre: np.ndarray, k: int):
        self.centre = np.nan_to_num(centre)
        n = len(centre)
        self.sum = np.zeros(n)
        self.squares = np.zeros(n)
        self.count = np.zeros(n)
        self.first = np.zeros((k, n))
        self.total = np.zeros((k, n))
        self.pairs = np.zeros((k, n))

    def add(self, fa: np.ndarray, fb: np.ndarray, fab: np.ndarray) -> None:
        a, b = fa - self.centre, fb - self.centre
        for y in (a, b):
            ok = ~np.isnan(y)
            y0 = np.where(ok, y, 0.0)
            self.sum += y0.sum(axis=0)
            self.squares += (y0 * y0).sum(axis=0)
            self.count += ok.sum(axis=0)
        both = ~np.isnan(a) & ~np.isnan(b)
        for i in range(len(fab)):
            ab = fab[i] - self.centre
            ok = both & ~np.isnan(ab)
            self.first[i] += np.where(ok, b * (ab - a), 0.0).sum(axis=0)
            self.total[i] += np.where(ok, (a - ab) ** 2, 0.0).sum(axis=0)
            self.pairs[i] += ok.sum(axis=0)

    def variance(self) -> np.ndarray:
        with np.errstate(all="ignore"):
            v = (self.squares - self.sum**2 / self.count) / (self.count - 1)
        return np.where(self.count > 1, np.maximum(v, 0.0), np.nan)

    def partial(self) -> tuple[np.ndarray, np.ndarray]:
        """Per choice and entity, the first-order and total-order partial variances."""
        with np.errstate(all="ignore"):
            return self.first / self.pairs, self.total / (2 * self.pairs)

    def pooled(self) -> tuple[list[float | None], list[float | None]]:
        """Per choice: sum over entities of V_i / sum of V (None when nothing varied)."""
        v = np.nan_to_num(self.variance())
        vi, vt = (np.nan_to_num(x) for x in self.partial())
        total = v.sum()
        if not total > 0:
            return [None] * len(vi), [None] * len(vi)
        return [float(x.sum() / total) for x in vi], [float(x.sum() / total) for x in vt]

    def per_entity(self) -> np.ndarray:
        """Per choice and entity, the first-order index (NaN where the output never varied)."""
        v = self.variance()
        vi, _ = self.partial()
        with np.errstate(all="ignore"):
            return np.where(v > 0, vi / v, np.nan)


class _Accumulated:
    """Everything kept from the evaluated chunks."""

    def __init__(self, ref: _Reference, k: int, design: _Design):
        n = len(ref.keys)
        self.ref = ref
        self.k = k
        self.design = design
        self.score = _Indices(ref.scores, k)
        self.tier = _Indices(ref.codes, k)
        labels = len(ref.scale.labels)
        self.counts = np.zeros((labels + 1, n))  # per tier position, worst first; last: no tier
        self.uncertainty = 0
        keep = min(design.samples, max(1, MAX_STORED_RANKS // max(n, 1)))
        self.ranks = np.full((keep if k else 0, n), np.nan, dtype=np.float32)
        self.stored = 0
        self.shift_sum = 0.0
        self.shift_count = 0
        self.alone = np.zeros((k, n))  # OAT tier changes per choice and entity
        self.alone_draws = 0

    def add(self, start: int, f: np.ndarray, g: np.ndarray) -> None:
        """f, g: scores and tier positions, (row type, base row, entity), base rows from start."""
        k = self.k
        self.score.add(f[0], f[1], f[2 : 2 + k])
        self.tier.add(g[0], g[1], g[2 : 2 + k])
        b_rows = max(0, min(f.shape[1], self.design.samples - self.design.base - start))
        for codes, scores in ((g[0], f[0]), (g[1][:b_rows], f[1][:b_rows])):
            if not len(codes):
                continue
            self.uncertainty += len(codes)
            for position in range(self.counts.shape[0] - 1):
                self.counts[position] += (codes == position).sum(axis=0)
            self.counts[-1] += np.isnan(codes).sum(axis=0)
            ranks = sample_ranks(codes, scores)
            shift = np.abs(ranks - self.ref.ranks[None, :])
            self.shift_sum += float(np.nansum(shift))
            self.shift_count += int((~np.isnan(shift)).sum())
            room = min(len(ranks), len(self.ranks) - self.stored)
            self.ranks[self.stored : self.stored + room] = ranks[:room]
            self.stored += room
        nominal = self.ref.codes[None, :]
        for i in range(k):
            alone = g[2 + k + i]
            changed = (alone != nominal) & ~(np.isnan(alone) & np.isnan(nominal))
            self.alone[i] += changed.sum(axis=0)
        self.alone_draws += g.shape[1]


def sample_ranks(codes: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Per row (sample), each entity's rank as `tierlang run` ranks: the one tie rule of
    interpreter.ranking. `codes` are tier positions (worst 0), NaN for no tier."""
    return ranking.rank_rows(codes, scores)
