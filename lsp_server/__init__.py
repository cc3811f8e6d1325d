"""Quill language server: LSP front end for local AI code completion."""
