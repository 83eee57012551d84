"""One implementation per built-in of dsl.builtins.BUILTINS, registered under the same name.

Every implementation has the signature `fn(ev, call) -> Val`: `ev` is the evaluator
(interpreter.evaluator.Evaluator; it evaluates argument expressions with `ev.eval(expr)`, gives
constant arguments with `ev.const(expr)` and collects population statistics with
`ev.record(call, stats)`), `call` the resolved dsl.model.Call. Implementations work on whole
columns (numpy arrays over every entity); the only Python loops are over a call's arguments
and, for `within`, over the groups.

Missing values and their reasons (docs/semantics.md):
- row functions: a missing argument gives missing with that argument's reason (the first
  missing argument's); log/log10 of x <= 0, sqrt of x < 0 and geometric_mean of a value <= 0
  give `out_of_domain`; a zero divisor (goalpost with lo == hi, weights summing to 0 over the
  present components) gives `division_by_zero`.
- aggregations spread list arguments (a weighted list gives every item that weight). Without
  `skip missing` or `require`, a missing component makes the result missing (with the
  component's reason). `skip missing` drops missing components and needs at least one
  present (else `component_missing`); `require N` needs N present (else `below_require`) and
  implies dropping the missing ones. Re-normalised weights: with components missing, a
  weighted sum / weighted_mean / weighted geometric_mean is scaled by
  (sum of all weights) / (sum of present weights); `normalise` and weighted `mean` always
  divide by the sum of present weights. Unweighted, `sum` adds the present values and `mean`
  averages them (no scaling).
- population functions compute over present values (per `within` group: the values of an
  input or of a per-entity definition; entities whose group is missing stay missing, reason
  `component_missing`). `method:` picks numpy.quantile's method for the quantiles. Values are sorted before any
  sum so that the row order of the data never changes a result. `zscore` and `minmax` of a
  population whose values are all (decimal-safe) equal, and sample sds of fewer than two
  values, give `division_by_zero`. A quantile level outside 0..1 gives `out_of_domain`.

Statistics recorded (see interpreter.call_statistics for how they are named on the node):
rank, percentile: n; quantile_band, quartile: cut_1..cut_{n-1}, n; zscore: mean, sd, n;
minmax: min, max, n; winsorize: low, high, n; population_mean/median/sd/quantile: value, n;
kmeans_band: seed_1..k, centroid_1..k (by band), iterations_1, iterations_2, outliers, n;
the further statistics of interpreter.statistics: value, n (winsorize_count: low, high, n);
count of a single per-entity condition (a population count): value, n (entities with a known
condition). With `within G`, each is recorded per group as `name[GROUP]`.

Blocks (interpreter.evaluator.Evaluator, `ev.blocks` > 1: many param samples evaluated at once,
docs/sensitivity.md): population functions compute within each block, with the same numpy
operations row by row (`_population_blocks`); constant arguments may then differ by block
(`ev.const` gives one value per block). Statistics are not recorded.
"""

from dsl.builtins import BUILTINS
from interpreter import statistics  # noqa: F401  (registers the further statistics)
from interpreter.functions import aggregations, ranks, rows, summaries, treatment  # noqa: F401  (register)
from interpreter.functions.population import (  # noqa: F401  (imported from here by others)
    _count_rows,
    _groups,
    _key,
    _per_block,
    _population,
    _quantile_rows,
    group_names,
)
from interpreter.functions.registry import FUNCTIONS, builtin  # noqa: F401

POPULATION_FUNCTIONS = frozenset(n for n, b in BUILTINS.items() if b.scope == "population")

assert set(FUNCTIONS) == set(BUILTINS), sorted(set(BUILTINS) ^ set(FUNCTIONS))
