"""Writes hospitals.csv: 360 INVENTED hospitals for methodologies/hospital_star_rating.tier.

Every identifier and value is illustrative (seeded random numbers in plausible ranges around
a latent quality per hospital); none is a real hospital or a published figure. Smaller
hospitals report fewer measures, so hospitals fall into peer groups of 3, 4 and 5 measure
groups, as in the CMS Overall Hospital Quality Star Rating. Run
`python examples/hospital_stars/make_data.py`: the output is the same every time.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
HOSPITALS = 360
# measure: (group, mean, sd, effect of quality (+ raises the value), decimals)
MEASURES = {
    "mort_ami": ("mortality", 0.125, 0.012, -0.008, 3),
    "mort_hf": ("mortality", 0.110, 0.014, -0.009, 3),
    "mort_pn": ("mortality", 0.160, 0.018, -0.010, 3),
    "mort_stroke": ("mortality", 0.135, 0.015, -0.007, 3),
    "hai_clabsi": ("safety", 0.80, 0.35, -0.20, 3),
    "hai_cauti": ("safety", 0.75, 0.35, -0.20, 3),
    "hai_mrsa": ("safety", 0.90, 0.40, -0.20, 3),
    "psi_90": ("safety", 1.00, 0.12, -0.08, 3),
    "readm_hf": ("readmission", 0.205, 0.015, -0.010, 3),
    "readm_pn": ("readmission", 0.165, 0.012, -0.008, 3),
    "readm_copd": ("readmission", 0.190, 0.013, -0.008, 3),
    "readm_hospital": ("readmission", 0.150, 0.009, -0.006, 3),
    "hcahps_nurse": ("experience", 3.3, 0.6, 0.5, 2),
    "hcahps_doctor": ("experience", 3.4, 0.6, 0.5, 2),
    "hcahps_clean": ("experience", 3.2, 0.7, 0.4, 2),
    "hcahps_overall": ("experience", 3.3, 0.7, 0.6, 2),
    "sep_1": ("process", 0.60, 0.12, 0.06, 2),
    "imm_3": ("process", 0.78, 0.10, 0.04, 2),
    "op_10": ("process", 0.060, 0.030, -0.015, 3),
    "op_18b": ("process", 160.0, 40.0, -20.0, 0),
}

# bounds the values are clipped to (the methodology's input ranges); others: at least 0
BOUNDS = {name: (1.0, 5.0) for name in MEASURES if name.startswith("hcahps")}
BOUNDS.update({name: (0.0, 1.0) for name in ("sep_1", "imm_3", "op_10")})


def main() -> None:
    rng = np.random.default_rng(2021)
    rows = []
    for i in range(HOSPITALS):
        quality = rng.normal()
        size = rng.choice(["large", "medium", "small"], p=[0.55, 0.30, 0.15])
        # large hospitals report every group; medium ones lack safety data; small ones also
        # lack readmission data (or, for a few, mortality) and report fewer measures
        absent = {"large": set(), "medium": {"safety"}, "small": {"safety", "readmission"}}[size]
        if size == "small" and i % 7 == 0:
            absent = {"safety", "mortality"}  # not rated: neither mortality nor safety
        row = {"hospital_id": f"H{i + 1:04d}", "hospital_name": f"Illustrative Hospital {i + 1}"}
        for name, (group, mean, sd, effect, decimals) in MEASURES.items():
            suppressed = group in absent or rng.random() < (0.08 if size == "large" else 0.2)
            value = mean + effect * quality + sd * rng.normal()
            low, high = BOUNDS.get(name, (0.0, np.inf))
            row[name] = "" if suppressed else f"{min(max(value, low), high):.{decimals}f}"
        rows.append(row)
    with open(HERE / "hospitals.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
