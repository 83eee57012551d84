"""Issue 11, done when: over generated methodologies and data, for every entity and every
additive node (a `sum`, `mean` or `weighted_mean`, and a sum of terms `a - (b + 2)`) the
recorded contributions sum to the recorded value (within 1e-9), and explain's rank and tier
are the run's."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit import open_store
from audit.explain import explain
from tierlang import api

HEAD = 'methodology "P"\nentity org key code\n'
DECIMALS = st.decimals(min_value=-50, max_value=50, places=2, allow_nan=False, allow_infinity=False)


@st.composite
def aggregations(draw, names: list[str]) -> str:
    """An additive aggregation over some of `names`: sum, mean or weighted_mean, weighted or
    not, with or without skip missing / require / normalise."""
    function = draw(st.sampled_from(["sum", "mean", "weighted_mean"]))
    args = draw(st.lists(st.sampled_from(names), min_size=1, max_size=len(names) + 1))
    options = []
    if draw(st.booleans()):
        options.append(draw(st.sampled_from(["skip missing", f"require {draw(st.integers(1, len(args)))}"])))
    normalise = draw(st.booleans())
    weighted = function == "weighted_mean" or draw(st.booleans())
    if not weighted:
        return f"{function}({', '.join(args + options)})"
    if function == "weighted_mean" and not normalise:  # weights summing to 100%
        cuts = sorted(draw(st.lists(st.integers(0, 100), min_size=len(args) - 1, max_size=len(args) - 1)))
        shares = [b - a for a, b in zip([0, *cuts], [*cuts, 100])]
        weights = [f"{p}%" for p in shares]
    else:
        weights = [str(draw(st.decimals(min_value="0.1", max_value=10, places=1))) for _ in args]
    if normalise and function == "weighted_mean":
        options.append("normalise")
    return f"{function}({', '.join([f'{a}: {w}' for a, w in zip(args, weights)] + options)})"


@st.composite
def sums(draw, names: list[str]) -> str:
    """A sum of terms: names and numbers added and subtracted, some in brackets."""
    terms = draw(st.lists(st.one_of(st.sampled_from(names), DECIMALS.map(lambda d: f"({d})")), min_size=2, max_size=5))
    text = terms[0]
    for term in terms[1:]:
        op = draw(st.sampled_from(["+", "-"]))
        text = f"({text} {op} {term})" if draw(st.booleans()) else f"{text} {op} {term}"
    return text


@st.composite
def cases(draw):
    k = draw(st.integers(2, 4))
    inputs = [f"x{i}" for i in range(1, k + 1)]
    first = draw(aggregations(inputs))
    second = draw(aggregations(["s1", *inputs]))
    if draw(st.booleans()):
        rule = f"top {draw(st.integers(1, 4))}"
    elif draw(st.booleans()):
        rule = f"top {draw(st.sampled_from(['25%', '50%', '10%']))}"
    else:
        rule = f">= {draw(DECIMALS)}"
    text = HEAD + "".join(f"input {x}: number\n" for x in inputs) + (
        f"score s1 = {first}\nscore s2 = {second}\nscore s3 = {draw(sums(['s1', 's2', *inputs]))}\n"
        f"tier t: level low < high from s2 {{ high: {rule}  low: otherwise }}\n")
    n = draw(st.integers(1, 7))
    cell = st.one_of(DECIMALS.map(str), st.just(""))
    rows = [[f"E{e}", *(draw(cell) for _ in inputs)] for e in range(n)]
    if draw(st.booleans()) and n > 1:  # a tie: the same cells in two rows
        rows[1][1:] = rows[0][1:]
    data = ",".join(["code", *inputs]) + "\n" + "".join(",".join(r) + "\n" for r in rows)
    return text, data, rule


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_recorded_contributions_add_up_and_explain_agrees_with_the_run(case):
    text, data, rule = case
    with tempfile.TemporaryDirectory() as folder:
        tier, csv, db = (Path(folder) / name for name in ("m.tier", "d.csv", "a.db"))
        tier.write_text(text, encoding="utf-8")
        csv.write_text(data, encoding="utf-8")
        outcome = api.run(tier, csv, audit=db)
        table = outcome.table.set_index("key")
        with open_store(db) as store:
            run = outcome.run_id
            for entity in store.entities(run):
                values = store.entity_values(run, entity.position)
                for node in ("s1", "s2", "s3"):
                    value = values[node][0]
                    recorded = store.components(run, node, entity.position)
                    assert recorded, (node, text)
                    contributions = [c.contribution for c in recorded if c.contribution is not None]
                    if value is None:
                        assert not contributions, (node, entity.key, text, data)
                    else:
                        assert all(c.contribution is not None for c in recorded if c.value is not None)
                        assert abs(math.fsum(contributions) - value) <= 1e-9, (node, entity.key, text, data)
                explanation = explain(store, entity.key, run)
                row = table.loc[entity.key]
                tier_detail = explanation.headline_node.tier
                shown = None if row["tier"] is None else row["tier"]
                assert tier_detail.label == shown, (entity.key, text, data)
                if row["rank"] is None or row["rank"] is not row["rank"] or str(row["rank"]) == "<NA>":
                    assert tier_detail.run_rank is None
                else:
                    assert tier_detail.run_rank == (int(row["rank"]), int(table["rank"].notna().sum()))
                (score,) = [c for c in explanation.headline_node.children if c.name == "s2"]
                shown_parts = [c.contribution for c in score.components if c.contribution is not None]
                if score.value is not None:  # what explain shows adds up to the value it shows
                    assert abs(math.fsum(shown_parts) - score.value) <= 1e-9, (entity.key, text, data)
                for r in tier_detail.ranks:  # a rank rule: held exactly when the rank is within it
                    if r["held"] and not r["percent"]:
                        assert r["rank"] <= r["count"], (entity.key, r, text, data)
                    if not r["held"] and not r["percent"]:
                        assert r["rank"] > r["count"], (entity.key, r, text, data)
                    if r["held"] and r["percent"]:
                        assert r["rank"] <= r["wanted"], (entity.key, r, text, data)
