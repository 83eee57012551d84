"""A Wadler-style pretty printer: documents laid out in a line width.

Documents: Text is written as is; Line is a line break, or `flat` when its group fits on the
line; Group tries its contents flat; Nest indents the breaks inside it; Align indents them to
the current column; Fill breaks only the separators that must break; Mark records which
source construct starts the output line it lands on (for re-attaching comments: dsl.comments).
The layout is a function of the document alone. Used by dsl.formatter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from dsl.comments import Comment

LINE_WIDTH = 100
INDENT = 2


@attrs.frozen
class Text:
    text: str


@attrs.frozen
class Line:
    flat: str = " "


@attrs.frozen
class Concat:
    parts: tuple


@attrs.frozen
class Nest:
    indent: int
    doc: object


@attrs.frozen
class Align:
    doc: object


@attrs.frozen
class Group:
    doc: object


@attrs.frozen
class Fill:
    parts: tuple  # content, separator, content, separator, ..., content


@attrs.frozen
class IfBreak:
    broken: str
    flat: str = ""


@attrs.frozen
class Anchor:
    """Where a construct was in the source: comments on these lines belong to it."""

    line: int
    column: int
    end_line: int

    def contains(self, line: int) -> bool:
        return self.line <= line <= self.end_line


@attrs.frozen
class Mark:
    anchor: Anchor | None
    kind: str  # "header", "statement", "item" (rule, test item), "case", "close" (a block's `}`)
    takes_trailing: bool = True


Doc = Text | Line | Concat | Nest | Align | Group | Fill | IfBreak | Mark

_FLAT, _BREAK = "flat", "break"


def cat(*parts: str | Doc) -> Concat:
    return Concat(tuple(Text(p) if isinstance(p, str) else p for p in parts))


def filled(items: Sequence[Doc]) -> Fill:
    """Items separated by ", ", as many on each line as fit."""
    parts: list[Doc] = []
    for i, item in enumerate(items):
        if i:
            parts.append(cat(",", Line()))
        parts.append(item)
    return Fill(tuple(parts))


@attrs.define
class OutputLine:
    text: str
    mark: Mark | None = None
    comments_before: list[Comment] = attrs.Factory(list)
    comments_after: list[Comment] = attrs.Factory(list)

    @property
    def anchor(self) -> Anchor | None:
        return self.mark.anchor if self.mark else None

    @property
    def indent(self) -> str:
        return self.text[: len(self.text) - len(self.text.lstrip(" "))]


def layout(doc: Doc, width: int = LINE_WIDTH) -> list[OutputLine]:
    """Lay a document out in `width` columns (Wadler's algorithm, run on an explicit stack)."""
    lines = [OutputLine("")]
    stack: list[tuple[int, str, Doc]] = [(0, _BREAK, doc)]
    while stack:
        indent, mode, d = stack.pop()
        current = lines[-1]
        match d:
            case Text(text):
                current.text += text
            case Concat(parts):
                stack.extend((indent, mode, p) for p in reversed(parts))
            case Nest(extra, inner):
                stack.append((indent + extra, mode, inner))
            case Align(inner):
                stack.append((len(current.text), mode, inner))
            case Group(inner):
                fits = mode == _FLAT or _fits([(indent, _FLAT, inner)], stack, width - len(current.text))
                stack.append((indent, _FLAT if fits else _BREAK, inner))
            case Line(flat):
                if mode == _FLAT:
                    current.text += flat
                else:
                    current.text = current.text.rstrip(" ")
                    lines.append(OutputLine(" " * indent))
            case IfBreak(broken, flat):
                current.text += broken if mode == _BREAK else flat
            case Mark():
                if current.mark is None and not current.text.strip():
                    current.mark = d
            case Fill(parts):
                if mode == _FLAT:
                    stack.extend((indent, mode, p) for p in reversed(parts))
                else:
                    stack.extend(_fill_step(indent, parts, stack, width - len(current.text)))
    return lines


def _fill_step(indent: int, parts: tuple, rest: list, width: int) -> list[tuple[int, str, Doc]]:
    """The next commands for a broken Fill: its first item, and a separator broken only if the
    item after it does not fit on the line (the items after that stay a Fill)."""
    if not parts:
        return []
    content = parts[0]
    last = len(parts) == 1
    content_fits = _fits([(indent, _FLAT, content)], rest if last else [], width)
    content_cmd = (indent, _FLAT if content_fits else _BREAK, content)
    if last:
        return [content_cmd]
    separator, following = parts[1], parts[2]
    pair_last = len(parts) == 3
    pair_fits = _fits([(indent, _FLAT, Concat((content, separator, following)))], rest if pair_last else [], width)
    separator_mode = _FLAT if pair_fits else _BREAK
    return [(indent, _BREAK, Fill(parts[2:])), (indent, separator_mode, separator), content_cmd]


def _fits(commands: list, rest: list, width: int) -> bool:
    """Whether `commands`, then `rest` up to its next line break, fit in `width` columns."""
    pending = list(commands)
    rest_index = len(rest)
    while width >= 0:
        if not pending:
            if rest_index == 0:
                return True
            rest_index -= 1
            pending.append(rest[rest_index])
            continue
        indent, mode, d = pending.pop()
        match d:
            case Text(text):
                width -= len(text)
            case Concat(parts) | Fill(parts):
                pending.extend((indent, mode, p) for p in reversed(parts))
            case Nest(_, inner) | Align(inner) | Group(inner):
                pending.append((indent, mode, inner))
            case Line(flat):
                if mode == _BREAK:
                    return True
                width -= len(flat)
            case IfBreak(broken, flat):
                width -= len(broken if mode == _BREAK else flat)
    return False

