"""pytest-lsp helpers for the reliability tests: a server with `--test-hooks`, its debug commands, raw ids."""
from __future__ import annotations

import asyncio
import os
from typing import Any

from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from lsp_server.features.debug import CONFIGURE, DOCUMENT_TEXT, STATE

from .helpers import SERVER

HOOKED_SERVER = [*SERVER, "--test-hooks"]
# Strict: an internal error reaches its reply (-32603) instead of degrading to an empty answer.
HOOKED = ClientServerConfig(server_command=HOOKED_SERVER, server_env={**os.environ, "QUILL_STRICT": "1"})
INLINE = types.TEXT_DOCUMENT_INLINE_COMPLETION


async def start(client: LanguageClient, encoding: str = "utf-16", options: Any = None) -> None:
    """initialize (offering only `encoding`) + initialized."""
    caps = types.ClientCapabilities(general=types.GeneralClientCapabilities(position_encodings=[encoding]))
    result = await client.initialize_session(types.InitializeParams(capabilities=caps, initialization_options=options))
    assert result.capabilities.position_encoding == encoding


async def command(client: LanguageClient, name: str, *arguments: Any) -> Any:
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=name, arguments=list(arguments)))


async def document_text(client: LanguageClient, uri: str) -> dict | None:
    """The server's {text, version, tree} of uri (quill.debug.documentText)."""
    return await command(client, DOCUMENT_TEXT, uri)


async def state(client: LanguageClient) -> dict:
    """Per-document table sizes, pending futures, RSS and inference-thread wait (quill.debug.state)."""
    return await command(client, STATE)


async def slow_model(client: LanguageClient, step_delay_ms: int) -> None:
    """Make every model step take step_delay_ms longer (it still stops at once when cancelled)."""
    assert (await command(client, CONFIGURE, {"step_delay_ms": step_delay_ms}))["configured"]


def open_document(client: LanguageClient, uri: str, text: str, version: int = 1) -> None:
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", version, text)))


def change_document(client: LanguageClient, uri: str, version: int, changes: list[dict]) -> None:
    """didChange from plain JSON changes (as tests/reliability_support.draw_changes makes them)."""
    params = client.protocol._converter.structure(
        {"textDocument": {"uri": uri, "version": version}, "contentChanges": changes},
        types.DidChangeTextDocumentParams)
    client.text_document_did_change(params)


def inline_request(client: LanguageClient, uri: str, line: int, character: int, msg_id: Any) -> asyncio.Future:
    """Send an inline completion request with a fixed id now; its future resolves with the reply."""
    params = types.InlineCompletionParams(
        context=types.InlineCompletionContext(types.InlineCompletionTriggerKind.Invoked),
        text_document=types.TextDocumentIdentifier(uri), position=types.Position(line, character))
    return asyncio.wrap_future(client.protocol.send_request(INLINE, params, msg_id=msg_id))


def cancel(client: LanguageClient, msg_id: Any) -> None:
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=msg_id))


def count_replies(client: LanguageClient) -> dict[Any, int]:
    """From now on, count the replies the client receives per request id (duplicates included)."""
    counts: dict[Any, int] = {}
    protocol = client.protocol
    original = protocol._handle_response

    def handle_response(msg_id, result=None, error=None):
        counts[msg_id] = counts.get(msg_id, 0) + 1
        return original(msg_id, result, error)

    protocol._handle_response = handle_response
    return counts
