"""Go to definition, find references and rename, across the chain of `extends`.

A name's references are its occurrences in this file and in every file it extends (the
definitions a later file overrides included: they are the same name), and in the `dependents`
given: analyses of files that extend this one. Renaming changes them all. A function's
parameter is a name of its own inside that function.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import attrs

from dsl.builtins import BUILTINS
from dsl.errors import Span
from tierlang.highlight import WORDS
from tierlang.lsp.analysis import FUNCTION, LABEL, PARAMETER, Analysis, Occurrence

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class RenameRefused(ValueError):
    """A rename that cannot be done, with the reason shown to the user."""


@attrs.frozen
class Target:
    """What the name under the cursor refers to."""

    namespace: str
    name: str
    scope: str | None = None  # a parameter's function

    def occurrences(self, analysis: Analysis) -> list[Occurrence]:
        return analysis.references(self.name, self.namespace, self.scope)


def target(analysis: Analysis, line: int, column: int) -> Target | None:
    """What the name at 1-based `line`, `column` refers to."""
    found = analysis.at(line, column)
    if found is not None:
        return Target(analysis.namespace_of(found), found.name, found.scope)
    word = analysis.word_at(line, column)
    definition = analysis.resolve(word) if word else None
    return Target(definition.namespace, definition.name) if definition is not None else None


def definition(analysis: Analysis, line: int, column: int) -> Span | None:
    """Where the name at `line`, `column` is defined (a parameter: in its function's declaration)."""
    found = target(analysis, line, column)
    if found is None:
        return None
    if found.namespace == PARAMETER:
        return next((o.span for o in found.occurrences(analysis) if o.definition), None)
    defined = analysis.definitions.get((found.namespace, found.name))
    return defined.span if defined is not None else None


def references(
    analysis: Analysis,
    line: int,
    column: int,
    include_declaration: bool = True,
    dependents: Sequence[Analysis] = (),
) -> list[Span]:
    found = target(analysis, line, column)
    if found is None:
        return []
    everywhere = _everywhere(found, analysis, dependents)
    return [o.span for o in everywhere if include_declaration or not o.definition]


def _everywhere(
    found: Target, analysis: Analysis, dependents: Sequence[Analysis]
) -> list[Occurrence]:
    """The target's occurrences in the chain of `analysis` and of each dependent, each once."""
    seen: dict[Span, Occurrence] = {}
    for each in (analysis, *dependents):
        for occurrence in found.occurrences(each):
            seen.setdefault(occurrence.span, occurrence)
    return list(seen.values())


def rename(
    analysis: Analysis, line: int, column: int, new_name: str, dependents: Sequence[Analysis] = ()
) -> list[Span]:
    """The spans to replace by `new_name`; raises RenameRefused when the rename cannot be done."""
    found = target(analysis, line, column)
    if found is None or not any(o.definition for o in found.occurrences(analysis)):
        raise RenameRefused("there is no definition here to rename")
    if found.namespace == LABEL:
        raise RenameRefused(
            "a label is matched against the data's values: rename it in the data too, by hand"
        )
    if found.namespace == FUNCTION and found.name in BUILTINS:
        raise RenameRefused(f"'{found.name}' is a built-in function")
    if not _IDENTIFIER.match(new_name):
        raise RenameRefused(
            f"{new_name!r} is not a name: use letters, digits and _, not starting with a digit"
        )
    if new_name in WORDS.all_keywords():
        raise RenameRefused(f"'{new_name}' is a word of the language")
    taken = any(each.resolve(new_name) is not None for each in (analysis, *dependents)) or (
        found.namespace == PARAMETER and analysis.references(new_name, PARAMETER, found.scope)
    )
    if taken and new_name != found.name:
        raise RenameRefused(f"'{new_name}' is already defined")
    return [o.span for o in _everywhere(found, analysis, dependents)]
