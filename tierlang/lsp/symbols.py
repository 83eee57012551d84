"""Document symbols: the statements of this file, each with its kind, label and name."""

from __future__ import annotations

from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec

from dsl import syntax as S
from tierlang.lsp.analysis import Analysis
from tierlang.lsp.positions import to_range

_KINDS = {
    "input": types.SymbolKind.Variable,
    "param": types.SymbolKind.Constant,
    "indicator": types.SymbolKind.Field,
    "domain": types.SymbolKind.Module,
    "score": types.SymbolKind.Property,
    "let": types.SymbolKind.Variable,
    "tier": types.SymbolKind.Enum,
    "type": types.SymbolKind.TypeParameter,
    "function": types.SymbolKind.Function,
    "limit": types.SymbolKind.Operator,
    "test": types.SymbolKind.Event,
    "measures": types.SymbolKind.Struct,
}


def _kind(statement) -> str:
    if isinstance(statement, S.Definition):
        return statement.kind
    return {
        S.InputDecl: "input",
        S.ParamDecl: "param",
        S.TierDecl: "tier",
        S.TypeDecl: "type",
        S.FunctionDecl: "function",
        S.TableDecl: "function",  # a table is called like a function
        S.MeasuresDecl: "measures",
        S.LimitDecl: "limit",
        S.TestDecl: "test",
    }[type(statement)]


def document_symbols(analysis: Analysis, codec: PositionCodec) -> list[types.DocumentSymbol]:
    module = analysis.module
    if module is None:
        return []
    out = []
    for st in module.statements:
        kind = _kind(st)
        if isinstance(st, S.LimitDecl):
            name, selection = f"limit {st.tier} to {st.direction} {st.label.text}", st.tier_span
        elif isinstance(st, S.TestDecl):
            name, selection = f"test {st.name!r}", st.span
        else:
            name, selection = st.name, st.name_span
        if st.span is None or selection is None:
            continue
        out.append(
            types.DocumentSymbol(
                name=name,
                detail=" ".join(p for p in (kind, getattr(st, "display", None) or "") if p),
                kind=_KINDS[kind],
                range=to_range(st.span, analysis.text, codec),
                selection_range=to_range(selection, analysis.text, codec),
            )
        )
    return out
