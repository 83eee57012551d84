"""Formatting through the project's formatter (the same text as `tierlang fmt`)."""

from __future__ import annotations

from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec

from dsl.errors import TierError
from dsl.formatter import FormatError, format_source
from tierlang.lsp.positions import whole_text


def formatting(path: str, text: str, codec: PositionCodec) -> list[types.TextEdit] | None:
    """One edit replacing the whole text by its canonical layout; none when it is canonical;
    None when it cannot be formatted (syntax errors: the diagnostics say where)."""
    try:
        formatted = format_source(text, path)
    except (TierError, FormatError):
        return None
    if formatted == text:
        return []
    return [types.TextEdit(range=whole_text(text, codec), new_text=formatted)]
