"""Large-table benchmark (run on demand: `make bench`; never part of `make test`).

Writes a CSV of N rows (default 4,000,000: a key, a label and three numbers, 2% missing) and a
small methodology over it, then runs, each in a fresh process, measuring wall time and peak
resident memory (RSS):
  (a) the floor: `pandas.read_csv` of the file;
  (b) `tierlang run --no-audit` of the methodology over the file (prints a screenful);
and prints the peak RSS of each, `ratio rss/floor` and `ratio seconds/floor`. Bounded memory:
the run's peak within 2x the floor's, and its bytes per row the same at N/4 rows and at N
(memory in proportion to the table, not more: (c)).

    .venv/bin/python benchmarks/large_table.py [--rows 4000000]
"""

from __future__ import annotations

import argparse
import functools
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

METHODOLOGY = """methodology "Large table"
entity org key org_id label org_name

input a: number range 0..100
input b: number range 0..100
input c: number range 0..100

indicator sa = quartile(a, higher is better)
indicator sb = quartile(b, lower is better)
score overall = mean(sa, sb, c / 25, skip missing)

tier grade from overall {
  good: >= 2.5
  fair: otherwise
}
"""

TIERLANG = str(Path(sys.executable).parent / "tierlang")


def write_table(path: Path, rows: int, seed: int = 5) -> None:
    rng = np.random.default_rng(seed)
    chunk = 500_000
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("org_id,org_name,a,b,c\n")
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            values = rng.uniform(0, 100, size=(n, 3)).round(2)
            values[rng.random(values.shape) < 0.02] = np.nan
            frame = pd.DataFrame(values, columns=["a", "b", "c"])
            ids = np.arange(start, start + n)
            frame.insert(0, "org_name", [f"Organisation {i}" for i in ids])
            frame.insert(0, "org_id", [f"ORG{i:08d}" for i in ids])
            frame.to_csv(f, index=False, header=False)


def measured(argv: list[str]) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of a command run in a fresh process (via a tiny wrapper
    that reports its child's peak RSS, so that this process's own memory is not counted)."""
    wrapper = (
        "import resource, subprocess, sys\n"
        "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", wrapper, *argv], check=True, capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    return seconds, int(out.stdout.split()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4_000_000)
    args = parser.parse_args()
    quarter = measure(max(args.rows // 4, 1))
    full = measure(args.rows)
    (size, floor_seconds, floor_rss, run_seconds, run_rss) = full
    print(f"data: {args.rows:,} rows, {size:,.0f} MiB of CSV")
    print(f"(a) pandas.read_csv:        {floor_seconds:8.2f} s   peak RSS {floor_rss:8,.0f} MiB")
    print(f"(b) tierlang run --no-audit: {run_seconds:7.2f} s   peak RSS {run_rss:8,.0f} MiB")
    per_row = [(rows, (run[4] - baseline_mib()) * 2**20 / rows)
               for rows, run in ((max(args.rows // 4, 1), quarter), (args.rows, full))]
    print("(c) run's peak RSS per row, above the interpreter's own start: "
          + ", ".join(f"{b:,.0f} bytes at {rows:,} rows" for rows, b in per_row))
    print(f"peak rss MiB: {run_rss:.0f}   ({run_rss / (size or 1):.1f}x the file)")
    print(f"ratio rss/floor: {run_rss / floor_rss:.2f}   (target <= 2)")
    print(f"ratio rss per row {args.rows:,}/{per_row[0][0]:,}: {per_row[1][1] / per_row[0][1]:.2f}   (target <= 1.1)")
    print(f"ratio seconds/floor: {run_seconds / floor_seconds:.2f}")


def measure(rows: int) -> tuple[float, float, float, float, float]:
    """(MiB of CSV, floor seconds, floor peak RSS, run seconds, run peak RSS) at `rows`."""
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "large.csv"
        tier = Path(folder) / "large.tier"
        tier.write_text(METHODOLOGY, encoding="utf-8")
        write_table(data, rows)
        size = data.stat().st_size / 2**20
        floor_seconds, floor_rss = measured(
            [sys.executable, "-c", f"import pandas; pandas.read_csv({str(data)!r})"]
        )
        run_seconds, run_rss = measured(
            [TIERLANG, "run", str(tier), "--data", str(data), "--no-audit"]
        )
    return size, floor_seconds, floor_rss, run_seconds, run_rss


@functools.cache
def baseline_mib() -> float:
    """Peak RSS of the interpreter's own start, with tierlang's run imported."""
    return measured([sys.executable, "-c", "import tierlang.api, interpreter"])[1]


if __name__ == "__main__":
    main()
