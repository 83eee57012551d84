"""The registry of built-in implementations: FUNCTIONS, filled by the `builtin` decorator."""

from __future__ import annotations

from collections.abc import Callable

from dsl.builtins import BUILTINS

FUNCTIONS: dict[str, Callable] = {}


def builtin(name: str):
    assert name in BUILTINS, f"{name} is not declared in dsl.builtins"

    def register(fn):
        FUNCTIONS[name] = fn
        return fn

    return register
