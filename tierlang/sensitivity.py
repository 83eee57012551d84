"""How robust is each tier? Uncertainty and sensitivity analysis over a methodology's own
choices (docs/sensitivity.md).

    data = Tables("examples/stp_2017/stp_2017.csv", {"organisation": "examples/stp_2017/organisations.csv"})
    analysis = analyse("methodologies/stp_dashboard_2017.tier", data, samples=10_000, seed=1,
                       audit="tierlang.db")
    analysis.entities[0].probabilities     # {"outstanding": 0.93, "advanced": 0.07, ...}
    analysis.choices[0].name               # the choice that matters most

What is sampled (the "choices"): every param with a `range lo..hi` (uniform), `range
normal(mean, sd)` or `one of [...]` (equally likely); with `weights=C` the weights of every
weighted aggregation, perturbed around their values by a Dirichlet draw of concentration C.
`drop_one` re-evaluates the methodology with each indicator removed from its aggregations in
turn (weights re-normalised).

Design (Saltelli et al. 2010): two independent sample matrices A and B of `ceil(samples / 2)`
rows each; for each choice i, AB_i (A with choice i's column taken from B) and OAT_i (every
choice at its declared value but choice i, taken from B). A and B rows are the uncertainty
samples (tier probabilities, ranks); first-order indices use Saltelli 2010's estimator
V_i = mean(f(B) (f(AB_i) - f(A))), total-order indices Jansen's VT_i = mean((f(A) - f(AB_i))^2) / 2,
both over V, the variance of f over A and B; OAT_i gives the share of tier changes choice i
causes alone. Every evaluation is a block of interpreter.evaluate.SampleEvaluator: the samples
are a second axis of the evaluation (entities x samples, in chunks), never a loop of runs.

Orchestration only: the nominal run is `tierlang.api.run` (so it equals `tierlang run`), the
interpreter evaluates, audit.analyses stores the summary tables (never the sample runs).
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable
from pathlib import Path

import attrs
import numpy as np
import pandas as pd

from dsl import model as M
from dsl import types as T
from dsl.model import Methodology
from interpreter import ranking
from interpreter.evaluate import SampleEvaluator, evaluate, evaluate_value
from tierlang import __version__, api
from tierlang.render.cells import number
from tierlang.results import UNRATED, summary_table, tier_counts

KIND = "sensitivity"
MAX_SAMPLES = 100_000  # --samples at most (docs/sensitivity.md)
STABLE_SHARE = 0.9  # an entity is stable when its nominal tier holds in at least 90% of samples
RANK_INTERVAL = (0.05, 0.95)  # the 90% rank interval
CHUNK_ROWS = 250_000  # entity rows per evaluated chunk (entities x samples); measured faster than 1M
MAX_STORED_RANKS = 50_000_000  # rank values kept for the median rank and the rank interval
AGGREGATIONS = ("mean", "weighted_mean", "geometric_mean", "sum", "min", "max", "count", "any", "all")
SCORE_NODE = "~score"  # the tier's `from` expression, when it is not a node
INDEX_TIER = "~ranked"  # a methodology without tiers: one label for every entity with an index score
INDEX_LABEL = "ranked"
_NUMBER = T.number(scalar=True)


# ================================================================ choices


@attrs.frozen
class Choice:
    """One choice of the methodology that is sampled: a param, or the weights of one weighted
    aggregation (a group of multipliers sampled together)."""

    name: str  # the param's name, or "weights:NODE" (NODE#2 for a second weighted call)
    kind: str  # "param" or "weights"
    params: tuple[str, ...]  # the params it sets (for weights: one multiplier per component)
    description: str  # "uniform 40%..60%", "normal(50%, 5%)", "dirichlet(100) around 25%, 75%"
    declared: str  # the declared value(s)
    nominal: tuple  # the params' declared values, in `params` order
    distribution: M.Distribution | None = None  # params
    shares: tuple[float, ...] = ()  # weights: declared weights / their sum
    concentration: float | None = None  # weights

    def draw(self, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
        """n independent draws, per param."""
        if self.kind == "weights":
            return _dirichlet_multipliers(rng, n, self.shares, self.concentration, self.params)
        d = self.distribution
        (name,) = self.params
        if d.kind == M.UNIFORM:
            low, high = d.values
            return {name: low + (high - low) * rng.random(n)}
        if d.kind == M.NORMAL:
            mean, sd = d.values
            return {name: rng.normal(mean, sd, n)}
        picks = rng.integers(len(d.values), size=n)
        return {name: _typed([d.values[i] for i in picks], self.nominal[0])}

    def spec(self) -> dict:
        out = {"name": self.name, "kind": self.kind, "distribution": self.description,
               "declared": self.declared}
        if self.kind == "weights":
            out["shares"] = list(self.shares)
            out["concentration"] = self.concentration
        return out


def _typed(values: list, like) -> np.ndarray:
    if isinstance(like, bool):
        return np.array(values, dtype=bool)
    if isinstance(like, str):
        return np.array(values, dtype=object)
    return np.array(values, dtype=float)


def _dirichlet_multipliers(rng, n, shares, concentration, params) -> dict[str, np.ndarray]:
    """r_i = D_i / p_i with D ~ Dirichlet(C p) over the components of positive share p_i (the
    others keep their weight: r_i = 1). So p_i r_i are Dirichlet weights of mean p_i."""
    p = np.asarray(shares, dtype=float)
    positive = p > 0
    draws = rng.dirichlet(concentration * p[positive], size=n)
    r = np.ones((n, len(p)))
    r[:, positive] = draws / p[positive]
    return {name: r[:, i] for i, name in enumerate(params)}


def param_choices(methodology: Methodology) -> list[Choice]:
    """Every param with a distribution (`range`, `range normal(...)`, `one of [...]`)."""
    out = []
    for p in methodology.params:
        d = p.distribution
        if d is None:
            continue
        kind = {M.UNIFORM: "uniform ", M.NORMAL: "", M.ONE_OF: ""}[d.kind]
        out.append(Choice(p.name, "param", (p.name,), kind + d.text, _plain_text(p.value), (p.value,),
                          distribution=d))
    return out


def _plain_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return number(value)


# ---------------------------------------------------------------- model rewriting


def _map_expr(e, fn):
    """Rebuild a resolved expression bottom-up: fn(expr with children already mapped)."""
    if isinstance(e, tuple):
        items = tuple(_map_expr(item, fn) for item in e)
        return e if all(a is b for a, b in zip(items, e)) else items
    if not isinstance(e, (M.Unary, M.Binary, M.IsMissing, M.IfElse, M.ListOf, M.Pick, M.Call, M.MapOf,
                          M.BandOf)):
        return fn(e)
    changes = {}
    for field in attrs.fields(type(e)):
        if field.name in ("type", "span"):
            continue
        value = getattr(e, field.name)
        if isinstance(value, tuple) or _is_expr(value):
            mapped = _map_expr(value, fn)
            if mapped is not value:
                changes[field.name] = mapped
    return fn(attrs.evolve(e, **changes) if changes else e)


def _is_expr(value) -> bool:
    return isinstance(value, (M.Const, M.LabelConst, M.Ref, M.Unary, M.Binary, M.IsMissing, M.IfElse,
                              M.ListOf, M.Pick, M.Call, M.MapOf, M.BandOf))


def _map_node(node: M.Node, fn) -> M.Node:
    """The node with fn applied to every expression it holds (definition, tier, limits)."""
    if node.expr is not None:
        expr = _map_expr(node.expr, fn)
        return node if expr is node.expr else attrs.evolve(node, expr=expr)
    if node.tier is None:
        return node
    spec = node.tier
    source = None if spec.source is None else _map_expr(spec.source, fn)
    rules = []
    for rule in spec.rules:
        c = rule.condition
        if isinstance(c, M.ThresholdRule):
            c = attrs.evolve(c, value=_map_expr(c.value, fn))
        elif isinstance(c, M.ConditionRule):
            c = attrs.evolve(c, condition=_map_expr(c.condition, fn))
        rules.append(attrs.evolve(rule, condition=c))
    limits = tuple(attrs.evolve(limit, condition=_map_expr(limit.condition, fn)) for limit in spec.limits)
    return attrs.evolve(node, tier=attrs.evolve(spec, source=source, rules=tuple(rules), limits=limits))


def _node_exprs(node: M.Node) -> list:
    if node.expr is not None:
        return [node.expr]
    if node.tier is None:
        return []
    spec = node.tier
    out = [spec.source] if spec.source is not None else []
    for rule in spec.rules:
        if isinstance(rule.condition, M.ThresholdRule):
            out.append(rule.condition.value)
        elif isinstance(rule.condition, M.ConditionRule):
            out.append(rule.condition.condition)
    return out + [limit.condition for limit in spec.limits]


def _calls(e) -> list[M.Call]:
    found: list[M.Call] = []

    def visit(x):
        if isinstance(x, M.Call):
            found.append(x)
        return x

    _map_expr(e, visit)
    return found


def _binary(op: str, left: M.Expr, right: M.Expr) -> M.Binary:
    return M.Binary(op, left, right, T.number(scalar=left.type.scalar and right.type.scalar))


def _total(exprs) -> M.Expr:
    out = exprs[0]
    for e in exprs[1:]:
        out = _binary("+", out, e)
    return out


def weight_choices(methodology: Methodology, nominal, concentration: float
                   ) -> tuple[Methodology, list[Choice], list[str]]:
    """The methodology with each eligible weighted aggregation's weights w_i replaced by
    w_i r_i (sum w) / (sum w r), r_i a multiplier param (declared 1), the choices sampling those
    multipliers, and notes on the aggregations left alone. Eligible: scalar weights whose
    declared values are >= 0, with at least two above 0."""
    nodes = list(methodology.nodes)
    extra: list[M.Node] = []
    choices: list[Choice] = []
    notes: list[str] = []
    for position, node in enumerate(methodology.nodes):
        weighted = [c for e in _node_exprs(node) for c in _calls(e) if c.weights is not None]
        if not weighted:
            continue
        replacements = {}
        added: list[str] = []
        for count, call in enumerate(weighted, start=1):
            name = f"weights:{node.name}" + (f"#{count}" if count > 1 else "")
            values = [_weight_value(nominal, w) for w in call.weights]
            if not all(w.type.scalar for w in call.weights) or any(v is None or v < 0 for v in values) \
                    or sum(v > 0 for v in values) < 2:
                notes.append(f"{name}: not perturbed (needs scalar weights >= 0, two of them above 0)")
                continue
            params = tuple(f"{name}:{i + 1}" for i in range(len(call.weights)))
            refs = [M.Ref(p, _NUMBER) for p in params]
            scaled = [_binary("*", w, r) for w, r in zip(call.weights, refs)]
            factor = _binary("/", _total(list(call.weights)), _total(scaled))
            new_weights = tuple(_binary("*", s, factor) for s in scaled)
            replacements[id(call)] = attrs.evolve(call, weights=new_weights)
            extra += [M.Node(p, M.PARAM, _NUMBER, (), value=1.0) for p in params]
            added += params
            total = sum(values)
            shares = tuple(v / total for v in values)
            choices.append(Choice(
                name, "weights", params,
                f"dirichlet({number(concentration)}) around " + ", ".join(number(s) for s in shares),
                ", ".join(number(v) for v in values), (1.0,) * len(params),
                shares=shares, concentration=float(concentration)))
        if replacements:
            new = _map_node(node, lambda e, r=replacements: r.get(id(e), e))
            nodes[position] = attrs.evolve(new, deps=tuple(dict.fromkeys(node.deps + tuple(added))))
    if not extra:
        return methodology, [], notes
    return attrs.evolve(methodology, nodes=tuple(extra) + tuple(nodes)), choices, notes


def _weight_value(nominal, expr: M.Expr) -> float | None:
    if isinstance(expr, M.Const):
        return None if expr.value is None else float(expr.value)
    if not expr.type.scalar or len(nominal.keys) == 0:
        return None
    v = evaluate_value(nominal, expr)
    return None if v.missing[0] else float(v.data[0])


def drop_candidates(methodology: Methodology) -> list[str]:
    """Indicators that are a direct argument of an aggregation, in methodology order."""
    used: set[str] = set()
    for node in methodology.nodes:
        for e in _node_exprs(node):
            for call in _calls(e):
                if call.function in AGGREGATIONS and not call.population_count:
                    used.update(a.name for a in call.args if isinstance(a, M.Ref))
    return [n.name for n in methodology.nodes if n.kind == "indicator" and n.name in used]


def without(methodology: Methodology, indicator: str) -> Methodology:
    """The methodology with `indicator` removed from every aggregation it is an argument of,
    weights re-normalised: a weighted mean or geometric mean divides by the weights left, a
    sum scales them up to the total weight it had, `require N` asks at most what is left. An
    aggregation left with nothing makes its node missing, and that node is removed in turn."""
    dropped = {indicator}
    nodes = []
    for node in methodology.nodes:
        emptied = []

        def drop(e, emptied=emptied):
            if not (isinstance(e, M.Call) and e.function in AGGREGATIONS and not e.population_count):
                return e
            keep = [i for i, a in enumerate(e.args) if not (isinstance(a, M.Ref) and a.name in dropped)]
            if len(keep) == len(e.args):
                return e
            if not keep:
                emptied.append(e)
                return e
            return _drop_components(e, keep)

        new = _map_node(node, drop) if node.name not in dropped else node
        if emptied and new.expr is not None:
            new = attrs.evolve(new, expr=M.Const(None, new.type))
            dropped.add(node.name)
        nodes.append(new)
    return attrs.evolve(methodology, nodes=tuple(nodes))


def _drop_components(call: M.Call, keep: list[int]) -> M.Call:
    args = tuple(call.args[i] for i in keep)
    weights = call.weights
    changes: dict = {"args": args}
    if call.require is not None:
        changes["require"] = min(call.require, len(args))
    if call.function == "sum":
        if weights is None:
            factor = M.Const(len(call.args) / len(args), _NUMBER)
            changes["weights"] = tuple(factor for _ in args)
        elif not call.normalise:
            kept = [weights[i] for i in keep]
            factor = _binary("/", _total(list(weights)), _total(kept))
            changes["weights"] = tuple(_binary("*", w, factor) for w in kept)
        else:
            changes["weights"] = tuple(weights[i] for i in keep)
    elif weights is not None:
        changes["weights"] = tuple(weights[i] for i in keep)
        if call.function in ("weighted_mean", "geometric_mean"):
            changes["normalise"] = True
    return attrs.evolve(call, **changes)


# ================================================================ results


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


# ================================================================ the analysis


def analyse(methodology: Methodology | str | Path, data, *, samples: int = 1000, seed: int | None = None,
            weights: float | None = None, drop_one: bool = False, tier: str | None = None,
            audit=None, encoding: str = "utf-8", sheet: str | None = None,
            progress: Callable[[int, int], None] | None = None, chunk_rows: int = CHUNK_ROWS,
            weights_of: tuple[str, ...] = ()) -> Analysis:
    """Run the nominal methodology (recorded in `audit` if given), sample its choices, and
    summarise per entity and per choice; the analysis is recorded with the nominal run.

    Raises what api.run raises, and api.UsageError for a request that cannot be analysed."""
    started = time.perf_counter()
    if not isinstance(methodology, Methodology):
        methodology = api.load(methodology)
    if samples < 2:
        raise api.UsageError(f"--samples {samples}: take at least 2 samples")
    if samples > MAX_SAMPLES:  # the design matrices and the time grow with the samples
        raise api.UsageError(f"--samples {samples:,}: take at most {MAX_SAMPLES:,} samples "
                             f"(the tier probabilities' sampling error is then below 0.2 percentage points)")
    if weights is not None and not (weights > 0 and math.isfinite(weights)):
        raise api.UsageError(f"dirichlet({weights}): the concentration must be a number above 0")
    if weights_of and weights is None:
        raise api.UsageError("--weights-of names aggregations whose weights --weights perturbs: give --weights too")
    seed = secrets.randbelow(2**31) if seed is None else int(seed)
    tier_node = _tier_node(methodology, tier)
    analysed = methodology if tier_node.name != INDEX_TIER else attrs.evolve(
        methodology, nodes=methodology.nodes + (tier_node,))
    outcome, prepared = _nominal_run(methodology, data, encoding, sheet)
    inputs, members = prepared.frame, prepared.members
    nominal = outcome.result

    choices = param_choices(methodology)
    sampled_methodology, notes = methodology, []
    if weights is not None:
        sampled_methodology, weight_sets, notes = weight_choices(methodology, nominal, weights)
        if weights_of:  # only the named aggregations (the others keep their weights: multipliers at 1)
            available = [c.name.removeprefix("weights:") for c in weight_sets]
            unknown = [w for w in weights_of if w not in available]
            if unknown:
                raise api.UsageError(f"--weights-of {unknown[0]}: no weighted aggregation of that name whose "
                                     f"weights can be perturbed (there are: {', '.join(available) or 'none'})")
            weight_sets = [c for c in weight_sets if c.name.removeprefix("weights:") in weights_of]
        choices += weight_sets
        if not weight_sets:
            notes.append("--weights: no weighted aggregation whose weights can be perturbed")
    if drop_one and not drop_candidates(methodology):
        notes.append("--drop-one: no indicator is an argument of an aggregation")
    if not choices and not drop_one:
        raise api.UsageError(
            "nothing to sample: no param of this methodology has a `range`, `range normal(...)` or "
            "`one of [...]`; declare one, or use --weights dirichlet(C) or --drop-one")
    if tier_node.name == INDEX_TIER:
        sampled_methodology = attrs.evolve(sampled_methodology, nodes=sampled_methodology.nodes + (tier_node,))
    sampled_methodology, score_name = _with_score(sampled_methodology, tier_node)

    reference = _Reference(nominal, tier_node, outcome)
    base = -(-samples // 2)
    design = _Design(choices, base, samples, np.random.default_rng(seed))
    state = _Accumulated(reference, len(choices), design)
    if choices:
        evaluator = SampleEvaluator(sampled_methodology, inputs, sampled=[p for c in choices for p in c.params],
                                    wanted=[tier_node.name, score_name], members=members)
        n = max(len(inputs), 1)
        per_chunk = max(1, chunk_rows // (design.row_types * n))
        for start in range(0, base, per_chunk):
            stop = min(base, start + per_chunk)
            values = evaluator.run(design.chunk(start, stop))
            rows = design.row_types, stop - start, len(inputs)
            f = evaluator.matrix(values[score_name]).reshape(rows)
            g = evaluator.matrix(values[tier_node.name]).reshape(rows)
            state.add(start, f, g)
            if progress is not None:
                progress(stop * design.row_types, design.evaluations)
    drops = _drop_one(analysed, prepared, tier_node, score_name, reference, nominal) if drop_one else []

    analysis = _summarise(outcome, tier_node, choices, design, state, drops, seed, notes,
                          time.perf_counter() - started, weights, drop_one)
    if audit is not None:
        analysis = _record(analysis, str(audit))
    return analysis


def _nominal_run(methodology: Methodology, data, encoding: str, sheet: str | None):
    """What `api.run` does without recording (the nominal run is recorded with the analysis),
    keeping the prepared inputs for the samples."""
    prepared = api.prepare(methodology, api.read_data(data, encoding=encoding, sheet=sheet))
    result = evaluate(methodology, prepared.frame, params={}, labels=prepared.labels, members=prepared.members)
    outcome = api.RunOutcome(result, prepared.dataset, None, None, summary_table(result), tier_counts(result))
    return outcome, prepared


def _tier_node(methodology: Methodology, name: str | None) -> M.Node:
    tiers = tuple(t for t in methodology.tiers if t.level is None)  # tiers of the rated (top) entities
    if not tiers:
        index = ranking.index_score(methodology)
        if index is not None and name is None:  # an index: its score and ranks are analysed
            return _index_tier(methodology.node(index))
        raise api.UsageError("this methodology declares no tier of its top level and no per-entity `score`: "
                             "there is nothing to analyse")
    if name is None:
        return tiers[-1]
    for node in tiers:
        if node.name == name:
            return node
    raise api.UsageError(f"--tier {name}: no such tier (tiers: {', '.join(n.name for n in tiers)})")


def _index_tier(score: M.Node) -> M.Node:
    """For a methodology without tiers: a tier with one label, held by every entity with an
    index score, so that the samples' ranks are the index's ranks (by score, highest first) and
    the indices are those of the score. It is never recorded: the nominal run is the
    methodology's own."""
    scale = T.LevelType(INDEX_TIER, (INDEX_LABEL,))
    rule = M.TierRule(INDEX_LABEL, M.OtherwiseRule())
    spec = M.TierSpec(scale, M.Ref(score.name, score.type), (rule,), None, ())
    return M.Node(INDEX_TIER, M.TIER, T.level(scale), (score.name,), label=score.label or score.name, tier=spec)


