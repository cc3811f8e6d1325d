"""End-to-end (issue 16 §7, §8): excluded and non-Python documents get nothing, quill/documentStatus says why,
clients that register dynamically get the document features for Python only, and quill.stats counts a shown
and an accepted suggestion, through the real server over stdio with the shipped bundle."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

pytestmark = pytest.mark.e2e

SERVER = [sys.executable, "-m", "lsp_server", "serve", "--threads", "1"]
SOURCE = "class Person:\n    def __init__(self, name):\n        self."
CURSOR = types.Position(2, len("        self."))
# The pipeline's output is under test here, not the confidence gate; no workspace index to wait for.
OPTIONS = {"inline": {"min_confidence": 0.0, "exclude": ["generated/"]}, "project": {"index": False}}


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


async def _start(client: LanguageClient, root: Path, capabilities: types.ClientCapabilities | None = None):
    (root / ".quillignore").write_text("legacy/\n", encoding="utf-8")
    return await client.initialize_session(types.InitializeParams(
        capabilities=capabilities or types.ClientCapabilities(), root_uri=root.as_uri(),
        workspace_folders=[types.WorkspaceFolder(root.as_uri(), "project")], initialization_options=OPTIONS))


def _open(client: LanguageClient, path: Path, language: str = "python") -> str:
    uri = path.as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, language, 1, SOURCE)))
    return uri


async def _inline(client: LanguageClient, uri: str) -> list[types.InlineCompletionItem]:
    result = await client.text_document_inline_completion_async(types.InlineCompletionParams(
        context=types.InlineCompletionContext(types.InlineCompletionTriggerKind.Invoked),
        text_document=types.TextDocumentIdentifier(uri), position=CURSOR))
    return list(result.items)


async def _completion(client: LanguageClient, uri: str) -> list[types.CompletionItem]:
    result = await client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri), position=CURSOR))
    return list(result.items if isinstance(result, types.CompletionList) else (result or []))


async def _status(client: LanguageClient, uri: str):
    return await client.protocol.send_request_async("quill/documentStatus", {"textDocument": {"uri": uri}})


async def _command(client: LanguageClient, command: str, arguments: list):
    return await client.workspace_execute_command_async(types.ExecuteCommandParams(command, arguments))


async def test_excluded_and_non_python_documents_get_no_suggestions_and_say_why(client, tmp_path):
    await _start(client, tmp_path)
    python = _open(client, tmp_path / "person.py")
    by_setting = _open(client, tmp_path / "generated" / "person.py")
    by_quillignore = _open(client, tmp_path / "legacy" / "person.py")
    other = _open(client, tmp_path / "person.txt", "plaintext")
    assert await _inline(client, python), "the control document got no suggestion"
    assert (await _status(client, python)).active is True
    for uri, reason in ((by_setting, "excluded"), (by_quillignore, "excluded"), (other, "language")):
        assert await _inline(client, uri) == [], uri
        assert await _completion(client, uri) == [], uri
        found = await _status(client, uri)
        assert found.active is False and found.reason == reason, (uri, found)
    stats = await _command(client, "quill.stats", [])
    assert stats["shown"] == 1 and stats["requests"] == 4


async def test_quill_stats_counts_a_shown_and_an_accepted_suggestion(client, tmp_path):
    await _start(client, tmp_path)
    items = await _inline(client, _open(client, tmp_path / "person.py"))
    assert items and items[0].command is not None
    command = items[0].command
    assert command.command == "quill.accepted" and len(command.arguments) == 1
    before = await _command(client, "quill.stats", [])
    assert (before["shown"], before["accepted"], before["requests"]) == (1, 0, 1)
    assert before["mean_latency_ms"] is not None and before["mean_latency_ms"] > 0
    assert await _command(client, command.command, command.arguments) == {"recorded": True}  # as the editor runs it
    after = await _command(client, "quill.stats", [])
    assert (after["shown"], after["accepted"], after["partially_accepted"], after["acceptance_rate"]) == (1, 1, 0, 1.0)
    assert (await _command(client, "quill.accepted", ["q-unknown", 3]))["recorded"] is False


async def test_a_client_that_registers_dynamically_gets_the_features_for_python_only(client, tmp_path):
    registered: list[types.RegistrationParams] = []

    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register(params: types.RegistrationParams):
        registered.append(params)

    dynamic = types.ClientCapabilities(text_document=types.TextDocumentClientCapabilities(
        inline_completion=types.InlineCompletionClientCapabilities(dynamic_registration=True),
        completion=types.CompletionClientCapabilities(dynamic_registration=True)))
    result = await _start(client, tmp_path, dynamic)
    assert result.capabilities.inline_completion_provider is None and result.capabilities.completion_provider is None
    assert result.capabilities.hover_provider  # the client registers hover statically: it stays
    assert await _inline(client, _open(client, tmp_path / "person.py"))  # registrations are sent by now
    methods = {r.method: r.register_options for params in registered for r in params.registrations}
    assert set(methods) == {types.TEXT_DOCUMENT_INLINE_COMPLETION, types.TEXT_DOCUMENT_COMPLETION}
    for options in methods.values():  # as sent on the wire
        assert options["documentSelector"] == [{"language": "python"}]
