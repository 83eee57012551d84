"""The Tier language: grammar, parser, syntax tree, static checker and formatter.

Stages: text --parse--> syntax.Module --check--> model.Methodology (the checked result the
interpreter consumes). Knows nothing of pandas or SQLite.

The names below are imported on first use (PEP 562), so that importing one module of the
package (`dsl.errors`, for the CLI's exit codes) does not build the parser.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "CheckReport": "dsl.checker",
    "check_file": "dsl.checker",
    "check_source": "dsl.checker",
    "load": "dsl.checker",
    "Diagnostic": "dsl.errors",
    "Span": "dsl.errors",
    "TierError": "dsl.errors",
    "parse": "dsl.parser",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'dsl' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
