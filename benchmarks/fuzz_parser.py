"""Long fuzzing run (on demand; never part of `make test`).

    .venv/bin/python benchmarks/fuzz_parser.py --minutes 5 [--seed 20170721] [--out DIR]

Draws inputs from the generators of tests/test_fuzz.py (grammar-aware token sequences,
grammar-shaped statements, spliced and mutated lines of every methodology in the repository,
CSV tables, damaged workbooks) in turn, and checks each with the same properties as that test
file: the parser and checker return a located report (and a methodology that checks also runs),
data loading raises nothing but a DataError. Runs for the given minutes, then prints the inputs
tried and the failures, per generator, and exits 1 if there was any failure.

Input number i of a run is drawn from `random.Random(f"{seed}:{i}")` by generator
GENERATORS[i % 5], so one failing input is reproduced with `--seed S --only I`. The first
`--keep` failing inputs are written to --out (default: a new temporary folder), each with the
traceback that its property raised.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
import traceback
import warnings
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def load_fuzz_module():
    spec = importlib.util.spec_from_file_location("tierlang_fuzz", ROOT / "tests" / "test_fuzz.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def save(out: Path, name: str, index: int, seed: str, drawn, error: BaseException) -> Path:
    stem = out / f"{index:07d}_{name}"
    if isinstance(drawn, tuple):  # (file name, bytes) of a table
        file_name, data = drawn
        stem.with_suffix(Path(file_name).suffix or ".bin").write_bytes(data)
    elif isinstance(drawn, bytes):
        stem.with_suffix(".xlsx").write_bytes(drawn)
    else:
        stem.with_suffix(".tier").write_text(drawn, encoding="utf-8", errors="surrogatepass")
    text = "".join(traceback.format_exception(error))
    stem.with_suffix(".txt").write_text(
        f"generator {name}, input {index}, seed {seed}\n"
        f"reproduce: .venv/bin/python benchmarks/fuzz_parser.py --seed {seed} --only {index}\n\n{text}",
        encoding="utf-8")
    return stem


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=1.0, help="how long to run (default 1)")
    parser.add_argument("--seed", default=str(int(time.time())), help="seed of the run (default: the time)")
    parser.add_argument("--out", type=Path, default=None, help="folder for failing inputs (default: a temporary one)")
    parser.add_argument("--keep", type=int, default=20, help="failing inputs to save (default 20)")
    parser.add_argument("--only", type=int, default=None, help="run one input number only (to reproduce it)")
    parser.add_argument("--generators", default=None,
                        help="comma-separated subset of tokens,statements,lines,csv,xlsx (default: all)")
    args = parser.parse_args(argv)

    warnings.simplefilter("ignore")  # numpy and openpyxl warn about odd values: not failures
    fuzz = load_fuzz_module()
    names = list(fuzz.GENERATORS) if not args.generators else args.generators.split(",")
    out = args.out or Path(tempfile.mkdtemp(prefix="tierlang-fuzz-"))
    out.mkdir(parents=True, exist_ok=True)

    import random

    tried, failed = Counter(), Counter()
    kept = []
    start = time.monotonic()
    deadline = start + args.minutes * 60
    index = args.only if args.only is not None else 0
    while True:
        name = names[index % len(names)]
        seed = f"{args.seed}:{index}"
        try:
            fuzz.GENERATORS[name](random.Random(seed))
        except BaseException as error:  # noqa: BLE001 - every escape is a failure to report
            if isinstance(error, KeyboardInterrupt):
                break
            failed[name] += 1
            if len(kept) < args.keep:
                drawn = fuzz.INPUTS[name](random.Random(seed))
                kept.append(save(out, name, index, args.seed, drawn, error))
                print(f"FAIL {name} input {index}: {type(error).__name__}: {str(error)[:200]}", flush=True)
        tried[name] += 1
        index += 1
        if args.only is not None or time.monotonic() >= deadline:
            break
    elapsed = time.monotonic() - start
    print(f"seed {args.seed}, {elapsed / 60:.1f} minutes")
    for name in names:
        print(f"  {name:<11} {tried[name]:>8} inputs tried, {failed[name]} failures")
    total, failures = sum(tried.values()), sum(failed.values())
    print(f"  {'total':<11} {total:>8} inputs tried, {failures} failures")
    if kept:
        print(f"failing inputs and their tracebacks: {out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
