"""Exactly one reply per request over stdio, with a raw JSON-RPC client (no client-side validation).

Also: the server exits when the editor process named in `initialize` (processId) dies.
"""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

from .rawrpc import RawServer

pytestmark = pytest.mark.e2e

URI = "file:///e2e/rpc/person.py"
# load_config raises under a condition: its hover has a real line (a placeholder-only docstring gets no hover).
SOURCE = ("import os\n\n\ndef load_config(path, strict=False):\n    if strict and not path: raise ValueError(path)\n"
          "    return os.path.join(path)\n\n\n"
          "def main(argv):\n    if argv:\n")
TD = {"uri": URI}
INLINE = "textDocument/inlineCompletion"


def position(line: int, character: int) -> dict:
    return {"line": line, "character": character}


def inline_params(line: int, character: int, uri: str = URI) -> dict:
    return {"textDocument": {"uri": uri}, "position": position(line, character), "context": {"triggerKind": 1}}


def code(reply: dict) -> int | None:
    return reply["error"]["code"] if "error" in reply else None


def before_initialize(server: RawServer) -> None:
    server.notify("textDocument/didOpen", {"textDocument": {**TD, "languageId": "python", "version": 1,
                                                            "text": SOURCE}})
    assert code(server.call("pre-hover", "textDocument/hover", {"textDocument": TD,
                                                                "position": position(3, 6)})) == -32002
    assert code(server.call("pre-unknown", "quill/unknown", {})) == -32002


def malformed_requests(server: RawServer) -> None:
    bad_params = [
        {"textDocument": TD, "position": position(-1, 0)},
        {"textDocument": TD, "position": position(0, 2**40)},
        {"textDocument": TD, "position": {"line": None, "character": 0}},
        {"textDocument": TD, "position": {"line": "3", "character": 0}},
        {"textDocument": {"uri": 5}, "position": position(0, 0)},
        {"textDocument": TD}, None, [1, 2], "text",
    ]
    for i, params in enumerate(bad_params):
        for method in ("textDocument/hover", INLINE, "textDocument/completion"):
            server.request(f"bad-{method}-{i}", method, params)
    for i, _ in enumerate(bad_params):
        for method in ("textDocument/hover", INLINE, "textDocument/completion"):
            assert code(server.wait_reply(f"bad-{method}-{i}")) == -32602
    assert code(server.call("unknown", "quill/noSuchMethod", {"a": 1})) == -32601
    assert code(server.call("no-params", "quill/noSuchMethod")) == -32601
    server.send({"id": "no-jsonrpc", "method": "textDocument/hover", "params": {}})
    assert code(server.wait_reply("no-jsonrpc")) == -32600
    server.write(b"{this is not json")
    server.wait_reply(None)  # -32700 with "id": null
    server.write(b"[]")  # an empty batch
    server.notify("$/cancelRequest", {"id": "never-sent"})
    server.send({"jsonrpc": "2.0", "id": "not-ours", "result": {"x": 1}})
    server.notify("textDocument/didChange", {"textDocument": {**TD, "version": 9}, "contentChanges": [
        {"range": {"start": position(-1, 0), "end": position(0, 0)}, "text": "x"}]})
    assert code(server.call("command-bad-args", "workspace/executeCommand",
                            {"command": "quill.generateDocstring", "arguments": [None]})) == -32602
    assert code(server.call("command-unknown", "workspace/executeCommand", {"command": "quill.nope"})) == -32602
    hook = {"command": "quill.debug.documentText", "arguments": [URI]}  # exists only with --test-hooks
    assert code(server.call("command-hook", "workspace/executeCommand", hook)) == -32602


def valid_requests(server: RawServer, on_disk_uri: str) -> None:
    line = SOURCE.split("\n")[9]
    at_end = server.call("inline-end", INLINE, inline_params(9, len(line)), timeout=60)["result"]
    clamped = server.call("inline-clamped", INLINE, inline_params(9, 2**31 - 1))["result"]
    assert at_end["items"] and clamped == at_end  # past the end of a line means its end
    past_end = server.call("hover-past-end", "textDocument/hover",
                           {"textDocument": TD, "position": position(2**31 - 1, 2**31 - 1)})
    assert past_end["result"] is None
    hover = server.call("hover", "textDocument/hover", {"textDocument": TD, "position": position(3, 6)})
    assert "load_config" not in str(hover.get("error"))
    assert hover["result"] is not None
    # A real file with an undocumented function: answered from disk it would get a hover.
    unopened = {"textDocument": {"uri": on_disk_uri}, "position": position(3, 6)}
    assert server.call("unopened-hover", "textDocument/hover", unopened) == {
        "jsonrpc": "2.0", "id": "unopened-hover", "result": None}
    assert server.call("unopened-inline", INLINE, inline_params(9, 12, on_disk_uri))["result"] == {"items": []}


def test_every_request_gets_exactly_one_reply_with_the_right_code(tmp_path):
    on_disk = tmp_path / "person.py"
    on_disk.write_text(SOURCE, encoding="utf-8")
    server = RawServer()
    try:
        before_initialize(server)
        # No confidence gate: the protocol is under test, and every inline request below must get items.
        whole = {"inline": {"min_confidence": 0.0, "cut_logprob": -50.0}}  # whole suggestions, no gate
        capabilities = server.initialize(options=whole)["result"]["capabilities"]
        assert not [c for c in capabilities["executeCommandProvider"]["commands"] if c.startswith("quill.debug")]
        server.notify("textDocument/didOpen", {"textDocument": {**TD, "languageId": "python", "version": 1,
                                                                "text": SOURCE}})
        malformed_requests(server)
        valid_requests(server, on_disk.as_uri())
        assert server.call("shutdown", "shutdown") == {"jsonrpc": "2.0", "id": "shutdown", "result": None}
        assert code(server.call("after-shutdown", "textDocument/hover",
                                {"textDocument": TD, "position": position(0, 0)})) == -32600
        server.notify("exit")
        assert server.process.wait(10) == 0
    finally:
        server.process.kill()
    time.sleep(0.2)  # let the reader thread take the last bytes
    replies = [m for m in server.messages if "method" not in m]
    ids = [m["id"] for m in replies]
    named = [i for i in ids if i is not None]
    assert len(named) == len(set(named)), sorted(i for i in named if named.count(i) > 1)
    assert "never-sent" not in ids and "not-ours" not in ids
    # Null ids: the body that is not JSON, and the empty batch `[]` (JSON-RPC: one Invalid Request reply).
    assert [code(m) for m in replies if m["id"] is None] == [-32700, -32600]
    popups = [m for m in server.messages if m.get("method") == "window/showMessage"
              and "Error in server" in m["params"]["message"]]
    assert not popups, popups


def test_the_server_exits_when_the_editor_process_dies():
    editor = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    server = RawServer()
    try:
        server.initialize(process_id=editor.pid)
        time.sleep(1.5)
        assert server.process.poll() is None, "the server exited while its editor was alive"
        editor.kill()
        editor.wait()
        started = time.monotonic()
        server.process.wait(timeout=5)
        assert time.monotonic() - started < 5
    finally:
        editor.kill()
        server.process.kill()
