"""End-to-end: the real `quill serve` over stdio with the shipped bundle, driven by pytest-lsp."""
from __future__ import annotations

import sys

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from lsp_server.syntax.documents import parse

pytestmark = pytest.mark.e2e

SERVER = [sys.executable, "-m", "lsp_server", "serve"]
INIT_SOURCE = "class Person:\n    def __init__(self, name):\n        self."


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient):
    # The pipeline's output is under test here, not the confidence gate (tests/lsp_server/inline/test_confidence.py).
    lsp_client.init_result = await lsp_client.initialize_session(types.InitializeParams(
        capabilities=types.ClientCapabilities(), initialization_options={"inline": {"min_confidence": 0.0}}))
    yield
    await lsp_client.shutdown_session()


def _open(client: LanguageClient, uri: str, text: str, version: int = 1) -> None:
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", version, text)))


async def _inline(client: LanguageClient, uri: str, line: int, character: int) -> types.InlineCompletionList:
    return await client.text_document_inline_completion_async(types.InlineCompletionParams(
        context=types.InlineCompletionContext(types.InlineCompletionTriggerKind.Invoked),
        text_document=types.TextDocumentIdentifier(uri), position=types.Position(line, character)))


def _insert(text: str, line: int, character: int, insert: str) -> str:
    lines = text.split("\n")
    lines[line] = lines[line][:character] + insert + lines[line][character:]
    return "\n".join(lines)


async def test_initialize_advertises_inline_completion_and_incremental_sync(client: LanguageClient):
    caps = client.init_result.capabilities
    assert caps.inline_completion_provider
    assert caps.completion_provider is not None
    sync = caps.text_document_sync
    assert getattr(sync, "change", sync) == types.TextDocumentSyncKind.Incremental
    assert caps.position_encoding in (None, types.PositionEncodingKind.Utf16)


async def test_inline_completion_after_self_dot_is_nonempty_and_parses(client: LanguageClient):
    uri = "file:///e2e/person.py"
    _open(client, uri, INIT_SOURCE)
    result = await _inline(client, uri, 2, len("        self."))
    assert isinstance(result, types.InlineCompletionList)
    assert result.items, "the shipped model gave no suggestion after `self.`"
    text = result.items[0].insert_text
    assert isinstance(text, str) and text.strip()
    assert "<fim_" not in text and "<eos>" not in text
    completed = _insert(INIT_SOURCE, 2, len("        self."), text)
    tree = parse(completed.encode("utf-8"))
    assert tree is not None and not tree.root_node.has_error, completed
    assert result.items[0].range.start == types.Position(2, len("        self."))


async def test_completion_offers_names_replacing_the_typed_word(client: LanguageClient):
    uri = "file:///e2e/items.py"
    source = "class Person:\n    def __init__(self, name):\n        self.na"
    _open(client, uri, source)
    result = await client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri), position=types.Position(2, len("        self.na"))))
    assert isinstance(result, types.CompletionList)
    assert result.items, "neither the buffer nor the model offered a name after `self.na`"
    for item in result.items:
        edit = item.text_edit
        assert edit.range.start == types.Position(2, len("        self."))
        assert edit.new_text == item.label and edit.new_text.startswith("na")


async def test_positions_are_utf16_after_non_ascii_text(client: LanguageClient):
    uri = "file:///e2e/unicode.py"
    line = '        self.greeting = "héllo 😀"; self.'
    source = "class Person:\n    def __init__(self, name):\n" + line
    _open(client, uri, source)
    utf16_col = len(line.encode("utf-16-le")) // 2  # the emoji is two UTF-16 units
    result = await _inline(client, uri, 2, utf16_col)
    for item in result.items:
        assert item.range.start == types.Position(2, utf16_col)


async def test_incremental_edits_are_applied_before_completing(client: LanguageClient):
    uri = "file:///e2e/edit.py"
    _open(client, uri, "import os\n\n\ndef main():\n    pass\n")
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        types.VersionedTextDocumentIdentifier(version=2, uri=uri),
        [types.TextDocumentContentChangePartial(
            range=types.Range(types.Position(4, 4), types.Position(4, 8)), text="path = os.")]))
    result = await _inline(client, uri, 4, len("    path = os."))
    assert isinstance(result, types.InlineCompletionList)
    for item in result.items:
        assert "pass" not in item.insert_text.split("\n")[0]


async def test_unopened_document_gets_an_empty_answer(client: LanguageClient):
    result = await _inline(client, "file:///e2e/never-opened.py", 0, 0)
    assert isinstance(result, types.InlineCompletionList) and not result.items


async def test_no_suggestion_inside_a_comment(client: LanguageClient):
    uri = "file:///e2e/comment.py"
    _open(client, uri, "def f():\n    # compute the sum of")
    result = await _inline(client, uri, 1, len("    # compute the sum of"))
    assert not result.items
