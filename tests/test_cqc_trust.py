"""CQC NHS trusts (methodologies/cqc_nhs_trust.tier) against an independent oracle.

The oracle below re-implements the documented rules with plain pandas (groupby per location
and per trust), reading the CSV files itself; it imports nothing from dsl/ or interpreter/.
Every node the methodology computes, at every level (trust, location, service), is compared
for every entity with what `tierlang.run` produced, on the invented example data (long table
and one table per level) and on every test-vector table, with the default params and with
other values of the GAP params.

The rules, as documented in the methodology file:
- L1: a service's key question rating, capped at requires improvement by a requirement notice
  and at inadequate by enforcement action; an empty cell is "not rated" (missing).
- The aggregation of a set of underlying ratings (those present; n of them; none: missing):
  inadequate if #inadequate >= I(n); else requires improvement if #RI >= R(n), or (param) any
  inadequate; else outstanding if #outstanding >= X(n) and all the others are good; else good.
  X(n) = 1, 2, 3 for n in 1-3, 4-8, 9+; R(n) = ri_needed_1_to_3, 2, ri_needed_9_plus;
  I(n) = inadequate_needed_1_to_3, _4_to_8, _9_plus.
- L2 a service's five L1 ratings; L3 one key question over a location's services; L4 a
  location's five L3 ratings; L5 one key question over a trust's locations (Well-led: the
  trust-level input); L6 the trust's five L5 ratings. At a trust with one location, the
  location's Well-led (L3) is the trust-level Well-led.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import tierlang
from tierlang.api import Tables
from tierlang.cli import main

ROOT = Path(__file__).resolve().parents[1]
METHODOLOGY = ROOT / "methodologies" / "cqc_nhs_trust.tier"
EXAMPLE = ROOT / "examples" / "cqc_trust"
LONG = EXAMPLE / "services.csv"
BY_LEVEL = EXAMPLE / "by_level"
VECTORS = sorted((EXAMPLE / "vectors").glob("*.csv"))

SCALE = ["inadequate", "requires improvement", "good", "outstanding"]  # worst first
KQS = ["safe", "effective", "caring", "responsive", "well_led"]
DEFAULTS = {
    "ri_needed_1_to_3": 1,
    "ri_needed_9_plus": 3,
    "inadequate_needed_1_to_3": 1,
    "inadequate_needed_4_to_8": 2,
    "inadequate_needed_9_plus": 3,
    "inadequate_limits_to_ri": True,
}
# other values of the GAP params (each among the methodology's `one of` options)
VARIANTS = [
    {},
    {"ri_needed_9_plus": 2, "inadequate_needed_9_plus": 2},
    {"inadequate_needed_4_to_8": 1},
    {"inadequate_limits_to_ri": False},
]


# ---------------------------------------------------------------- the oracle


def read_table(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    return frame.replace("", np.nan)


def as_label(column: pd.Series) -> pd.Series:
    return column.map(lambda v: v if pd.isna(v) else str(v).strip().lower())


def by_number(n: int, up_to_3, from_4_to_8, from_9):
    return from_9 if n >= 9 else from_4_to_8 if n >= 4 else up_to_3


def aggregate(ratings, p: dict):
    """The aggregation rule on a set of ratings (missing ones are not underlying ratings)."""
    present = [r for r in ratings if not pd.isna(r)]
    n = len(present)
    if n == 0:
        return np.nan
    o, g = present.count("outstanding"), present.count("good")
    r, i = present.count("requires improvement"), present.count("inadequate")
    if i >= by_number(
        n,
        p["inadequate_needed_1_to_3"],
        p["inadequate_needed_4_to_8"],
        p["inadequate_needed_9_plus"],
    ):
        return "inadequate"
    if r >= by_number(n, p["ri_needed_1_to_3"], 2, p["ri_needed_9_plus"]) or (
        p["inadequate_limits_to_ri"] and i >= 1
    ):
        return "requires improvement"
    if o >= by_number(n, 1, 2, 3) and o + g == n:
        return "outstanding"
    return "good"


def cap(label, at_most: str):
    if pd.isna(label):
        return label
    return SCALE[min(SCALE.index(label), SCALE.index(at_most))]


def oracle(
    trusts: pd.DataFrame,
    locations: pd.DataFrame,
    services: pd.DataFrame,
    params: dict | None = None,
) -> dict[str, pd.DataFrame]:
    """Every node at every level, from one table per level (keys as strings)."""
    p = {**DEFAULTS, **(params or {})}

    # ---- services: inputs, L1 (before and after the limiters), L2
    sv = pd.DataFrame(index=pd.Index(services["service_id"], name="service_id"))
    sv["location_id"] = services["location_id"].to_numpy()
    for kq in KQS:
        sv[kq] = as_label(services[kq]).to_numpy()
        sv[f"{kq}_enforcement"] = as_label(services[f"{kq}_enforcement"]).to_numpy()
        sv[f"{kq}_service:before"] = sv[kq]
        capped = []
        for rating, action in zip(sv[kq], sv[f"{kq}_enforcement"]):
            if action == "requirement notice":
                rating = cap(rating, "requires improvement")
            elif action == "enforcement action":
                rating = cap(rating, "inadequate")
            capped.append(rating)
        sv[f"{kq}_service"] = capped
    l1 = [f"{kq}_service" for kq in KQS]
    sv["service_key_questions"] = [tuple(row) for row in sv[l1].itertuples(index=False)]
    sv["service_overall"] = [aggregate(row, p) for row in sv["service_key_questions"]]

    # ---- locations: L3 (groupby location over its services), L4
    lc = pd.DataFrame(index=pd.Index(locations["location_id"], name="location_id"))
    lc["trust_code"] = locations["trust_code"].to_numpy()
    groups = sv.groupby("location_id")
    for kq in ["safe", "effective", "caring", "responsive"]:
        per_location = groups[f"{kq}_service"].agg(lambda s: aggregate(list(s), p))
        lc[f"{kq}_location"] = per_location.reindex(lc.index)  # a location without services: NaN
    lc["well_led_services"] = (
        groups["well_led_service"].agg(lambda s: aggregate(list(s), p)).reindex(lc.index)
    )

    # ---- trusts: the trust-level Well-led, the number of locations
    tr = pd.DataFrame(index=pd.Index(trusts["trust_code"], name="trust_code"))
    tr["trust_well_led"] = as_label(trusts["trust_well_led"]).to_numpy()
    tr["trust_locations"] = (
        lc.groupby("trust_code").size().reindex(tr.index).fillna(0).astype(float)
    )

    one_location = lc["trust_code"].map(tr["trust_locations"]) == 1
    lc["well_led_location"] = np.where(
        one_location, lc["trust_code"].map(tr["trust_well_led"]), lc["well_led_services"]
    )
    l3 = [f"{kq}_location" for kq in KQS]
    lc["location_key_questions"] = [tuple(row) for row in lc[l3].itertuples(index=False)]
    lc["location_overall"] = [aggregate(row, p) for row in lc["location_key_questions"]]

    # ---- trusts: L5 (groupby trust over its locations), L6
    by_trust = lc.groupby("trust_code")
    for kq in ["safe", "effective", "caring", "responsive"]:
        per_trust = by_trust[f"{kq}_location"].agg(lambda s: aggregate(list(s), p))
        tr[f"{kq}_trust"] = per_trust.reindex(tr.index)
    l5 = ["safe_trust", "effective_trust", "caring_trust", "responsive_trust", "trust_well_led"]
    tr["trust_key_questions"] = [tuple(row) for row in tr[l5].itertuples(index=False)]
    tr["trust_overall"] = [aggregate(row, p) for row in tr["trust_key_questions"]]

    return {
        "trust": tr,
        "location": lc.drop(columns=["trust_code"]),
        "service": sv.drop(columns=["location_id"]),
    }


def split_long(long: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The three tables of a long table (an upper level's values from its first row)."""
    trusts = long.drop_duplicates("trust_code")[["trust_code", "trust_well_led"]]
    locations = long.drop_duplicates("location_id")[["location_id", "trust_code"]]
    return trusts, locations, long


