"""`tierlang lsp`: a language server for the Tier language, over stdio (pygls).

One module per feature, each a function from an `analysis.Analysis` (the checker's report and
an index of names) to protocol types; `server` wires them to the protocol. The analysis reuses
the project's parser and checker: the server reports exactly what `tierlang check` reports.
"""
