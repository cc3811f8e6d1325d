"""Quill: a local AI code assistant language server (serving needs no torch).

Layers, each importing only those below it (checked by import-linter, see pyproject.toml):
app -> features -> server -> config -> assists -> inline -> runtime | syntax -> bundle_format, errors.
"""

VERSION = "0.1.0"
__version__ = VERSION
