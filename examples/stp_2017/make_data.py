"""Write stp_2017.csv: the 44 STPs of July 2017 with ILLUSTRATIVE indicator values.

The indicator values this script writes are GENERATED (seeded random numbers in plausible
ranges). They are NOT the published dashboard data, which could not be found in any public
source. Only these facts are real, and they are read from the committed copies next to this
file:

- `published_ratings.csv` (a copy of the project's collected public facts): footprint number,
  ONS code (blank for footprints 1-4, which were not verified), STP name, NHS England region
  (2019 mapping; inferred for footprints 1-4), the published overall category where a public
  source gives it, and the leadership facts: West Yorkshire and Harrogate "Established", Bristol,
  North Somerset and South Gloucestershire the lowest category (its label is unknown; written
  here as `limited`, the lowest label the reconstruction assumes).
- `known_values.csv`: Dorset's four press-reported values (A&E >96%, RTT ~92%, GP opening-times
  satisfaction 80%, cancer 62-day 85%; Bournemouth Echo), used for Dorset's row as reported
  (approximate, period unknown).

Every row says which of its values are illustrative in the `values_note` column.

Run from anywhere: `python examples/stp_2017/make_data.py`. Same seed, same file.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SEED = 2017
# A second, separate generator for columns added later, drawn after all the others, so that
# adding a column never changes the values of the existing ones.
DRAFT_SEED = 2018

# Dorset's values from known_values.csv, by the indicator text of that file.
KNOWN_INDICATORS = {
    "A&E 4-hour (admitted transferred or discharged within 4 hours)": "ae_4hr",
    "RTT: waited 18 weeks or less from referral to treatment": "rtt_18wk",
    "GP patient satisfaction with GP practice opening times": "gp_opening_satisfaction",
    "Cancer: treated within 62 days of (urgent GP) referral": "cancer_62day",
}

# Leadership facts in published_ratings.csv (column leadership_rating) -> reconstruction label.
LEADERSHIP_FACTS = {
    "Established": ("established", "leadership as reported (Established)"),
    "lowest category (label unknown)": (
        "limited",
        "leadership: the lowest category as reported (its label unknown; `limited` assumed)",
    ),
}

COLUMNS = [
    "footprint",
    "ons_code",
    "stp_name",
    "region",
    "ae_4hr",
    "rtt_18wk",
    "safety_indicator",
    "gp_opening_satisfaction",
    "gp_extended_access",
    "mh_access",
    "cancer_62day",
    "cancer_1yr_survival",
    "emergency_admissions",
    "emergency_bed_days",
    "dtoc",
    "finance",
    "leadership",
    "published_overall_category",
    "values_note",
]


def read_csv(name: str) -> list[dict[str, str]]:
    with open(HERE / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def illustrative_values(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Plausible but invented values, one per STP, rounded as published figures would be."""
    values = {
        "ae_4hr": rng.uniform(85, 97, n).round(1),  # % within 4 hours
        "rtt_18wk": rng.uniform(85, 94, n).round(1),  # % of pathways <= 18 weeks
        "safety_indicator": rng.uniform(40, 60, n).round(1),  # stand-in: the indicator is unknown
        "gp_opening_satisfaction": rng.uniform(70, 84, n).round(1),  # % satisfied
        "gp_extended_access": rng.uniform(5, 60, n).round(1),  # % of population
        "mh_access": rng.uniform(10, 20, n).round(1),  # rate; unit unknown
        "cancer_62day": rng.uniform(76, 88, n).round(1),  # % within 62 days
        "emergency_admissions": rng.uniform(80, 120, n).round(1),  # rate; unit unknown
        "emergency_bed_days": rng.uniform(500, 900, n).round(0),  # rate; unit unknown
        "dtoc": rng.uniform(8, 25, n).round(1),  # rate; unit unknown
    }
    # Finance: % of control total, -6..+2, positive in 19 STPs as HFMA reports (which ones were
    # positive is not known: the 19 are drawn at random).
    finance = -rng.uniform(0.1, 6.0, n)
    positive = rng.choice(n, size=19, replace=False)
    finance[positive] = rng.uniform(0.1, 2.0, 19)
    values["finance"] = finance.round(2)
    leadership = rng.choice(
        ["limited", "emerging", "developing", "established"], size=n, p=[0.1, 0.3, 0.4, 0.2]
    )
    values["leadership"] = leadership
    return values


def draft_values(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """ILLUSTRATIVE columns for methodologies/stp_dashboard_2018_draft.tier (an illustrative
    draft, not an NHS England document), from their own generator (DRAFT_SEED)."""
    return {
        # % of patients alive one year after a cancer diagnosis; invented values in a plausible
        # range (the measure, its period and its definition are assumptions of the draft).
        "cancer_1yr_survival": rng.uniform(68, 76, n).round(1),
    }


def main() -> Path:
    published = read_csv("published_ratings.csv")
    known = read_csv("known_values.csv")
    rng = np.random.default_rng(SEED)
    values = illustrative_values(rng, len(published))
    values.update(draft_values(np.random.default_rng(DRAFT_SEED), len(published)))

    dorset = {
        KNOWN_INDICATORS[r["indicator"]]: r["approx_numeric"]
        for r in known
        if r["stp_name"] == "Dorset"
    }

    rows = []
    for i, stp in enumerate(published):
        row = {
            "footprint": stp["footprint_no"],
            "ons_code": stp["ons_code"],
            "stp_name": stp["stp_name"],
            "region": stp["nhse_region_2019_mapping"],
            "published_overall_category": stp["overall_category_label"],
        }
        for name, column in values.items():
            value = column[i]
            row[name] = value if isinstance(value, str) else f"{value:g}"
        notes = []
        if stp["stp_name"] == "Dorset":
            row.update(dorset)
            notes.append(
                "ae_4hr rtt_18wk gp_opening_satisfaction cancer_62day as press-reported "
                "(approximate; Bournemouth Echo); other values illustrative"
            )
        if stp["leadership_rating"] in LEADERSHIP_FACTS:
            row["leadership"], note = LEADERSHIP_FACTS[stp["leadership_rating"]]
            notes.append(f"{note}; other values illustrative")
        row["values_note"] = "; ".join(notes) or "illustrative (generated by make_data.py)"
        rows.append(row)

    out = HERE / "stp_2017.csv"
    with open(out, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return out


if __name__ == "__main__":
    print(f"wrote {main()}")
