"""End-to-end project context: a function defined only in an unopened workspace file is completed.

The workspace is two files on disk. Only main.py is opened; helpers_zq.py defines (and uses) a name no model
could guess. With the workspace index the server completes it, inline and as a completion item; with the
index off it does not.
"""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

pytestmark = pytest.mark.e2e

SERVER = [sys.executable, "-m", "lsp_server", "serve", "--threads", "1"]
NAME = "quantize_flux_vortex"
HELPERS = f'''"""Helpers of a project the model never saw."""


def {NAME}(samples, ratio=0.5):
    """Scale the samples."""
    return [s * ratio for s in samples]


def twice(samples):
    first = {NAME}(samples)
    return {NAME}(first)


def thrice(samples):
    return {NAME}({NAME}({NAME}(samples)))
'''
MAIN = "import helpers_zq\n\n\ndef summarize(rows):\n    return helpers_zq.quan"


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


async def _start(client: LanguageClient, root: Path, options=None) -> str:
    (root / "helpers_zq.py").write_text(HELPERS, encoding="utf-8")
    (root / "main.py").write_text(MAIN, encoding="utf-8")
    await client.initialize_session(types.InitializeParams(
        capabilities=types.ClientCapabilities(), root_uri=root.as_uri(),
        workspace_folders=[types.WorkspaceFolder(root.as_uri(), "project")], initialization_options=options))
    uri = (root / "main.py").as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, MAIN)))
    return uri


async def _index_ready(client: LanguageClient) -> dict:
    for _ in range(200):
        stats = await client.protocol.send_request_async("quill/indexStats", {})
        if stats.state == "ready":
            return stats
        await asyncio.sleep(0.05)
    raise AssertionError(f"the index never got ready: {stats}")


async def _inline(client: LanguageClient, uri: str) -> list[str]:
    lines = MAIN.split("\n")
    result = await client.text_document_inline_completion_async(types.InlineCompletionParams(
        context=types.InlineCompletionContext(types.InlineCompletionTriggerKind.Invoked),
        text_document=types.TextDocumentIdentifier(uri), position=types.Position(len(lines) - 1, len(lines[-1]))))
    return [item.insert_text for item in result.items]


async def test_a_function_of_an_unopened_file_is_completed_inline_with_the_index(client, tmp_path):
    uri = await _start(client, tmp_path)
    stats = await _index_ready(client)
    assert stats.files == 2 and stats.tokens > 0
    texts = await _inline(client, uri)
    assert texts and texts[0].startswith(NAME[len("quan"):]), texts


async def test_without_the_index_the_name_is_not_guessed(client, tmp_path):
    uri = await _start(client, tmp_path, {"project": {"index": False}})
    texts = await _inline(client, uri)
    assert not any(NAME[len("quan"):] in t for t in texts), texts


async def _items(client: LanguageClient, uri: str) -> list[str]:
    lines = MAIN.split("\n")
    result = await client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri), position=types.Position(len(lines) - 1, len(lines[-1]))))
    return [item.label for item in result.items]


async def test_a_function_of_an_unopened_module_is_a_completion_item_with_the_index(client, tmp_path):
    uri = await _start(client, tmp_path)
    await _index_ready(client)
    labels = await _items(client, uri)
    assert NAME in labels, labels


async def test_without_the_index_the_module_offers_no_item(client, tmp_path):
    uri = await _start(client, tmp_path, {"project": {"index": False}})
    assert NAME not in await _items(client, uri)
