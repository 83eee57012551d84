"""tierlang: rating methodologies as code, with an audit trail.

The public Python API: `load(path)`, `run(methodology, data, params=..., audit=...)` and
`explain(entity, run_id=..., audit=...)`; see tierlang.api.
"""

__version__ = "0.1.0"

from tierlang.api import RunOutcome, UsageError, explain, load, run  # noqa: E402

__all__ = ["RunOutcome", "UsageError", "__version__", "explain", "load", "run"]