def _with_score(methodology: Methodology, tier_node: M.Node) -> tuple[Methodology, str]:
    """The node holding the tier's `from` value (added when it is an expression), or the tier
    itself for a rule-based tier (its position on the scale is then the score)."""
    source = tier_node.tier.source
    if source is None:
        return methodology, tier_node.name
    if isinstance(source, M.Ref):
        return methodology, source.name
    node = M.Node(SCORE_NODE, "let", source.type, _reads(source), expr=source)
    return attrs.evolve(methodology, nodes=methodology.nodes + (node,)), SCORE_NODE


def _reads(e) -> tuple[str, ...]:
    """The nodes an expression reads: its references and `within` groups."""
    found: list[str] = []

    def visit(x):
        if isinstance(x, M.Ref):
            found.append(x.name)
        elif isinstance(x, M.Call) and x.within:
            found.append(x.within)
        return x

    _map_expr(e, visit)
    return tuple(dict.fromkeys(found))


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


# ---------------------------------------------------------------- drop one


def _drop_one(methodology, prepared, tier_node, score_name, ref: _Reference, nominal) -> list[DropResult]:
    out = []
    for name in drop_candidates(methodology):
        variant, variant_score = _with_score(without(methodology, name), tier_node)
        evaluator = SampleEvaluator(variant, prepared.frame, dict(nominal.params), sampled=[],
                                    wanted=[tier_node.name, variant_score], members=prepared.members)
        values = evaluator.run({})
        codes = evaluator.matrix(values[tier_node.name])
        scores = evaluator.matrix(values[variant_score])
        changed = (codes[0] != ref.codes) & ~(np.isnan(codes[0]) & np.isnan(ref.codes))
        shift = np.abs(sample_ranks(codes, scores)[0] - ref.ranks)
        n = len(ref.codes)
        node = methodology.node(name)
        out.append(DropResult(name, node.label, float(changed.sum() / n) if n else 0.0, int(changed.sum()),
                              float(np.nanmean(shift)) if (~np.isnan(shift)).any() else None))
    return out


