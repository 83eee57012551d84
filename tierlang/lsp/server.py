"""The language server: wires the protocol (pygls) to the feature modules.

Each open document is checked when it is opened and after every change; its diagnostics are
published at once. The files it extends are read from disk, as `tierlang check` reads them, so
an open document that extends a file is checked again when that file is saved.
"""

from __future__ import annotations

import os
from pathlib import Path

from lsprotocol import types
from pygls import uris
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer

from dsl import model as M
from dsl.loader import read_text
from tierlang import __version__
from tierlang.lsp import completion, diagnostics, formatting, hover, navigation, symbols
from tierlang.lsp.analysis import Analysis, analyse, same_file
from tierlang.lsp.positions import to_column, to_range, uri_of

REQUEST_FAILED = -32803  # LSP ErrorCodes.RequestFailed


class TierServer(LanguageServer):
    def __init__(self):
        super().__init__(
            "tierlang", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Incremental
        )
        self.analyses: dict[str, Analysis] = {}  # document uri -> analysis of its current text
        self.last_good: dict[
            str, M.Methodology
        ] = {}  # uri -> methodology of its last check without errors

    @property
    def codec(self):
        return self.workspace.position_codec

    def analysis(self, uri: str) -> Analysis:
        document = self.workspace.get_text_document(uri)
        text = document.source
        current = self.analyses.get(uri)
        if current is not None and current.text == text:
            return current
        result = analyse(path_of(uri), text, self.last_good.get(uri))
        if result.report.methodology is not None:
            self.last_good[uri] = result.report.methodology
        self.analyses[uri] = result
        return result

    def publish(self, uri: str) -> None:
        found = diagnostics.diagnostics(self.analysis(uri), self.codec)
        version = self.workspace.get_text_document(uri).version
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=found, version=version)
        )

    def position(self, uri: str, position: types.Position) -> tuple[Analysis, int, int]:
        analysis = self.analysis(uri)
        line, column = to_column(position, analysis.text, self.codec)
        return analysis, line, column

    def location(self, span, *analyses: Analysis) -> types.Location | None:
        """Where `span` is, in the text of its file as one of `analyses` read it."""
        text = next((t for t in (a.text_of(span.file) for a in analyses) if t is not None), None)
        if text is None:
            return None
        return types.Location(uri=uri_of(span.file), range=to_range(span, text, self.codec))

    def dependents(self, analysis: Analysis) -> list[Analysis]:
        """Analyses of the files that extend this one, found among the open documents and the
        methodologies in its folder (an open document's text, else the file's)."""
        candidates = {os.path.normpath(path_of(uri)): uri for uri in self.workspace.text_documents}
        folder = Path(analysis.path).parent
        for path in sorted(folder.glob("*.tier")) if folder.is_dir() else ():
            candidates.setdefault(os.path.normpath(str(path)), None)
        out = []
        for path, uri in candidates.items():
            if same_file(path, analysis.path):
                continue
            if uri is not None:
                other = self.analysis(uri)
            else:
                try:
                    text = read_text(Path(path))
                except (OSError, UnicodeDecodeError):
                    continue
                if "extends" not in text:
                    continue
                other = analyse(path, text)
            if any(same_file(f, analysis.path) for f in other.files[1:]):
                out.append(other)
        return out


def path_of(uri: str) -> str:
    return uris.to_fs_path(uri) or uri


server = TierServer()


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: TierServer, params: types.DidOpenTextDocumentParams) -> None:
    ls.publish(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: TierServer, params: types.DidChangeTextDocumentParams) -> None:
    ls.publish(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: TierServer, params: types.DidSaveTextDocumentParams) -> None:
    saved = path_of(params.text_document.uri)
    for uri, analysis in list(ls.analyses.items()):  # documents that read the saved file
        if uri != params.text_document.uri and any(same_file(f, saved) for f in analysis.files):
            ls.analyses.pop(uri)
            if uri in ls.workspace.text_documents:
                ls.publish(uri)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: TierServer, params: types.DidCloseTextDocumentParams) -> None:
    ls.analyses.pop(params.text_document.uri, None)
    ls.text_document_publish_diagnostics(
        types.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[])
    )


@server.feature(types.TEXT_DOCUMENT_HOVER)
def on_hover(ls: TierServer, params: types.HoverParams) -> types.Hover | None:
    analysis, line, column = ls.position(params.text_document.uri, params.position)
    text = hover.hover_text(analysis, line, column)
    if text is None:
        return None
    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text))


@server.feature(types.TEXT_DOCUMENT_DEFINITION)
def on_definition(ls: TierServer, params: types.DefinitionParams) -> types.Location | None:
    analysis, line, column = ls.position(params.text_document.uri, params.position)
    found = navigation.definition(analysis, line, column)
    return ls.location(found, analysis) if found is not None else None


@server.feature(types.TEXT_DOCUMENT_REFERENCES)
def on_references(ls: TierServer, params: types.ReferenceParams) -> list[types.Location]:
    analysis, line, column = ls.position(params.text_document.uri, params.position)
    dependents = ls.dependents(analysis)
    spans = navigation.references(
        analysis, line, column, params.context.include_declaration, dependents
    )
    return [
        loc for loc in (ls.location(s, analysis, *dependents) for s in spans) if loc is not None
    ]


@server.feature(types.TEXT_DOCUMENT_PREPARE_RENAME)
def on_prepare_rename(ls: TierServer, params: types.PrepareRenameParams) -> types.Range | None:
    analysis, line, column = ls.position(params.text_document.uri, params.position)
    found = analysis.at(line, column)
    if found is None:
        return None
    try:
        navigation.rename(analysis, line, column, found.name)
    except navigation.RenameRefused:
        return None
    return to_range(found.span, analysis.text, ls.codec)


@server.feature(types.TEXT_DOCUMENT_RENAME)
def on_rename(ls: TierServer, params: types.RenameParams) -> types.WorkspaceEdit:
    analysis, line, column = ls.position(params.text_document.uri, params.position)
    dependents = ls.dependents(analysis)
    try:
        spans = navigation.rename(analysis, line, column, params.new_name, dependents)
    except navigation.RenameRefused as refused:
        # LSP's RequestFailed: the client shows the message
        raise JsonRpcException(f"cannot rename: {refused}", code=REQUEST_FAILED) from None
    changes: dict[str, list[types.TextEdit]] = {}
    for span in spans:
        loc = ls.location(span, analysis, *dependents)
        if loc is not None:
            changes.setdefault(loc.uri, []).append(
                types.TextEdit(range=loc.range, new_text=params.new_name)
            )
    return types.WorkspaceEdit(changes=changes)


@server.feature(
    types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=["=", " ", "("])
)
def on_completion(ls: TierServer, params: types.CompletionParams) -> types.CompletionList:
    analysis, line, column = ls.position(params.text_document.uri, params.position)
    return types.CompletionList(
        is_incomplete=False, items=completion.completions(analysis, line, column)
    )


@server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
def on_document_symbol(
    ls: TierServer, params: types.DocumentSymbolParams
) -> list[types.DocumentSymbol]:
    return symbols.document_symbols(ls.analysis(params.text_document.uri), ls.codec)


@server.feature(types.TEXT_DOCUMENT_FORMATTING)
def on_formatting(
    ls: TierServer, params: types.DocumentFormattingParams
) -> list[types.TextEdit] | None:
    document = ls.workspace.get_text_document(params.text_document.uri)
    return formatting.formatting(path_of(params.text_document.uri), document.source, ls.codec)


def main() -> None:
    server.start_io()
