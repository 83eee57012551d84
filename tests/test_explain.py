"""Explaining a tier from the audit store alone: exact text for a small weighted methodology
with a quartile and a limit, JSON shape, rank and condition rules, number formatting."""

from __future__ import annotations

import json
import math

import attrs
import numpy as np
import pandas as pd
import pytest

from audit import explain, format_number, open_store
from audit.store import AuditError
from dsl import model as M
from dsl import types as T
from dsl.errors import Span
from interpreter import ranking
from interpreter.trace import ComponentTrace, LimitTrace, NodeTrace, RunResult, TierTrace
from tierlang.render.explain import render_text, to_json

NUM, SNUM, BOOL, TEXT = T.number(), T.number(scalar=True), T.boolean(), T.text()
LEAD = T.LevelType("leadership", ("limited", "developing", "established"))
SCALE = T.LevelType("rating", ("making_progress", "advanced"))
STARTED = "2024-05-01T10:00:00.000Z"


def at(line: int) -> Span:
    return Span("small.tier", line, 1, line, 40)


def s(values, keys, dtype=None) -> pd.Series:
    return pd.Series(values, index=keys, dtype=dtype)


def levels(labels, level, keys) -> pd.Series:
    return pd.Series(
        pd.Categorical(labels, categories=list(level.labels), ordered=True), index=keys
    )


def small_weighted() -> RunResult:
    """
    methodology "Small weighted" version "1"
    entity trust key code label name
    input access: number "Access %" from "ACCESS_PCT"                                   # line 3
    input leadership: level limited < developing < established                         # line 4
    param w_access = 50%                      (this run: 60%)                          # line 5
    indicator access_q "Access quartile" = quartile(access)                            # line 6
    indicator lead_score = map leadership { limited: 1, developing: 2, established: 3 } # line 7
    score overall "Overall score" = weighted_mean(access_q: w_access, lead_score: 40%)  # line 8
    tier rating "Rating": rating from overall { advanced: >= 2.5  making_progress: otherwise
                                                missing: "Not rated" }                  # line 9
    limit rating to at most making_progress when leadership == limited                 # line 14
    """
    lead_t = T.level(LEAD)
    access = M.Node("access", M.INPUT, NUM, (), label="Access %", column="ACCESS_PCT", span=at(3))
    lead = M.Node("leadership", M.INPUT, lead_t, (), span=at(4))
    w = M.Node("w_access", M.PARAM, SNUM, (), value=0.5, span=at(5))
    access_q = M.Node(
        "access_q",
        "indicator",
        NUM,
        ("access",),
        label="Access quartile",
        span=at(6),
        expr=M.Call("quartile", (M.Ref("access", NUM),), NUM),
    )
    lead_score = M.Node(
        "lead_score",
        "indicator",
        NUM,
        ("leadership",),
        span=at(7),
        expr=M.MapOf(
            M.Ref("leadership", lead_t),
            LEAD.labels,
            (M.Const(1.0, SNUM), M.Const(2.0, SNUM), M.Const(3.0, SNUM)),
            None,
            NUM,
        ),
    )
    overall = M.Node(
        "overall",
        "score",
        NUM,
        ("access_q", "lead_score", "w_access"),
        label="Overall score",
        span=at(8),
        expr=M.Call(
            "weighted_mean",
            (M.Ref("access_q", NUM), M.Ref("lead_score", NUM)),
            NUM,
            weights=(M.Ref("w_access", SNUM), M.Const(0.4, SNUM)),
        ),
    )
    limited = M.Binary(
        "==", M.Ref("leadership", lead_t), M.LabelConst(LEAD, "limited", T.level(LEAD, True)), BOOL
    )
    spec = M.TierSpec(
        SCALE,
        M.Ref("overall", NUM),
        (
            M.TierRule("advanced", M.ThresholdRule(">=", M.Const(2.5, SNUM)), source_text=">= 2.5"),
            M.TierRule("making_progress", M.OtherwiseRule(), source_text="otherwise"),
        ),
        "Not rated",
        (
            M.Limit(
                "at most",
                "making_progress",
                limited,
                source_text="limit rating to at most making_progress when leadership == limited",
            ),
        ),
    )
    rating = M.Node(
        "rating",
        M.TIER,
        T.level(SCALE),
        ("overall", "leadership"),
        label="Rating",
        tier=spec,
        span=at(9),
    )
    nodes = (access, lead, w, access_q, lead_score, overall, rating)
    methodology = M.Methodology(
        "Small weighted",
        "1",
        None,
        "trust",
        "code",
        "name",
        None,
        "small.tier",
        (("small.tier", 'methodology "Small weighted"\n'),),
        {},
        nodes,
    )

    keys = pd.Index(["R1", "R2", "R3", "R4", "R5"])
    quartiles = [1.0, 2.0, 3.0, 4.0, math.nan]
    lead_scores = [3.0, 1.0, 2.0, 1.0, 3.0]
    overall_values = [0.6 * q + 0.4 * v for q, v in zip(quartiles, lead_scores)]
    missing = s([None, None, None, None, "component_missing"], keys, object)
    nothing = s([None] * 5, keys, object)
    before = levels(
        ["making_progress", "making_progress", "advanced", "advanced", None], SCALE, keys
    )
    after = levels(
        ["making_progress", "making_progress", "advanced", "making_progress", None], SCALE, keys
    )
    traces = {
        "access": NodeTrace(
            access,
            s([80.0, 85.0, 90.0, 95.0, math.nan], keys, "float64"),
            s([None, None, None, None, "input_missing"], keys, object),
        ),
        "leadership": NodeTrace(
            lead,
            levels(["established", "limited", "developing", "limited", "established"], LEAD, keys),
            nothing,
        ),
        "w_access": NodeTrace(w, s([0.6] * 5, keys, "float64"), nothing, {"value": 0.6}),
        "access_q": NodeTrace(
            access_q,
            s(quartiles, keys, "float64"),
            missing,
            {"cut_1": 83.75, "cut_2": 87.5, "cut_3": 91.25, "n": 4.0},
        ),
        "lead_score": NodeTrace(lead_score, s(lead_scores, keys, "float64"), nothing),
        "overall": NodeTrace(overall, s(overall_values, keys, "float64"), missing),
        "rating": NodeTrace(
            rating,
            after,
            missing,
            {"advanced.threshold": 2.5, "n": 4.0},
            TierTrace(
                from_values=s(overall_values, keys, "float64"),
                rule_index=s([1, 1, 0, 0, -1], keys, "int64"),
                before_limits=before,
                limits=(LimitTrace(0, s([False, False, False, True, False], keys, bool), after),),
                display=s(
                    [
                        "making_progress",
                        "making_progress",
                        "advanced",
                        "making_progress",
                        "Not rated",
                    ],
                    keys,
                    object,
                ),
            ),
        ),
    }
    labels = s(["Alpha", "Beta", "Gamma", "Delta", "Epsilon"], keys, object)
    return RunResult(methodology, keys, labels, {"w_access": 0.6}, traces)


