"""Scale benchmark (run on demand: `make bench`; never part of `make test`).

Generates a methodology with 50 indicators in 10 domains and a table of 10,000 entities, then
times, in one process:
  (a) evaluation alone,
  (b) evaluation plus recording every value in a fresh audit store,
  (c) a raw sqlite3 `executemany` of the same number of value rows into an empty table in a
      fresh database file — the physical floor for recording,
and prints each time and, last, `ratio record/floor: R` with R = (b) / (c).
Targets: (b)/(c) <= 1.5 and (a) under 1 second.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import dsl
from audit import open_store
from interpreter import evaluate
from interpreter.data import dataset_from_frame, prepare_inputs

DOMAINS = 10
PER_DOMAIN = 5


def methodology_text() -> str:
    lines = ['methodology "Scale benchmark"', "entity org key org_id label org_name", ""]
    for i in range(DOMAINS * PER_DOMAIN):
        lines.append(f"input x{i:02d}: number range 0..100")
    for i in range(DOMAINS * PER_DOMAIN):
        polarity = "lower" if i % 7 == 0 else "higher"
        lines.append(f"indicator s{i:02d} = quartile(x{i:02d}, {polarity} is better)")
    for d in range(DOMAINS):
        parts = ", ".join(f"s{d * PER_DOMAIN + k:02d}" for k in range(PER_DOMAIN))
        lines.append(f"domain d{d} = mean({parts}, skip missing, require 3)")
    weights = ", ".join(f"d{d}: 10%" for d in range(DOMAINS))
    lines.append(f"score overall = weighted_mean({weights}, skip missing)")
    lines += [
        "tier grade from overall {",
        "  best: top 10%",
        "  worst: bottom 10%",
        "  good: >= 2.5",
        "  fair: otherwise",
        "}",
    ]
    return "\n".join(lines) + "\n"


def data_frame(entities: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    values = rng.uniform(0, 100, size=(entities, DOMAINS * PER_DOMAIN)).round(1)
    values[rng.random(values.shape) < 0.02] = np.nan  # 2% missing
    frame = pd.DataFrame(values, columns=[f"x{i:02d}" for i in range(DOMAINS * PER_DOMAIN)])
    frame.insert(0, "org_name", [f"Organisation {i}" for i in range(entities)])
    frame.insert(0, "org_id", [f"ORG{i:06d}" for i in range(entities)])
    return frame


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

    methodology = dsl.check_source(methodology_text(), "<benchmark>")
    prepared = prepare_inputs(methodology, dataset_from_frame(data_frame(args.entities)))
    evaluate(methodology, prepared.frame, labels=prepared.labels)  # warm-up

    eval_times, record_times, floor_times = [], [], []
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
            record_times.append(record_time)
            floor_times.append(floor_executemany(Path(folder) / f"floor{attempt}.db", rows))
    eval_time, record_time, floor_time = (statistics.median(t) for t in (eval_times, record_times, floor_times))

    nodes = len(methodology.nodes)
    print(f"methodology: {nodes} nodes; data: {args.entities:,} entities; value rows recorded: {rows:,}; "
          f"medians of {args.repeat} alternating repetitions")
    print(f"(a) evaluation alone:             {eval_time:8.3f} s   (target < 1 s)")
    print(f"(b) evaluation + recording:       {record_time:8.3f} s")
    print(f"(c) raw executemany of {rows:,} rows: {floor_time:8.3f} s   (the floor)")
    print(f"ratio record/floor: {record_time / floor_time:.2f}")


if __name__ == "__main__":
    main()
