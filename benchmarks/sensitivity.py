"""Sensitivity benchmark (run on demand: `.venv/bin/python benchmarks/sensitivity.py`; never part
of `make test`).

Two analyses (tierlang.sensitivity.analyse, nothing recorded), each timed whole (loading the
data, the nominal run, every sample, the summary):
  (1) the STP methodology (methodologies/stp_dashboard_2017.tier) on its example data (the STPs
      and, for the finance indicator, their member organisations), 10,000 samples;
  (2) a generated methodology with 50 indicators (quartiles) in 10 domains, three sampled domain
      weights and a sampled cut-off, on 10,000 entities, 1,000 samples.
For each, the analysis's evaluations are also done the naive way, one `interpreter.evaluate`
run per evaluation (the same param values), for the first 100 evaluations; that time is
extrapolated to all of them, and the ratio naive / analysis is printed.
Then (3) the cost per evaluation of (2) with `weights=100` (`--weights dirichlet(100)`: every
weighted aggregation's weights perturbed too) against (2) without: `ratio weights/plain`.
Targets: (1) under 2 seconds; the ratio at least 20x; weights/plain near 1.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from synthetic import data_frame, methodology_text  # benchmarks/synthetic.py

import dsl
from interpreter.data import dataset_from_frame, read_dataset
from interpreter.evaluate import evaluate
from tierlang import api
from tierlang.sensitivity import _Design, analyse, param_choices

ROOT = Path(__file__).resolve().parents[1]
STP = ROOT / "methodologies" / "stp_dashboard_2017.tier"
STP_DATA = ROOT / "examples" / "stp_2017" / "stp_2017.csv"
STP_ORGS = ROOT / "examples" / "stp_2017" / "organisations.csv"
NAIVE_RUNS = 100


def naive_seconds_per_run(methodology, dataset, samples: int, seed: int) -> tuple[float, float]:
    """Single `evaluate` runs over the first NAIVE_RUNS evaluations of the analysis's design:
    wall and CPU seconds per run."""
    prepared = api.prepare(methodology, dataset)  # a Dataset, or api.Tables (one per entity level)
    inputs, members = prepared.frame, prepared.members
    choices = param_choices(methodology)
    design = _Design(choices, -(-samples // 2), samples, np.random.default_rng(seed))
    rows = design.chunk(0, max(1, -(-NAIVE_RUNS // design.row_types)))
    count = min(NAIVE_RUNS, len(next(iter(rows.values()))))
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(count):
        evaluate(methodology, inputs, params={name: float(values[i]) for name, values in rows.items()},
                 members=members)
    return (time.perf_counter() - wall) / count, (time.process_time() - cpu) / count


def bench(title: str, methodology, dataset, samples: int, seed: int = 1) -> float:
    print(f"== {title}")
    wall, cpu = time.perf_counter(), time.process_time()
    analysis = analyse(methodology, dataset, samples=samples, seed=seed)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    entities = len(analysis.entities)
    print(f"   {entities:,} entities, {samples:,} samples, {len(analysis.choices)} choices: "
          f"{analysis.evaluations:,} evaluations ({analysis.evaluations * entities:,} entity rows)")
    print(f"   analysis: {wall:.2f} s wall ({cpu:.2f} s CPU)")
    per_run, per_run_cpu = naive_seconds_per_run(methodology, dataset, samples, seed)
    naive, naive_cpu = per_run * analysis.evaluations, per_run_cpu * analysis.evaluations
    print(f"   naive loop: {per_run * 1000:.1f} ms per run x {analysis.evaluations:,} runs = {naive:.1f} s wall "
          f"({naive_cpu:.1f} s CPU), extrapolated from the first {NAIVE_RUNS}")
    print(f"   ratio naive / analysis: {naive / wall:.0f}x wall, {naive_cpu / cpu:.0f}x CPU")
    print(f"   most important choice: {analysis.choices[0].name}; stable: {analysis.stable_count} of {entities}")
    return wall / analysis.evaluations


def bench_weights(methodology, dataset, samples: int, plain_per_evaluation: float, seed: int = 1) -> None:
    print("== 50 indicators, with --weights dirichlet(100)")
    wall = time.perf_counter()
    analysis = analyse(methodology, dataset, samples=samples, seed=seed, weights=100.0)
    wall = time.perf_counter() - wall
    per_evaluation = wall / analysis.evaluations
    print(f"   {analysis.evaluations:,} evaluations in {wall:.2f} s: {per_evaluation * 1000:.2f} ms each "
          f"(without --weights {plain_per_evaluation * 1000:.2f} ms)")
    print(f"ratio weights/plain: {per_evaluation / plain_per_evaluation:.2f}   (per evaluation)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=1_000)
    parser.add_argument("--stp-samples", type=int, default=10_000)
    args = parser.parse_args()
    stp = dsl.load(STP)
    stp_data = api.Tables(read_dataset(STP_DATA), {"organisation": read_dataset(STP_ORGS)})
    analyse(stp, stp_data, samples=20, seed=1)  # warm up (imports, caches)
    bench("STP progress dashboard", stp, stp_data, args.stp_samples)
    generated = dsl.check_source(methodology_text("Sensitivity benchmark", sampled_choices=True), "sensitivity_benchmark.tier")
    dataset = dataset_from_frame(data_frame(args.entities))
    plain = bench("50 indicators", generated, dataset, args.samples)
    bench_weights(generated, dataset, args.samples, plain)


if __name__ == "__main__":
    main()
