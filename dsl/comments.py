"""The comments `tierlang fmt` keeps: found in the source, re-attached by source position.

The syntax tree holds no comments. They are read from the source (with the header lines'
positions, which the tree does not keep either), then re-attached to the output lines by the
Marks dsl.layout records: a comment on a line of its own goes before the next statement, tier
rule, test item or map/band case (or before the `}` of the block it is in); a comment after
code goes at the end of the output line that renders that code.
"""

from __future__ import annotations

import threading
from functools import cache

import attrs
import lark

from dsl import syntax as S
from dsl.errors import TierError
from dsl.layout import INDENT, Anchor, OutputLine
from dsl.parser import parse
from dsl.text import GRAMMAR, FormatError


@attrs.define
class Unit:
    """Output lines of the header, one statement, or the comments at the end of the file."""

    lines: list[OutputLine]
    group: str | None = None  # consecutive one-line statements of one group share a paragraph
    one_line: bool = attrs.field(init=False)  # before comments are put in
    commented: bool = False  # comments go before its first line

    def __attrs_post_init__(self) -> None:
        self.one_line = len(self.lines) == 1


@attrs.frozen
class Comment:
    line: int
    column: int
    text: str
    trailing: bool  # after code on its line
    after_blank: bool = False  # the source line before it is blank


@attrs.define
class SourceFacts:
    """What the tree does not keep: comments, and where the header lines were."""

    comments: list[Comment] = attrs.Factory(list)
    header: dict[str, Anchor] = attrs.Factory(dict)



class _TokenSink(threading.local):
    tokens: list | None = None


_SINK = _TokenSink()
_RECORDED = ("COMMENT", "DOCSTRING", "METHODOLOGY", "VERSION", "EFFECTIVE", "ENTITY", "EXTENDS", "LIBRARY")


def _record(token: lark.Token) -> lark.Token:
    if _SINK.tokens is not None:
        _SINK.tokens.append(token)
    return token


@cache
def _recording_lark() -> lark.Lark:
    """The language's grammar, with the lexer reporting comments and header keywords (the
    parser's own tree keeps neither)."""
    return lark.Lark(GRAMMAR.read_text(encoding="utf-8"), parser="lalr",
                     lexer_callbacks={name: _record for name in _RECORDED})


def scan_source(text: str) -> SourceFacts:
    work = text
    if work.startswith("\ufeff"):
        work = " " + work.lstrip("\ufeff")  # as the parser does: columns stay true
    _SINK.tokens = []
    try:
        _recording_lark().parse(work)
        tokens = _SINK.tokens
    finally:
        _SINK.tokens = None
    source_lines = work.split("\n")
    facts = SourceFacts()
    for token in tokens:
        if token.type == "COMMENT":
            before = source_lines[token.line - 1][: token.column - 1]
            after_blank = token.line > 1 and not source_lines[token.line - 2].strip()
            facts.comments.append(Comment(token.line, token.column, token.value.rstrip(), bool(before.strip()),
                                           after_blank))
    facts.header = _header_anchors(tokens)
    return facts


def _header_anchors(tokens: list[lark.Token]) -> dict[str, Anchor]:
    """Source positions of the header lines. Header keywords appear nowhere else; the first
    docstring is the header's when the header has one (the others follow statements)."""
    keys = {"METHODOLOGY": "methodology", "VERSION": "version", "EFFECTIVE": "effective",
            "ENTITY": "entity", "EXTENDS": "extends", "LIBRARY": "library", "DOCSTRING": "doc"}
    anchors: dict[str, Anchor] = {}
    entities = 0
    for token in tokens:
        if token.type == "COMMENT":
            continue
        key = keys[token.type]
        if key == "entity":  # every entity line has its own anchor: entity, entity:1, entity:2...
            key = f"entity:{entities}" if entities else key
            entities += 1
        if key in anchors:
            continue
        anchors[key] = Anchor(token.line, token.column, token.end_line)
    return anchors


def assemble(units: list[Unit], comments: list[Comment]) -> str:
    """Put the comments in, then join the units: a blank line between statements, except
    within a run of one-line statements of the same group."""
    end_comments = _attach_comments([line for unit in units for line in unit.lines], comments)
    for unit in units:
        unit.commented = bool(unit.lines[0].comments_before)
        unit.lines = _with_comment_lines(unit.lines)
    if end_comments:
        units.append(Unit([OutputLine(c.text) for c in end_comments]))
    out: list[str] = []
    previous: Unit | None = None
    for unit in units:
        if previous is not None and not _same_paragraph(previous, unit):
            out.append("")
        out += [line.text for line in unit.lines]
        previous = unit
    return "\n".join(out) + "\n" if out else ""


