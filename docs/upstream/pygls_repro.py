#!/usr/bin/env python3
"""Reproductions of pygls bugs for the upstream reports in docs/upstream/pygls-*.md.

Each case runs a bare pygls LanguageServer (SERVER below: no Quill code, only what the case needs) as a
subprocess, talks to it in raw JSON-RPC frames over stdio (or TCP), and prints what the LSP / JSON-RPC
specifications expect next to what pygls did. Needs only pygls (2.1.1 when written) and its lsprotocol.

    python docs/upstream/pygls_repro.py                 # every case
    python docs/upstream/pygls_repro.py exit-code ...   # some
"""
from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

SERVER = r'''
import asyncio, sys
from lsprotocol import types
from pygls.lsp.server import LanguageServer

server = LanguageServer("pygls-repro", "0")
FINISHED = []

@server.feature(types.TEXT_DOCUMENT_HOVER)
def hover(ls, params):
    return types.Hover(contents=f"hover at line {params.position.line}")

@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
async def did_save(ls, params):  # any async notification handler
    pass

@server.command("repro.unserializable")
def unserializable(ls, *args):
    return object()  # a bug in a handler: a result json.dumps cannot write

@server.command("repro.slow")
async def slow(ls, *args):
    await asyncio.sleep(3)
    FINISHED.append("repro.slow")  # a side effect, e.g. a file written
    return "finished"

@server.command("repro.finished")
def finished(ls, *args):
    return FINISHED

@server.command("repro.apply")
async def apply(ls, *args):
    result = await ls.workspace_apply_edit_async(types.ApplyWorkspaceEditParams(edit=types.WorkspaceEdit()))
    return f"client answered applied={result.applied}"

@server.command("repro.pending")
def pending(ls, *args):
    return len(ls.protocol._request_futures)

@server.command("repro.text")
def text(ls, uri):
    return ls.workspace.get_text_document(uri).source

if sys.argv[1:2] == ["tcp"]:
    server.start_tcp("127.0.0.1", int(sys.argv[2]))
else:
    server.start_io()
'''
INIT = {"processId": None, "rootUri": None, "capabilities": {}}


def frame(message) -> bytes:
    body = message if isinstance(message, bytes) else json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def read_frames(stream, out: queue.Queue) -> None:
    """Messages from a byte stream into out; None at its end."""
    while True:
        length = None
        while (line := stream.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        if not line or length is None:
            out.put(None)
            return
        out.put(json.loads(stream.read(length)))


class Peer:
    """The client side of one connection to the repro server."""

    def __init__(self, *args: str, connect: int | None = None):
        self.script = Path(tempfile.mkdtemp(prefix="pygls-repro-")) / "server.py"
        self.script.write_text(SERVER)
        self.stderr = open(self.script.with_name("stderr.log"), "w+b")
        self.proc = None if connect else subprocess.Popen(
            [sys.executable, str(self.script), *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self.stderr)
        if connect:
            self.sock = socket.create_connection(("127.0.0.1", connect))
            self.writer, reader = self.sock.makefile("wb"), self.sock.makefile("rb")
        else:
            self.writer, reader = self.proc.stdin, self.proc.stdout
        self.inbox: queue.Queue = queue.Queue()
        self.seen: list = []
        threading.Thread(target=read_frames, args=(reader, self.inbox), daemon=True).start()

    def send(self, *messages) -> None:
        self.writer.write(b"".join(m if isinstance(m, bytes) else frame(m) for m in messages))  # bytes: as is
        self.writer.flush()

    def request(self, msg_id, method: str, params=None) -> None:
        self.send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})

    def collect(self, seconds: float) -> list:
        """Every message that arrives within `seconds`, added to self.seen."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = self.inbox.get(timeout=left)
            except queue.Empty:
                break
            if message is None:
                break
            self.seen.append(message)
        return self.seen

    def reply(self, msg_id, seconds: float = 2.0):
        """The response to msg_id (its result or error), or None when none came."""
        deadline = time.monotonic() + seconds
        while True:
            found = [m for m in self.seen if m.get("id") == msg_id and "method" not in m]
            if found or time.monotonic() > deadline:
                return ({k: v for k, v in found[0].items() if k in ("result", "error")}) if found else None
            self.collect(0.1)

    def wait_for(self, method: str, seconds: float = 5.0) -> dict:
        """The first message from the server with this method."""
        deadline = time.monotonic() + seconds
        while not (found := [m for m in self.seen if m.get("method") == method]) and time.monotonic() < deadline:
            self.collect(0.1)
        return found[0]

    def pop_ups(self) -> list[str]:
        return [m["params"]["message"][:80] for m in self.seen if m.get("method") == "window/showMessage"]

    def initialize(self) -> None:
        self.request(0, "initialize", INIT)
        self.reply(0, 10)
        self.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})

    def end(self, seconds: float = 5.0) -> int | None:
        """Close our end; the server's exit status (None: still running after `seconds`, then killed)."""
        if self.proc is None:
            self.sock.close()
            return None
        self.proc.stdin.close()
        try:
            return self.proc.wait(seconds)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return None