def with_facts(result: RunResult) -> RunResult:
    """A hand-built run with the facts the interpreter records for explain (schema version
    6): every tier's ranks (interpreter.ranking), and the components of `overall` when the
    run has it (weighted_mean of access_q: 0.6 and lead_score: 0.4, nothing missing but R5)."""
    traces = dict(result.traces)
    for name, trace in traces.items():
        tt = trace.tier
        if tt is None:
            continue
        codes = trace.values.cat.codes.to_numpy()
        scores = tt.from_values.to_numpy() if tt.from_values is not None else np.full(len(codes), np.nan)
        ranks = {"rank": pd.Series(ranking.rank_by_tier_and_score(codes, scores), index=result.keys)}
        if tt.from_values is not None:
            ranks["from_rank_top"] = pd.Series(ranking.competition_ranks(scores, "top"), index=result.keys)
            ranks["from_rank_bottom"] = pd.Series(ranking.competition_ranks(scores, "bottom"), index=result.keys)
        traces[name] = attrs.evolve(trace, tier=attrs.evolve(tt, **ranks))
    if "overall" in traces:
        values = np.column_stack([traces["access_q"].values.to_numpy(), traces["lead_score"].values.to_numpy()])
        weights = np.tile([0.6, 0.4], (len(result.keys), 1))
        coefficients = np.where(np.isnan(values).any(axis=1)[:, None], np.nan, weights)
        traces["overall"] = attrs.evolve(traces["overall"], components=ComponentTrace(
            ("access_q", "lead_score"), values, weights, coefficients, coefficients * values))
    return attrs.evolve(result, traces=traces)


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "audit.db"
    with open_store(path) as writer:
        writer.record(with_facts(small_weighted()), started=STARTED)
    # explain reads a store re-opened from disk: nothing of the run survives but the file
    with open_store(path, create=False) as reader:
        yield reader


