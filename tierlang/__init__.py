"""tierlang: rating methodologies as code, with an audit trail.

The public Python API (tierlang.api): `load(path)`, `run(methodology, data, ...)`,
`explain(entity, ...)`, `values(node, ...)`, `diff(old, new, data, ...)` and `diff_runs(a, b)`,
`sensitivity_analysis(methodology, data, ...)`, `reconcile(run, expected, key=..., column=...)`,
`write_report(out, ...)`, and `Tables(main, {level: table})` for the data of a methodology with
entities at several levels. Results have `.frame` (a DataFrame indexed by entity key, tiers as
ordered Categoricals), a short `repr` and an HTML view in notebooks.
"""

__version__ = "0.1.0"

__all__ = [
    "RunOutcome",
    "Tables",
    "UsageError",
    "__version__",
    "diff",
    "diff_runs",
    "explain",
    "load",
    "reconcile",
    "write_report",
    "run",
    "sensitivity_analysis",
    "values",
]

_API = frozenset(__all__) - {"__version__"}


def __getattr__(name: str):
    # The API (and pandas under it) is imported on first use, so that `tierlang --version`,
    # `--help`, `check` and `fmt` start without pandas or numpy (benchmarks/startup.py).
    if name in _API:
        from tierlang import api

        return getattr(api, name)
    raise AttributeError(f"module 'tierlang' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _API)
