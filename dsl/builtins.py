"""Built-in functions, declared as data (as jmespath.py's functions.py does).

The checker reads this table to check every call before any data is read: the number and
kind of arguments, which options (`higher is better`, `within G`, `skip missing`, `require N`,
`normalise`, `value: weight`) a function accepts, whether it works row by row or over the whole
population, and what it returns. The interpreter implements each entry under the same name.
"""

from __future__ import annotations

import attrs

ROW = "row"  # one result per entity from that entity's values
POPULATION = "population"  # uses the values of every entity (or every entity of a group)

# Argument kinds
NUM = "number"  # per-entity or scalar number
BOOL = "boolean"
ANY = "any"  # any one type (coalesce)
CONST = "constant number"  # a number literal or param: known before data is read

# Result kinds
R_NUMBER = "number"
R_BOOLEAN = "boolean"
R_SCALAR = "scalar number"  # one value for the run (per-entity when `within` a group)
R_SAME = "same as arguments"
MAX_BANDS = 1_000  # quantile_band(x, n): n at most (n - 1 cut points per population)

# Option names
POLARITY = "polarity"
WITHIN = "within"
SKIP = "skip missing"
REQUIRE = "require"
NORMALISE = "normalise"
WEIGHTS = "weights"
METHOD = "method"  # `method: 7` / `method: "hazen"`: which quantile definition (QUANTILE_METHODS)

# Quantile definitions accepted by `method:`, each the name numpy.quantile gives it. Numbers are
# Hyndman & Fan's (1996) sample quantile types, which R's quantile(type = 1..9) numbers the same
# way; "sas1".."sas5" are SAS PCTLDEF=1..5 as Hyndman & Fan's table 1 maps them onto those types.
QUANTILE_METHODS: dict[str, str] = {
    **{m: m for m in ("inverted_cdf", "averaged_inverted_cdf", "closest_observation",
                      "interpolated_inverted_cdf", "hazen", "weibull", "linear", "median_unbiased",
                      "normal_unbiased", "lower", "higher", "midpoint", "nearest")},
    "1": "inverted_cdf", "2": "averaged_inverted_cdf", "3": "closest_observation",
    "4": "interpolated_inverted_cdf", "5": "hazen", "6": "weibull", "7": "linear",
    "8": "median_unbiased", "9": "normal_unbiased",
    "sas1": "interpolated_inverted_cdf", "sas2": "closest_observation", "sas3": "inverted_cdf",
    "sas4": "weibull", "sas5": "averaged_inverted_cdf",
}
DEFAULT_QUANTILE_METHOD = "linear"


@attrs.frozen
class Bound:
    """What a constant argument must be, checked before any data is read: a whole number if
    `whole`, within [low, high] (either may be open); `what` says it in words."""

    what: str
    low: float | None = None
    high: float | None = None
    whole: bool = False

    def holds(self, value: float) -> bool:
        return ((not self.whole or float(value).is_integer())
                and (self.low is None or value >= self.low) and (self.high is None or value <= self.high))


@attrs.frozen
class Ordered:
    """Two constant arguments that must be in increasing order (`winsorize(x, 5%, 95%)`)."""

    first: int  # argument indices, 0-based
    second: int
    message: str  # with {first} and {second}: the two values
    hint: str


_SHARE = Bound("a share between 0% and 100%", 0, 1)
_COUNT_OF_VALUES = Bound("a whole number of values, 0 or more", 0, whole=True)


