"""Bytes to text in the encoding asked for (`--encoding`): a byte that does not decode is
located (byte offset and line) and the hint names the likely encoding.
"""

from __future__ import annotations

import codecs

from interpreter.errors import (
    BAD_ENCODING,
    DataProblem,
    fail,
    quote,
)


def decode(data: bytes, path: str, encoding: str) -> str:
    try:
        info = codecs.lookup(encoding)
        codec = info.name
    except LookupError:
        fail(
            path,
            DataProblem(
                f"unknown encoding {quote(encoding)}",
                hint="use an encoding such as utf-8, cp1252 or latin-1",
                code=BAD_ENCODING,
            ),
        )
    if not getattr(info, "_is_text_encoding", True):  # rot13, base64, zlib_codec: not text
        fail(
            path,
            DataProblem(
                f"{quote(encoding)} is not a text encoding",
                hint="use an encoding such as utf-8, cp1252 or latin-1",
                code=BAD_ENCODING,
            ),
        )
    skip = 0
    if codec in ("utf-8", "utf-8-sig"):
        codec = "utf-8"
        if data.startswith(codecs.BOM_UTF8):
            skip = len(codecs.BOM_UTF8)
    try:
        return data[skip:].decode(codec)
    except UnicodeDecodeError as e:
        offset = skip + e.start
        line = data[:offset].count(b"\n") + 1
        message = (
            f"cannot decode the file as {encoding}: byte 0x{data[offset]:02X} at byte offset "
            f"{offset} (line {line}) is not valid {encoding}"
        )
        wide = wide_bom(data)
        if codec == "utf-8" and wide:
            hint = f"the file starts with a {wide} byte-order mark: try --encoding {wide.lower()}"
        elif codec == "utf-8":
            hint = (
                "the file is in another encoding: if it was saved by Excel or another Windows "
                "program, try --encoding cp1252 (or --encoding latin-1)"
            )
        else:
            hint = "try another encoding, such as --encoding utf-8 or --encoding cp1252"
        fail(path, DataProblem(message, hint=hint, code=BAD_ENCODING))


def wide_bom(data: bytes) -> str | None:
    """Which wide encoding (UTF-16 or UTF-32) the byte-order mark the bytes start with names."""
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "UTF-32"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "UTF-16"
    return None


def utf8_text(data: bytes, encoding: str) -> bytes | None:
    """The bytes of the text `decode` gives, when the file is read as UTF-8 (the bytes after
    its byte-order mark); None for another encoding."""
    if codecs.lookup(encoding).name not in ("utf-8", "utf-8-sig"):
        return None
    return data[len(codecs.BOM_UTF8):] if data.startswith(codecs.BOM_UTF8) else data
