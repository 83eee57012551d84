"""Typing and name resolution (dsl/resolve/expressions.py until it is split by job)."""

from dsl.resolve.expressions import Resolver, Symbols, names_in, not_rated_spellings, source_slice

__all__ = ["Resolver", "Symbols", "names_in", "not_rated_spellings", "source_slice"]