DELTA = """\
trust R4 "Delta"
run 1: Small weighted (version 1), started 2024-05-01T10:00:00.000Z
verification: sound (its hashes match the stored rows; `tierlang verify` re-evaluates it)
params set for this run: w_access = 0.6 (declared 0.5)
headline: Rating = making_progress
methodology small.tier: sha256 c15a990d53b3b3973f408a84e78415dae5e194ebf825ade29af8ed68642c2dea (recompute: sha256sum small.tier)

* Rating (tier rating) = making_progress
    rule 1 of 2 (>= 2.5) assigned advanced: overall 2.8 >= 2.5
    limit 1: limited to at most making_progress because leadership == limited (advanced -> making_progress)
    rank 2 of 4 in this run
    statistics: advanced.threshold 2.5, n 4
  * Overall score (score overall) = 2.8
      = weighted_mean(access_q: w_access, lead_score: 0.4) [small.tier:8]
      Access quartile (access_q): value 4, weight 0.6, contribution 2.4
      lead_score: value 1, weight 0.4, contribution 0.4
    * Access quartile (indicator access_q) = 4
        = quartile(access) [small.tier:6]
        quartile 4 of 4: cut points 83.75 / 87.5 / 91.25 (n = 4)
      * Access % (input access) = 95
          from data column "ACCESS_PCT" [small.tier:3]
    * lead_score (indicator) = 1
        = map leadership { limited: 1, developing: 2, established: 3 } [small.tier:7]
      * leadership (input) = limited
          from data column "leadership" [small.tier:4]
    * w_access (param) = 0.6
        parameter declared 0.5, set to 0.6 for this run [small.tier:5]
  * leadership (input) = limited (see above)
"""

EPSILON = """\
trust R5 "Epsilon"
run 1: Small weighted (version 1), started 2024-05-01T10:00:00.000Z
verification: sound (its hashes match the stored rows; `tierlang verify` re-evaluates it)
params set for this run: w_access = 0.6 (declared 0.5)
headline: Rating = Not rated (component_missing)
methodology small.tier: sha256 c15a990d53b3b3973f408a84e78415dae5e194ebf825ade29af8ed68642c2dea (recompute: sha256sum small.tier)

* Rating (tier rating) = Not rated (component_missing)
    no tier: overall is missing; given the missing label Not rated
    statistics: advanced.threshold 2.5, n 4
  * Overall score (score overall) = missing (component_missing)
      = weighted_mean(access_q: w_access, lead_score: 0.4) [small.tier:8]
      Access quartile (access_q): missing (component_missing), weight 0.6, makes the result missing
      lead_score: value 3, weight 0.4
    * Access quartile (indicator access_q) = missing (component_missing)
        = quartile(access) [small.tier:6]
        quartiles of 4: cut points 83.75 / 87.5 / 91.25 (n = 4)
      * Access % (input access) = missing (input_missing)
          from data column "ACCESS_PCT" [small.tier:3]
    * lead_score (indicator) = 3
        = map leadership { limited: 1, developing: 2, established: 3 } [small.tier:7]
      * leadership (input) = established
          from data column "leadership" [small.tier:4]
    * w_access (param) = 0.6
        parameter declared 0.5, set to 0.6 for this run [small.tier:5]
  * leadership (input) = established (see above)
"""


def test_explains_a_limited_tier_exactly(store):
    assert render_text(explain(store, "R4")) == DELTA


def test_explains_a_missing_tier_with_its_missing_label_exactly(store):
    assert render_text(explain(store, "Epsilon")) == EPSILON


def test_explains_the_distance_to_the_next_tier_up(store):
    text = render_text(explain(store, "alpha"))
    assert (
        "    rule 2 of 2 (otherwise) assigned making_progress: no earlier rule held for overall 1.8\n"
        in text
    )
    assert "    0.7 below the threshold for advanced (>= 2.5)\n" in text
    assert "limit 1" not in text


def test_rendering_is_stable(store):
    assert render_text(explain(store, "R4")) == render_text(explain(store, "Delta", run_id=1))


