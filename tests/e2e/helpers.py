"""Helpers shared by the end-to-end tests: open documents, locate and apply edits, check parsing."""
from __future__ import annotations

import ast
import sys

from lsprotocol import types
from pytest_lsp import LanguageClient

from lsp_server.syntax.documents import Document, parse

SERVER = [sys.executable, "-m", "lsp_server", "serve"]


def open_doc(client: LanguageClient, uri: str, text: str) -> None:
    """didOpen a Python document at version 1."""
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, text)))


def position_of(text: str, needle: str, delta: int = 0) -> types.Position:
    """UTF-16 position of needle (+delta characters), as an LSP client would send it."""
    pos = Document("file:///p.py", text).position_at(text.index(needle) + delta, "utf-16")
    return types.Position(pos.line, pos.character)


def apply_edits(text: str, edits: list[types.TextEdit]) -> str:
    """Apply LSP text edits (UTF-16 ranges) to text, last first."""
    d = Document("file:///a.py", text)
    for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        start, end = d.offset_at(edit.range.start, "utf-16"), d.offset_at(edit.range.end, "utf-16")
        text = text[:start] + edit.new_text + text[end:]
    return text


def parses(text: str) -> bool:
    """True when tree-sitter finds no error and Python's own parser accepts the text."""
    tree = parse(text.encode("utf-8"))
    return tree is not None and not tree.root_node.has_error and bool(ast.parse(text))


def record_applied_edits(client: LanguageClient) -> list:
    """Answer workspace/applyEdit with applied=True and collect the params on client.applied."""
    client.applied = []

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: types.ApplyWorkspaceEditParams):
        client.applied.append(params)
        return types.ApplyWorkspaceEditResult(applied=True)

    return client.applied
