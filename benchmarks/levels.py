"""Entities at several levels: how fast `F(x) over LEVEL` is (run on demand; never part of
`make test`).

Builds 2,000 trusts × 5 locations × 10 services (100,000 services) and a methodology with six
aggregations up two levels, a value broadcast down and a tier per location, then times in one
process:
  (a) evaluating the methodology (every node at every level);
  (b) the same six aggregations done directly with pandas groupby: the baseline;
  (c) the same aggregations as a Python loop over the parents (what `over` must never be).
and prints each time with `ratio evaluate/groupby` and `ratio loop/evaluate`.

    .venv/bin/python benchmarks/levels.py [--trusts 2000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd

import dsl
from interpreter import evaluate
from interpreter.levels import LevelInputs

METHODOLOGY = """methodology "Levels benchmark"
entity trust key trust_code
entity location within trust key location_id
entity service within location key service_id

input beds: number per service
input score: number per service
input open: boolean per service

let beds_per_location per location = sum(beds, skip missing) over services
let mean_score per location = mean(score, skip missing) over services
let open_services per location = count(open) over services
let best_location_score per trust = max(mean_score, skip missing) over locations
let trust_beds per trust = sum(beds, skip missing) over services
let any_closed per trust = any(not open) over services
let share_of_trust_beds = beds / trust_beds

tier location_band per location {
  high:   mean_score >= 60
  low:    otherwise
}
"""


def tables(trusts: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    locations, services = trusts * 5, trusts * 50
    trust_keys = pd.Index([f"T{i}" for i in range(trusts)], name="trust_code")
    location_keys = pd.Index([f"L{i}" for i in range(locations)], name="location_id")
    service_keys = pd.Index([f"S{i}" for i in range(services)], name="service_id")
    location_parent = pd.Series(trust_keys[np.arange(locations) // 5], index=location_keys)
    service_parent = pd.Series(location_keys[rng.integers(0, locations, services)], index=service_keys)
    beds = rng.integers(0, 80, services).astype(float)
    beds[rng.random(services) < 0.02] = np.nan
    frame = pd.DataFrame({"beds": beds, "score": rng.uniform(0, 100, services),
                          "open": pd.array(rng.random(services) < 0.9, dtype="boolean")}, index=service_keys)
    members = {"location": LevelInputs(pd.DataFrame(index=location_keys), None, location_parent),
               "service": LevelInputs(frame, None, service_parent)}
    return pd.DataFrame(index=trust_keys), members


def groupby_baseline(members) -> None:
    services = members["service"].frame.assign(location=members["service"].parents)
    services["trust"] = members["location"].parents.reindex(services["location"]).to_numpy()
    by_location = services.groupby("location", sort=False)
    per_location = pd.DataFrame({"beds": by_location["beds"].sum(), "score": by_location["score"].mean(),
                                 "open": by_location["open"].sum()})
    per_location["trust"] = members["location"].parents.reindex(per_location.index)
    per_location.groupby("trust", sort=False)["score"].max()
    by_trust = services.groupby("trust", sort=False)
    trust_beds = by_trust["beds"].sum()
    by_trust["open"].min()
    _ = services["beds"] / trust_beds.reindex(services["trust"]).to_numpy()


def loop_baseline(members) -> None:
    services = members["service"].frame
    parents = members["service"].parents
    for rows in parents.groupby(parents, sort=False).groups.values():
        values = services.loc[rows]
        values["beds"].sum(), values["score"].mean(), values["open"].sum()


def median_time(action, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trusts", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    methodology = dsl.check_source(METHODOLOGY)
    top, members = tables(args.trusts)
    services = len(members["service"].frame)
    evaluate_s = median_time(lambda: evaluate(methodology, top, members=members), args.repeat)
    groupby_s = median_time(lambda: groupby_baseline(members), args.repeat)
    loop_s = median_time(lambda: loop_baseline(members), 1)
    print(f"{args.trusts} trusts, {args.trusts * 5} locations, {services} services; medians of {args.repeat}")
    print(f"(a) evaluate every node:      {evaluate_s:8.3f} s")
    print(f"(b) pandas groupby baseline:  {groupby_s:8.3f} s")
    print(f"(c) loop over parents (once): {loop_s:8.3f} s")
    print(f"ratio evaluate/groupby: {evaluate_s / groupby_s:.2f}")
    print(f"ratio loop/evaluate: {loop_s / evaluate_s:.1f}")


if __name__ == "__main__":
    main()
