"""Reconcile benchmark (run on demand: `make bench`; never part of `make test`).

Records the synthetic 50-indicator methodology (benchmarks/synthetic.py) over N and 4N
entities, writes a published table of each run's tiers (every tenth one changed), and times
`audit.reconcile.reconcile` against the same run's published table, with the floor of reading
the published CSV (interpreter.data.read_dataset) plus the run's recorded tier values
(AuditStore.values) measured in the same run. Linear: the per-entity time at 4N is about the
per-entity time at N (ratio ~1; quadratic would be ~4).

    .venv/bin/python benchmarks/reconcile.py [--entities 5000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from synthetic import data_frame, methodology_text  # benchmarks/synthetic.py

import dsl
from audit import open_store
from audit.reconcile import reconcile
from interpreter import evaluate
from interpreter.data import dataset_from_frame, prepare_inputs, read_dataset

LABELS = ("best", "good", "fair", "worst")


def measure(methodology, entities: int, folder: Path) -> tuple[float, float]:
    """(reconcile seconds, floor seconds) for one recorded run of `entities`."""
    prepared = prepare_inputs(methodology, dataset_from_frame(data_frame(entities)))
    result = evaluate(methodology, prepared.frame, labels=prepared.labels)
    store = open_store(folder / f"audit{entities}.db")
    run_id = store.record(result, dataset=prepared.dataset, tool_version="bench")
    tiers = result.traces["grade"].values
    published = folder / f"published{entities}.csv"
    with published.open("w", encoding="utf-8") as f:
        f.write("org_id,grade\n")
        for i, (key, tier) in enumerate(zip(result.keys, tiers)):
            label = "" if tier is None or tier != tier else str(tier)
            if i % 10 == 0:
                label = LABELS[(LABELS.index(label) + 1) % 4] if label else "fair"
            f.write(f"{key},{label}\n")
    start = time.perf_counter()
    read_dataset(published)
    store.values(run_id, "grade")
    floor = time.perf_counter() - start
    start = time.perf_counter()
    table = read_dataset(published)
    outcome = reconcile(store, run_id, table, "org_id", "grade")
    seconds = time.perf_counter() - start
    store.close()
    assert outcome.compared > 0.9 * entities
    return seconds, floor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=5_000, help="N; also measured at 4N")
    args = parser.parse_args()
    methodology = dsl.check_source(methodology_text("Reconcile benchmark"), "<benchmark>")
    with tempfile.TemporaryDirectory() as folder:
        small, small_floor = measure(methodology, args.entities, Path(folder))
        large, large_floor = measure(methodology, 4 * args.entities, Path(folder))
    for n, seconds, floor in (
        (args.entities, small, small_floor),
        (4 * args.entities, large, large_floor),
    ):
        print(
            f"{n:>8,} entities: reconcile {seconds:7.3f} s; floor (read CSV + values) {floor:7.3f} s; "
            f"x floor {seconds / floor:5.2f}"
        )
    print(
        f"ratio per-entity 4N/N: {(large / (4 * args.entities)) / (small / args.entities):.2f}   "
        "(linear ~1; quadratic ~4)"
    )
    print(f"ratio reconcile/floor: {large / large_floor:.2f}   (at {4 * args.entities:,} entities)")


if __name__ == "__main__":
    main()
