"""tierlang: rating methodologies as code, with an audit trail.

The public Python API: `load(path)`, `run(methodology, data, params=..., audit=...)` and
`explain(entity, run_id=..., audit=...)`, and `Tables(main, {level: table})` for the data of
a methodology with entities at several levels; see tierlang.api.
"""

__version__ = "0.1.0"

from tierlang.api import RunOutcome, Tables, UsageError, explain, load, run  # noqa: E402

__all__ = ["RunOutcome", "Tables", "UsageError", "__version__", "explain", "load", "run"]