# ---------------------------------------------------------------- summary


def _summarise(outcome, tier_node, choices, design, state: _Accumulated, drops, seed, notes, seconds,
               weights, drop_one) -> Analysis:
    ref = state.ref
    labels_best_first = tuple(reversed(ref.scale.labels))
    k, n = len(choices), len(ref.keys)
    first, total = state.score.pooled() if k else ([], [])
    first_t, total_t = state.tier.pooled() if k else ([], [])
    entity_first = state.score.per_entity() if k else np.zeros((0, n))
    draws = max(state.alone_draws, 1)
    alone_share = [float(state.alone[i].sum() / (draws * n)) if n else 0.0 for i in range(k)]

    def importance(i):
        return tuple(-(x if x is not None and not math.isnan(x) else -1.0)
                     for x in (first_t[i], first[i], alone_share[i]))

    order = sorted(range(k), key=importance)
    ranked = tuple(
        ChoiceResult(choices[i].name, choices[i].kind, choices[i].description, choices[i].declared,
                     first[i], total[i], first_t[i], total_t[i], alone_share[i], position)
        for position, i in enumerate(order, start=1))

    unrated = tier_node.tier.missing_label or UNRATED
    table = ref.table.set_index("key").reindex(ref.keys)
    tiers, labels = table["tier"].tolist(), table["label"].tolist()
    nominal_ranks, nominal_scores = table["rank"].tolist(), table["score"].tolist()
    uncertainty = max(state.uncertainty, 1)
    shares = state.counts / uncertainty
    median, low, high = _rank_statistics(state.ranks[: state.stored], n)
    entities = []
    for e, key in enumerate(ref.keys):
        probabilities = {}
        if k:
            for label in labels_best_first:
                probabilities[label] = float(shares[ref.scale.order(label), e])
            if state.counts[-1, e]:
                probabilities[unrated] = float(shares[-1, e])
        nominal_code = ref.codes[e]
        if not k:
            held = 1.0
        else:
            held = float(shares[-1 if np.isnan(nominal_code) else int(nominal_code), e])
        most = _most_sensitive(e, choices, state, entity_first) if k else None
        rank, score = nominal_ranks[e], nominal_scores[e]
        entities.append(EntityResult(
            str(key), None if _missing(labels[e]) else str(labels[e]),
            None if _missing(tiers[e]) else str(tiers[e]),
            None if _missing(rank) else int(rank), None if _missing(score) else float(score),
            probabilities, held, held >= STABLE_SHARE, median[e], low[e], high[e], most))
    entities.sort(key=lambda x: (x.nominal_rank is None, x.nominal_rank or 0))
    shift = state.shift_sum / state.shift_count if state.shift_count else None
    spec = {
        "kind": KIND,
        "tier": tier_node.name,
        "score": _score_text(tier_node),
        "samples": design.samples,
        "base_samples": design.base,
        "evaluations": design.evaluations,
        "seed": seed,
        "design": "Saltelli 2010 (A, B, AB_i) with one-at-a-time rows OAT_i",
        "estimators": {"first_order": "Saltelli 2010", "total_order": "Jansen 1999"},
        "choices": [c.spec() for c in choices],
        "weights": None if weights is None else f"dirichlet({number(weights)})",
        "drop_one": bool(drop_one),
        "stable_share": STABLE_SHARE,
        "rank_interval": list(RANK_INTERVAL),
        "notes": list(notes),
        "tool_version": __version__,
    }
    return Analysis(
        outcome=outcome, tier=tier_node.name, tier_title=tier_node.label or tier_node.name,
        score=_score_text(tier_node), labels=labels_best_first, unrated=unrated, seed=seed, samples=design.samples if k else 0,
        base_samples=design.base if k else 0, evaluations=design.evaluations, choices=ranked,
        entities=tuple(entities), drop_one=tuple(drops), stable_count=sum(e.stable for e in entities),
        mean_abs_rank_shift=shift, notes=tuple(notes), spec=spec, seconds=seconds)


