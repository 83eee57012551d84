"""CCG IAF 2016/17 skeleton reconstruction (methodologies/ccg_iaf_2016_17.tier) against an
independent pandas oracle, on the invented CCGs of examples/ccg_iaf/.

The oracle below re-implements the methodology's documented rules directly with pandas and
numpy (no dsl or interpreter code): each indicator banded 1..4 by quartile (QUARTILE.INC cut
points, band = 1 + the cut points the value is strictly better than) or by z-score (sample
sd, bands at -z_cut, 0, z_cut); leadership red/amber/green/green_star = 1..4; conflicts of
interest compliant = 3, not = 1; each domain the mean of its indicators present; the overall
score the weighted mean of the four domains (weights normalised, a missing domain leaves no
score); cut-offs 3.25 / 2.5 / 1.75 (decimal-safe, boundary included); then the finance limit
(position below deficit_threshold: at most requires improvement) and the leadership cap (red:
at most requires improvement). The methodology is run only through `tierlang.run` and the CLI.
"""

from __future__ import annotations

import csv
import importlib.util
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import tierlang
from tierlang.cli import main

ROOT = Path(__file__).resolve().parents[1]
METHODOLOGY = ROOT / "methodologies" / "ccg_iaf_2016_17.tier"
EXAMPLE = ROOT / "examples" / "ccg_iaf"
DATA = EXAMPLE / "ccgs.csv"
PUBLISHED = EXAMPLE / "published_rating_counts.csv"
SHARED_PUBLISHED = Path("/work/shared/data/ccg_iaf_2016_17_rating_counts.csv")

SCALE = ["inadequate", "requires improvement", "good", "outstanding"]  # worst first

# input: (score node, higher is better)
BANDED = {
    "maternal_smoking": ("maternal_smoking_score", False),
    "child_obesity": ("child_obesity_score", False),
    "diabetes_targets": ("diabetes_targets_score", True),
    "diabetes_education": ("diabetes_education_score", True),
    "falls_injuries": ("falls_score", False),
    "ereferral": ("ereferral_score", True),
    "personal_health_budgets": ("personal_health_budgets_score", True),
    "ae_4hr": ("ae_score", True),
    "emergency_admissions_ucsc": ("emergency_admissions_score", False),
    "dtoc": ("dtoc_score", False),
    "cancer_62day": ("cancer_score", True),
    "dementia_diagnosis": ("dementia_score", True),
    "finance_position": ("finance_score", True),
    "savings_delivered": ("savings_score", True),
}
DOMAINS = {
    "better_health": [
        "maternal_smoking_score",
        "child_obesity_score",
        "diabetes_targets_score",
        "diabetes_education_score",
        "falls_score",
        "ereferral_score",
        "personal_health_budgets_score",
    ],
    "better_care": [
        "ae_score",
        "emergency_admissions_score",
        "dtoc_score",
        "cancer_score",
        "dementia_score",
    ],
    "sustainability": ["finance_score", "savings_score"],
    "well_led": ["leadership_score", "coi_score"],
}
DEFAULTS = {
    "banding": "quartile",
    "z_cut": 1.0,
    "better_health_weight": 0.25,
    "better_care_weight": 0.25,
    "sustainability_weight": 0.25,
    "well_led_weight": 0.25,
    "outstanding_cutoff": 3.25,
    "good_cutoff": 2.5,
    "requires_improvement_cutoff": 1.75,
    "finance_limit": True,
    "deficit_threshold": 0.0,
    "leadership_cap": True,
}

# ---------------------------------------------------------------- the oracle


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= max(1e-12 * max(abs(a), abs(b)), 1e-12)


def _gt(a: float, b: float) -> bool:
    return a > b and not _close(a, b)


def _ge(a: float, b: float) -> bool:
    return a > b or _close(a, b)


def quartile_band(x: pd.Series, higher: bool) -> pd.Series:
    cuts = np.quantile(x.dropna().to_numpy(dtype=float), [0.25, 0.5, 0.75], method="linear")

    def band(v):
        if pd.isna(v):
            return np.nan
        better = [_gt(v, c) if higher else _gt(c, v) for c in cuts]
        return 1.0 + sum(better)

    return x.map(band).astype(float)


def z_band(x: pd.Series, higher: bool, z_cut: float) -> pd.Series:
    z = (x - x.mean()) / x.std(ddof=1)  # pandas skips missing values
    if not higher:
        z = -z

    def band(v):
        if pd.isna(v):
            return np.nan
        if _ge(v, z_cut):
            return 4.0
        if _ge(v, 0.0):
            return 3.0
        if _ge(v, -z_cut):
            return 2.0
        return 1.0

    return z.map(band).astype(float)


def read_data() -> pd.DataFrame:
    frame = pd.read_csv(DATA, dtype=str, keep_default_na=False)
    frame.index = frame["ccg_code"]
    return frame.replace("", np.nan)


def cap(label, at_most: str):
    if pd.isna(label):
        return label
    return SCALE[min(SCALE.index(label), SCALE.index(at_most))]


