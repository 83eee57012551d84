"""The two real methodologies against independent oracles.

For each methodology, the computation is written again here directly with pandas and numpy
from the example CSV (no tierlang code is used for it), and every node the methodology
defines (inputs, indicators, domains, themes, the overall score, each tier before its limits
and after them) is compared, for every entity, with what the interpreter produced. The
`test` blocks inside the methodology files must pass too.

Semantics followed by the oracles (docs/semantics.md): quartile cut points are the k/4
quantiles with linear interpolation (QUARTILE.INC) and the band is 1 + the number of cut
points the value is strictly better than; comparisons are decimal-safe (equal within one part
in 10^12); `top N` / `bottom N` include ties at the edge; `skip missing` drops missing
components; a missing rule condition leaves a rule-based tier missing.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import dsl
import interpreter
from interpreter.data import prepare_inputs, read_dataset

ROOT = Path(__file__).resolve().parents[1]
CQC_FILE = ROOT / "methodologies" / "cqc_adult_social_care.tier"
STP_FILE = ROOT / "methodologies" / "stp_dashboard_2017.tier"
CQC_DATA = ROOT / "examples" / "cqc" / "services.csv"
STP_DATA = ROOT / "examples" / "stp_2017" / "stp_2017.csv"
STP_ORGS = ROOT / "examples" / "stp_2017" / "organisations.csv"

# ---------------------------------------------------------------- oracle helpers


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= max(1e-12 * max(abs(a), abs(b)), 1e-12)


def _gt(a: float, b: float) -> bool:
    """a > b, decimal-safe."""
    return a > b and not _close(a, b)


def _ge(a: float, b: float) -> bool:
    return a > b or _close(a, b)


def quartile(x: pd.Series, higher_is_better: bool = True) -> pd.Series:
    present = x.dropna().to_numpy(dtype=float)
    cuts = np.quantile(present, [0.25, 0.5, 0.75], method="linear")
    out = pd.Series(np.nan, index=x.index, dtype=float)
    for key, value in x.items():
        if pd.isna(value):
            continue
        if higher_is_better:
            beaten = sum(_gt(value, c) for c in cuts)
        else:
            beaten = sum(_gt(c, value) for c in cuts)
        out[key] = 1.0 + beaten
    return out


def mean_skip_missing(*columns: pd.Series) -> pd.Series:
    return pd.concat(columns, axis=1).mean(axis=1, skipna=True)


def in_top(x: pd.Series, n: int) -> pd.Series:
    present = x.dropna()
    edge = present.sort_values(ascending=False).iloc[min(n, len(present)) - 1]
    return x.map(lambda v: not pd.isna(v) and _ge(v, edge))


def in_bottom(x: pd.Series, n: int) -> pd.Series:
    present = x.dropna()
    edge = present.sort_values(ascending=True).iloc[min(n, len(present)) - 1]
    return x.map(lambda v: not pd.isna(v) and _ge(edge, v))


def read_csv(path: Path, key: str) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.index = frame[key].astype(str)
    return frame.replace("", np.nan)


def round_half_away(x: float, digits: int) -> float:
    """Spreadsheet ROUND (docs/semantics.md): the value taken to 15 significant digits, then
    rounded half away from zero."""
    if pd.isna(x):
        return np.nan
    return float(Decimal(f"{x:.15g}").quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def as_number(column: pd.Series) -> pd.Series:
    return pd.to_numeric(column).astype(float)


def as_label(column: pd.Series) -> pd.Series:
    return column.map(lambda v: v if pd.isna(v) else str(v).strip().lower())


def as_bool(column: pd.Series) -> pd.Series:
    words = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
    return column.map(lambda v: v if pd.isna(v) else words[str(v).strip().lower()])


# ---------------------------------------------------------------- CQC oracle

CQC_SCALE = ["inadequate", "requires improvement", "good", "outstanding"]  # worst first
KQS = ["safe", "effective", "caring", "responsive", "well_led"]
LIMITERS = [
    "no_registered_manager",
    "registration_condition_not_met",
    "notifications_not_submitted",
    "pir_not_returned",
]


def cap(label, at_most: str):
    if pd.isna(label):
        return label
    return CQC_SCALE[min(CQC_SCALE.index(label), CQC_SCALE.index(at_most))]


def cqc_oracle(data: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=data.index)
    for kq in KQS:
        out[kq] = as_label(data[kq])
    out["breach"] = as_bool(data["breach"])
    for name in LIMITERS:
        out[name] = as_bool(data[name])

    def limiter(row) -> object:
        present = [row[n] for n in LIMITERS if not pd.isna(row[n])]
        return any(present) if present else np.nan

    out["well_led_limiter_applies"] = out.apply(limiter, axis=1)
    out["well_led_capped:before"] = out["well_led"]
    out["well_led_capped"] = [
        cap(w, "requires improvement") if applies is True else w
        for w, applies in zip(out["well_led"], out["well_led_limiter_applies"])
    ]
    kq_cols = ["safe", "effective", "caring", "responsive", "well_led_capped"]
    complete = out[kq_cols].notna().all(axis=1)
    for name, label in [
        ("n_outstanding", "outstanding"),
        ("n_good", "good"),
        ("n_requires_improvement", "requires improvement"),
        ("n_inadequate", "inadequate"),
    ]:
        out[name] = (out[kq_cols] == label).sum(axis=1).astype(float).where(complete)

    def overall(row):
        o, r, i = row["n_outstanding"], row["n_requires_improvement"], row["n_inadequate"]
        if pd.isna(o):
            return np.nan
        if i >= 2:
            return "inadequate"
        if r >= 2:
            return "requires improvement"
        if o >= 2 and r + i == 0:
            return "outstanding"
        if i == 1:  # the judgement case (ASSUMPTION in the methodology)
            return "requires improvement"
        return "good"

    out["overall:before"] = out.apply(overall, axis=1)
    out["overall"] = [
        cap(t, "requires improvement") if b is True else t
        for t, b in zip(out["overall:before"], out["breach"])
    ]
    return out


# ---------------------------------------------------------------- STP oracle

STP_NUMERIC = {
    # input: (score node, higher is better)
    "ae_4hr": ("ae_score", True),
    "rtt_18wk": ("rtt_score", True),
    "safety_indicator": ("safety_score", True),
    "gp_opening_satisfaction": ("gp_opening_score", True),
    "gp_extended_access": ("gp_extended_score", True),
    "mh_access": ("mh_access_score", True),
    "cancer_62day": ("cancer_score", True),
    "emergency_admissions": ("emergency_admissions_score", False),
    "emergency_bed_days": ("emergency_bed_days_score", False),
    "dtoc": ("dtoc_score", False),
}
STP_SCALE = ["needs_most_improvement", "making_progress", "advanced", "outstanding"]


def stp_finance_oracle(stps: pd.Index, organisations: pd.DataFrame) -> pd.Series:
    """Finance per STP from its member organisations (HFMA: combined surplus (deficit) over
    total resource available, as %), rounded to 2 places: a member without a value leaves its
    STP missing (no `skip missing`); an STP without members has 0 / 0, missing."""
    surplus, resource = (
        as_number(organisations["org_surplus"]),
        as_number(organisations["org_resource"]),
    )
    by_stp = organisations["footprint"].astype(str)
    total_surplus = surplus.groupby(by_stp).sum(min_count=1)
    total_resource = resource.groupby(by_stp).sum(min_count=1)
    incomplete = (surplus.isna() | resource.isna()).groupby(by_stp).any()
    total_surplus = total_surplus.reindex(stps).fillna(0.0)
    total_resource = total_resource.reindex(stps).fillna(0.0)
    ratio = (100 * total_surplus / total_resource.replace(0.0, np.nan)).where(
        ~incomplete.reindex(stps, fill_value=False)
    )
    return ratio.map(lambda v: round_half_away(v, 2))


def stp_oracle(
    data: pd.DataFrame,
    organisations: pd.DataFrame,
    transformation_weight: float = 0.5,
    advanced_cutoff: float = 2.5,
    leadership_cap: bool = True,
) -> pd.DataFrame:
    out = pd.DataFrame(index=data.index)
    for name, (score, higher) in STP_NUMERIC.items():
        out[name] = as_number(data[name])
        out[score] = quartile(out[name], higher)
    out["finance"] = stp_finance_oracle(data.index, organisations)
    out["finance_score"] = quartile(out["finance"], True)
    out["leadership"] = as_label(data["leadership"])
    out["leadership_score"] = out["leadership"].map(
        {"limited": 1.0, "emerging": 2.0, "developing": 3.0, "established": 4.0}
    )
    m = mean_skip_missing
    out["emergency_care"] = m(out["ae_score"])
    out["elective_care"] = m(out["rtt_score"])
    out["safety"] = m(out["safety_score"])
    out["general_practice"] = m(out["gp_opening_score"], out["gp_extended_score"])
    out["mental_health"] = m(out["mh_access_score"])
    out["cancer"] = m(out["cancer_score"])
    out["prevention"] = m(
        out["emergency_admissions_score"], out["emergency_bed_days_score"], out["dtoc_score"]
    )
    out["finance_domain"] = m(out["finance_score"])
    out["system_leadership"] = m(out["leadership_score"])
    out["hospital_performance"] = m(out["emergency_care"], out["elective_care"], out["safety"])
    out["patient_focused_change"] = m(out["general_practice"], out["mental_health"], out["cancer"])
    out["transformation"] = m(out["prevention"], out["finance_domain"], out["system_leadership"])
    other = (1 - transformation_weight) / 2
    out["other_theme_weight"] = other
    out["overall"] = (
        other * out["hospital_performance"]
        + other * out["patient_focused_change"]
        + transformation_weight * out["transformation"]
    )  # NaN if any theme is missing: no `skip missing`
    top, bottom = in_top(out["overall"], 5), in_bottom(out["overall"], 5)

    def category(key) -> object:
        score = out.at[key, "overall"]
        if pd.isna(score):
            return np.nan
        if top[key]:
            return "outstanding"
        if bottom[key]:
            return "needs_most_improvement"
        if _ge(score, advanced_cutoff):
            return "advanced"
        return "making_progress"

    out["overall_rating:before"] = [category(k) for k in out.index]
    capped = leadership_cap & (out["leadership"] == "limited")
    out["overall_rating"] = [
        STP_SCALE[min(STP_SCALE.index(t), STP_SCALE.index("making_progress"))]
        if c and not pd.isna(t)
        else t
        for t, c in zip(out["overall_rating:before"], capped)
    ]
    return out


# ---------------------------------------------------------------- the oracles on the data
# These run without the interpreter: they pin what the example data produce, so that the
# expectations written in the methodologies' data tests are checked independently.


def test_cqc_oracle_matches_the_reference_vectors_and_example_expectations():
    data = read_csv(CQC_DATA, "service_id")
    result = cqc_oracle(data)["overall"]
    assert result["EX-01"] == "outstanding"  # O,O,G,G,G
    assert result["EX-06"] == "good"  # O,G,G,G,G
    assert result["EX-14"] == "good"  # G,G,G,G,RI
    assert result["EX-15"] == "good"  # O,O,G,G,RI
    assert result["EX-08"] == "requires improvement"  # G,G,G,RI,RI
    assert result["EX-09"] == "inadequate"  # I,I,G,G,G
    assert result["EX-05"] == "requires improvement"  # O,O,G,G,G with a breach
    assert result["EX-07"] == "requires improvement"  # G,G,G,G,I: judgement case
    assert result["EX-17"] == "good"  # O,O,G,G,O with a well-led limiter
    assert (result == "outstanding").sum() == 4
    assert (result == "inadequate").sum() == 5
    assert result.isna().sum() == 2


def test_stp_oracle_tails_and_cap_on_illustrative_data():
    data = read_csv(STP_DATA, "footprint")
    result = stp_oracle(data, read_csv(STP_ORGS, "org_code"))
    rating = result["overall_rating"]
    assert (rating == "outstanding").sum() >= 5
    assert (rating == "needs_most_improvement").sum() >= 5
    assert rating.notna().all()
    assert STP_SCALE.index(rating["39"]) <= STP_SCALE.index("making_progress")


# ---------------------------------------------------------------- against the interpreter


def _compare(name: str, key_order: pd.Index, actual: pd.Series, expected: pd.Series) -> None:
    actual = pd.Series(list(actual), index=[str(k) for k in key_order])
    expected = expected.reindex(actual.index)
    for key in actual.index:
        a, e = actual[key], expected[key]
        a_missing = a is None or a is pd.NA or (isinstance(a, float) and math.isnan(a))
        e_missing = e is None or e is pd.NA or (isinstance(e, float) and math.isnan(e))
        assert a_missing == e_missing, f"{name} for {key}: interpreter {a!r}, oracle {e!r}"
        if a_missing:
            continue
        if isinstance(e, str):
            assert str(a).lower() == e, f"{name} for {key}: interpreter {a!r}, oracle {e!r}"
        elif isinstance(e, (bool, np.bool_)):
            assert bool(a) == bool(e), f"{name} for {key}: interpreter {a!r}, oracle {e!r}"
        else:
            assert math.isclose(float(a), float(e), rel_tol=1e-9, abs_tol=1e-12), (
                f"{name} for {key}: interpreter {a!r}, oracle {e!r}"
            )


def _run(path: Path, data: Path, params: dict | None = None, tables: dict[str, Path] | None = None):
    methodology = dsl.load(str(path))
    named = {level: read_dataset(str(table)) for level, table in (tables or {}).items()}
    prepared = prepare_inputs(methodology, read_dataset(str(data)), named)
    kwargs = {"labels": prepared.labels, "members": prepared.members}
    if params:
        kwargs["params"] = params
    return methodology, interpreter.evaluate(methodology, prepared.frame, **kwargs)


def _compare_all(result, oracle: pd.DataFrame) -> None:
    compared = 0
    for name in oracle.columns:
        node, _, part = name.partition(":")
        trace = result.traces[node]
        if part == "before":
            _compare(name, result.keys, trace.tier.before_limits, oracle[name])
        else:
            _compare(name, result.keys, trace.values, oracle[name])
        compared += 1
    # every node of the methodology that is per entity (of the top level) and not a list is
    # compared; the lower levels' nodes are compared by the test that has them
    defined = {
        n.name
        for n in result.methodology.nodes
        if n.kind != "param"
        and not n.type.scalar
        and n.type.base != "list"
        and n.name in result.traces
    }
    missing = defined - {c.partition(":")[0] for c in oracle.columns}
    assert not missing, f"nodes not compared with the oracle: {sorted(missing)}"
    assert compared == len(oracle.columns)


def test_cqc_every_node_matches_the_oracle():
    _, result = _run(CQC_FILE, CQC_DATA)
    oracle = cqc_oracle(read_csv(CQC_DATA, "service_id"))
    _compare_all(result, oracle)
    # the list node: the five key questions after the well-led limiters
    kq = oracle[["safe", "effective", "caring", "responsive", "well_led_capped"]]
    for key, items in zip(result.keys, result.values("key_questions")):
        got = [None if pd.isna(v) else str(v).lower() for v in items]
        want = [None if pd.isna(v) else v for v in kq.loc[str(key)]]
        assert got == want, f"key_questions for {key}"


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"transformation_weight": 0.4, "advanced_cutoff": 2.25},
        {"transformation_weight": 0.6, "leadership_cap": False},
    ],
)
def test_stp_every_node_matches_the_oracle(params):
    _, result = _run(STP_FILE, STP_DATA, params or None, {"organisation": STP_ORGS})
    organisations = read_csv(STP_ORGS, "org_code")
    oracle = stp_oracle(read_csv(STP_DATA, "footprint"), organisations, **params)
    _compare_all(result, oracle.drop(columns=["other_theme_weight"]))
    _compare(
        "other_theme_weight",
        result.keys,
        result.values("other_theme_weight"),
        oracle["other_theme_weight"],
    )
    # the organisation level's nodes: its two inputs, for each of its organisations
    members = result.members["organisation"]
    assert set(members.traces) == {"org_surplus", "org_resource"}
    for name in members.traces:
        _compare(name, members.keys, members.traces[name].values, as_number(organisations[name]))


@pytest.mark.parametrize("path", [CQC_FILE, STP_FILE], ids=["cqc", "stp"])
def test_methodology_test_blocks_pass(path):
    outcomes = interpreter.run_tests(dsl.load(str(path)))
    failed = [o for o in outcomes if not o.passed]
    assert outcomes and not failed, failed