def oracle_long(path: Path, params: dict | None = None) -> dict[str, pd.DataFrame]:
    return oracle(*split_long(read_table(path)), params)


def oracle_by_level(folder: Path, params: dict | None = None) -> dict[str, pd.DataFrame]:
    return oracle(
        read_table(folder / "trusts.csv"),
        read_table(folder / "locations.csv"),
        read_table(folder / "services.csv"),
        params,
    )


# ---------------------------------------------------------------- the oracle on its own
# Checked by hand against the rules, without the interpreter: these pin the oracle itself.


def test_oracle_aggregation_rule_edges():
    p = DEFAULTS
    out, gd, ri, inad = "outstanding", "good", "requires improvement", "inadequate"
    assert aggregate([out, gd, gd], p) == out  # 1 of 3
    assert aggregate([out, gd, gd, gd], p) == gd  # 1 of 4: one short
    assert aggregate([out, out, gd, gd], p) == out  # 2 of 4
    assert aggregate([out, out, gd, gd, gd, gd, gd, gd], p) == out  # 2 of 8
    assert aggregate([out, out] + [gd] * 7, p) == gd  # 2 of 9
    assert aggregate([out, out, out] + [gd] * 6, p) == out  # 3 of 9
    assert aggregate([out, out, gd, gd, ri], p) == gd  # not all the others good
    assert aggregate([gd, gd, gd, ri, ri], p) == ri  # the rule of two
    assert aggregate([gd, gd, gd, gd, ri], p) == gd
    assert aggregate([ri, ri] + [gd] * 7, p) == gd  # 9+: RI at 3 (ASSUMPTION)
    assert aggregate([ri, ri, ri] + [gd] * 6, p) == ri
    assert aggregate([gd, ri], p) == ri  # 1-3: RI at 1
    assert aggregate([gd, gd, gd, gd, inad], p) == ri  # an inadequate below the threshold
    assert aggregate([gd, gd, gd, gd, inad], {**p, "inadequate_limits_to_ri": False}) == gd
    assert aggregate([gd, gd, gd, gd, inad], {**p, "inadequate_needed_4_to_8": 1}) == inad
    assert aggregate([inad, inad, ri, ri, gd], p) == inad  # inadequate is tried first
    assert aggregate([inad, gd], p) == inad
    assert pd.isna(aggregate([np.nan, np.nan], p))  # nothing rated: missing
    assert aggregate([out, np.nan, np.nan, np.nan, np.nan], p) == out  # 1 rated


