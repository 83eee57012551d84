"""Words shared by the explanation's sentences and its renderings: a recorded value as shown,
a call's text on one line, a group's name as statistics record it, an entity's kind."""

from __future__ import annotations

import re
from typing import Any

from audit.store import EntityRef, RunInfo
from dsl import types as T
from dsl.numbers import format_number


def format_value(value: Any, base: str) -> str:
    if value is None:
        return "missing"
    if base == T.NUMBER or (isinstance(value, float) and not isinstance(value, bool)):
        return format_number(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return "[" + ", ".join(format_value(v, "") for v in value) + "]"
    if base == T.TEXT:
        return f'"{value}"'
    return str(value)


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def group_key(value: Any) -> str:
    """A group's name as the interpreter writes it in a statistic's `[GROUP]` (a number as
    %.15g, a boolean as true/false: interpreter.functions.group_names)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"{value:.15g}"
    return str(value)


def entity_kind(run: RunInfo, entity: EntityRef) -> str:
    return entity.level or run.entity_kind or "entity"