HOVER = {"textDocument": {"uri": "file:///x.py"}, "position": {"line": 0, "character": 0}}


def command(peer: Peer, msg_id, name: str, *arguments) -> None:
    peer.request(msg_id, "workspace/executeCommand", {"command": name, "arguments": list(arguments)})


def invalid_params():
    """A request whose params do not match the method's type gets no response."""
    peer = Peer()
    peer.initialize()
    peer.request(1, "textDocument/hover", {**HOVER, "position": {"line": "one", "character": 0}})
    got = peer.reply(1)
    peer.end()
    return "a response to id 1 with error -32602 (InvalidParams)", f"response: {got}; pop-ups: {peer.pop_ups()}"


def before_initialize():
    """A request before `initialize` runs the handler instead of failing with -32002."""
    peer = Peer()
    peer.request(1, "textDocument/hover", HOVER)
    got = peer.reply(1)
    peer.end()
    return "error -32002 (ServerNotInitialized)", f"response: {got}"


def after_shutdown():
    """A request after `shutdown` gets no response at all."""
    peer = Peer()
    peer.initialize()
    peer.request(1, "shutdown")
    peer.reply(1)
    peer.request(2, "textDocument/hover", HOVER)
    got = peer.reply(2)
    peer.end()
    return "error -32600 (InvalidRequest) for id 2", f"response: {got}"


def malformed():
    """Messages that are not valid JSON-RPC requests get no response, only a pop-up."""
    peer = Peer()
    peer.initialize()
    hover = json.dumps({"jsonrpc": "2.0", "id": 0, "method": "textDocument/hover", "params": HOVER}).encode()
    cases = {
        "body is not JSON": b"{this is not json",
        "body is not UTF-8": hover.replace(b'"id": 0', b'"id": 2, "x": "\xff"'),
        "JSON nested 100k deep": hover.replace(b'"id": 0', b'"id": 3, "deep": ' + b"[" * 100_000 + b"]" * 100_000),
        'no "jsonrpc" member': json.dumps({"id": 4, "method": "textDocument/hover", "params": HOVER}).encode(),
        "a batch (JSON array)": json.dumps([{"jsonrpc": "2.0", "id": 5, "method": "shutdown"}]).encode(),
    }
    for body in cases.values():
        peer.send(frame(body))
    peer.collect(3)
    answered = {m.get("id"): m.get("error", {}).get("code") for m in peer.seen if "method" not in m}
    peer.end()
    observed = "; ".join(f"{name}: {answered.get(i + 1, 'no response') if i else answered.get(None, 'no response')}"
                         for i, name in enumerate(cases))
    return ("-32700 (ParseError, id null) for the first three, -32600 (InvalidRequest) for the last two",
            f"{observed}; pop-ups: {len(peer.pop_ups())}")


def unserializable_result():
    """A handler result that cannot be serialized is logged and never answered."""
    peer = Peer()
    peer.initialize()
    command(peer, 1, "repro.unserializable")
    got = peer.reply(1)
    peer.end()
    return "error -32603 (InternalError) for id 1", f"response: {got}; pop-ups: {peer.pop_ups()}"


def unreadable_response():
    """A client response that fails to deserialize leaves the server's awaiting request pending forever."""
    peer = Peer()
    peer.initialize()
    command(peer, 1, "repro.apply")
    ask = peer.wait_for("workspace/applyEdit")
    peer.send({"jsonrpc": "2.0", "id": ask["id"], "result": {"applied": "maybe", "failedChange": "x"}})
    got = peer.reply(1, 3)
    peer.end()
    return ("the awaiting workspace_apply_edit_async raises, so the command answers id 1 (with an error)",
            f"response to id 1 after 3 s: {got}; pop-ups: {peer.pop_ups()}")


def notification_leak():
    """Each notification handled by an async (or threaded, or generator) handler leaves a future behind."""
    peer = Peer()
    peer.initialize()
    save = {"jsonrpc": "2.0", "method": "textDocument/didSave", "params": {"textDocument": {"uri": "file:///x.py"}}}
    peer.send(*[save] * 500)
    peer.collect(1)
    command(peer, 1, "repro.pending")
    got = peer.reply(1)
    peer.end()
    return "0 entries in protocol._request_futures once they are handled", f"{got['result']} entries after 500 didSave"