def test_oracle_on_the_example_trusts():
    result = oracle_long(LONG)
    assert result["trust"]["trust_overall"].to_dict() == {
        "ZTA": "good",
        "ZTB": "outstanding",
        "ZTC": "requires improvement",
    }
    location = result["location"]
    assert location.loc["ZTA01", "location_overall"] == "outstanding"
    assert location.loc["ZTB01", "well_led_location"] == "outstanding"  # the trust's (one location)
    assert location.loc["ZTB01", "well_led_services"] == "good"
    assert location.loc["ZTC03", "safe_location"] == "inadequate"
    service = result["service"]
    assert service.loc["ZTC01-CC", "safe_service:before"] == "outstanding"
    assert service.loc["ZTC01-CC", "safe_service"] == "inadequate"  # enforcement action
    assert service.loc["ZTC01-UEC", "safe_service"] == "requires improvement"  # requirement notice
    assert service.loc["ZTC01-UEC", "service_overall"] == "requires improvement"  # rule of two
    assert pd.isna(service.loc["ZTA01-OPD", "effective_service"])  # not rated


def test_every_limiter_acts_somewhere_in_the_data():
    """So that each of the ten `limit`s is compared with the oracle where it changes a rating."""
    acted = set()
    for path in [LONG, *VECTORS]:
        services = oracle_long(path)["service"]
        for kq in KQS:
            before, after = services[f"{kq}_service:before"], services[f"{kq}_service"]
            changed = before.notna() & (before != after)
            acted.update((kq, action) for action in services.loc[changed, f"{kq}_enforcement"])
    assert acted == {(kq, a) for kq in KQS for a in ["requirement notice", "enforcement action"]}


