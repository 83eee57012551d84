"""Start-up benchmark (run on demand: `make bench`; never part of `make test`).

Times, as fresh processes, the commands that must answer at once:
  `tierlang --version`, `tierlang --help`, `tierlang check` and `tierlang fmt --check` of a
  small methodology, and shell completion of `tierlang ch<TAB>`,
against the floor `python -c "import click"` measured in the same run (best of N each), and
reports whether each command imported pandas or numpy (from `-X importtime`).
Targets: `--version` <= 2x the floor; completion < 0.3 s; no pandas/numpy in any of them.

    .venv/bin/python benchmarks/startup.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SMALL = """methodology "Small"
entity org key code

input x: number range 0..100

indicator s = quartile(x, higher is better)

tier grade from s {
  good: >= 3
  poor: otherwise
}
"""

# The installed console script, run as a file so that `-X importtime` applies and click
# sees the program name `tierlang` (which names the completion variable).
SCRIPT = str(Path(sys.executable).parent / "tierlang")


def best_time(argv: list[str], repeat: int, env: dict | None = None) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False
        )
        times.append(time.perf_counter() - start)
    return min(times)


def heavy_imports(args: list[str], env: dict | None = None) -> list[str]:
    """Which of pandas, numpy a command imports (its `-X importtime` log)."""
    log = subprocess.run(
        [sys.executable, "-X", "importtime", SCRIPT, *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    ).stderr
    found = {
        line.rsplit("|", 1)[-1].strip()
        for line in log.splitlines()
        if line.startswith("import time:")
    }
    return [name for name in ("pandas", "numpy") if name in found]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeat", type=int, default=7, help="runs per command; the best is printed"
    )
    args = parser.parse_args()
    python = sys.executable
    with tempfile.TemporaryDirectory() as folder:
        small = Path(folder) / "small.tier"
        small.write_text(SMALL, encoding="utf-8")
        completion = dict(
            os.environ, _TIERLANG_COMPLETE="bash_complete", COMP_WORDS="tierlang ch", COMP_CWORD="1"
        )
        floor = best_time([python, "-c", "import click"], args.repeat)
        commands = [
            ("tierlang --version", ["--version"], None),
            ("tierlang --help", ["--help"], None),
            ("tierlang check small.tier", ["check", str(small)], None),
            ("tierlang fmt --check small.tier", ["fmt", "--check", str(small)], None),
            ("completion `tierlang ch<TAB>`", [], completion),
        ]
        print(f"floor: python -c 'import click': {floor:.3f} s (best of {args.repeat})")
        print(f"{'command':34} {'seconds':>8} {'x floor':>8}  heavy imports")
        ratios = {}
        for name, argv, env in commands:
            seconds = best_time([python, SCRIPT, *argv], args.repeat, env)
            heavy = heavy_imports(argv, env)
            ratios[name] = seconds / floor
            print(f"{name:34} {seconds:8.3f} {seconds / floor:8.2f}  {', '.join(heavy) or 'none'}")
            if name.startswith("completion"):
                completion_seconds = seconds
    print(f"ratio version/import-click: {ratios['tierlang --version']:.2f}   (target <= 2)")
    print(f"seconds completion: {completion_seconds:.3f}   (target < 0.3)")


if __name__ == "__main__":
    main()