def test_json_shape(store):
    data = to_json(explain(store, "R4"))
    json.dumps(data, allow_nan=False)  # plain JSON
    assert set(data) == {"run", "verification", "params_set", "provenance", "entity", "headline", "tiers"}
    assert data["verification"] == {"ok": True, "problems": []}
    assert data["params_set"] == [{"name": "w_access", "declared": 0.5, "used": 0.6}]
    assert data["entity"] == {"key": "R4", "label": "Delta", "position": 3, "kind": "trust"}
    assert data["headline"] == {"tier": "rating", "label": "Rating", "value": "making_progress"}
    assert data["run"]["id"] == 1 and data["run"]["params"] == {"w_access": 0.6}
    (rating,) = data["tiers"]
    assert rating["tier"]["before_limits"] == "advanced" and rating["tier"]["rule_index"] == 0
    assert rating["tier"]["rule"]["threshold"] == 2.5
    assert rating["tier"]["limits_acted"] == [
        {
            "index": 0,
            "direction": "at most",
            "label": "making_progress",
            "condition": "leadership == limited",
            "before": "advanced",
            "after": "making_progress",
        }
    ]
    overall = rating["children"][0]
    assert overall["value"] == pytest.approx(2.8) and overall["display"] == "2.8"
    assert [(c["name"], c["weight"], c["value"]) for c in overall["components"]] == [
        ("access_q", 0.6, 4.0),
        ("lead_score", 0.4, 1.0),
    ]
    assert [c["contribution"] for c in overall["components"]] == pytest.approx([2.4, 0.4])
    quartile = overall["children"][0]
    assert quartile["statistics"] == {"cut_1": 83.75, "cut_2": 87.5, "cut_3": 91.25, "n": 4.0}
    assert [c["name"] for c in overall["children"]] == ["access_q", "lead_score", "w_access"]
    again = rating["children"][1]
    assert again == {
        "name": "leadership",
        "label": None,
        "kind": "input",
        "type": "level leadership",
        "value": "limited",
        "display": "limited",
        "missing_reason": None,
        "see_above": True,
    }
    missing = to_json(explain(store, "R5"))["tiers"][0]
    assert missing["value"] is None and missing["display"] == "Not rated (component_missing)"
    assert missing["tier"]["label"] == "Not rated" and missing["tier"]["rule_index"] == -1


def test_unknown_entity_and_run(store):
    with pytest.raises(AuditError, match=r"did you mean 'Gamma' \(R3\)\?"):
        explain(store, "Gamam")
    with pytest.raises(AuditError, match="no run 5"):
        explain(store, "R1", run_id=5)


def test_explain_reads_the_store_and_runs_nothing(store, monkeypatch):
    import importlib

    import interpreter

    def forbidden(*args, **kwargs):
        raise AssertionError("explain must not evaluate anything")

    monkeypatch.setattr(importlib.import_module("interpreter.evaluate"), "evaluate", forbidden)
    monkeypatch.setattr(interpreter, "evaluate", forbidden)
    assert render_text(explain(store, "R4")) == DELTA


def test_the_latest_run_is_explained_by_default(tmp_path):
    path = tmp_path / "audit.db"
    with open_store(path) as st:
        st.record(small_weighted(), started=STARTED)
        result = small_weighted()
        second = st.record(result, started="2024-06-01T00:00:00.000Z")
        assert explain(st, "R4").run.id == second
        assert "run 1:" in render_text(explain(st, "R4", run_id=1))


# ---------------------------------------------------------------- rank and condition rules


