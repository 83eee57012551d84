"""The notebook-native API: DataFrames indexed by entity key with tiers as ordered
Categoricals (worst first, as declared), short reprs and HTML views."""

from __future__ import annotations

import pandas as pd
import pytest

import tierlang
from tests import stp_store
from tierlang.render.explain import render_text

STP_SCALE = ["needs_most_improvement", "making_progress", "advanced", "outstanding"]  # worst first


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    folder = tmp_path_factory.mktemp("api")
    db = str(folder / "api.db")
    data = stp_store.stp_tables()
    outcome = tierlang.run(stp_store.STP_2017, data, audit=db, note="from the API")
    diff = tierlang.diff(stp_store.STP_2017, stp_store.STP_2018, data, audit=db)
    analysis = tierlang.sensitivity_analysis(stp_store.STP_2017, data, samples=16, seed=2, audit=db)
    return {"db": db, "outcome": outcome, "diff": diff, "analysis": analysis, "folder": folder}


def _is_tier(series: pd.Series, scale=STP_SCALE) -> None:
    assert isinstance(series.dtype, pd.CategoricalDtype) and series.dtype.ordered
    assert list(series.dtype.categories) == scale


def test_run_outcome(api):
    outcome = api["outcome"]
    frame = outcome.frame
    assert frame.index.name == "key" and list(frame.index) == list(outcome.table["key"])
    _is_tier(frame["tier"])
    assert (frame["tier"] == "outstanding").sum() == 5
    assert frame.sort_values("rank")["tier"].is_monotonic_decreasing  # ranked best tier first
    assert list(outcome.values.columns[:3]) == ["ae_4hr", "rtt_18wk", "safety_indicator"]
    _is_tier(outcome.values["overall_rating"])
    text = repr(outcome)
    assert (
        text.startswith(f"<RunOutcome run {outcome.run_id}: STP progress dashboard")
        and len(text) < 300
    )
    html = outcome._repr_html_()
    assert "<table" in html and "Dorset" in html and len(html) < 20_000


def test_values_of_any_node_read_from_the_store(api):
    overall = tierlang.values("overall", run_id=api["outcome"].run_id, audit=api["db"])
    assert overall.index.tolist() == api["outcome"].table["key"].tolist()
    pd.testing.assert_series_equal(overall, api["outcome"].frame["score"], check_names=False)
    _is_tier(tierlang.values("overall_rating", run_id=api["outcome"].run_id, audit=api["db"]))


def test_explanation(api):
    e = tierlang.explain("Dorset", run_id=api["outcome"].run_id, audit=api["db"])
    assert e.text == render_text(e)
    assert (
        repr(e)
        == f'<Explanation STP 41 "Dorset", run {api["outcome"].run_id}: Overall category = advanced>'
    )
    assert e._repr_html_().startswith("<pre>") and "&quot;Dorset&quot;" in e._repr_html_()
    assert e.frame["node"].iloc[0] == "overall_rating"
    components = e.components
    top = components[components["aggregation"] == "overall"]
    assert top["weight"].tolist() == [0.25, 0.25, 0.5]
    assert (
        abs(top["contribution"].sum() - e.frame.set_index("node").loc["overall", "value"]) < 1e-12
    )


def test_diff(api):
    d = api["diff"]
    frame = d.frame
    assert frame.index.name == "key" and len(frame) == d.comparison.moved == 8
    _is_tier(frame["old_tier"])
    _is_tier(frame["new_tier"])
    assert ((frame["new_tier"] > frame["old_tier"]) == (frame["move"] > 0)).all()
    assert d.transitions.to_numpy().sum() == 44
    assert repr(d).endswith("44 entities, 8 moved (3 up, 5 down)>") and len(repr(d)) < 300
    assert d._repr_html_().count("<table") == 2


def test_sensitivity_analysis(api):
    a = api["analysis"]
    frame = a.frame
    assert frame.index.name == "key" and len(frame) == 44
    _is_tier(frame["nominal_tier"])
    shares = frame[[c for c in frame.columns if c.startswith("p_")]].sum(axis=1)
    assert ((shares - 1).abs() < 1e-9).all()
    assert a.choices_frame.index.name == "choice"
    assert repr(a).startswith(f"<Analysis analysis {a.analysis_id}: overall_rating, 16 samples")
    assert "<table" in a._repr_html_()


def test_reconcile(api):
    r = tierlang.reconcile(
        api["outcome"].run_id,
        stp_store.PUBLISHED,
        key="footprint_no",
        column="overall_category_label",
        audit=api["db"],
    )
    assert len(r.frame) == r.compared - r.agreed and r.frame.index.name == "key"
    _is_tier(r.frame["computed"])
    assert r.matrix_frame.to_numpy().sum() == r.compared
    assert repr(r).startswith(f"<Reconciliation run {api['outcome'].run_id} overall_rating")


def test_write_report(api):
    out = tierlang.write_report(
        api["folder"] / "r.html", run_id=api["outcome"].run_id, audit=api["db"], entities=1
    )
    assert out.read_text(encoding="utf-8").count('<section class="entity"') == 1


def test_the_recorded_user_and_note(api):
    from audit import open_store

    with open_store(api["db"]) as store:
        info = store.run(api["outcome"].run_id)
    assert info.note == "from the API" and info.user == tierlang.api.current_user()