def _rank_statistics(ranks: np.ndarray, n: int) -> tuple[list, list, list]:
    """Per entity (column), over the samples where it has a rank: the median, and the 90%
    interval as np.quantile's "lower" 5% and "higher" 95% (None where it never has a rank)."""
    if not len(ranks):
        return [None] * n, [None] * n, [None] * n
    ordered = np.sort(ranks, axis=0)  # missing (NaN) last
    count = (~np.isnan(ranks)).sum(axis=0)
    last = np.maximum(count - 1, 0)

    def at(position):
        return np.take_along_axis(ordered, np.minimum(position, last)[None, :].astype(np.int64), axis=0)[0]

    median = (at(last // 2) + at((last + 1) // 2)) / 2
    low = at(np.floor(last * RANK_INTERVAL[0]))
    high = at(np.ceil(last * RANK_INTERVAL[1]))

    def plain(values):
        return [None if c == 0 else float(v) for v, c in zip(values, count)]

    return plain(median), plain(low), plain(high)


def _score_text(tier_node: M.Node) -> str:
    from audit.recorder import expression_text

    source = tier_node.tier.source
    return expression_text(source) if source is not None else "tier position"


def _missing(value) -> bool:
    return value is None or bool(pd.isna(value))


def _most_sensitive(e: int, choices, state: _Accumulated, entity_first: np.ndarray) -> str | None:
    alone = state.alone[:, e]
    if alone.max() > 0:
        return choices[int(np.argmax(alone))].name
    indices = entity_first[:, e]
    if np.isnan(indices).all() or not np.nanmax(indices) > 0:
        return None
    return choices[int(np.nanargmax(indices))].name


def _record(analysis: Analysis, path: str) -> Analysis:
    from audit import open_store
    from audit.analyses import record_analysis

    outcome = analysis.outcome
    store = open_store(path)
    try:
        if outcome.run_id is None or outcome.audit_path != path:
            run_id = store.record(outcome.result, dataset=outcome.dataset, tool_version=__version__,
                                  user=api.current_user())
            outcome = attrs.evolve(outcome, run_id=run_id, audit_path=path)
        analysis_id = record_analysis(store, outcome.run_id, analysis_rows(analysis), tool_version=__version__)
    finally:
        store.close()
    return attrs.evolve(analysis, outcome=outcome, analysis_id=analysis_id, audit_path=path)


def analysis_rows(analysis: Analysis) -> dict:
    """The analysis as the audit store keeps it (audit.analyses.record_analysis)."""
    entities = [
        {"key": e.key, "nominal_tier": e.nominal_tier, "nominal_rank": e.nominal_rank,
         "probabilities": e.probabilities, "held": e.held, "median_rank": e.median_rank,
         "rank_low": e.rank_low, "rank_high": e.rank_high, "stable": e.stable,
         "most_sensitive": e.most_sensitive}
        for e in analysis.entities
    ]
    choices = [
        {"choice": c.name, "kind": c.kind, "rank": c.rank, "first_order_index": c.first_order,
         "total_order_index": c.total_order, "first_order_tier": c.first_order_tier,
         "total_order_tier": c.total_order_tier, "tier_change_share": c.tier_change_share,
         "detail": {"distribution": c.description, "declared": c.declared}}
        for c in analysis.choices
    ]
    choices += [
        {"choice": f"drop:{d.indicator}", "kind": "drop", "rank": None, "first_order_index": None,
         "total_order_index": None, "first_order_tier": None, "total_order_tier": None,
         "tier_change_share": d.tier_change_share,
         "detail": {"changed": d.changed, "mean_abs_rank_shift": d.mean_abs_rank_shift}}
        for d in analysis.drop_one
    ]
    from audit.recorder import methodology_sha256

    return {
        "kind": KIND,
        "methodology_sha256": methodology_sha256(analysis.methodology),
        "dataset_sha256": analysis.outcome.dataset.sha256,
        "tier": analysis.tier,
        "spec": analysis.spec,
        "seed": analysis.seed,
        "samples": analysis.samples,
        "evaluations": analysis.evaluations,
        "summary": {
            "entities": len(analysis.entities),
            "stable": analysis.stable_count,
            "stable_share": analysis.stable_share,
            "mean_abs_rank_shift": analysis.mean_abs_rank_shift,
            "most_important": analysis.choices[0].name if analysis.choices else None,
            "seconds": round(analysis.seconds, 3),
        },
        "entities": entities,
        "choices": choices,
    }
