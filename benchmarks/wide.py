"""Wide-methodology benchmark (run on demand: `make bench`; never part of `make test`).

Generates a methodology of 400 chained definitions over 20 inputs (5% of cells missing) — the
shape of a large real methodology, where each value is a few steps from others — and times,
in one process, medians of --repeat alternating:
  (a) interpreter.evaluate of it over N entities (default 5,000);
  (b) the same calculation written directly as a plain pandas/numpy script: the floor;
and checks both give the same values. Then records one run in a fresh audit store and
compares its size per recorded value with the floor of a raw SQLite table holding the same
values (run, node, entity, number, missing reason), written with one executemany.
Prints `ratio evaluate/pandas` (target <= 3) and `ratio store/raw-table` (bytes per value).

    .venv/bin/python benchmarks/wide.py [--entities 5000] [--definitions 400] [--repeat 3]
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

INPUTS = 20


def definition(i: int) -> str:
    """The i-th chained definition: arithmetic, a division, a mean skipping missing values, a
    conditional; each uses the one or two before it and an input."""
    x = f"x{i % INPUTS:02d}"
    if i == 0:
        return f"let v0 = {x} * 0.5"
    if i == 1:
        return f"let v1 = v0 + {x}"
    kind = i % 4
    if kind == 0:
        return f"let v{i} = v{i - 1} * 0.9 + {x}"
    if kind == 1:
        return f"let v{i} = v{i - 1} / ({x} + 1)"
    if kind == 2:
        return f"let v{i} = mean(v{i - 1}, v{i - 2}, {x}, skip missing)"
    return f"let v{i} = if {x} > 50 then v{i - 1} - v{i - 2} else v{i - 2}"


def methodology_text(definitions: int) -> str:
    lines = ['methodology "Wide benchmark"', "entity org key org_id", ""]
    lines += [f"input x{i:02d}: number range 0..100" for i in range(INPUTS)]
    lines += [definition(i) for i in range(definitions)]
    return "\n".join(lines) + "\n"


def pandas_script(frame: pd.DataFrame, definitions: int) -> dict[str, np.ndarray]:
    """The same calculation in plain numpy over the input columns (NaN for missing)."""
    x = {f"x{i:02d}": frame[f"x{i:02d}"].to_numpy(dtype=float) for i in range(INPUTS)}
    v: dict[str, np.ndarray] = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        for i in range(definitions):
            xi = x[f"x{i % INPUTS:02d}"]
            if i == 0:
                v["v0"] = xi * 0.5
            elif i == 1:
                v["v1"] = v["v0"] + xi
            elif i % 4 == 0:
                v[f"v{i}"] = v[f"v{i - 1}"] * 0.9 + xi
            elif i % 4 == 1:
                v[f"v{i}"] = v[f"v{i - 1}"] / (xi + 1)
            elif i % 4 == 2:
                stack = np.vstack([v[f"v{i - 1}"], v[f"v{i - 2}"], xi])
                present = ~np.isnan(stack)
                total = np.where(present, stack, 0.0).sum(axis=0)
                count = present.sum(axis=0)
                v[f"v{i}"] = np.where(count > 0, total / np.maximum(count, 1), np.nan)
            else:
                chosen = np.where(xi > 50, v[f"v{i - 1}"] - v[f"v{i - 2}"], v[f"v{i - 2}"])
                v[f"v{i}"] = np.where(np.isnan(xi), np.nan, chosen)
    return v


def data_frame(entities: int, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    values = rng.uniform(0, 100, size=(entities, INPUTS)).round(1)
    values[rng.random(values.shape) < 0.05] = np.nan
    frame = pd.DataFrame(values, columns=[f"x{i:02d}" for i in range(INPUTS)])
    frame.insert(0, "org_id", [f"ORG{i:06d}" for i in range(entities)])
    return frame


def raw_table_bytes(path: Path, result, entities: int) -> tuple[int, int]:
    """(file bytes, values) of the floor: every number node's values in one plain table."""
    connection = sqlite3.connect(path)
    connection.execute(
        "CREATE TABLE v (run INTEGER, node INTEGER, entity INTEGER, num REAL, missing_reason TEXT)"
    )
    rows = []
    for n, trace in enumerate(result.traces.values()):
        values = trace.values.to_numpy(dtype=float)
        reasons = trace.reasons.to_numpy(dtype=object)
        for e in range(entities):
            value = values[e]
            missing = value != value
            rows.append(
                (1, n, e, None if missing else float(value), reasons[e] if missing else None)
            )
    with connection:
        connection.executemany("INSERT INTO v VALUES (?, ?, ?, ?, ?)", rows)
    connection.close()
    return path.stat().st_size, len(rows)


def store_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=5_000)
    parser.add_argument("--definitions", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    methodology = dsl.check_source(methodology_text(args.definitions), "<benchmark>")
    prepared = prepare_inputs(methodology, dataset_from_frame(data_frame(args.entities)))
    result = evaluate(methodology, prepared.frame)  # warm-up
    expected = pandas_script(prepared.frame, args.definitions)
    for name, values in expected.items():
        got = result.traces[name].values.to_numpy(dtype=float)
        if not np.allclose(got, values, equal_nan=True, rtol=1e-12, atol=0):
            raise SystemExit(f"the pandas script and the interpreter disagree on {name}")
    evaluations, scripts = [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        evaluate(methodology, prepared.frame)
        evaluations.append(time.perf_counter() - start)
        start = time.perf_counter()
        pandas_script(prepared.frame, args.definitions)
        scripts.append(time.perf_counter() - start)
    evaluation, script = statistics.median(evaluations), statistics.median(scripts)
    with tempfile.TemporaryDirectory() as folder:
        store_path = Path(folder) / "audit.db"
        store = open_store(store_path)
        start = time.perf_counter()
        run_id = store.record(result, dataset=prepared.dataset, tool_version="bench")
        record_seconds = time.perf_counter() - start
        run = store.run(run_id)
        values = run.entity_count * run.values_per_entity
        store.close()
        recorded = store_bytes(store_path)
        raw, raw_values = raw_table_bytes(Path(folder) / "raw.db", result, args.entities)
    print(
        f"methodology: {args.definitions} chained definitions over {INPUTS} inputs; "
        f"{args.entities:,} entities; medians of {args.repeat}"
    )
    print(f"(a) evaluate:                {evaluation:8.3f} s")
    print(f"(b) plain pandas/numpy:      {script:8.3f} s   (the floor; same values checked)")
    print(
        f"recording one run: {record_seconds:.3f} s; {values:,} values; store {recorded:,} bytes "
        f"= {recorded / values:.1f} bytes/value; raw table {raw / raw_values:.1f} bytes/value"
    )
    print(
        f"per definition: evaluate {evaluation / args.definitions * 1e6:.1f} us, "
        f"plain pandas/numpy {script / args.definitions * 1e6:.1f} us"
    )
    print(f"ratio evaluate/pandas: {evaluation / script:.2f}   (target <= 3)")
    print(
        f"ratio store/raw-table: {(recorded / values) / (raw / raw_values):.2f}   (bytes per value)"
    )


if __name__ == "__main__":
    main()
