"""The checker's diagnostics as protocol diagnostics: the same codes, spans, notes and help as
`tierlang check`. A problem found in a file this one extends is shown on its `extends` line,
its message prefixed with where it is, and linked to that place."""

from __future__ import annotations

from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec

from dsl.errors import Diagnostic, Span
from tierlang.lsp.analysis import Analysis, same_file
from tierlang.lsp.positions import to_range, uri_of

SOURCE = "tierlang"


def message(diagnostic: Diagnostic) -> str:
    lines = [diagnostic.message]
    lines += [f"note: {note}" for note in diagnostic.notes]
    if diagnostic.hint:
        lines.append(f"help: {diagnostic.hint}")
    return "\n".join(lines)


def diagnostics(analysis: Analysis, codec: PositionCodec) -> list[types.Diagnostic]:
    module = analysis.module
    extends_span = module.header.extends_span if module is not None else None
    here = Span.point(analysis.path, 1, 1)
    out = []
    for d in analysis.report.diagnostics:
        severity = (
            types.DiagnosticSeverity.Error if d.is_error else types.DiagnosticSeverity.Warning
        )
        text, related = message(d), None
        span = d.span or here
        if not same_file(span.file, analysis.path):
            elsewhere = analysis.report.sources.get(span.file)
            text = f"in {span.file}:{span.line}:{span.column}: {text}"
            if elsewhere is not None:
                related = [
                    types.DiagnosticRelatedInformation(
                        location=types.Location(
                            uri=uri_of(span.file), range=to_range(span, elsewhere, codec)
                        ),
                        message=d.message,
                    )
                ]
            span = extends_span or here
        out.append(
            types.Diagnostic(
                range=to_range(span, analysis.text, codec),
                message=text,
                severity=severity,
                code=d.code,
                source=SOURCE,
                related_information=related,
            )
        )
    return out
