"""ParamError: a `--param` override that names no param or lies outside the param's range.

Kept apart from interpreter/errors.py (data loading) so that the two can evolve separately.
"""

from __future__ import annotations

from dsl.errors import USAGE, TierlangError


class ParamError(TierlangError, ValueError):
    """An override of a methodology param that cannot be used (unknown name, wrong type or
    outside the declared range). The message lists what is allowed."""

    stage = USAGE
