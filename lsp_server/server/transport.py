"""LSP framing and transports: Content-Length frames over stdio, one TCP client, or a private Unix socket.

Our own read loop instead of pygls's `run_async`, which a client could break: it matches only the exact
header `Content-Length: N`, so a lowercase name or a wrong length desynchronised it for good; it allocated
whatever length a header named (10^12 bytes: MemoryError before initialize); a body that is not UTF-8 or
JSON nested 100k deep became a pop-up instead of a reply; and its TCP server handed every connection the
same session. Here:

- header names are case-insensitive (they are HTTP-style); a frame's body is at most `max_bytes` (a larger
  one is read and discarded in chunks, never held, and logged); bytes before a `Content-Length` header (the
  tail of a frame whose length was too small) are skipped with a log line; a frame that cannot be read at
  all (no length, a header line that is not one) ends the session with a log line and exit status 2;
- every message with an id gets exactly one reply: not UTF-8 -> -32700, nested deeper than the JSON decoder
  recurses -> -32600, a batch (a JSON array: LSP has none) -> -32600 for each member with an id;
- TCP and Unix sockets serve one client: a second connection while one is active is refused and closed (it
  never sees the first client's traffic and cannot end its session); when the client leaves, the server ends.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import queue
import stat
import sys
import threading
from pathlib import Path
from typing import Any, Awaitable, Callable, Protocol

log = logging.getLogger("quill")

DEFAULT_MAX_MESSAGE_MB = 64  # the largest document a client may send in one frame (50 MB files were seen)
MAX_HEADER_LINE = 8192       # one header line; real ones are ~30 bytes
MAX_JSON_DEPTH = 512         # json_depth_and_id stops counting past this (it runs on unreadable bodies only)
DISCARD_CHUNK = 1 << 20
FRAME_ERROR_STATUS = 2       # exit status after a frame that cannot be read (the stream is lost)


class FrameError(Exception):
    """The byte stream is not LSP framing any more: nothing after this point can be trusted."""


class Reader(Protocol):
    """What the frame reader needs: a bounded readline and a read of at most n bytes ('' / b'' at EOF)."""

    def readline(self, limit: int) -> Awaitable[bytes]: ...

    def read(self, n: int) -> Awaitable[bytes]: ...


class ThreadReader:
    """A blocking binary stream (stdin) read in a daemon thread, so that neither the event loop nor the
    interpreter's exit ever waits for it (a client may keep stdin open after `exit`)."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.requests: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._serve, name="quill-stdin", daemon=True).start()

    def _serve(self) -> None:
        while True:
            future, call, arg = self.requests.get()
            try:
                result, error = call(arg), None
            except Exception as exc:  # handed to the awaiting coroutine
                result, error = None, exc
            loop = future.get_loop()
            if not loop.is_closed():
                loop.call_soon_threadsafe(_settle, future, result, error)

    def _submit(self, call, arg) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self.requests.put((future, call, arg))
        return future

    def readline(self, limit: int) -> Awaitable[bytes]:
        return self._submit(self.stream.readline, limit)

    def read(self, n: int) -> Awaitable[bytes]:
        return self._submit(self.stream.read, n)


