"""End-to-end: work reused across keystrokes, seen through the hidden quill/stats request."""
from __future__ import annotations

import sys

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

pytestmark = pytest.mark.e2e

SERVER = [sys.executable, "-m", "lsp_server", "serve", "--threads", "1"]
# Places where the shipped model has something to say; the first with a suggestion of 2+ characters is used.
SOURCES = [
    "class Person:\n    def __init__(self, name):\n        self.",
    "import os\n\n\ndef read(path):\n    with open(path) as fh:\n        return ",
    "def add(a, b):\n    return ",
]


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(types.InitializeParams(capabilities=types.ClientCapabilities()))
    yield
    await lsp_client.shutdown_session()


async def _inline(client: LanguageClient, uri: str, line: int, character: int) -> list[str]:
    result = await client.text_document_inline_completion_async(types.InlineCompletionParams(
        context=types.InlineCompletionContext(types.InlineCompletionTriggerKind.Automatic),
        text_document=types.TextDocumentIdentifier(uri), position=types.Position(line, character)))
    return [item.insert_text for item in result.items]


def _type(client: LanguageClient, uri: str, version: int, line: int, character: int, text: str) -> None:
    at = types.Position(line, character)
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        types.VersionedTextDocumentIdentifier(version=version, uri=uri),
        [types.TextDocumentContentChangePartial(range=types.Range(at, at), text=text)]))


def plain(obj):
    """pygls returns an unknown method's result as namedtuples: back to dicts."""
    if hasattr(obj, "_asdict"):
        return {key: plain(value) for key, value in obj._asdict().items()}
    return [plain(value) for value in obj] if isinstance(obj, list) else obj


async def _last_answer(client: LanguageClient) -> dict:
    return plain(await client.protocol.send_request_async("quill/stats", {}))["answers"][-1]


async def _a_suggestion(client: LanguageClient) -> tuple[str, int, int, str]:
    for i, text in enumerate(SOURCES):
        uri = f"file:///e2e/typing{i}.py"
        client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, text)))
        line, col = text.count("\n"), len(text.split("\n")[-1])
        items = await _inline(client, uri, line, col)
        if items and len(items[0]) >= 2 and "\n" not in items[0][:2]:
            return uri, line, col, items[0]
    pytest.fail("the shipped model suggested nothing to type through")


async def test_typing_the_start_of_a_suggestion_is_answered_from_it(client: LanguageClient):
    uri, line, col, suggestion = await _a_suggestion(client)
    assert (await _last_answer(client))["source"] == "model"
    _type(client, uri, 2, line, col, suggestion[0])
    assert (await _inline(client, uri, line, col + 1))[0] == suggestion[1:]
    assert await _last_answer(client) == {"version": 2, "source": "typed", "reused_tokens": 0, "prompt_tokens": 0}


async def test_a_keystroke_off_the_suggestion_runs_the_model_on_the_new_tokens_only(client: LanguageClient):
    uri, line, col, suggestion = await _a_suggestion(client)
    first = await _last_answer(client)
    # Not a word character: a typed word's start is healed (left out of the prompt), which would leave
    # the prompt unchanged and run no prompt tokens at all.
    off = "(" if suggestion[0] != "(" else "["
    _type(client, uri, 2, line, col, off)
    await _inline(client, uri, line, col + 1)
    answer = await _last_answer(client)
    assert answer["version"] == 2 and answer["source"] in ("model", "none")
    assert 0 < answer["reused_tokens"] < answer["prompt_tokens"]
    assert answer["reused_tokens"] >= first["prompt_tokens"] - 3  # only the prompt's end changed (SPM)
