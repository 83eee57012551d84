"""Writes trusts.csv: 24 INVENTED acute trusts for the NOF 2025/26 methodology.

Every name, code and value is illustrative (seeded random numbers in plausible ranges); none
is a real trust or a published figure. Run `python examples/nof/make_data.py`: the output is
the same every time.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
TRUSTS = 24
PLACES = ["Ashford", "Brackley", "Carlton", "Dunmore", "Eastwick", "Fenby", "Glenholm", "Harwood",
          "Ilsley", "Jarrow Vale", "Kingsmere", "Lowther", "Marsden", "Northby", "Oakridge", "Penhale",
          "Queensbury", "Redmarsh", "Stanwick", "Thornbury", "Upton Vale", "Westmere", "Yarwood", "Zeal"]
CQC = ["outstanding", "good", "good", "good", "requires improvement", "inadequate"]


def main() -> None:
    rng = np.random.default_rng(2025)
    rows = []
    for i, place in enumerate(PLACES[:TRUSTS]):
        missing_infection = i % 11 == 5  # a few suppressed values, to exercise `skip missing`
        row = {
            "trust_code": f"EX{i + 1:03d}",
            "trust_name": f"{place} Hospitals NHS Trust (illustrative)",
            "over_52wk": round(rng.uniform(0.1, 4.0), 1),
            "rtt_18wk": round(rng.uniform(50, 75), 1),
            "cancer_fds": round(rng.uniform(65, 90), 1),
            "cancer_62day": round(rng.uniform(60, 90), 1),
            "ae_4hr": round(rng.uniform(65, 90), 1),
            "ae_12hr": round(rng.uniform(0.5, 15), 1),
            "planned_surplus": round(rng.uniform(-2, 1), 2),
            "latest_surplus": round(rng.uniform(-3, 1.5), 2),
            "staff_engagement": round(rng.uniform(6.4, 7.4), 2),
            "staff_safety": round(rng.uniform(6.1, 7.1), 2),
            "cqc_safe": CQC[int(rng.integers(len(CQC)))],
            "cdiff_rate": "" if missing_infection else round(rng.uniform(10, 50), 1),
            "mrsa_rate": round(rng.uniform(0, 3), 1),
            "ecoli_rate": round(rng.uniform(15, 60), 1),
            "deficit_support": "yes" if rng.random() < 0.2 else "no",
        }
        rows.append(row)
    with open(HERE / "trusts.csv", "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
