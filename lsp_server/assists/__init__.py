"""Assists beyond inline completion, each a pure core over a document snapshot: docstrings (with
name_phrases), generated bodies, and model-ranked completion names. A new assist is a new module here, and
its LSP method a new module in lsp_server.features."""
