"""End-to-end: `quill serve --bundle <broken bundle>` still serves, says what is wrong once, and exits cleanly;
a healthy server never imports torch and opens no network connection over stdio.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from bundle_fixtures import BROKEN
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from lsp_server.features.debug import MODULES

from .helpers import SERVER, open_doc

pytestmark = pytest.mark.e2e

URI = "file:///e2e/bundles.py"
SOURCE = ("import os\nvalue = 1\n\n\ndef load_config(path: str, strict: bool = False) -> dict:\n"
          "    if strict and not path:\n        raise ValueError('empty')\n    return {}\n\n\nprint(val")
END = types.Position(10, len("print(val"))
# Runs the real server under an audit hook that records every attempt at a network socket.
AUDITED = """
import os, socket, sys
log = open(os.environ["QUILL_AUDIT_LOG"], "a", buffering=1)
INET = (socket.AF_INET, socket.AF_INET6)
def hook(event, args):
    if event in ("socket.connect", "socket.bind", "socket.getaddrinfo", "socket.gethostbyname",
                 "socket.sendto", "socket.sendmsg") or (event == "socket.__new__" and args[1] in INET):
        log.write(f"{event} {args!r}\\n")
sys.addaudithook(hook)
from quill.cli import main
sys.exit(main(sys.argv[1:]))
"""


async def _session(command: list[str], env: dict | None = None) -> LanguageClient:
    client = await ClientServerConfig(server_command=command, server_env=env).start()
    result = await client.initialize_session(types.InitializeParams(capabilities=types.ClientCapabilities()))
    assert result.capabilities.hover_provider and result.capabilities.inline_completion_provider
    return client


async def _inline(client: LanguageClient) -> types.InlineCompletionList:
    return await client.text_document_inline_completion_async(types.InlineCompletionParams(
        context=types.InlineCompletionContext(types.InlineCompletionTriggerKind.Invoked),
        text_document=types.TextDocumentIdentifier(URI), position=END))


async def _end(client: LanguageClient) -> int:
    """shutdown + exit; the server's exit code."""
    await client.shutdown_session()
    return client._server.returncode


async def _close(client: LanguageClient) -> None:
    """Stop the client; a server still running (a failed test) is killed, not waited for."""
    if client._server is not None and client._server.returncode is None:
        client._server.kill()
    await client.stop()


@pytest.mark.parametrize("case", list(BROKEN))
async def test_a_broken_bundle_gets_one_message_and_the_other_features_keep_working(case, tmp_path):
    build, words = BROKEN[case]
    client = await _session([*SERVER, "--bundle", str(build(tmp_path))])
    try:
        open_doc(client, URI, SOURCE)
        started = time.perf_counter()
        assert not (await _inline(client)).items  # answered once loading failed: no model, no hang
        assert time.perf_counter() - started < 10
        (message,) = client.messages
        assert message.type == types.MessageType.Error
        assert all(word in message.message for word in words), message.message
        hover = await client.text_document_hover_async(types.HoverParams(
            types.TextDocumentIdentifier(URI), types.Position(4, len("def load_"))))
        assert "no summary" in hover.contents.value and "ValueError: If strict and not path." in hover.contents.value
        items = await client.text_document_completion_async(types.CompletionParams(
            types.TextDocumentIdentifier(URI), END))
        assert [item.label for item in items.items] == ["value"]
        assert len(client.messages) == 1
        assert await _end(client) == 0
    finally:
        await _close(client)


async def test_the_stdio_server_never_imports_torch_nor_opens_a_network_socket(tmp_path):
    audit = tmp_path / "audit.log"
    audit.touch()
    command = [sys.executable, "-c", AUDITED, "serve", "--test-hooks"]
    client = await _session(command, {**os.environ, "QUILL_AUDIT_LOG": str(audit)})
    try:
        open_doc(client, URI, SOURCE)
        assert (await _inline(client)).items is not None
        await client.text_document_hover_async(types.HoverParams(
            types.TextDocumentIdentifier(URI), types.Position(4, len("def load_"))))
        await client.text_document_completion_async(types.CompletionParams(types.TextDocumentIdentifier(URI), END))
        modules = await client.workspace_execute_command_async(types.ExecuteCommandParams(command=MODULES))
        assert modules == {"unsafe": [], "engine": True}
        assert await _end(client) == 0
    finally:
        await _close(client)
    assert Path(audit).read_text() == ""


def test_the_audit_hook_does_record_a_socket(tmp_path):
    """Control for the test above: the same hook sees `quill serve --tcp` bind its port."""
    audit = tmp_path / "audit.log"
    audit.touch()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-c", AUDITED, "serve", "--tcp", "--port", str(port)],
                              env={**os.environ, "QUILL_AUDIT_LOG": str(audit)}, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while "socket.bind" not in audit.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert f"('127.0.0.1', {port})" in audit.read_text()
    finally:
        server.kill()
        server.wait(timeout=10)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_in_the_bundle_never_blocks_requests_or_exit(tmp_path):
    """tokenizer.json as a FIFO once blocked loading forever, every model request with it, and `exit` too."""
    from bundle_fixtures import copy_bundle

    from .rawrpc import RawServer
    folder = copy_bundle(tmp_path / "fifo")
    (folder / "tokenizer.json").unlink()
    os.mkfifo(folder / "tokenizer.json")
    server = RawServer("--bundle", str(folder))
    try:
        server.initialize()
        server.notify("textDocument/didOpen", {"textDocument": {"uri": "file:///w/a.py", "languageId": "python",
                                                                "version": 1, "text": "def area(r):\n    if r < 0:\n"
                                                                "        raise ValueError(r)\n"}})
        hover = server.call("hover", "textDocument/hover", {"textDocument": {"uri": "file:///w/a.py"},
                                                            "position": {"line": 0, "character": 5}}, timeout=15)
        assert hover["result"] is not None  # no model, the feature still answers (the raise condition)
    finally:
        assert server.close(timeout=10) == 0