def league() -> RunResult:
    keys = pd.Index(["A", "B", "C", "D"])
    medal = T.LevelType("medal", ("bronze", "silver", "gold"))
    yes_no = T.LevelType("yn", ("no", "yes"))
    score = M.Node("score", M.INPUT, NUM, ())
    region = M.Node("region", M.INPUT, TEXT, ())
    z = M.Node(
        "z",
        "indicator",
        NUM,
        ("score", "region"),
        expr=M.Call("zscore", (M.Ref("score", NUM),), NUM, within="region"),
    )
    flag = M.Node("flag", M.INPUT, BOOL, ())
    spec = M.TierSpec(
        medal,
        M.Ref("score", NUM),
        (
            M.TierRule("gold", M.RankRule("top", 1, False)),
            M.TierRule("silver", M.RankRule("top", 0.5, True)),  # `top 50%`: the share
            M.TierRule("bronze", M.OtherwiseRule()),
        ),
        None,
        (M.Limit("at least", "silver", M.Ref("flag", BOOL)),),
    )
    tier = M.Node("medal", M.TIER, T.level(medal), ("score", "flag"), tier=spec)
    checked = M.Node(
        "checked",
        M.TIER,
        T.level(yes_no),
        ("flag",),
        tier=M.TierSpec(
            yes_no,
            None,
            (
                M.TierRule("yes", M.ConditionRule(M.Ref("flag", BOOL))),
                M.TierRule("no", M.OtherwiseRule()),
            ),
            None,
            (),
        ),
    )
    nodes = (score, region, z, flag, checked, tier)
    m = M.Methodology(
        "League",
        None,
        None,
        "team",
        "id",
        None,
        None,
        "league.tier",
        (("league.tier", ""),),
        {},
        nodes,
    )
    none = s([None] * 4, keys, object)
    scores = s([9.0, 7.0, 5.0, 5.0], keys, "float64")
    before = levels(["gold", "silver", "bronze", "bronze"], medal, keys)
    after = levels(["gold", "silver", "silver", "bronze"], medal, keys)
    flags = s(pd.array([False, True, True, False], dtype="boolean"), keys)
    traces = {
        "score": NodeTrace(score, scores, none),
        "region": NodeTrace(region, s(["North", "North", "South", "South"], keys, object), none),
        "z": NodeTrace(
            z,
            s([0.7071, -0.7071, 0.0, 0.0], keys, "float64"),
            none,
            {
                "mean[North]": 8.0,
                "sd[North]": 1.4142135623730951,
                "n[North]": 2.0,
                "mean[South]": 5.0,
                "sd[South]": 0.0,
                "n[South]": 2.0,
            },
        ),
        "flag": NodeTrace(flag, flags, none),
        "checked": NodeTrace(
            checked,
            levels(["no", "yes", "yes", "no"], yes_no, keys),
            none,
            {},
            TierTrace(
                None,
                s([1, 0, 0, 1], keys, "int64"),
                levels(["no", "yes", "yes", "no"], yes_no, keys),
                (),
                s(["no", "yes", "yes", "no"], keys, object),
            ),
        ),
        "medal": NodeTrace(
            tier,
            after,
            none,
            {"gold.count": 1.0, "gold.edge": 9.0, "silver.count": 2.0, "silver.edge": 7.0, "n": 4.0},
            TierTrace(
                scores,
                s([0, 1, 2, 2], keys, "int64"),
                before,
                (LimitTrace(0, s([False, False, True, False], keys, bool), after),),
                s(["gold", "silver", "silver", "bronze"], keys, object),
            ),
        ),
    }
    return RunResult(m, keys, None, {}, traces)


@pytest.fixture
def league_store(tmp_path):
    with open_store(tmp_path / "league.db") as st:
        st.record(with_facts(league()), started=STARTED)
        yield st


def test_rank_rules_show_the_rank_among_n(league_store):
    gold = render_text(explain(league_store, "A"))
    assert gold.startswith(
        "team A\nrun 1: League, started 2024-05-01T10:00:00.000Z\n"
        "verification: sound (its hashes match the stored rows; `tierlang verify` re-evaluates it)\n"
        "headline: medal = gold\n"
    )
    assert (
        "    rule 1 of 3 (top 1) assigned gold: score 9 ranks 1 of 4 from the top, in the top 1\n"
        in gold
    )
    silver = render_text(explain(league_store, "B"))
    assert "    not in the top 1 for gold: score 7 ranks 2 of 4 from the top\n" in silver
    assert (
        "    rule 2 of 3 (top 50%) assigned silver: score 7 ranks 2 of 4 from the top, "
        "in the top 50% (2 of 4)\n"
    ) in silver


def test_a_raising_limit_and_a_condition_rule(league_store):
    text = render_text(explain(league_store, "C"))
    assert "    rule 3 of 3 (otherwise) assigned bronze: no earlier rule held for score 5\n" in text
    assert "    limit 1: raised to at least silver because flag (bronze -> silver)\n" in text
    # the other tier, not reached from the headline, follows it
    assert "\n* checked (tier) = yes\n    rule 1 of 2 (flag) assigned yes: flag held\n" in text
    assert (
        text.count("* flag (input) = true\n") == 1 and "* flag (input) = true (see above)" in text
    )


