"""Drive a language server over stdio the way an editor does while the user types (used by benchmarks.typing).

Each keystroke sends `$/cancelRequest` for the previous request if it is still unanswered, then
`didChange` (one incremental change), then the completion request at the new cursor. Latency is measured
on the client, from sending the request to parsing its response.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.client import LanguageClient

ANSWER_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Keystroke:
    """One change: code-point offsets and the UTF-16 range (LSP style) it replaces, and the cursor after it."""
    offsets: tuple[int, int]
    start: tuple[int, int]
    end: tuple[int, int]
    text: str
    cursor: tuple[int, int]


@dataclass
class Request:
    """One completion request as the client saw it."""
    version: int
    sent: float
    done: float | None = None
    outcome: str = "pending"  # answered | error | pending
    items: int = 0
    first: str = ""

    @property
    def ms(self) -> float:
        return (self.done - self.sent) * 1000


@dataclass
class Replay:
    """What one server did over one replay."""
    name: str
    method: str
    requests: list[Request] = field(default_factory=list)
    initialize_s: float | None = None    # process start -> initialize answered
    first_answer_s: float | None = None  # process start -> first answered completion request
    rss_mb: float = 0.0
    peak_rss_mb: float = 0.0
    stats: dict = field(default_factory=dict)


def _items(result) -> list[str]:
    """Item texts of an inline completion list or a completion list/array."""
    if result is None:
        return []
    items = result if isinstance(result, list) else getattr(result, "items", []) or []
    return [getattr(i, "insert_text", None) or getattr(i, "label", "") for i in items]


def _params(method: str, uri: str, line: int, character: int):
    where = dict(text_document=types.TextDocumentIdentifier(uri), position=types.Position(line, character))
    if method == types.TEXT_DOCUMENT_INLINE_COMPLETION:
        return types.InlineCompletionParams(
            context=types.InlineCompletionContext(types.InlineCompletionTriggerKind.Automatic), **where)
    return types.CompletionParams(**where)


def _send(client: LanguageClient, method: str, params, msg_id: int, version: int) -> tuple[Request, asyncio.Future]:
    request = Request(version, time.perf_counter())
    future = client.protocol.send_request(method, params, msg_id=msg_id)

    def done(fut) -> None:
        request.done = time.perf_counter()
        if fut.cancelled() or fut.exception() is not None:
            request.outcome = "error"
            return
        texts = _items(fut.result())
        request.outcome, request.items, request.first = "answered", len(texts), (texts[0] if texts else "")

    future.add_done_callback(done)
    wrapped = asyncio.wrap_future(future)
    wrapped.add_done_callback(lambda f: f.cancelled() or f.exception())  # retrieved: recorded by `done`
    return request, wrapped


def plain(obj):
    """A response of a method lsprotocol does not know (pygls makes namedtuples of it) as dicts and lists."""
    if hasattr(obj, "_asdict"):
        return {key: plain(value) for key, value in obj._asdict().items()}
    if isinstance(obj, list):
        return [plain(value) for value in obj]
    return obj


def rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident set size of a process in MB, from /proc."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    kb = lambda key: float(fields.get(key, "0 kB").split()[0])  # noqa: E731
    return kb("VmRSS") / 1024, kb("VmHWM") / 1024


async def _settle(future: asyncio.Future) -> None:
    """Wait for a request to finish; its outcome (an error too) is recorded by its callback."""
    try:
        await asyncio.wait_for(asyncio.shield(future), ANSWER_TIMEOUT_S)
    except (JsonRpcException, asyncio.TimeoutError):
        pass


def _incremental(result: types.InitializeResult) -> bool:
    """True when the server takes incremental didChange (else each change must carry the whole text)."""
    sync = result.capabilities.text_document_sync
    kind = sync.change if isinstance(sync, types.TextDocumentSyncOptions) else sync
    return kind == types.TextDocumentSyncKind.Incremental


def _change(key: Keystroke, text: str, incremental: bool):
    if not incremental:
        return types.TextDocumentContentChangeWholeDocument(text=text)
    return types.TextDocumentContentChangePartial(
        range=types.Range(types.Position(*key.start), types.Position(*key.end)), text=key.text)


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.read(65536):
        pass


async def _close(client: LanguageClient) -> None:
    """shutdown + exit; a server that does not exit within 5 s is terminated."""
    await client.shutdown_async(None)
    client.exit(None)
    try:
        await asyncio.wait_for(client._server.wait(), 5)
    except asyncio.TimeoutError:
        client._server.terminate()
    await client.stop()


async def _start(cmd: list[str], root: Path, options) -> tuple[LanguageClient, float, bool]:
    client = LanguageClient("quill-typing-benchmark", "1")
    started = time.perf_counter()
    await client.start_io(*cmd)
    # Nobody else reads the server's stderr: a full pipe would block a server that logs (jedi does).
    client._async_tasks.append(asyncio.create_task(_drain(client._server.stderr)))
    caps = types.ClientCapabilities(text_document=types.TextDocumentClientCapabilities(
        completion=types.CompletionClientCapabilities(),
        inline_completion=types.InlineCompletionClientCapabilities()))
    result = await client.initialize_async(types.InitializeParams(
        capabilities=caps, root_uri=root.as_uri(), initialization_options=options))
    client.initialized(types.InitializedParams())
    return client, started, _incremental(result)


async def replay(name: str, cmd: list[str], method: str, path: Path, text: str, opening: Keystroke,
                 keys: list[Keystroke], cadence_s: float, options=None, stats_method: str | None = None,
                 root: Path | None = None, settle_s: float = 0.0) -> Replay:
    """Start the server, open the file, apply `opening`, then type `keys` at `cadence_s` per keystroke.

    `root` is the workspace folder (default: the file's folder); `settle_s` waits after the first answer
    (e.g. for a workspace index to finish) before typing starts.
    """
    client, started, incremental = await _start(cmd, root or path.parent, options)
    out = Replay(name, method, initialize_s=time.perf_counter() - started)
    uri, version = path.as_uri(), 1
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, text)))
    pending: tuple[Request, asyncio.Future] | None = None
    for i, key in enumerate([opening, *keys]):
        tick = time.perf_counter()
        if pending is not None and not pending[1].done():
            client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=i - 1))
        version += 1
        text = text[:key.offsets[0]] + key.text + text[key.offsets[1]:]
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=version, uri=uri), [_change(key, text, incremental)]))
        pending = _send(client, method, _params(method, uri, *key.cursor), i, version)
        out.requests.append(pending[0])
        if i == 0:  # the first request waits for start-up (the model loading)
            await _settle(pending[1])
            out.first_answer_s = pending[0].done - started
            await asyncio.sleep(settle_s)
            continue
        await asyncio.sleep(max(0.0, tick + cadence_s - time.perf_counter()))
    await _settle(pending[1])
    out.rss_mb, out.peak_rss_mb = rss_mb(client._server.pid)
    if stats_method:
        out.stats = plain(await client.protocol.send_request_async(stats_method, {}))
    await _close(client)
    return out
