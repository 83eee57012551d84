"""The Tier language: grammar, parser, syntax tree, static checker and formatter.

Stages: text --parse--> syntax.Module --check--> model.Methodology (the checked result the
interpreter consumes). Knows nothing of pandas or SQLite.
"""

from dsl.checker import CheckReport, check_file, check_source, load
from dsl.errors import Diagnostic, Span, TierError
from dsl.parser import parse

__all__ = ["CheckReport", "Diagnostic", "Span", "TierError", "check_file", "check_source", "load", "parse"]
