"""One-dimensional k-means clustering as the CMS Overall Hospital Quality Star Rating uses it.

`kmeans(sorted_values, k, strict)` clusters the values of one population (one `within`
group) and gives each value's cluster, numbered 0..k-1 from the lowest centroid up, with the
statistics that explain it. The algorithm, every step deterministic:

1. Seeds. The values are put into k quantile groups as SAS `PROC RANK GROUPS=k` does: the
   value of (average, for ties) rank r among n goes to group floor(r × k / (n + 1)). The seed
   of each group is its median.
2. First pass: nearest-centroid sorting (Lloyd's batch k-means, as SAS `PROC FASTCLUS` does
   without DRIFT) from the seeds over every value: assign each value to its nearest centroid
   (a tie goes to the lower cluster), replace each centroid by the mean of its values (a
   cluster left empty keeps its centroid), and repeat until no centroid changes (or
   MAX_ITERATIONS passes).
3. Second pass: the same from the first pass's centroids, except that a value farther than
   `strict` from its nearest centroid is left out of the means (SAS `FASTCLUS STRICT=s`).
4. Every value then takes the cluster of its nearest final centroid.

Why not scikit-learn or scipy: `sklearn.cluster.KMeans` stops on a centroid-shift tolerance
and has no STRICT exclusion; `scipy.cluster.vq.kmeans2` runs a fixed number of iterations and
reseeds or warns on empty clusters. Neither gives exactly this algorithm; in one dimension
it is a few vectorised numpy operations per iteration (values × k distances).

Checked against published data: on the CMS July 2025 Overall Star Rating file (summary score
and peer group per hospital), this algorithm with k = 5, strict = 1 reproduces the published
star of every rated hospital (2,891 of 2,891); a STRICT first pass or no STRICT pass does not.
"""

from __future__ import annotations

import attrs
import numpy as np

MAX_ITERATIONS = 1000  # per pass; CMS runs "to complete convergence"


@attrs.frozen
class Clusters:
    cluster: np.ndarray  # per value (in the order given), 0 = the lowest centroid
    seeds: np.ndarray  # k seeds, ascending
    centroids: np.ndarray  # k final centroids, in cluster order (ascending)
    iterations: tuple[int, int]  # passes over the data in the first and second pass
    outliers: int  # values the second pass left out of its last means


def quantile_group_seeds(s: np.ndarray, k: int) -> np.ndarray:
    """Medians of the k PROC RANK groups of the ascending values s (NaN for an empty group)."""
    n = len(s)
    left = np.searchsorted(s, s, side="left")
    right = np.searchsorted(s, s, side="right")
    rank = (left + right + 1) / 2.0  # average rank of ties, 1-based
    group = np.floor(rank * k / (n + 1)).astype(np.int64)
    return np.array([np.median(s[group == j]) if (group == j).any() else np.nan for j in range(k)])


def _nearest(x: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    distance = np.abs(x[:, None] - centroids[None, :])
    nearest = np.argmin(distance, axis=1)  # first (lowest) cluster on a tie
    return nearest, distance[np.arange(len(x)), nearest]


def _lloyd(x: np.ndarray, centroids: np.ndarray, strict: float | None) -> tuple[np.ndarray, int, int]:
    """Centroids after nearest-centroid sorting to convergence, the passes taken, and how many
    values the last pass left out (farther than `strict` from their nearest centroid)."""
    k = len(centroids)
    left_out = 0
    for iteration in range(1, MAX_ITERATIONS + 1):
        nearest, distance = _nearest(x, centroids)
        used = np.ones(len(x), dtype=bool) if strict is None else distance <= strict
        left_out = int((~used).sum())
        members = np.zeros((k, len(x)), dtype=bool)
        members[nearest[used], np.flatnonzero(used)] = True
        counts = members.sum(axis=1)
        sums = np.where(members, x[None, :], 0.0).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            updated = np.where(counts > 0, sums / counts, centroids)
        if np.array_equal(updated, centroids):
            return centroids, iteration, left_out
        centroids = updated
    return centroids, MAX_ITERATIONS, left_out


def kmeans(values: np.ndarray, k: int, strict: float) -> Clusters:
    """Cluster the values (at least k, no NaN) into k clusters (module docstring). The passes
    run over the values sorted, so the order of the rows never changes a mean."""
    s = np.sort(values)
    seeds = quantile_group_seeds(s, k)
    first, iterations_1, _ = _lloyd(s, seeds, None)
    final, iterations_2, outliers = _lloyd(s, first, strict)
    order = np.argsort(final, kind="stable")
    position = np.empty(k, dtype=np.int64)
    position[order] = np.arange(k)
    nearest, _ = _nearest(values, final)
    return Clusters(position[nearest], seeds[order], final[order], (iterations_1, iterations_2), outliers)