def _same_paragraph(previous: Unit, unit: Unit) -> bool:
    return (unit.group is not None and unit.group == previous.group and unit.group != "header"
            and previous.one_line and unit.one_line and not unit.commented)


def _attach_comments(lines: list[OutputLine], comments: list[Comment]) -> list[Comment]:
    """Record on each output line the comments that go before it and at its end; return those
    that go at the end of the file."""
    anchored = [(i, line.anchor) for i, line in enumerate(lines) if line.anchor is not None]
    at_end: list[Comment] = []
    for comment in comments:
        if comment.trailing:
            target = _trailing_target(anchored, comment.line, lines)
        else:
            target = _leading_target(anchored, comment.line)
        if target is None:
            at_end.append(comment)
        elif comment.trailing:
            lines[target].comments_after.append(comment)
        else:
            lines[target].comments_before.append(comment)
    return at_end


def _innermost(anchored: list[tuple[int, Anchor]], line: int) -> tuple[int, Anchor] | None:
    holding = [(i, a) for i, a in anchored if a.contains(line)]
    return max(holding, key=lambda ia: (ia[1].line, ia[1].column, -ia[1].end_line, -ia[0]), default=None)


def _trailing_target(anchored: list[tuple[int, Anchor]], line: int, lines: list[OutputLine]) -> int | None:
    """The output line rendering the innermost construct that holds the comment's line (or the
    construct before it)."""
    candidates = [(i, a) for i, a in anchored if lines[i].mark.takes_trailing]
    inner = _innermost(candidates, line)
    if inner is not None:
        return inner[0]
    before = [(i, a) for i, a in candidates if a.line <= line]
    if before:
        return max(before, key=lambda ia: (ia[1].line, ia[1].column, -ia[0]))[0]
    return candidates[0][0] if candidates else None


def _leading_target(anchored: list[tuple[int, Anchor]], line: int) -> int | None:
    """The output line of the next construct; but a comment inside a construct (between two lines
    of one expression, say) stays with it rather than moving past its end."""
    inner = _innermost(anchored, line)
    following = [(i, a) for i, a in anchored if a.line > line]
    nearest = min(following, key=lambda ia: (ia[1].line, ia[1].column, ia[0]), default=None)
    if inner is not None and (nearest is None or nearest[1].line > inner[1].end_line):
        return inner[0]
    return nearest[0] if nearest is not None else None


def _with_comment_lines(lines: list[OutputLine]) -> list[OutputLine]:
    out: list[OutputLine] = []
    follows_opening = True  # the previous line's code opens a block (or there is none)
    for line in lines:
        before, after = line.comments_before, line.comments_after
        if before:
            kind = line.mark.kind if line.mark else None
            indent = line.indent + (" " * INDENT if kind == "close" else "")
            if kind == "item" and not follows_opening:
                out.append(OutputLine(""))  # an item with its own comments starts a paragraph
            for position, comment in enumerate(before):
                if position and comment.after_blank:
                    out.append(OutputLine(""))  # comment paragraphs stay apart, as written
                out.append(OutputLine(indent + comment.text))
        follows_opening = line.text.endswith("{")
        if after:
            line.text = "  ".join([line.text] + [c.text for c in after])
        out.append(line)
    return out


def verify(output: str, module: S.Module, path: str, comments: list[Comment]) -> None:
    """The formatter's promise, checked: same tree, same comments."""
    try:
        same_tree = parse(output, path) == module
    except TierError:
        same_tree = False
    if not same_tree:
        raise FormatError(f"{path}: formatting would change the meaning of the file; it was left as is")
    kept = _comment_words(scan_source(output).comments)
    if kept != _comment_words(comments):
        raise FormatError(f"{path}: formatting would lose or change comments; it was left as is")


def _comment_words(comments: list[Comment]) -> list[str]:
    # Two trailing comments of one output line are written as one, so compare their pieces.
    return sorted(piece.strip() for c in comments for piece in c.text.split("#") if piece.strip())