@attrs.frozen
class Builtin:
    name: str
    scope: str  # ROW or POPULATION
    params: tuple[str, ...]  # argument kinds, in order
    returns: str
    variadic: str | None = None  # kind of any further arguments (lists are spread)
    min_args: int = 0
    options: frozenset[str] = frozenset()
    missing: str = "a missing argument gives a missing result"
    doc: str = ""
    bounds: tuple[tuple[int, Bound], ...] = ()  # (argument index, what its constant must be)
    ordered: Ordered | None = None
    weights_required: bool = False  # every argument needs a weight
    weights_sum_to_one: bool = False  # constant weights must sum to 100%, unless `normalise`
    # a single per-entity condition counts the entities for which it holds (a scalar), and
    # `[a, b] is not missing` is tested item by item
    counts_entities: bool = False
    over: bool = False  # `F(x) over LEVEL` aggregates one value per member of a lower level

    def bound(self, index: int) -> Bound | None:
        return dict(self.bounds).get(index)

    def signature(self) -> str:
        parts = [k for k in self.params]
        if self.variadic:
            parts.append(f"{self.variadic}, ...")
        for option in sorted(self.options):
            parts.append({POLARITY: "higher|lower is better", WITHIN: "within GROUP", SKIP: "skip missing",
                          REQUIRE: "require N", NORMALISE: "normalise", WEIGHTS: "x: weight",
                          METHOD: "method: M"}[option])
        return f"{self.name}({', '.join(parts)})"


_AGG = frozenset({SKIP, REQUIRE})
_POP = frozenset({POLARITY, WITHIN})

_MISSING_AGG = ("a missing component makes the result missing, unless `skip missing` (then missing "
                "components are dropped and weights re-normalised over those present); `require N` "
                "needs N present components")
_MISSING_POP = "computed over the entities that have a value; the others stay missing"

