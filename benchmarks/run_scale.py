"""Scale benchmark (run on demand: `make bench`; never part of `make test`).

Generates a methodology with 50 indicators in 10 domains and a table of 10,000 entities, then
times, in one process:
  (a) evaluation alone,
  (b) evaluation plus recording every value in a fresh audit store,
  (c) a raw sqlite3 `executemany` of the same number of value rows into an empty table in a
      fresh database file — the physical floor for recording,
  (d) `tierlang verify` of the run just recorded (tierlang.verification.verify: the store's
      hashes and chain, the run re-evaluated from the store alone and compared value by value),
and prints each time, `ratio record/floor: R` with R = (b) / (c) and `ratio verify/record`
= (d) / (b). Targets: (b)/(c) <= 1.5, (d)/(b) <= 2 and (a) under 1 second.

    .venv/bin/python benchmarks/run_scale.py [--entities 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from synthetic import data_frame, methodology_text  # benchmarks/synthetic.py

import dsl
from audit import open_store
from interpreter import evaluate
from interpreter.data import dataset_from_frame, prepare_inputs
from tierlang import verification


def timed(action):
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def floor_executemany(path: Path, rows: int) -> float:
    """Insert `rows` value rows shaped like the audit's into an empty table: the floor."""
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("CREATE TABLE v (run INTEGER, node INTEGER, entity INTEGER, num REAL, text TEXT, "
                       "bool INTEGER, missing_reason TEXT)")
    nodes = max(rows // 10_000, 1)
    payload = [(1, i % nodes, i // nodes, float(i) * 0.5, None, None, None) for i in range(rows)]
    start = time.perf_counter()
    with connection:
        connection.executemany("INSERT INTO v VALUES (?, ?, ?, ?, ?, ?, ?)", payload)
    elapsed = time.perf_counter() - start
    connection.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="alternating repetitions; medians are printed")
    args = parser.parse_args()

    methodology = dsl.check_source(methodology_text("Scale benchmark"), "<benchmark>")
    prepared = prepare_inputs(methodology, dataset_from_frame(data_frame(args.entities)))
    evaluate(methodology, prepared.frame, labels=prepared.labels)  # warm-up

    eval_times, record_times, floor_times, verify_times = [], [], [], []
    for attempt in range(args.repeat):
        eval_times.append(timed(lambda: evaluate(methodology, prepared.frame, labels=prepared.labels))[0])
        with tempfile.TemporaryDirectory() as folder:
            store = open_store(Path(folder) / "audit.db")

            def evaluate_and_record(store=store):
                result = evaluate(methodology, prepared.frame, labels=prepared.labels)
                return store.record(result, dataset=prepared.dataset, tool_version="bench")

            record_time, run_id = timed(evaluate_and_record)
            run = store.run(run_id)
            rows = run.entity_count * run.values_per_entity
            store.close()
            verify_time, report = timed(lambda folder=folder, run_id=run_id: verification.verify(
                str(Path(folder) / "audit.db"), [run_id]))
            assert report.runs[0].ok and not report.store_problems
            verify_times.append(verify_time)
            record_times.append(record_time)
            floor_times.append(floor_executemany(Path(folder) / f"floor{attempt}.db", rows))
    eval_time, record_time, floor_time, verify_time = (
        statistics.median(t) for t in (eval_times, record_times, floor_times, verify_times))

    nodes = len(methodology.nodes)
    print(f"methodology: {nodes} nodes; data: {args.entities:,} entities; value rows recorded: {rows:,}; "
          f"medians of {args.repeat} alternating repetitions")
    print(f"(a) evaluation alone:             {eval_time:8.3f} s   (target < 1 s)")
    print(f"(b) evaluation + recording:       {record_time:8.3f} s")
    print(f"(c) raw executemany of {rows:,} rows: {floor_time:8.3f} s   (the floor)")
    print(f"(d) verify of the recorded run:   {verify_time:8.3f} s")
    print(f"ratio record/floor: {record_time / floor_time:.2f}   (target <= 1.5)")
    print(f"ratio verify/record: {verify_time / record_time:.2f}   (target <= 2)")


if __name__ == "__main__":
    main()
