"""Run-pipeline benchmark (run on demand: `make bench`; never part of `make test`).

Writes the synthetic 50-indicator table (benchmarks/synthetic.py) of N entities to a CSV
file and times, in one process, alternating, medians of --repeat:
  (a) the floor: pandas.read_csv of the file plus interpreter.evaluate of the methodology
      over inputs already prepared (what any tool must at least do);
  (b) tierlang.run without audit (read, check and type the data, evaluate, the results table);
  (c) the whole command `tierlang run --no-audit --out results.csv` in a fresh process
      (start-up, run, writing every value, printing a screenful);
and prints `ratio run/floor` = (b) / (a) (target <= 1.5) and the command's ratio to (a), with
where the time of (b) goes (read, prepare, evaluate, the rest).

    .venv/bin/python benchmarks/pipeline.py [--entities 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from synthetic import data_frame, methodology_text  # benchmarks/synthetic.py

import dsl
import tierlang
from interpreter import evaluate
from interpreter.data import prepare_inputs, read_dataset

TIERLANG = str(Path(sys.executable).parent / "tierlang")


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    text = methodology_text("Pipeline benchmark")
    methodology = dsl.check_source(text, "<benchmark>")
    with tempfile.TemporaryDirectory() as folder:
        csv_path = Path(folder) / "data.csv"
        tier_path = Path(folder) / "method.tier"
        tier_path.write_text(text, encoding="utf-8")
        data_frame(args.entities).to_csv(csv_path, index=False)
        prepared = prepare_inputs(methodology, read_dataset(csv_path))
        evaluate(methodology, prepared.frame, labels=prepared.labels)  # warm-up
        floors, runs, commands = [], [], []
        parts = {"read": [], "prepare": [], "evaluate": []}
        for _ in range(args.repeat):
            floors.append(
                timed(lambda: pd.read_csv(csv_path))
                + timed(lambda: evaluate(methodology, prepared.frame, labels=prepared.labels))
            )
            runs.append(timed(lambda: tierlang.run(methodology, str(csv_path))))
            start = time.perf_counter()
            dataset = read_dataset(csv_path)
            parts["read"].append(time.perf_counter() - start)
            start = time.perf_counter()
            again = prepare_inputs(methodology, dataset)
            parts["prepare"].append(time.perf_counter() - start)
            parts["evaluate"].append(
                timed(lambda again=again: evaluate(methodology, again.frame, labels=again.labels))
            )
            out = Path(folder) / "results.csv"
            argv = [TIERLANG, "run", str(tier_path), "--data", str(csv_path), "--no-audit"]
            commands.append(
                timed(
                    lambda argv=argv, out=out: subprocess.run(
                        [*argv, "--out", str(out)], check=True, capture_output=True
                    )
                )
            )
    floor, run, command = (statistics.median(t) for t in (floors, runs, commands))
    medians = {name: statistics.median(t) for name, t in parts.items()}
    print(f"data: {args.entities:,} entities x 50 indicators; medians of {args.repeat}")
    print(f"(a) floor: pandas.read_csv + evaluate:        {floor:8.3f} s")
    print(
        f"(b) tierlang.run, no audit:                   {run:8.3f} s   "
        + ", ".join(f"{name} {seconds:.3f}" for name, seconds in medians.items())
    )
    print(f"(c) `tierlang run --no-audit --out FILE`:     {command:8.3f} s")
    print(f"ratio run/floor: {run / floor:.2f}   (target <= 1.5)")
    print(f"ratio command/floor: {command / floor:.2f}")


if __name__ == "__main__":
    main()
