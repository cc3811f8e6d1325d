"""Quill: a local AI code assistant language server (serving needs no torch)."""

__version__ = "0.1.0"
