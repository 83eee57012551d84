"""Writes ccgs.csv: 209 INVENTED clinical commissioning groups for the CCG IAF 2016/17 skeleton.

EVERY CCG IN THE OUTPUT IS INVENTED. The codes (EX001..EX209) and the names ("Illustrative CCG
001" ...) are not real CCGs, and every indicator value is a seeded random number in a plausible
range for its indicator. None is a published figure. Only the number of CCGs, 209, is real (West
Cheshire CCG's news item of 21 July 2017). The data only exercise
`methodologies/ccg_iaf_2016_17.tier`, which is itself a skeleton reconstruction, not NHS
England's method.

How the values are drawn (all of it invented):
- each CCG has a hidden "quality" draw q ~ N(0, 1) shared by its indicators, so that a CCG
  tends to do well or badly on many indicators at once (real performance is correlated; a
  table of independent draws would put almost every CCG in the middle); each indicator is
  its plausible mean, moved by q in its better direction, plus its own noise;
- the finance position depends only weakly on q, so that some CCGs that do well elsewhere are
  in deficit (the case the finance limit is about);
- a few values are left blank (suppressed small numbers, as a published table would show), to
  exercise the methodology's missing-data rules; no CCG has a whole domain blank.

Run from anywhere: `python examples/ccg_iaf/make_data.py`. Same seed, same file.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE / "ccgs.csv"
SEED = 201617
CCGS = 209

# input name: (mean, sd, higher is better, low, high, decimals). Plausible, invented ranges.
NUMERIC = {
    # Better Health
    "maternal_smoking": (11.0, 3.5, False, 2.0, 26.0, 1),  # 101a, % of deliveries
    "child_obesity": (34.0, 3.0, False, 24.0, 44.0, 1),  # 102a, % of children aged 10-11
    "diabetes_targets": (40.0, 3.5, True, 28.0, 52.0, 1),  # 103a, % of people with diabetes
    "diabetes_education": (7.0, 4.0, True, 0.0, 25.0, 1),  # 103b, % of newly diagnosed
    "falls_injuries": (2100.0, 280.0, False, 1300.0, 3200.0, 0),  # 104a, per 100,000 aged 65+
    "ereferral": (52.0, 14.0, True, 10.0, 95.0, 1),  # 105a, % of first referrals
    "personal_health_budgets": (30.0, 14.0, True, 1.0, 120.0, 1),  # 105b, per 100,000
    # Better Care
    "ae_4hr": (89.5, 3.2, True, 78.0, 99.0, 1),  # 127c, % within 4 hours
    "emergency_admissions_ucsc": (2400.0, 330.0, False, 1400.0, 3600.0, 0),  # 127b, per 100,000
    "dtoc": (14.0, 5.5, False, 2.0, 40.0, 1),  # 127e, per 100,000 aged 18+
    "cancer_62day": (83.0, 4.0, True, 68.0, 95.0, 1),  # illustrative, %
    "dementia_diagnosis": (68.0, 6.0, True, 50.0, 90.0, 1),  # illustrative, %
    # Sustainability (finance is drawn separately, below)
    "savings_delivered": (88.0, 10.0, True, 50.0, 120.0, 1),  # illustrative, % of plan
}
# How strongly the hidden quality q moves each indicator (share of its sd), the rest is noise.
LOADING = 0.7
# Inputs left blank for a few CCGs (suppressed values), and for how many.
BLANKS = {"falls_injuries": 3, "personal_health_budgets": 4, "diabetes_education": 2, "dtoc": 2}
LEADERSHIP = ["red", "amber", "green", "green_star"]  # worst first; labels ASSUMED
LEADERSHIP_CUTS = [-1.4, -0.6, 1.0]  # on the leadership draw: ~8% red, ~19% amber, ~57% green

COLUMNS = ["ccg_code", "ccg_name", *NUMERIC, "finance_position", "leadership", "coi_compliant"]


def generate() -> list[dict[str, str]]:
    """The rows of ccgs.csv, as the strings written; the same every time."""
    rng = np.random.default_rng(SEED)
    quality = rng.standard_normal(CCGS)
    columns: dict[str, list[str]] = {}
    for name, (mean, sd, higher, low, high, decimals) in NUMERIC.items():
        direction = 1.0 if higher else -1.0
        noise = rng.standard_normal(CCGS)
        raw = mean + sd * (direction * LOADING * quality + np.sqrt(1 - LOADING**2) * noise)
        values = np.clip(raw, low, high).round(decimals)
        text = [f"{v:.{decimals}f}" for v in values]
        for i in rng.choice(CCGS, size=BLANKS.get(name, 0), replace=False):
            text[i] = ""
        columns[name] = text
    # Finance: surplus (deficit) as % of allocation, weakly related to q; about a fifth in deficit.
    finance = 0.9 + 1.1 * (0.3 * quality + np.sqrt(1 - 0.3**2) * rng.standard_normal(CCGS))
    columns["finance_position"] = [f"{v:.2f}" for v in np.clip(finance, -6.0, 3.0).round(2)]
    lead_draw = 0.6 * quality + 0.8 * rng.standard_normal(CCGS)
    columns["leadership"] = [
        LEADERSHIP[int(np.searchsorted(LEADERSHIP_CUTS, v))] for v in lead_draw
    ]
    columns["coi_compliant"] = ["no" if rng.random() < 0.08 else "yes" for _ in range(CCGS)]

    rows = []
    for i in range(CCGS):
        row = {"ccg_code": f"EX{i + 1:03d}", "ccg_name": f"Illustrative CCG {i + 1:03d}"}
        row.update({name: column[i] for name, column in columns.items()})
        rows.append(row)
    return rows


def render() -> str:
    """ccgs.csv as text."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(generate())
    return buffer.getvalue()


def main() -> Path:
    OUT.write_text(render(), encoding="utf-8", newline="")
    return OUT


if __name__ == "__main__":
    print(f"wrote {main()}")
