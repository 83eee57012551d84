"""Typing and name resolution: syntax statements and expressions → resolved, typed model nodes.

Used by dsl.checker, statement by statement in dependency order. Every problem is appended
to the shared diagnostics list; a sub-expression that could not be resolved gets the
`error` type, which is compatible with everything so that one mistake is reported once.

One resolver, one module per job:
  base         the error type, the symbol table, an expression's context, the names a statement
               mentions, the resolver's state and the checks every job makes
  statements   statement lowering: inputs, params, definitions, tiers and limits → nodes
  expressions  expression typing: names, operators, lists, `for`, `map`, `band`
  calls        call checking: user functions expanded, built-ins checked against dsl.builtins
  testing      test-block lowering: `test` → TestCase
"""

from __future__ import annotations

from dsl.resolve.base import (
    ERROR_TYPE,
    Ctx,
    ResolverBase,
    Symbols,
    is_error,
    names_in,
    not_rated_spellings,
    source_slice,
)
from dsl.resolve.calls import CallChecking
from dsl.resolve.expressions import ExpressionTyping
from dsl.resolve.statements import StatementLowering
from dsl.resolve.testing import TestLowering


class Resolver(StatementLowering, TestLowering, ExpressionTyping, CallChecking, ResolverBase):
    """Resolves the statements of one methodology (dsl.checker calls `node`, `limit` and `test`)."""


__all__ = ["ERROR_TYPE", "Ctx", "Resolver", "Symbols", "is_error", "names_in", "not_rated_spellings",
           "source_slice"]
