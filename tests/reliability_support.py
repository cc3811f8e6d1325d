"""Shared by the reliability tests: run sizes, an LSP text reference model, random edits, an in-process client.

Run sizes: the default run is small; QUILL_LONG=1 runs the long counts of issue 6.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import os
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from lsp_server.features.debug import tree_digest
from lsp_server.syntax.documents import parse

LONG = os.environ.get("QUILL_LONG", "") not in ("", "0")
long_only = pytest.mark.skipif(not LONG, reason="long run only: set QUILL_LONG=1")
ENCODINGS = ("utf-8", "utf-16", "utf-32")

# Text pieces the fuzzers splice together: every kind of width and every line-break pitfall.
FRAGMENTS = (
    "a", "x = 1", "é", "中文", "😀", "𝔘", " ", "    ", "\t", "\n", "\r\n", "\r", "\f", "\u2028", "\x85", "\v",
    "(", ")", "[", "]", ":", "'", '"', '"""', "#", "\\", "def f(x):\n    return x\n", "if é:\n    pass\n",
    "class C:\n", "    s = '😀'\r\n",
)
MAX_UNITS = 2**31 - 1  # the largest position LSP can express: clamped, not rejected


def scaled(default: int, long: int) -> int:
    """A run size: `long` with QUILL_LONG=1, else `default`."""
    return long if LONG else default


def units(s: str, encoding: str) -> int:
    """Length of s in the position units of encoding."""
    if encoding == "utf-8":
        return len(s.encode("utf-8"))
    if encoding == "utf-16":
        return sum(2 if ord(c) > 0xFFFF else 1 for c in s)
    return len(s)


def ref_lines(text: str) -> list[tuple[int, str]]:
    """(start offset, content) of each LSP line: only \\r\\n, \\r and \\n end a line."""
    lines, start, i = [], 0, 0
    while i < len(text):
        if text[i] in "\r\n":
            lines.append((start, text[start:i]))
            i += 2 if text.startswith("\r\n", i) else 1
            start = i
        else:
            i += 1
    return lines + [(start, text[start:])]


def ref_offset(text: str, line: int, character: int, encoding: str) -> int:
    """Offset of a position, clamped as LSP says; inside a character it rounds down to that character."""
    lines = ref_lines(text)
    if line >= len(lines):
        return len(text)
    start, content = lines[line]
    count = 0
    for i, ch in enumerate(content):
        count += units(ch, encoding)
        if count > character:
            return start + i
    return start + len(content)


def fresh_digest(text: str) -> str | None:
    """Tree digest of a fresh parse of text (what the server's incremental tree must equal)."""
    return tree_digest(parse(text.encode("utf-8"), budget_s=None))


Draw = Callable[[int, int], int]  # (lo, hi) -> an integer in [lo, hi]


def draw_text(draw: Draw, max_pieces: int = 6) -> str:
    """A short text made of FRAGMENTS."""
    return "".join(FRAGMENTS[draw(0, len(FRAGMENTS) - 1)] for _ in range(draw(0, max_pieces)))


def draw_position(draw: Draw, text: str, encoding: str) -> tuple[int, int]:
    """A position in (or just past, or far past) text, sometimes inside a multi-unit character."""
    lines = ref_lines(text)
    if draw(0, 30) == 0:
        return draw(0, len(lines) + 2), MAX_UNITS
    line = draw(0, len(lines))
    width = units(lines[line][1], encoding) if line < len(lines) else 0
    return line, draw(0, width + 2)


def draw_changes(draw: Draw, text: str, encoding: str) -> tuple[list[dict], str]:
    """1-3 LSP content changes (each relative to the text the previous one left) and the text after them."""
    changes = []
    for _ in range(draw(1, 3)):
        if draw(0, 15) == 0:
            text = draw_text(draw, 12)
            changes.append({"text": text})
            continue
        a, b = draw_position(draw, text, encoding), draw_position(draw, text, encoding)
        start, end = ref_offset(text, *a, encoding), ref_offset(text, *b, encoding)
        if start > end:
            a, b, start, end = b, a, end, start
        new = draw_text(draw)
        changes.append({"range": {"start": {"line": a[0], "character": a[1]},
                                  "end": {"line": b[0], "character": b[1]}}, "text": new})
        text = text[:start] + new + text[end:]
    return changes, text


class CaptureWriter:
    """A pygls writer that keeps every message the server sends and answers its requests."""

    def __init__(self, answer: Callable[[dict], None]) -> None:
        self.messages: list[dict] = []
        self._answer = answer

    def write(self, data: bytes) -> None:
        message = json.loads(data)
        self.messages.append(message)
        if "method" in message and "id" in message:
            self._answer(message)

    def close(self) -> None:
        pass


class InProcessClient:
    """Feeds JSON messages to a real QuillServer's protocol, exactly as its stdio reader would."""

    def __init__(self, server=None) -> None:
        from lsp_server.app import create_server
        self.server = server or create_server()
        self.writer = CaptureWriter(self._answer)
        self.server.protocol.set_writer(self.writer, include_headers=False)
        self._ids = itertools.count(1)

    def send(self, message: dict) -> None:
        protocol = self.server.protocol
        protocol.handle_message(json.loads(json.dumps(message), object_hook=protocol.structure_message))

    def notify(self, method: str, params: Any = None) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params: Any = None, msg_id: Any = None) -> Any:
        msg_id = next(self._ids) if msg_id is None else msg_id
        self.send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        return msg_id

    def _answer(self, request: dict) -> None:
        """Reply to a server request (workspace/applyEdit, progress) as an accepting client would."""
        result = {"applied": True} if request["method"] == "workspace/applyEdit" else None
        reply = {"jsonrpc": "2.0", "id": request["id"], "result": result}
        try:
            asyncio.get_running_loop().call_soon(self.send, reply)
        except RuntimeError:  # no event loop: answer at once
            self.send(reply)

    def replies(self, msg_id: Any) -> list[dict]:
        """Every reply sent so far for msg_id."""
        return [m for m in self.writer.messages if m.get("id") == msg_id and "method" not in m]

    async def reply(self, msg_id: Any, timeout: float = 10.0) -> dict:
        """The first reply for msg_id, once it has been sent."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.replies(msg_id):
            if loop.time() > deadline:
                raise AssertionError(f"no reply for request {msg_id!r}")
            await asyncio.sleep(0.002)
        return self.replies(msg_id)[0]

    async def one_reply_each(self, ids: Sequence[Any]) -> list[dict]:
        """The reply of each request, checking that none got a second one."""
        found = [await self.reply(msg_id) for msg_id in ids]
        await asyncio.sleep(0.01)  # a second reply would come right after the first
        for msg_id in ids:
            assert len(self.replies(msg_id)) == 1, self.replies(msg_id)
        return found

    def initialize(self, encoding: str = "utf-16", options: Any = None) -> dict:
        msg_id = self.request("initialize", {
            "processId": None, "rootUri": None, "initializationOptions": options,
            "capabilities": {"general": {"positionEncodings": [encoding]}}})
        (reply,) = self.replies(msg_id)
        return reply

    def did_open(self, uri: str, text: str, version: int = 1) -> None:
        self.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "python", "version": version, "text": text}})

    def did_change(self, uri: str, version: int, changes: Sequence[dict]) -> None:
        self.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version},
                                               "contentChanges": list(changes)})

    def did_close(self, uri: str) -> None:
        self.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
