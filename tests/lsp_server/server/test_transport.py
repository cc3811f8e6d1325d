"""LSP framing (lsp_server.server.transport) on scripted byte streams: lengths, header names, resynchronising,
the size cap, and the JSON-RPC errors for bodies that are not UTF-8, too deep, or batches."""
from __future__ import annotations

import asyncio
import io
import json

import pytest

from lsp_server.server import transport
from lsp_server.server.transport import (
    FrameError,
    dispatch,
    json_depth_and_id,
    read_frame,
)


class BytesReader:
    """The transport's Reader over fixed bytes; counts how many bytes were ever held at once."""

    def __init__(self, data: bytes) -> None:
        self.stream = io.BytesIO(data)
        self.largest_read = 0

    async def readline(self, limit: int) -> bytes:
        return self.stream.readline(limit)

    async def read(self, n: int) -> bytes:
        chunk = self.stream.read(n)
        self.largest_read = max(self.largest_read, len(chunk))
        return chunk


def frames(reader: BytesReader, max_bytes: int = 1 << 20) -> list[bytes]:
    async def run():
        out = []
        while (body := await read_frame(reader, max_bytes)) is not None:
            out.append(body)
        return out
    return asyncio.run(run())


def frame(body: bytes, header: bytes = b"Content-Length") -> bytes:
    return header + b": %d\r\n\r\n" % len(body) + body


def test_frames_are_read_with_any_header_case_and_extra_headers():
    data = (frame(b'{"a":1}') + frame(b'{"b":2}', b"content-length")
            + b"CONTENT-LENGTH: 7\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{\"c\":3}")
    assert frames(BytesReader(data)) == [b'{"a":1}', b'{"b":2}', b'{"c":3}']


def test_a_length_too_small_resynchronises_at_the_next_header():
    body = b'{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":1}}'
    data = b"Content-Length: %d\r\n\r\n" % (len(body) - 10) + body + frame(b'{"next":true}')
    assert frames(BytesReader(data)) == [body[:-10], b'{"next":true}']


def test_an_oversized_frame_is_discarded_in_chunks_never_held():
    big = b"x" * (5 * transport.DISCARD_CHUNK)
    reader = BytesReader(frame(big) + frame(b'{"after":1}'))
    assert frames(reader, max_bytes=1000) == [b"", b'{"after":1}']
    assert reader.largest_read <= transport.DISCARD_CHUNK


def test_an_absurd_length_ends_at_the_end_of_the_stream_without_allocating():
    reader = BytesReader(b"Content-Length: 100000000000000000000\r\n\r\n{}")
    assert frames(reader, max_bytes=1 << 26) == []
    assert reader.largest_read == 2


@pytest.mark.parametrize("data", [b"Content-Length: -5\r\n\r\n{}", b"Content-Length: 1e3\r\n\r\n{}",
                                  b"Content-Type: x\r\n\r\n{}", b"no colon here\r\n\r\n",
                                  b"Content-Length: " + b"9" * 40 + b"\r\n\r\n"])
def test_a_frame_that_cannot_be_read_is_a_frame_error(data):
    with pytest.raises(FrameError):
        frames(BytesReader(data))


def test_a_header_line_without_end_is_a_frame_error_not_an_allocation():
    with pytest.raises(FrameError, match="longer than"):
        frames(BytesReader(b"Content-Length: 1" + b"0" * 20_000))


def test_depth_and_id_scan_skips_strings_and_finds_the_top_level_id():
    assert json_depth_and_id(b'{"params":{"id":9,"s":"[[[{"},"id":41}') == (2, 41)
    assert json_depth_and_id(b'{"id":"abc","x":[[1]]}') == (3, "abc")
    assert json_depth_and_id(b'{"id":{"nested":1}}') == (2, None)
    assert json_depth_and_id(b"[" * 10_000)[0] == transport.MAX_JSON_DEPTH + 1


class FakeProtocol:
    def __init__(self):
        self.handled, self.errors = [], []

    def structure_message(self, data):
        return data

    def handle_message(self, message):
        self.handled.append(message)

    def reply_error_code(self, msg_id, code, message):
        self.errors.append((msg_id, code))


@pytest.mark.parametrize("body, expected", [
    (b'{"jsonrpc":"2.0","id":41,"method":"m","x":"\xff"}', [(41, -32700)]),
    (b'{"jsonrpc":"2.0","id":42,"deep":' + b"[" * 100_000 + b"]" * 100_000 + b"}", [(42, -32600)]),
    (json.dumps([{"jsonrpc": "2.0", "id": 44, "method": "shutdown"}]).encode(), [(44, -32600)]),
    (b"[]", [(None, -32600)]),
    (b'{"jsonrpc":"2.0","id":7,"method":', [(7, -32700)]),
])
def test_garbage_with_an_id_gets_exactly_one_error_reply(body, expected):
    protocol, crashes = FakeProtocol(), []
    dispatch(protocol, body, crashes.append)
    assert protocol.errors == expected and not protocol.handled and not crashes


def test_a_good_message_is_handed_over():
    protocol = FakeProtocol()
    dispatch(protocol, b'{"jsonrpc":"2.0","method":"initialized","params":{}}', print)
    assert protocol.handled == [{"jsonrpc": "2.0", "method": "initialized", "params": {}}]