def oracle(data: pd.DataFrame, **overrides) -> pd.DataFrame:
    p = {**DEFAULTS, **overrides}
    out = pd.DataFrame(index=data.index)
    for name, (score, higher) in BANDED.items():
        x = pd.to_numeric(data[name]).astype(float)
        if p["banding"] == "zscore":
            out[score] = z_band(x, higher, p["z_cut"])
        else:
            out[score] = quartile_band(x, higher)
    out["leadership_score"] = (
        data["leadership"]
        .str.strip()
        .str.lower()
        .map({"red": 1.0, "amber": 2.0, "green": 3.0, "green_star": 4.0})
    )
    coi = (
        data["coi_compliant"]
        .str.strip()
        .str.lower()
        .map({"yes": True, "no": False, "true": True, "false": False})
    )
    out["coi_score"] = coi.map(lambda v: np.nan if pd.isna(v) else (3.0 if v else 1.0))
    for domain, parts in DOMAINS.items():
        out[domain] = out[parts].mean(axis=1, skipna=True)  # all missing: NaN
    weights = {d: p[f"{d}_weight"] for d in DOMAINS}
    total = sum(weights.values())
    out["overall"] = sum(out[d] * w for d, w in weights.items()) / total  # NaN if a domain is

    def rate(score):
        if pd.isna(score):
            return np.nan
        if _ge(score, p["outstanding_cutoff"]):
            return "outstanding"
        if _ge(score, p["good_cutoff"]):
            return "good"
        if _ge(score, p["requires_improvement_cutoff"]):
            return "requires improvement"
        return "inadequate"

    finance = pd.to_numeric(data["finance_position"]).astype(float)
    out["in_deficit"] = finance.map(
        lambda v: np.nan if pd.isna(v) else _gt(p["deficit_threshold"], v)
    )
    out["rating:before"] = out["overall"].map(rate)
    rating = out["rating:before"].copy()
    if p["finance_limit"]:
        rating = pd.Series(
            [
                cap(r, "requires improvement") if d is True else r
                for r, d in zip(rating, out["in_deficit"])
            ],
            index=out.index,
        )
    if p["leadership_cap"]:
        red = data["leadership"].str.strip().str.lower() == "red"
        rating = pd.Series(
            [cap(r, "requires improvement") if c else r for r, c in zip(rating, red)],
            index=out.index,
        )
    out["rating"] = rating
    return out


# ---------------------------------------------------------------- run and compare


def run(**overrides):
    return tierlang.run(METHODOLOGY, DATA, params=overrides or None)


def _missing(v) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


def compare(name: str, keys, actual, expected: pd.Series) -> None:
    actual = pd.Series(list(actual), index=[str(k) for k in keys])
    expected = expected.reindex(actual.index)
    assert len(actual) == 209
    for key in actual.index:
        a, e = actual[key], expected[key]
        assert _missing(a) == _missing(e), f"{name} for {key}: run {a!r}, oracle {e!r}"
        if _missing(a):
            continue
        if isinstance(e, str):
            assert str(a) == e, f"{name} for {key}: run {a!r}, oracle {e!r}"
        elif isinstance(e, (bool, np.bool_)):
            assert bool(a) == bool(e), f"{name} for {key}: run {a!r}, oracle {e!r}"
        else:
            assert math.isclose(float(a), float(e), rel_tol=1e-9, abs_tol=1e-12), (
                f"{name} for {key}: run {a!r}, oracle {e!r}"
            )


PARAM_SETS = [
    {},
    {"banding": "zscore"},
    {"banding": "zscore", "z_cut": 0.75, "leadership_cap": False},
    {
        "better_health_weight": 0.35,
        "sustainability_weight": 0.15,
        "outstanding_cutoff": 3.0,
        "good_cutoff": 2.75,
        "requires_improvement_cutoff": 2.0,
    },
    {"finance_limit": False, "leadership_cap": False},
    {"deficit_threshold": -0.5},
]


@pytest.mark.parametrize(
    "params", PARAM_SETS, ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()) or "declared"
)
def test_every_ccg_and_every_node_matches_the_oracle(params):
    outcome = run(**params)
    result = outcome.result
    expected = oracle(read_data(), **params)
    compared = set()
    for column in expected.columns:
        node, _, part = column.partition(":")
        trace = result.traces[node]
        actual = trace.tier.before_limits if part == "before" else trace.values
        compare(column, result.keys, actual, expected[column])
        compared.add(node)
    # every per-entity definition of the methodology (inputs and params aside) was compared
    defined = {
        name
        for name, trace in result.traces.items()
        if trace.node.kind not in ("input", "param") and len(trace.values) == len(result.keys)
    }
    assert defined - compared == set()
    # the headline table agrees too
    table = outcome.table.set_index("key")
    final = expected["rating"].reindex(table.index)
    assert list(table["tier"]) == list(final)


def test_the_oracle_pins_the_example_counts():
    rating = oracle(read_data())["rating"]
    counts = rating.value_counts().to_dict()
    assert counts == {"outstanding": 29, "good": 71, "requires improvement": 86, "inadequate": 23}
    assert rating.notna().all()


