"""Go to definition, find references and rename, across the chain of `extends`.

A name's references are its occurrences in this file and in every file it extends (the
definitions a later file overrides included: they are the same name). Renaming changes them all.
"""

from __future__ import annotations

import re

from dsl.builtins import BUILTINS
from dsl.errors import Span
from tierlang.highlight import WORDS
from tierlang.lsp.analysis import FUNCTION, LABEL, Analysis, Definition, Occurrence

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class RenameRefused(ValueError):
    """A rename that cannot be done, with the reason shown to the user."""


def target(analysis: Analysis, line: int, column: int) -> tuple[str, str] | None:
    """(namespace, name) of the name at 1-based `line`, `column`: what it refers to."""
    found: Occurrence | None = analysis.at(line, column)
    if found is not None:
        return analysis.namespace_of(found), found.name
    word = analysis.word_at(line, column)
    definition = analysis.resolve(word) if word else None
    return (definition.namespace, definition.name) if definition is not None else None


def definition(analysis: Analysis, line: int, column: int) -> Definition | None:
    found = target(analysis, line, column)
    return analysis.definitions.get(found) if found is not None else None


def references(
    analysis: Analysis, line: int, column: int, include_declaration: bool = True
) -> list[Span]:
    found = target(analysis, line, column)
    if found is None:
        return []
    namespace, name = found
    return [
        o.span
        for o in analysis.references(name, namespace)
        if include_declaration or not o.definition
    ]


def rename(analysis: Analysis, line: int, column: int, new_name: str) -> list[Span]:
    """The spans to replace by `new_name`; raises RenameRefused when the rename cannot be done."""
    found = target(analysis, line, column)
    if found is None or found not in analysis.definitions:
        raise RenameRefused("there is no definition here to rename")
    namespace, name = found
    if namespace == LABEL:
        raise RenameRefused(
            "a label is matched against the data's values: rename it in the data too, by hand"
        )
    if namespace == FUNCTION and name in BUILTINS:
        raise RenameRefused(f"'{name}' is a built-in function")
    if not _IDENTIFIER.match(new_name):
        raise RenameRefused(
            f"{new_name!r} is not a name: use letters, digits and _, not starting with a digit"
        )
    if new_name in WORDS.all_keywords():
        raise RenameRefused(f"'{new_name}' is a word of the language")
    if analysis.resolve(new_name) is not None and new_name != name:
        raise RenameRefused(f"'{new_name}' is already defined")
    return [o.span for o in analysis.references(name, namespace)]
