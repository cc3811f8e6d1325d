"""A raw JSON-RPC client over stdio: bytes with Content-Length headers, no client-side validation.

pytest-lsp's client checks params before sending, which would hide exactly the server bugs the
reliability tests look for; this one writes whatever it is given and records every message.
"""
from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

SERVE = [sys.executable, "-m", "lsp_server", "serve"]


class RawServer:
    """`quill serve` in a subprocess; every message it sends is kept in order."""

    def __init__(self, *flags: str, prefix: tuple[str, ...] = (), env: dict | None = None) -> None:
        self.stderr = tempfile.TemporaryFile()
        # Strict: an internal error must reach its reply (-32603) instead of degrading to an empty answer.
        self.process = subprocess.Popen([*prefix, *SERVE, *flags], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=self.stderr, env={**os.environ, "QUILL_STRICT": "1", **(env or {})})
        self.messages: list[dict] = []
        self._arrived: queue.Queue[dict] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        stream = self.process.stdout
        while True:
            length = None
            while True:
                line = stream.readline()
                if not line:
                    return
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
                elif line in (b"\r\n", b"\n") and length is not None:
                    break
            message = json.loads(stream.read(length))
            self.messages.append(message)
            self._arrived.put(message)
            if "method" in message and "id" in message:  # a request to the client: accept it
                result = {"applied": True} if message["method"] == "workspace/applyEdit" else None
                self.send({"jsonrpc": "2.0", "id": message["id"], "result": result})

    def write(self, body: bytes) -> None:
        """Send one framed body as is (it need not be valid JSON)."""
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()

    def send(self, message: Any) -> None:
        self.write(json.dumps(message).encode("utf-8"))

    def request(self, msg_id: Any, method: str, params: Any = None) -> None:
        self.send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})

    def notify(self, method: str, params: Any = None) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def replies(self, msg_id: Any) -> list[dict]:
        """Replies (results or errors) received so far for msg_id."""
        return [m for m in list(self.messages) if "method" not in m and m.get("id") == msg_id]

    def wait_reply(self, msg_id: Any, timeout: float = 30.0) -> dict:
        """The first reply for msg_id; AssertionError when none comes in time."""
        deadline = time.monotonic() + timeout
        while not self.replies(msg_id):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no reply for {msg_id!r}; stderr:\n{self.stderr_text()[-3000:]}")
            try:
                self._arrived.get(timeout=min(remaining, 0.1))
            except queue.Empty:
                pass
        return self.replies(msg_id)[0]

    def call(self, msg_id: Any, method: str, params: Any = None, timeout: float = 30.0) -> dict:
        self.request(msg_id, method, params)
        return self.wait_reply(msg_id, timeout)

    def initialize(self, msg_id: Any = "init", process_id: int | None = None, options: Any = None,
                   capabilities: dict | None = None) -> dict:
        reply = self.call(msg_id, "initialize", {"processId": process_id, "rootUri": None,
                                                 "capabilities": capabilities or {}, "initializationOptions": options})
        self.notify("initialized", {})
        return reply

    def stderr_text(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode("utf-8", "replace")

    def close(self, timeout: float = 10.0) -> int:
        """shutdown + exit (when still running); the exit status."""
        if self.process.poll() is None:
            try:
                self.call("close-shutdown", "shutdown", timeout=timeout)
                self.notify("exit")
                self.process.stdin.close()
            except (AssertionError, OSError):
                self.process.kill()
        try:
            return self.process.wait(timeout)
        finally:
            self.stderr.close()
