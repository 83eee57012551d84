"""`python -m tierlang.lsp`: the language server over stdio (the same as `tierlang lsp`)."""

from tierlang.lsp.server import main

main()
