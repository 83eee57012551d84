"""The Tier language: grammar, parser, syntax tree, static checker and formatter.

Stages: text --parse--> syntax.Module --check--> model.Methodology (the checked result the
interpreter consumes). Knows nothing of pandas or SQLite.

The names below are imported on first use (PEP 562), so that importing one module of the
package (`dsl.errors`, for the CLI's exit codes) does not build the parser.
"""

from __future__ import annotations

__all__ = ["CheckReport", "Diagnostic", "Span", "TierError", "check_file", "check_source", "load", "parse"]


def __getattr__(name: str):
    if name in ("CheckReport", "check_file", "check_source", "load"):
        from dsl import checker as module
    elif name in ("Diagnostic", "Span", "TierError"):
        from dsl import errors as module
    elif name == "parse":
        from dsl import parser as module
    else:
        raise AttributeError(f"module 'dsl' has no attribute {name!r}")
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
