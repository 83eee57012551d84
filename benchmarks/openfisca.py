"""tierlang against OpenFisca on the same method (run on demand: `make bench`; never part of
`make test`).

OpenFisca (openfisca-core, the rules-as-code engine) is installed on demand in a virtualenv of
its own (`.bench-venv/openfisca`, ignored by git). The synthetic 50-indicator methodology
(benchmarks/synthetic.py) is written a second time as OpenFisca variables, one formula per
node, each a numpy expression with tierlang's semantics (quartiles at numpy's linear
quantiles, decimal-safe comparisons at 1e-12, `skip missing` with `require 3`, `top 10%` as
ceil(10% n) entities with ties included). Then, medians of --repeat, alternating:
  (a) OpenFisca's whole command: a fresh process reading the CSV with pandas, computing every
      variable, writing the tiers to a CSV;
  (b) `tierlang run --no-audit --format csv > FILE` in a fresh process (start-up, reading and
      checking the data, evaluating, writing every entity's key, label, score, tier and rank
      as CSV: OpenFisca's output and more); the same with `--out FILE` (every value of every
      node written, a screenful printed) and with neither (a screenful printed);
  (c) in-process computation only: OpenFisca's `calculate` of every variable vs
      `interpreter.evaluate` over prepared inputs;
and the tiers of both are compared entity by entity. Prints `ratio command/openfisca` (the
`--format csv` command; target <= 2), the ratios of the other two commands and
`ratio evaluate/openfisca`.

    .venv/bin/python benchmarks/openfisca.py [--entities 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from synthetic import (  # benchmarks/synthetic.py
    DOMAINS,
    INDICATORS,
    PER_DOMAIN,
    data_frame,
    methodology_text,
)

import dsl
from interpreter import evaluate
from interpreter.data import prepare_inputs, read_dataset

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".bench-venv" / "openfisca"
TIERLANG = str(Path(sys.executable).parent / "tierlang")

# The OpenFisca side: run with the OpenFisca virtualenv's python as `worker.py DATA OUT`;
# prints {"compute": seconds} (the calculate calls alone).
WORKER = r'''
import json, math, sys, time
import numpy as np
import pandas as pd
from openfisca_core.entities import build_entity
from openfisca_core.periods import YEAR
from openfisca_core.simulations import SimulationBuilder
from openfisca_core.taxbenefitsystems import TaxBenefitSystem
from openfisca_core.variables import Variable

INDICATORS, DOMAINS, PER_DOMAIN = {indicators}, {domains}, {per_domain}
TOL = 1e-12

Org = build_entity(key="org", plural="orgs", label="organisation", is_person=True)


def close(a, b):
    with np.errstate(invalid="ignore", over="ignore"):
        return (a == b) | (np.isfinite(a) & np.isfinite(b)
                           & (np.abs(a - b) <= TOL * np.maximum(np.maximum(np.abs(a), np.abs(b)), 1.0)))


def greater(a, b):
    with np.errstate(invalid="ignore"):
        return (a > b) & ~close(a, b)


def quartile(x, lower):
    present = ~np.isnan(x)
    cuts = np.quantile(x[present], [0.25, 0.5, 0.75], method="linear")
    band = np.ones(len(x))
    for cut in cuts:
        band += greater(cut, x) if lower else greater(x, cut)
    return np.where(present, band, np.nan)


def make_input(name):
    return type(name, (Variable,), dict(value_type=float, entity=Org, definition_period=YEAR,
                                        default_value=float("nan"), label=name))


def make_indicator(i):
    def formula(org, period):
        return quartile(org(f"x{{i:02d}}", period), lower=(i % 7 == 0))
    return type(f"s{{i:02d}}", (Variable,), dict(value_type=float, entity=Org, definition_period=YEAR,
                                                 default_value=float("nan"), formula=formula))


def make_domain(d):
    def formula(org, period):
        parts = np.stack([org(f"s{{d * PER_DOMAIN + k:02d}}", period) for k in range(PER_DOMAIN)])
        present = ~np.isnan(parts)
        count = present.sum(axis=0)
        total = np.where(present, parts, 0.0).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(count >= 3, total / count, np.nan)
    return type(f"d{{d}}", (Variable,), dict(value_type=float, entity=Org, definition_period=YEAR,
                                             default_value=float("nan"), formula=formula))


class overall(Variable):
    value_type = float
    entity = Org
    definition_period = YEAR
    default_value = float("nan")

    def formula(org, period):
        parts = np.stack([org(f"d{{d}}", period) for d in range(DOMAINS)])
        present = ~np.isnan(parts)
        weights = np.where(present, 0.1, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(present.any(axis=0), (np.where(present, parts, 0.0) * weights).sum(axis=0)
                            / weights.sum(axis=0), np.nan)


class grade(Variable):
    """0 none, 1 fair, 2 good, 3 worst, 4 best: rules in order, top and bottom 10% by rank."""
    value_type = int
    entity = Org
    definition_period = YEAR

    def formula(org, period):
        s = org("overall", period)
        present = ~np.isnan(s)
        values = np.sort(s[present])
        k = math.ceil(0.1 * len(values) - 1e-9)
        top = present & (greater(s, values[-k]) | close(s, values[-k])) if k else np.zeros(len(s), bool)
        bottom = present & (greater(values[k - 1], s) | close(s, values[k - 1])) if k else np.zeros(len(s), bool)
        good = present & (greater(s, 2.5) | close(s, 2.5))
        return np.select([top, bottom, good, present], [4, 3, 2, 1], 0)


system = TaxBenefitSystem([Org])
for i in range(INDICATORS):
    system.add_variable(make_input(f"x{{i:02d}}"))
    system.add_variable(make_indicator(i))
for d in range(DOMAINS):
    system.add_variable(make_domain(d))
system.add_variable(overall)
system.add_variable(grade)

frame = pd.read_csv(sys.argv[1], keep_default_na=False, na_values=[""])
simulation = SimulationBuilder().build_default_simulation(system, count=len(frame))
for i in range(INDICATORS):
    simulation.set_input(f"x{{i:02d}}", "2025", frame[f"x{{i:02d}}"].to_numpy(dtype=float))
start = time.perf_counter()
tiers = simulation.calculate("grade", "2025")
compute = time.perf_counter() - start
names = np.array(["", "fair", "good", "worst", "best"], dtype=object)
pd.DataFrame({{"org_id": frame["org_id"], "grade": names[tiers]}}).to_csv(sys.argv[2], index=False)
print(json.dumps({{"compute": compute}}))
'''


def ensure_openfisca() -> Path:
    python = VENV / "bin" / "python"
    if python.exists():
        return python
    print(f"installing openfisca-core in {VENV} (once) ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "openfisca-core", "pandas"], check=True)
    return python


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    python = ensure_openfisca()
    version = subprocess.run([str(python), "-c", "import importlib.metadata as m; print(m.version('openfisca-core'))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "m.tier").write_text(methodology_text("OpenFisca comparison"))
        data_frame(args.entities).to_csv(d / "data.csv", index=False)
        (d / "worker.py").write_text(WORKER.format(indicators=INDICATORS, domains=DOMAINS, per_domain=PER_DOMAIN))
        methodology = dsl.load(d / "m.tier")
        prepared = prepare_inputs(methodology, read_dataset(str(d / "data.csv")))

        computes: list[float] = []

        def openfisca_command():
            done = subprocess.run([str(python), str(d / "worker.py"), str(d / "data.csv"), str(d / "of.csv")],
                                  capture_output=True, text=True, check=True)
            computes.append(json.loads(done.stdout.strip().splitlines()[-1])["compute"])

        def tierlang_command():
            subprocess.run([TIERLANG, "run", str(d / "m.tier"), "--data", str(d / "data.csv"), "--no-audit",
                            "--out", str(d / "tl.csv")], capture_output=True, text=True, check=True)

        def tierlang_tiers_csv():  # OpenFisca's output: every entity's tier, as CSV
            with open(d / "tiers.csv", "w", encoding="utf-8") as out:
                subprocess.run([TIERLANG, "run", str(d / "m.tier"), "--data", str(d / "data.csv"), "--no-audit",
                                "--format", "csv"], stdout=out, stderr=subprocess.PIPE, text=True, check=True)

        def tierlang_printed():
            subprocess.run([TIERLANG, "run", str(d / "m.tier"), "--data", str(d / "data.csv"), "--no-audit"],
                           capture_output=True, text=True, check=True)

        def tierlang_evaluate():
            evaluate(methodology, prepared.frame, params={}, labels=prepared.labels)

        times: dict[str, list[float]] = {"openfisca": [], "command": [], "tiers": [], "printed": [], "evaluate": []}
        openfisca_command(), tierlang_command(), tierlang_evaluate()  # warm the file cache and imports
        computes.clear()
        for _ in range(args.repeat):
            times["openfisca"].append(timed(openfisca_command))
            times["command"].append(timed(tierlang_command))
            times["tiers"].append(timed(tierlang_tiers_csv))
            times["printed"].append(timed(tierlang_printed))
            times["evaluate"].append(timed(tierlang_evaluate))
        ours = pd.read_csv(d / "tl.csv", keep_default_na=False, usecols=["key", "grade"]).set_index("key")["grade"]
        theirs = pd.read_csv(d / "of.csv", keep_default_na=False).set_index("org_id")["grade"]
        agree = int((ours.reindex(theirs.index) == theirs).sum())
        tiers = pd.read_csv(d / "tiers.csv", keep_default_na=False).set_index("key")["tier"]
        agree_csv = int((tiers.reindex(theirs.index) == theirs).sum())

    m = {k: statistics.median(v) for k, v in times.items()}
    compute = statistics.median(computes)
    print(f"OpenFisca {version}; data: {args.entities:,} entities x {INDICATORS} indicators; medians of {args.repeat}")
    print(f"(a) OpenFisca, whole command (python worker.py):  {m['openfisca']:.3f} s   calculate {compute:.3f}")
    print(f"(b) `tierlang run --no-audit --format csv`:       {m['tiers']:.3f} s   (every tier as CSV, as (a))")
    print(f"    the same with --out FILE instead:              {m['command']:.3f} s   (every value of every node)")
    print(f"    with neither:                                  {m['printed']:.3f} s   (a screenful printed)")
    print(f"(c) interpreter.evaluate:                          {m['evaluate']:.3f} s")
    print(f"tiers agreeing: {agree:,} of {len(theirs):,} (--out), {agree_csv:,} (--format csv)")
    print(f"ratio command/openfisca: {m['tiers'] / m['openfisca']:.2f}   (target <= 2; `--format csv`: the same output)")
    print(f"ratio command with --out/openfisca: {m['command'] / m['openfisca']:.2f}   (every value of every node)")
    print(f"ratio command printing a screenful/openfisca: {m['printed'] / m['openfisca']:.2f}")
    print(f"ratio evaluate/openfisca: {m['evaluate'] / compute:.2f}   (in-process computation)")


if __name__ == "__main__":
    main()