BUILTINS: dict[str, Builtin] = {
    b.name: b
    for b in [
        # -- row-wise arithmetic
        Builtin("abs", ROW, (NUM,), R_NUMBER, doc="absolute value"),
        Builtin("clip", ROW, (NUM, NUM, NUM), R_NUMBER, doc="clip(x, lo, hi): x limited to [lo, hi]"),
        Builtin("log", ROW, (NUM,), R_NUMBER, missing="missing (out of domain) for x <= 0", doc="natural log"),
        Builtin("log10", ROW, (NUM,), R_NUMBER, missing="missing (out of domain) for x <= 0", doc="log base 10"),
        Builtin("exp", ROW, (NUM,), R_NUMBER, doc="e to the power x"),
        Builtin("sqrt", ROW, (NUM,), R_NUMBER, missing="missing (out of domain) for x < 0", doc="square root"),
        Builtin("floor", ROW, (NUM,), R_NUMBER, doc="largest whole number <= x"),
        Builtin("ceil", ROW, (NUM,), R_NUMBER, doc="smallest whole number >= x"),
        Builtin("round", ROW, (NUM, CONST), R_NUMBER, bounds=((1, Bound("a whole number of digits", whole=True)),),
                doc="round(x, digits): half away from zero on the decimal value, as spreadsheets round"),
        Builtin("goalpost", ROW, (NUM, NUM, NUM), R_NUMBER, options=frozenset({POLARITY}),
                doc="goalpost(x, lo, hi): (x - lo) / (hi - lo) clipped to [0, 1]; reversed if lower is better"),
        Builtin("coalesce", ROW, (ANY,), R_SAME, variadic=ANY, min_args=2,
                missing="the first argument that is present", doc="first present value"),
        Builtin("only", ROW, (NUM, BOOL), R_NUMBER,
                missing="missing (reason `excluded`) where the condition is false or missing; a missing x "
                        "stays missing with its own reason",
                doc="only(x, condition): x where the condition holds, else missing; population functions "
                    "over only(x, c) compute over the entities for which c holds"),
        # -- row-wise aggregations over their arguments (lists are spread)
        Builtin("min", ROW, (), R_NUMBER, variadic=NUM, min_args=1, options=_AGG, missing=_MISSING_AGG, over=True,
                doc="smallest of the arguments"),
        Builtin("max", ROW, (), R_NUMBER, variadic=NUM, min_args=1, options=_AGG, missing=_MISSING_AGG, over=True,
                doc="largest of the arguments"),
        Builtin("sum", ROW, (), R_NUMBER, variadic=NUM, min_args=1, options=_AGG | {WEIGHTS},
                missing=_MISSING_AGG, over=True, doc="sum of the arguments (each times its weight, if weighted)"),
        Builtin("mean", ROW, (), R_NUMBER, variadic=NUM, min_args=1, options=_AGG | {WEIGHTS, NORMALISE},
                missing=_MISSING_AGG, over=True, doc="arithmetic mean of the arguments (weighted if weights are given)"),
        Builtin("weighted_mean", ROW, (), R_NUMBER, variadic=NUM, min_args=1,
                options=_AGG | {WEIGHTS, NORMALISE}, missing=_MISSING_AGG, weights_required=True,
                weights_sum_to_one=True,
                doc="sum of weight × value over the sum of weights; every argument needs a weight"),
        Builtin("geometric_mean", ROW, (), R_NUMBER, variadic=NUM, min_args=1,
                options=_AGG | {WEIGHTS, NORMALISE}, missing=_MISSING_AGG,
                doc="geometric mean (weighted if weights are given); missing (out of domain) if a value <= 0"),
        Builtin("count", ROW, (), R_NUMBER, variadic=BOOL, min_args=1, options=_AGG, missing=_MISSING_AGG,
                counts_entities=True, over=True, doc="number of true conditions; with a single per-entity condition (not a list), the "
                    "number of entities for which it holds (a scalar)"),
        Builtin("any", ROW, (), R_BOOLEAN, variadic=BOOL, min_args=1, options=_AGG, missing=_MISSING_AGG, over=True,
                doc="true if any condition holds"),
        Builtin("all", ROW, (), R_BOOLEAN, variadic=BOOL, min_args=1, options=_AGG, missing=_MISSING_AGG, over=True,
                doc="true if every condition holds"),
        # -- population functions
        Builtin("rank", POPULATION, (NUM,), R_NUMBER, options=_POP, missing=_MISSING_POP,
                doc="1 = best; ties share the best rank"),
        Builtin("percentile", POPULATION, (NUM,), R_NUMBER, options=_POP, missing=_MISSING_POP,
                doc="percentile rank 0..100, 100 = best: share of entities that the value equals or beats"),
        Builtin("quantile_band", POPULATION, (NUM, CONST), R_NUMBER, options=_POP | {METHOD},
                bounds=((1, Bound(f"a whole number of bands from 2 to {MAX_BANDS:,}", 2, MAX_BANDS, whole=True)),),
                missing=_MISSING_POP, doc="quantile_band(x, n): 1..n, n = best; cut points at the k/n quantiles"),
        Builtin("scaled_rank", POPULATION, (NUM, CONST, CONST), R_NUMBER, options=_POP, missing=_MISSING_POP,
                doc="scaled_rank(x, best, worst): rank r (1 = best, ties share the best rank) of the M "
                    "entities with a value, scored best + (worst - best) × (r - 1) / (M - 1); best if M = 1"),
        Builtin("quartile", POPULATION, (NUM,), R_NUMBER, options=_POP | {METHOD}, missing=_MISSING_POP,
                doc="quantile_band(x, 4): 1..4, 4 = best quarter"),
        Builtin("zscore", POPULATION, (NUM,), R_NUMBER, options=_POP, missing=_MISSING_POP,
                doc="(x - mean) / sd (sample sd); sign reversed if lower is better"),
        Builtin("minmax", POPULATION, (NUM,), R_NUMBER, options=_POP, missing=_MISSING_POP,
                doc="(x - min) / (max - min) in 0..1, 1 = best"),
        Builtin("winsorize", POPULATION, (NUM, CONST, CONST), R_NUMBER, options=frozenset({WITHIN, METHOD}),
                bounds=((1, _SHARE), (2, _SHARE)),
                ordered=Ordered(1, 2, "winsorize's low share ({first}) must be below its high share ({second})",
                                "write e.g. winsorize(x, 5%, 95%)."),
                missing=_MISSING_POP, doc="winsorize(x, lo%, hi%): x clipped to its lo and hi quantiles"),
        Builtin("population_mean", POPULATION, (NUM,), R_SCALAR, options=frozenset({WITHIN}),
                missing=_MISSING_POP, doc="mean over entities (per group with `within`)"),
        Builtin("population_median", POPULATION, (NUM,), R_SCALAR, options=frozenset({WITHIN}),
                missing=_MISSING_POP, doc="median over entities"),
        Builtin("population_sd", POPULATION, (NUM,), R_SCALAR, options=frozenset({WITHIN}),
                missing=_MISSING_POP, doc="sample standard deviation over entities"),
        Builtin("population_quantile", POPULATION, (NUM, CONST), R_SCALAR, options=frozenset({WITHIN, METHOD}),
                missing=_MISSING_POP, bounds=((1, _SHARE),),
                doc="population_quantile(x, q): the q quantile (0..1); linear interpolation unless `method:`"),
        # -- further statistics (interpreter/statistics.py)
        Builtin("population_min", POPULATION, (NUM,), R_SCALAR, options=frozenset({WITHIN}),
                missing=_MISSING_POP, doc="smallest value over entities"),
        Builtin("population_max", POPULATION, (NUM,), R_SCALAR, options=frozenset({WITHIN}),
                missing=_MISSING_POP, doc="largest value over entities"),
        Builtin("population_skewness", POPULATION, (NUM,), R_SCALAR, options=frozenset({WITHIN}),
                missing=_MISSING_POP, doc="sample skewness G1, adjusted Fisher-Pearson (Excel SKEW); 3+ values"),
        Builtin("population_skewness_p", POPULATION, (NUM,), R_SCALAR, options=frozenset({WITHIN}),
                missing=_MISSING_POP, doc="population skewness g1 = m3 / m2^1.5 (Excel SKEW.P); 2+ values"),
        Builtin("population_kurtosis", POPULATION, (NUM,), R_SCALAR, options=frozenset({WITHIN}),
                missing=_MISSING_POP, doc="sample excess kurtosis G2 (Excel KURT); 4+ values"),
        Builtin("population_kurtosis_p", POPULATION, (NUM,), R_SCALAR, options=frozenset({WITHIN}),
                missing=_MISSING_POP, doc="population excess kurtosis g2 = m4 / m2^2 - 3; 2+ values"),
        Builtin("population_weighted_variance", POPULATION, (NUM, NUM), R_SCALAR, options=frozenset({WITHIN}),
                missing="computed over the entities with a value and a weight",
                doc="population_weighted_variance(x, w): sum w (x - m)^2 / sum w, m the weighted mean"),
        Builtin("population_weighted_sd", POPULATION, (NUM, NUM), R_SCALAR, options=frozenset({WITHIN}),
                missing="computed over the entities with a value and a weight",
                doc="population_weighted_sd(x, w): the square root of population_weighted_variance(x, w)"),
        Builtin("population_weighted_quantile", POPULATION, (NUM, NUM, CONST), R_SCALAR,
                options=frozenset({WITHIN}), missing="computed over the entities with a value and a weight",
                bounds=((2, _SHARE),),
                doc="population_weighted_quantile(x, w, q): the smallest x whose share of the total weight "
                    "at or below it reaches q (numpy's weighted inverted_cdf)"),
        Builtin("winsorize_count", POPULATION, (NUM, CONST, CONST), R_NUMBER, options=frozenset({WITHIN}),
                missing=_MISSING_POP, bounds=((1, _COUNT_OF_VALUES), (2, _COUNT_OF_VALUES)),
                doc="winsorize_count(x, low_n, high_n): the low_n lowest values raised to the next lowest "
                    "value, the high_n highest lowered to the next highest"),
        Builtin("kmeans_band", POPULATION, (NUM, CONST, CONST), R_NUMBER, options=_POP, missing=_MISSING_POP,
                bounds=((1, Bound("a whole number of clusters, 2 or more", 2, whole=True)),
                        (2, Bound("a distance of 0 or more", 0))),
                doc="kmeans_band(x, k, strict): 1..k, k = best: one-dimensional k-means clusters (seeds "
                    "the medians of k quantile groups; a full pass, then a pass whose centroids ignore "
                    "values farther than `strict` from every centroid), numbered by centroid"),
    ]
}

# `F(x) over services`: aggregates one value per member of a lower entity level
OVER_FUNCTIONS = frozenset(n for n, b in BUILTINS.items() if b.over)

# the aggregations of their arguments: `skip missing` and `require N` apply (not coalesce)
AGGREGATIONS = frozenset(n for n, b in BUILTINS.items() if b.variadic and SKIP in b.options)
