"""Source spans (1-based lines and columns in characters, as the parser counts them) to and
from protocol positions (0-based, in the code units the client and server agreed on)."""

from __future__ import annotations

import os

from lsprotocol import types
from pygls import uris
from pygls.workspace.position_codec import PositionCodec, ServerTextPosition

from dsl.errors import Span, source_lines


def to_range(span: Span, text: str, codec: PositionCodec) -> types.Range:
    lines = source_lines(text)
    start = codec.position_to_client_units(
        lines, ServerTextPosition(span.line - 1, span.column - 1)
    )
    end = codec.position_to_client_units(
        lines, ServerTextPosition(span.end_line - 1, span.end_column - 1)
    )
    return types.Range(start=start, end=end)


def to_column(position: types.Position, text: str, codec: PositionCodec) -> tuple[int, int]:
    """The 1-based line and column of a protocol position in `text`."""
    server = codec.position_from_client_units(source_lines(text), position)
    return server.line + 1, server.character + 1


def whole_text(text: str, codec: PositionCodec) -> types.Range:
    lines = source_lines(text)
    end = codec.position_to_client_units(lines, ServerTextPosition(len(lines) - 1, len(lines[-1])))
    return types.Range(start=types.Position(line=0, character=0), end=end)


def uri_of(path: str) -> str:
    return uris.from_fs_path(os.path.normpath(os.path.abspath(path)))
