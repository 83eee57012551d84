"""An audit store with the STP example's 2017 run, the 2018 draft's run (recorded by
`tierlang diff`) and a small sensitivity analysis of the 2017 methodology: what the report,
workbook and API tests read."""

from __future__ import annotations

from pathlib import Path

import attrs

ROOT = Path(__file__).resolve().parent.parent
STP_2017 = ROOT / "methodologies" / "stp_dashboard_2017.tier"
STP_2018 = ROOT / "methodologies" / "stp_dashboard_2018_draft.tier"
STP_DATA = ROOT / "examples" / "stp_2017" / "stp_2017.csv"
STP_ORGS = ROOT / "examples" / "stp_2017" / "organisations.csv"
PUBLISHED = ROOT / "examples" / "stp_2017" / "published_ratings.csv"


@attrs.frozen
class StpStore:
    path: str
    old_run: int  # the 2017 methodology
    new_run: int  # the 2018 draft
    comparison: int
    analysis: int  # of the 2017 methodology, on the same data
    analysis_run: int


def stp_tables():
    from tierlang import Tables

    return Tables(str(STP_DATA), {"organisation": str(STP_ORGS)})


def build(folder: Path, samples: int = 64) -> StpStore:
    from tierlang.diffing import diff_files
    from tierlang.sensitivity import analyse

    path = str(folder / "stp.db")
    outcome = diff_files(STP_2017, STP_2018, stp_tables(), audit=path)
    analysis = analyse(STP_2017, stp_tables(), samples=samples, seed=7, weights=100.0, audit=path)
    c = outcome.comparison
    return StpStore(
        path,
        c.old.id,
        c.new.id,
        outcome.comparison_id,
        analysis.analysis_id,
        analysis.outcome.run_id,
    )
