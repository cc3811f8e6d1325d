"""End-to-end textDocument/completion: buffer names ranked by the shipped model, through pytest-lsp."""
from __future__ import annotations

import sys

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

pytestmark = pytest.mark.e2e

SERVER = [sys.executable, "-m", "lsp_server", "serve"]
SOURCE = """import os
from collections import OrderedDict


class Person:
    def __init__(self, name, age):
        self.name = name
        self.age = age
        self.names_seen = []

    def rename(self, new_name):
        self.na
"""
CURSOR_LINE, CURSOR_COL = 11, len("        self.na")


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


async def _start(client: LanguageClient, options=None) -> None:
    await client.initialize_session(types.InitializeParams(capabilities=types.ClientCapabilities(),
                                                           initialization_options=options))


async def _complete(client: LanguageClient, uri: str, text: str, line: int, character: int) -> types.CompletionList:
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, text)))
    return await client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri), position=types.Position(line, character)))


async def test_items_at_self_include_assigned_attributes_as_fields_replacing_the_partial_word(client):
    await _start(client)
    result = await _complete(client, "file:///e2e/self.py", SOURCE, CURSOR_LINE, CURSOR_COL)
    by_label = {item.label: item for item in result.items}
    assert {"name", "names_seen"} <= set(by_label)
    assert all(label.startswith("na") or item.kind == types.CompletionItemKind.Text  # model guesses
               for label, item in by_label.items())
    for label in ("name", "names_seen"):
        item = by_label[label]
        assert item.kind in (types.CompletionItemKind.Field, types.CompletionItemKind.Property)
        assert item.text_edit.new_text == label
        assert item.text_edit.range == types.Range(types.Position(CURSOR_LINE, len("        self.")),
                                                   types.Position(CURSOR_LINE, CURSOR_COL))
    ranks = [item.sort_text for item in result.items]
    assert ranks == sorted(ranks)
    assert result.is_incomplete is True  # the model's proposals depend on what is typed next


async def test_the_text_edit_replaces_the_whole_word_when_the_cursor_is_inside_it(client):
    await _start(client)
    text = SOURCE.replace("        self.na\n", "        self.nak = 1\n")
    result = await _complete(client, "file:///e2e/inside.py", text, CURSOR_LINE, CURSOR_COL)
    edit = next(item.text_edit for item in result.items if item.label == "name")
    assert edit.range.end == types.Position(CURSOR_LINE, CURSOR_COL + 1)


async def test_identifier_items_have_kinds_from_the_buffer_and_are_ranked_by_the_model(client):
    await _start(client)
    text = SOURCE.replace("        self.na\n", "        o\n")
    result = await _complete(client, "file:///e2e/names.py", text, CURSOR_LINE, len("        o"))
    kinds = {item.label: item.kind for item in result.items}
    assert kinds["os"] == types.CompletionItemKind.Module
    assert kinds["OrderedDict"] == types.CompletionItemKind.Module
    assert all(item.detail.startswith("Quill") for item in result.items)
    assert "log p" in result.items[0].detail


async def test_without_model_ranking_a_short_list_is_complete(client):
    await _start(client, {"completion": {"model_ranking": False}})
    result = await _complete(client, "file:///e2e/plain.py", SOURCE, CURSOR_LINE, CURSOR_COL)
    assert [item.label for item in result.items] == ["names_seen", "name"]  # nearest first
    assert result.is_incomplete is False


async def test_no_items_inside_a_comment_or_string(client):
    await _start(client)
    text = SOURCE.replace("        self.na\n", "        x = 'self.na\n")
    result = await _complete(client, "file:///e2e/str.py", text, CURSOR_LINE, len("        x = 'self.na"))
    assert not result.items