def test_the_finance_limit_acts_on_the_example_in_the_oracle():
    expected = oracle(read_data())
    in_deficit = expected["in_deficit"].fillna(False).astype(bool)
    moved = expected["rating"] != expected["rating:before"]
    assert (moved & in_deficit).sum() >= 1
    assert not (in_deficit & expected["rating"].isin(["good", "outstanding"])).any()


# ---------------------------------------------------------------- the command line


def invoke(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _csv_ratings(output: str) -> dict[str, str]:
    return {row["key"]: row["tier"] for row in csv.DictReader(output.splitlines())}


def test_cli_run_on_the_example_records_the_run_and_the_finance_limit_moves_ccgs(
    tmp_path, monkeypatch
):
    monkeypatch.delenv("TIERLANG_AUDIT", raising=False)
    db = tmp_path / "ccg_iaf.db"
    ran = invoke("run", str(METHODOLOGY), "--data", str(DATA), "--audit", str(db))
    assert ran.exit_code == 0, ran.output
    assert "209 entities (CCG)" in ran.output
    assert (
        "rating: outstanding 29, good 71, requires improvement 86, inadequate 23, not rated 0"
        in ran.output
    )

    explained = invoke("explain", "Illustrative CCG 057", "--audit", str(db))
    assert explained.exit_code == 0, explained.output
    assert "outstanding" in explained.output

    with_limit = invoke(
        "run", str(METHODOLOGY), "--data", str(DATA), "--no-audit", "--format", "csv"
    )
    without = invoke(
        "run",
        str(METHODOLOGY),
        "--data",
        str(DATA),
        "--no-audit",
        "--format",
        "csv",
        "--param",
        "finance_limit=false",
    )
    assert with_limit.exit_code == 0 and without.exit_code == 0
    on, off = _csv_ratings(with_limit.output), _csv_ratings(without.output)
    assert len(on) == len(off) == 209
    moved = {k for k in on if on[k] != off[k]}
    assert moved, "the finance limit moved no CCG"
    finance = read_data()["finance_position"].astype(float)
    for key in moved:
        assert finance[key] < 0, key
        assert on[key] == "requires improvement"
        assert SCALE.index(off[key]) > SCALE.index("requires improvement")


def test_cli_check_and_test_are_clean():
    checked = invoke("check", str(METHODOLOGY))
    assert checked.exit_code == 0
    assert "warning" not in checked.output and "error" not in checked.output
    tested = invoke("test", str(METHODOLOGY))
    assert tested.exit_code == 0, tested.output
    assert "0 failed" in tested.output
    formatted = invoke("fmt", "--check", str(METHODOLOGY))
    assert formatted.exit_code == 0, formatted.output


def test_the_readme_states_the_counts_the_run_gives():
    readme = (EXAMPLE / "README.md").read_text(encoding="utf-8")
    counts = dict(run().counts)
    line = (
        f"rating: outstanding {counts['outstanding']}, good {counts['good']}, requires improvement "
        f"{counts['requires improvement']}, inadequate {counts['inadequate']}, not rated {counts['not rated']}"
    )
    assert line in readme


# ---------------------------------------------------------------- the published counts


def test_published_counts_sum_to_209_and_keep_their_sources():
    published = pd.read_csv(PUBLISHED, dtype=str)
    assert list(published.columns) == ["year", "rating", "count", "status", "source_url", "note"]
    counts = dict(zip(published["rating"], published["count"].astype(int)))
    assert counts == {"Outstanding": 21, "Good": 99, "Requires improvement": 66, "Inadequate": 23}
    assert sum(counts.values()) == 209
    assert published["source_url"].str.startswith("https://").all()
    assert published["note"].notna().all()
    good = published.set_index("rating").loc["Good"]
    assert good["status"] == "derived"  # 209 minus the three reported counts, not seen stated
    assert (published.loc[published["rating"] != "Good", "status"] == "reported").all()
    if SHARED_PUBLISHED.exists():  # the copy is byte for byte the project's collected file
        assert PUBLISHED.read_bytes() == SHARED_PUBLISHED.read_bytes()


def test_published_labels_are_the_methodology_labels():
    published = pd.read_csv(PUBLISHED, dtype=str)
    assert sorted(published["rating"].str.lower()) == sorted(SCALE)


# ---------------------------------------------------------------- the generator


def _load_generator():
    spec = importlib.util.spec_from_file_location("ccg_iaf_make_data", EXAMPLE / "make_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_generator_reproduces_the_committed_csv():
    make_data = _load_generator()
    assert make_data.render() == DATA.read_text(encoding="utf-8")
    assert make_data.render() == make_data.render()


def test_the_example_ccgs_are_invented_and_complete():
    data = read_data()
    assert len(data) == 209
    assert list(data["ccg_code"]) == [f"EX{i:03d}" for i in range(1, 210)]
    assert all(re.fullmatch(r"Illustrative CCG \d{3}", name) for name in data["ccg_name"])
    # a few suppressed values, but no CCG misses a whole domain
    assert data[list(BANDED)].isna().sum().sum() > 0
    assert data[["leadership", "coi_compliant", "finance_position"]].notna().all().all()