@pytest.mark.parametrize("variant", VARIANTS[1:], ids=lambda v: ",".join(v))
def test_each_param_variant_changes_some_result(variant):
    """So that comparing the interpreter with the oracle under each variant tests something."""
    sources = [LONG, *VECTORS]
    changed = 0
    for path in sources:
        base, other = oracle_long(path), oracle_long(path, variant)
        for level in base:
            for column in base[level].columns:
                a, b = base[level][column], other[level][column]
                changed += int((a.astype(str) != b.astype(str)).sum())
    assert changed > 0


# ---------------------------------------------------------------- against the interpreter


def _missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _plain(value):
    if isinstance(value, tuple):
        return tuple(None if _missing(v) else str(v).lower() for v in value)
    if _missing(value):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    return str(value).lower()


def _level_traces(result, level: str):
    if level == "trust":
        return result.keys, result.traces
    members = result.members[level]
    return members.keys, members.traces


def compare_with_oracle(outcome, expected: dict[str, pd.DataFrame]) -> int:
    """Compare every node at every level, entity by entity; returns the values compared."""
    result = outcome.result
    params = {p.name for p in result.methodology.params}
    compared = 0
    for level, frame in expected.items():
        keys, traces = _level_traces(result, level)
        assert sorted(str(k) for k in keys) == sorted(frame.index), f"{level}: entities differ"
        columns = set()
        for column in frame.columns:
            node, _, part = column.partition(":")
            columns.add(node)
            trace = traces[node]
            values = trace.tier.before_limits if part == "before" else trace.values
            actual = pd.Series(list(values), index=[str(k) for k in values.index])
            for key in frame.index:
                got, want = _plain(actual[key]), _plain(frame.at[key, column])
                assert got == want, (
                    f"{column} for {level} {key}: interpreter {got!r}, oracle {want!r}"
                )
                compared += 1
        # every node of the level is compared (params are scalars, checked by the variants)
        assert set(traces) - params == columns, f"{level}: nodes not compared"
    return compared


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: ",".join(v) or "defaults")
def test_example_long_table_matches_the_oracle(variant):
    outcome = tierlang.run(METHODOLOGY, LONG, params=variant or None)
    compared = compare_with_oracle(outcome, oracle_long(LONG, variant))
    assert compared > 26 * 17  # 26 services, every node


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: ",".join(v) or "defaults")
def test_example_tables_per_level_match_the_oracle(variant):
    data = Tables(
        BY_LEVEL / "trusts.csv",
        {"location": BY_LEVEL / "locations.csv", "service": BY_LEVEL / "services.csv"},
    )
    outcome = tierlang.run(METHODOLOGY, data, params=variant or None)
    compare_with_oracle(outcome, oracle_by_level(BY_LEVEL, variant))


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: ",".join(v) or "defaults")
@pytest.mark.parametrize("path", VECTORS, ids=lambda p: p.stem)
def test_test_vectors_match_the_oracle(path, variant):
    outcome = tierlang.run(METHODOLOGY, path, params=variant or None)
    compare_with_oracle(outcome, oracle_long(path, variant))