def _settle(future: asyncio.Future, result: Any, error: Exception | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class SocketReader:
    """An asyncio StreamReader with the same two calls (its readline has no limit argument)."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self.reader = reader

    async def readline(self, limit: int) -> bytes:
        try:
            return await self.reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            return exc.partial
        except asyncio.LimitOverrunError:
            raise FrameError("a header line longer than the stream's buffer") from None

    async def read(self, n: int) -> bytes:
        return await self.reader.read(n)


async def _read_exactly(reader: Reader, n: int) -> bytes:
    """n bytes, or fewer when the stream ends first."""
    parts, got = [], 0
    while got < n:
        chunk = await reader.read(n - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


async def _discard(reader: Reader, n: int) -> bool:
    """Skip n bytes in bounded chunks; False when the stream ended first."""
    while n > 0:
        chunk = await reader.read(min(n, DISCARD_CHUNK))
        if not chunk:
            return False
        n -= len(chunk)
    return True


async def _headers(reader: Reader) -> dict[bytes, bytes] | None:
    """The header block of the next frame (names lowercased); None at the end of the stream."""
    headers: dict[bytes, bytes] = {}
    while True:
        line = await reader.readline(MAX_HEADER_LINE + 1)
        if not line:
            if headers:
                log.warning("the stream ended inside a frame's headers")
            return None
        if line in (b"\r\n", b"\n"):
            if headers:
                return headers
            continue  # blank lines between frames are harmless
        if len(line) > MAX_HEADER_LINE or not line.endswith(b"\n"):
            raise FrameError(f"a header line longer than {MAX_HEADER_LINE} bytes: {line[:60]!r}...")
        if (at := line.lower().find(b"content-length:")) > 0 and not headers:
            # The rest of a body whose Content-Length was too small, then the next frame: resynchronised.
            log.warning("skipped %d bytes before a Content-Length header (a previous frame's length was wrong)", at)
            line = line[at:]
        name, sep, value = line.partition(b":")
        if not sep:
            raise FrameError(f"not a header line: {line[:80]!r}")
        headers[name.strip().lower()] = value.strip()


async def read_frame(reader: Reader, max_bytes: int) -> bytes | None:
    """The next frame's body; None at the end of the stream; raises FrameError when framing is lost.

    A body over max_bytes is discarded (its length is honest, so the stream stays in step) and b"" returned.
    """
    headers = await _headers(reader)
    if headers is None:
        return None
    raw = headers.get(b"content-length")
    if raw is None:
        raise FrameError(f"a frame without Content-Length (headers: {sorted(headers)!r:.200})")
    if not raw.isdigit() or len(raw) > 30:
        raise FrameError(f"Content-Length {raw[:40]!r} is not a non-negative integer")
    length = int(raw)
    if length > max_bytes:
        log.error("a message of %d bytes is over the %d-byte limit (--max-message-mb): discarded unread",
                  length, max_bytes)
        return b"" if await _discard(reader, length) else None
    body = await _read_exactly(reader, length)
    if len(body) < length:
        log.warning("the stream ended inside a frame (%d of %d bytes)", len(body), length)
        return None
    return body


def json_depth_and_id(body: bytes) -> tuple[int, Any]:
    """(deepest nesting of arrays/objects, the top-level "id" if it is a plain number or string) by a scan
    that skips strings; stops counting past MAX_JSON_DEPTH + 1."""
    depth = deepest = i = 0
    n, found_id = len(body), None
    while i < n:
        c = body[i]
        if c == 0x22:  # a string: skip to its closing quote
            end = i + 1
            while end < n and body[end] != 0x22:
                end += 2 if body[end] == 0x5C else 1
            if depth == 1 and body[i:end + 1] == b'"id"':
                found_id = _scalar_after_colon(body, end + 1)
            i = end + 1
            continue
        if c in b"[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_JSON_DEPTH:
                break
        elif c in b"]}":
            depth -= 1
        i += 1
    return deepest, found_id


def _scalar_after_colon(body: bytes, i: int) -> Any:
    """The JSON number or string after `: ` at i, when it is one (an id worth echoing); else None."""
    rest = body[i:i + 200].lstrip()
    if not rest.startswith(b":"):
        return None
    rest = rest[1:].lstrip()
    for end in range(1, len(rest) + 1):
        try:
            value = json.loads(rest[:end].decode("utf-8", "strict"))
        except (ValueError, UnicodeDecodeError):
            continue
        if end == len(rest) or rest[end:end + 1] in b",} \t\r\n":
            return value if isinstance(value, (int, str)) and not isinstance(value, bool) else None
    return None


class MessageSink(Protocol):
    """The protocol side of the loop (lsp_server.server.protocol.ReliableProtocol)."""

    def structure_message(self, data: dict) -> Any: ...

    def handle_message(self, message: Any) -> None: ...

    def reply_error_code(self, msg_id: Any, code: int, message: str) -> None: ...


def dispatch(protocol: MessageSink, body: bytes, on_error: Callable[[Exception], None]) -> None:
    """Decode one frame's body and hand it to the protocol; protocol-level garbage gets its JSON-RPC error."""
    if not body:
        return  # a discarded over-long frame
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        _, msg_id = json_depth_and_id(body)
        log.warning("a message is not UTF-8 (%s)", exc)
        protocol.reply_error_code(msg_id, -32700, f"the message is not valid UTF-8: {exc.reason} at byte {exc.start}")
        return
    # The id is looked for only when the body cannot be read: a scan in Python costs ~0.1 s per MB.
    try:
        message = json.loads(text, object_hook=protocol.structure_message)
    except json.JSONDecodeError as exc:
        protocol.reply_error_code(json_depth_and_id(body)[1], -32700, f"not valid JSON: {exc}")
        return
    except RecursionError:  # the C decoder's limit, ~1,000 levels; LSP messages nest ~10 deep
        log.warning("a message nests too deeply to read")
        protocol.reply_error_code(json_depth_and_id(body)[1], -32600, "the message nests too deeply to read")
        return
    except Exception as exc:  # pygls's structuring of a message it cannot type: the protocol reports it
        on_error(exc)
        return
    if isinstance(message, list):
        _reject_batch(protocol, message)
        return
    try:
        protocol.handle_message(message)
    except SystemExit:
        raise
    except Exception as exc:  # a bug in routing: reported like pygls does, the loop goes on
        on_error(exc)


def _reject_batch(protocol: MessageSink, members: list) -> None:
    ids = [m.get("id") if isinstance(m, dict) else getattr(m, "id", getattr(m, "msg_id", None)) for m in members]
    ids = [i for i in ids if i is not None]
    log.warning("rejected a JSON-RPC batch of %d messages: LSP has no batches", len(members))
    for msg_id in ids or [None]:
        protocol.reply_error_code(msg_id, -32600, "batches (JSON arrays) are not part of LSP: send one message per frame")


async def serve_stream(reader: Reader, protocol: MessageSink, stop: threading.Event, max_bytes: int,
                       on_error: Callable[[Exception], None]) -> None:
    """Read and dispatch frames until the stream ends or stop is set; raises FrameError when framing is lost."""
    while not stop.is_set():
        body = await read_frame(reader, max_bytes)
        if body is None:
            return
        dispatch(protocol, body, on_error)


class OneClient:
    """A TCP or Unix-socket listener that serves one client: others are refused while it is connected."""

    def __init__(self, server: Any, max_bytes: int) -> None:
        self.server, self.max_bytes = server, max_bytes
        self.active = False
        self.result: int | None = None
        self.done = asyncio.Event()

    async def connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername") or writer.get_extra_info("sockname")
        if self.active or self.done.is_set():
            log.warning("refused a connection from %s: this server already has its client", peer)
            writer.close()
            return
        self.active = True
        log.info("client connected from %s", peer)
        self.server.protocol.set_writer(writer)
        try:
            self.result = await run_session(self.server, SocketReader(reader), self.max_bytes)
        finally:
            self.done.set()


async def run_session(server: Any, reader: Reader, max_bytes: int) -> int:
    """One client's session on an LSP server; the exit status (0 after shutdown + exit, 1 without shutdown)."""
    stop = server._stop_event
    try:
        await serve_stream(reader, server.protocol, stop, max_bytes, server.report_server_error)
    except FrameError as exc:
        log.error("the client's byte stream is not LSP framing any more (%s); ending the session", exc)
        return FRAME_ERROR_STATUS
    except SystemExit as exc:  # `exit`: pygls's handler says 0 after shutdown, 1 without
        return int(exc.code or 0)
    log.info("the client closed the connection")
    return 0 if server.protocol.shutdown_received else 1


def start_io(server: Any, max_bytes: int) -> int:
    """Serve over stdin/stdout; the exit status."""
    server._stop_event = threading.Event()
    server.protocol.set_writer(_StdoutWriter(sys.stdout.buffer))
    return _run(server, run_session(server, ThreadReader(sys.stdin.buffer), max_bytes))


def start_socket(server: Any, max_bytes: int, host: str | None = None, port: int | None = None,
                 path: Path | None = None) -> int:
    """Serve one client over TCP (host, port) or a Unix socket at path (mode 0600); the exit status."""
    server._stop_event = threading.Event()

    async def main() -> int:
        one = OneClient(server, max_bytes)
        if path is not None:
            listener = await _unix_listener(one.connection, path)
        else:
            listener = await asyncio.start_server(one.connection, host, port)
        where = path or ", ".join(str(s.getsockname()) for s in listener.sockets)
        log.info("waiting for one client on %s", where)
        async with listener:
            await one.done.wait()
        return one.result if one.result is not None else 1

    try:
        return _run(server, main())
    finally:
        if path is not None and path.is_socket():
            path.unlink()


def _run(server: Any, session: Awaitable[int]) -> int:
    """Run a session to its end; its exit status (also when `exit` ended it from a callback)."""
    try:
        return asyncio.run(session)
    except SystemExit as exc:  # `exit` handled in a callback rather than in dispatch
        return int(exc.code or 0)
    except BrokenPipeError:
        log.error("the client's end of the pipe is gone; stopping")
        return 1
    except KeyboardInterrupt:
        return 1
    finally:
        server.shutdown()


async def _unix_listener(handler, path: Path) -> asyncio.AbstractServer:
    """A Unix socket only this user can connect to; refuses to replace anything but a stale socket."""
    if path.exists() or path.is_symlink():
        if not stat.S_ISSOCK(path.lstat().st_mode):
            raise SystemExit(f"quill serve: {path} exists and is not a socket; choose another --socket path")
        path.unlink()
    old = os.umask(0o177)  # created 0600: no window in which another user could connect
    try:
        listener = await asyncio.start_unix_server(handler, path=str(path))
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    return listener


class _StdoutWriter:
    """pygls's writer interface over stdout."""

    def __init__(self, stdout) -> None:
        self._stdout = stdout

    def close(self) -> None:
        self._stdout.close()

    def write(self, data: bytes) -> None:
        self._stdout.write(data)
        self._stdout.flush()
