"""The choices an analysis samples: params with a distribution, and the weights of weighted
aggregations (perturbed by a Dirichlet draw), each drawn as arrays of samples."""

from __future__ import annotations

import attrs
import numpy as np

from dsl import model as M
from dsl import rewrite
from dsl.model import Methodology
from interpreter.evaluate import evaluate_value
from tierlang.render.cells import number


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


def weight_choices(methodology: Methodology, nominal, concentration: float
                   ) -> tuple[Methodology, list[Choice], list[str]]:
    """The methodology with each eligible weighted aggregation's weights w_i replaced by
    w_i r_i (sum w) / (sum w r), r_i a multiplier param (declared 1; dsl.rewrite), the choices
    sampling those multipliers, and notes on the aggregations left alone. Eligible: scalar
    weights whose declared values are >= 0, with at least two above 0."""
    choices: list[Choice] = []
    notes: list[str] = []
    multipliers: dict[tuple[str, int], tuple[str, ...]] = {}
    for node in methodology.nodes:
        for k, call in enumerate(rewrite.weighted_calls(node)):
            name = f"weights:{node.name}" + (f"#{k + 1}" if k > 0 else "")
            values = [_weight_value(nominal, w) for w in call.weights]
            if not all(w.type.scalar for w in call.weights) or any(v is None or v < 0 for v in values) \
                    or sum(v > 0 for v in values) < 2:
                notes.append(f"{name}: not perturbed (needs scalar weights >= 0, two of them above 0)")
                continue
            params = tuple(f"{name}:{i + 1}" for i in range(len(call.weights)))
            multipliers[(node.name, k)] = params
            total = sum(values)
            shares = tuple(v / total for v in values)
            choices.append(Choice(
                name, "weights", params,
                f"dirichlet({number(concentration)}) around " + ", ".join(number(s) for s in shares),
                ", ".join(number(v) for v in values), (1.0,) * len(params),
                shares=shares, concentration=float(concentration)))
    return rewrite.with_weight_multipliers(methodology, multipliers), choices, notes


def _weight_value(nominal, expr: M.Expr) -> float | None:
    if isinstance(expr, M.Const):
        return None if expr.value is None else float(expr.value)
    if not expr.type.scalar or len(nominal.keys) == 0:
        return None
    v = evaluate_value(nominal, expr)
    return None if v.missing[0] else float(v.data[0])
