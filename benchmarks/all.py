"""Every benchmark, one after another, and one summary table (`make bench`; never part of
`make test`).

Runs each benchmark in benchmarks/ as its own process, shows its output, and collects the
figure lines it ends with (`ratio NAME: VALUE   (target ...)`, `seconds NAME: ...`,
`peak rss MiB: ...`) into one table: benchmark, figure, value, target. Every ratio is
measured against a floor in the same run of the same benchmark.

    .venv/bin/python benchmarks/all.py [--quick] [--only NAME ...]

`--quick` runs each at a smaller size (a minute or two in all): for a look, not for figures.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# (label, script, arguments, quick arguments)
BENCHMARKS = [
    ("start-up", "startup.py", [], ["--repeat", "3"]),
    (
        "run pipeline 100k",
        "pipeline.py",
        ["--entities", "100000"],
        ["--entities", "20000", "--repeat", "1"],
    ),
    ("wide methodology", "wide.py", [], ["--repeat", "1"]),
    (
        "OpenFisca, same method",
        "openfisca.py",
        ["--entities", "100000"],
        ["--entities", "20000", "--repeat", "1"],
    ),
    (
        "recording 10k",
        "run_scale.py",
        ["--entities", "10000"],
        ["--entities", "2000", "--repeat", "1"],
    ),
    (
        "recording 100k",
        "run_scale.py",
        ["--entities", "100000", "--repeat", "1"],
        ["--entities", "10000", "--repeat", "1"],
    ),
    ("reconcile", "reconcile.py", ["--entities", "5000"], ["--entities", "1000"]),
    (
        "sensitivity",
        "sensitivity.py",
        [],
        ["--entities", "2000", "--samples", "100", "--stp-samples", "500"],
    ),
    ("levels", "levels.py", [], ["--trusts", "200", "--repeat", "1"]),
    ("large table 4M rows", "large_table.py", [], ["--rows", "200000"]),
    ("language server", "lsp_latency.py", [], ["--repeat", "5"]),
]

FIGURE = re.compile(r"^\s*(ratio|seconds|peak rss)\s+([^:]+):\s*([-+0-9.]+)\S*\s*(?:\((.*)\))?\s*$")


def figures(output: str) -> list[tuple[str, str, str]]:
    """(figure, value, target or note) of each figure line of a benchmark's output."""
    found = []
    for line in output.splitlines():
        match = FIGURE.match(line)
        if match:
            kind, name, value, note = match.groups()
            found.append((f"{kind} {name.strip()}", value, (note or "").strip()))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes: a look, not figures")
    parser.add_argument(
        "--only", nargs="*", default=None, metavar="NAME", help="benchmark labels to run"
    )
    args = parser.parse_args()
    rows: list[tuple[str, str, str, str]] = []
    for label, script, full, quick in BENCHMARKS:
        if args.only and not any(word in label for word in args.only):
            continue
        argv = [sys.executable, str(HERE / script), *(quick if args.quick else full)]
        print(
            f"\n===== {label}: {' '.join(Path(a).name if i < 2 else a for i, a in enumerate(argv))}",
            flush=True,
        )
        start = time.perf_counter()
        completed = subprocess.run(argv, capture_output=True, text=True, cwd=HERE.parent)
        seconds = time.perf_counter() - start
        sys.stdout.write(completed.stdout)
        if completed.returncode != 0:
            sys.stdout.write(completed.stderr)
            rows.append((label, "FAILED", f"exit {completed.returncode}", ""))
            continue
        found = figures(completed.stdout)
        if not found:
            rows.append((label, "(no figure printed)", "", ""))
        for name, value, note in found:
            rows.append((label, name, value, note))
        print(f"({seconds:.0f} s)", flush=True)
    widths = [
        max(len(r[i]) for r in rows + [("benchmark", "figure", "value", "target")])
        for i in range(4)
    ]
    print("\n===== summary" + (" (--quick: smaller sizes)" if args.quick else ""))
    header = ("benchmark", "figure", "value", "target")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip())
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    if any(r[1] == "FAILED" for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