def test_group_statistics_are_those_of_the_entity_group(league_store):
    from audit.explain.builder import _Builder

    for key, line in (
        ("A", "statistics within region North: mean 8, sd 1.4142, n 2"),
        ("D", "statistics within region South: mean 5, sd 0, n 2"),
    ):
        builder = _Builder(league_store, league_store.run(1), league_store.find_entity(1, key))
        node = builder.build(builder.nodes["z"])  # z is no tier's dependency: build it directly
        assert node.details == ("= zscore(score, within region)", line)
        assert len(node.statistics) == 3


# ---------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (2.71, "2.71"),
        (1 / 3, "0.3333"),
        (2 / 3, "0.6667"),
        (88.25, "88.25"),
        (0.1 + 0.2, "0.3"),
        (2.5999999999999996, "2.6"),
        (1234.56789, "1234.5679"),
        (0.0001234567, "0.0001235"),
        (2.00005, "2.0001"),
        (-2.00005, "-2.0001"),
        (100.0, "100"),
        (-0.0, "0"),
        (0.0, "0"),
        (1.7976931348623157e308, "1.7977e+308"),
        (5e-324, "4.9407e-324"),
        (math.inf, "inf"),
        (-math.inf, "-inf"),
        (math.nan, "missing"),
        (None, "missing"),
    ],
)
def test_format_number(value, text):
    assert format_number(value) == text


# ---------------------------------------------------------------- with the real checker and interpreter

END_TO_END = """\
methodology "End to end"
version "1"
entity trust key code label name
input access: number "Access %"
input leadership: level limited < developing < established
param w_access = 60%
indicator access_q "Access quartile" = quartile(access)
indicator lead_score = map leadership { limited: 1, developing: 2, established: 3 }
score overall "Overall score" = weighted_mean(access_q: w_access, lead_score: 40%)
tier rating "Rating" from overall {
  advanced: >= 2.5
  making_progress: otherwise
  missing: "Not rated"
}
limit rating to at most making_progress when leadership == limited
"""


def test_end_to_end_with_the_checker_and_the_interpreter(tmp_path):
    from dsl import check_source
    from interpreter import evaluate
    from interpreter.data import dataset_from_frame, prepare_inputs

    methodology = check_source(END_TO_END, "e2e.tier")
    frame = pd.DataFrame(
        {
            "code": ["R1", "R2", "R3", "R4", "R5"],
            "name": ["Alpha", "Beta", "Gamma", "Delta", "Epsilon"],
            "access": [80, 85, 90, 95, None],
            "leadership": ["established", "limited", "developing", "limited", "established"],
        }
    )
    dataset = dataset_from_frame(frame)
    prepared = prepare_inputs(methodology, dataset)
    result = evaluate(methodology, prepared.frame, labels=prepared.labels)
    with open_store(tmp_path / "audit.db") as st:
        run_id = st.record(result, dataset)
        assert st.run(run_id).dataset_sha256 == dataset.sha256
        for name, trace in result.traces.items():
            got = st.values(run_id, name)
            assert got.dtype == trace.values.dtype, name
            assert got.isna().tolist() == trace.values.isna().tolist(), name
            assert got.dropna().tolist() == trace.values.dropna().tolist(), name
            assert st.reasons(run_id, name).tolist() == trace.reasons.tolist(), name
            assert st.scalars(run_id).get(name, {}) == trace.scalars, name
        assert st.verify() == []
        delta = render_text(explain(st, "Delta")).splitlines()
        alpha = render_text(explain(st, "R1")).splitlines()
    assert delta[7:10] == [
        "* Rating (tier rating) = making_progress",
        "    rule 1 of 2 (>= 2.5) assigned advanced: overall 2.8 >= 2.5",
        "    limit 1: limited to at most making_progress because leadership == limited "
        "(advanced -> making_progress)",
    ]
    assert "      Access quartile (access_q): value 4, weight 0.6, contribution 2.4" in delta
    assert "        quartile 4 of 4: cut points 83.75 / 87.5 / 91.25 (n = 4)" in delta
    assert "    0.7 below the threshold for advanced (>= 2.5)" in alpha