def cancel_command():
    """$/cancelRequest answers -32800 for workspace/executeCommand, but the command runs on to completion."""
    peer = Peer()
    peer.initialize()
    command(peer, 1, "repro.slow")
    time.sleep(0.5)
    peer.send({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": 1}})
    got = peer.reply(1)
    time.sleep(3)
    command(peer, 2, "repro.finished")
    finished = peer.reply(2)
    peer.end()
    return ("-32800 for id 1, and the command stopped (repro.finished: [])",
            f"response: {got}; then repro.finished: {finished and finished.get('result')}")


def framing():
    """One frame with a wrong Content-Length, or a header name in lower case, and no later request is read."""
    observed = []
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "textDocument/hover", "params": HOVER}).encode()
    for label, bad in (("Content-Length 10 too small", b"Content-Length: %d\r\n\r\n" % (len(body) - 10) + body),
                       ("header name 'content-length'", b"content-length: %d\r\n\r\n" % len(body) + body)):
        peer = Peer()
        peer.initialize()
        peer.send(bad)
        for msg_id in (2, 3, 4):
            peer.request(msg_id, "textDocument/hover", HOVER)
        answered = sum(peer.reply(msg_id) is not None for msg_id in (2, 3, 4))
        observed.append(f"{label}: {answered} of 3 later well-formed requests answered")
        peer.end()
    return "the bad frame is answered with an error or dropped, and the 3 requests after it are answered", \
        "; ".join(observed)


def huge_length():
    """A Content-Length of 10^12 ends the server process (MemoryError / OverflowError) before `initialize`."""
    peer = Peer()
    peer.send(b"Content-Length: 1000000000000\r\n\r\n{}")
    time.sleep(3)
    alive = peer.proc.poll() is None
    status = peer.end()
    peer.stderr.seek(0)
    last = (peer.stderr.read().decode(errors="replace").strip().splitlines() or ["(nothing)"])[-1]
    return "the frame is refused (too large) and the server keeps serving", \
        f"alive after 3 s: {alive}; exit status {status}; last stderr line: {last[:100]}"


def exit_code():
    """`exit` without `shutdown` ends start_io() normally: the process exits 0 instead of 1."""
    peer = Peer()
    peer.initialize()
    peer.send({"jsonrpc": "2.0", "method": "exit"})
    try:
        status = peer.proc.wait(5)
    except subprocess.TimeoutExpired:
        status = None
    peer.end()
    return "exit status 1 (LSP: 1 when no shutdown request came first)", f"exit status {status}"


def tcp_takeover(port: int = 28_467):
    """start_tcp(): a second connection takes over the first client's session and its responses."""
    server = subprocess.Popen([sys.executable, "-c", SERVER, "tcp", str(port)], stderr=subprocess.DEVNULL)
    try:
        time.sleep(2)
        editor = Peer(connect=port)
        editor.initialize()
        intruder = Peer(connect=port)  # any local process; it sends nothing
        time.sleep(0.5)
        editor.request(1, "textDocument/hover", HOVER)
        got_editor, got_intruder = editor.reply(1), intruder.reply(1)
        intruder.end()
        time.sleep(1)
        alive = server.poll() is None
    finally:
        server.kill()
    return ("the second connection is refused or gets its own session; the editor gets its response",
            f"editor got: {got_editor}; the second connection got: {got_intruder}; "
            f"server alive after the second one closed: {alive}")


def line_breaks():
    """Documents are split into lines with str.splitlines, so an edit after a form feed lands in the wrong place."""
    peer = Peer()
    peer.initialize()
    uri, text = "file:///ff.py", "x = '\f'\ny = 1\n"
    peer.send({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
        "textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}})
    peer.send({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
        "textDocument": {"uri": uri, "version": 2},
        "contentChanges": [{"range": {"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 1}},
                            "text": "z"}]}})
    command(peer, 1, "repro.text", uri)
    got = peer.reply(1)
    peer.end()
    return repr("x = '\f'\nz = 1\n"), repr(got and got.get("result"))


CASES = {"invalid-params": invalid_params, "before-initialize": before_initialize, "after-shutdown": after_shutdown,
         "malformed": malformed, "unserializable-result": unserializable_result,
         "unreadable-response": unreadable_response, "notification-leak": notification_leak,
         "cancel-command": cancel_command, "framing": framing, "huge-length": huge_length, "exit-code": exit_code,
         "tcp-takeover": tcp_takeover, "line-breaks": line_breaks}


def main(names: list[str]) -> int:
    from importlib.metadata import version
    print(f"pygls {version('pygls')}, lsprotocol {version('lsprotocol')}, Python {sys.version.split()[0]}, "
          f"{sys.platform}")
    for name in names or CASES:
        case = CASES[name]
        expected, observed = case()
        print(f"\n[{name}] {case.__doc__}\n  expected: {expected}\n  observed: {observed}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main(sys.argv[1:]))