def test_a_location_without_services_and_a_trust_without_locations(tmp_path):
    """Tables per level may hold entities with no members: their aggregates are missing."""
    trusts = read_table(BY_LEVEL / "trusts.csv")
    trusts = pd.concat(
        [
            trusts,
            pd.DataFrame(
                [{"trust_code": "ZTX", "trust_name": "Empty trust", "trust_well_led": "Good"}]
            ),
        ]
    )
    locations = read_table(BY_LEVEL / "locations.csv")
    locations = pd.concat(
        [
            locations,
            pd.DataFrame(
                [{"location_id": "ZTB02", "trust_code": "ZTB", "location_name": "No services"}]
            ),
        ]
    )
    services = read_table(BY_LEVEL / "services.csv")
    for name, frame in [("trusts", trusts), ("locations", locations), ("services", services)]:
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    data = Tables(
        tmp_path / "trusts.csv",
        {"location": tmp_path / "locations.csv", "service": tmp_path / "services.csv"},
    )
    outcome = tierlang.run(METHODOLOGY, data)
    expected = oracle(trusts, locations, services)
    compare_with_oracle(outcome, expected)
    # ZTB now has two locations, so its Well-led at L3 is no longer the trust's
    assert expected["location"].loc["ZTB01", "well_led_location"] == "good"
    assert pd.isna(expected["location"].loc["ZTB02", "location_overall"])
    assert pd.isna(expected["trust"].loc["ZTX", "safe_trust"])
    # with no rated L5 key question, L6 rests on the trust-level Well-led alone (documented at
    # L6 in the methodology: such a trust is not rated by CQC and should not be in the data)
    assert expected["trust"].loc["ZTX", "trust_overall"] == "good"


# ---------------------------------------------------------------- long table = tables per level


def test_long_table_and_tables_per_level_give_identical_values_at_every_level():
    long = tierlang.run(METHODOLOGY, LONG)
    split = tierlang.run(
        METHODOLOGY,
        Tables(
            BY_LEVEL / "trusts.csv",
            {"location": BY_LEVEL / "locations.csv", "service": BY_LEVEL / "services.csv"},
        ),
    )
    for level in ["trust", "location", "service"]:
        keys_a, traces_a = _level_traces(long.result, level)
        keys_b, traces_b = _level_traces(split.result, level)
        assert list(keys_a) == list(keys_b), level
        assert list(traces_a) == list(traces_b), level
        for name in traces_a:
            a, b = traces_a[name], traces_b[name]
            pd.testing.assert_series_equal(a.values, b.values, obj=f"{level} {name}")
            pd.testing.assert_series_equal(a.reasons, b.reasons, obj=f"{level} {name} reasons")
    assert long.table.equals(split.table)
    location_parents = long.result.members["location"].parents
    assert location_parents.to_dict() == split.result.members["location"].parents.to_dict()


# ---------------------------------------------------------------- the CLI, with each data form


def _cli_run(*data: str) -> str:
    args = ["run", str(METHODOLOGY), "--no-audit", "--format", "csv"]
    for item in data:
        args += ["--data", item]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_run_with_the_long_table_and_with_tables_per_level():
    long = _cli_run(str(LONG))
    split = _cli_run(
        str(BY_LEVEL / "trusts.csv"),
        f"location={BY_LEVEL / 'locations.csv'}",
        f"service={BY_LEVEL / 'services.csv'}",
    )
    table_long = pd.read_csv(io.StringIO(long[long.index("key,") :]))
    table_split = pd.read_csv(io.StringIO(split[split.index("key,") :]))
    pd.testing.assert_frame_equal(table_long, table_split)
    expected = oracle_long(LONG)["trust"]["trust_overall"]
    assert dict(zip(table_long["key"], table_long["tier"])) == expected.to_dict()
    assert dict(zip(table_long["key"], table_long["rank"])) == {"ZTB": 1, "ZTA": 2, "ZTC": 3}


def test_cli_run_records_and_explains_every_level(tmp_path):
    db = str(tmp_path / "audit.db")
    runner = CliRunner()
    ran = runner.invoke(main, ["run", str(METHODOLOGY), "--data", str(LONG), "--audit", db])
    assert ran.exit_code == 0, ran.output
    trust = runner.invoke(main, ["explain", "ZTC", "--audit", db])
    assert trust.exit_code == 0, trust.output
    assert "Overall trust quality rating (L6)" in trust.output
    assert "requires improvement" in trust.output
    service = runner.invoke(main, ["explain", "ZTC01-CC", "--audit", db])
    assert service.exit_code == 0, service.output
    assert "within location ZTC01" in service.output
    assert 'safe_enforcement == "enforcement action"' in service.output
    assert "(outstanding -> inadequate)" in service.output
