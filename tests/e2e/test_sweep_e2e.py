"""Every feature at every 7th token of real files, with a strict server: zero errors.

The server runs with QUILL_STRICT=1, so an internal error fails its request (-32603) instead of degrading
to an empty answer. Inline completion, completion, hover and code actions are asked at every 7th token
(alternately its start and its end, from tokenize, sent in the negotiated encoding), one request at a time.

Default run: shlex.py (non-ASCII, under utf-8 positions) and json/decoder.py (utf-16) at every 14th token.
QUILL_LONG=1: every 7th token of those and of textwrap.py, email/_parseaddr.py and re/_casefix.py.
"""
from __future__ import annotations

import io
import os
import time
import tokenize
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import ClientServerConfig
from reliability_support import LONG, scaled

from lsp_server.syntax.documents import Document

from .helpers import SERVER, open_doc

pytestmark = pytest.mark.e2e

FILES = [("shlex.py", "utf-8"), ("json/decoder.py", "utf-16")]
if LONG:
    FILES += [("textwrap.py", "utf-16"), ("email/_parseaddr.py", "utf-32"), ("re/_casefix.py", "utf-8")]
STRIDE = scaled(14, 7)
STRICT = ClientServerConfig(server_command=[*SERVER, "--threads", "1"],
                            server_env={**os.environ, "QUILL_STRICT": "1"})


def token_offsets(text: str, stride: int) -> list[int]:
    """Code-point offsets of every stride-th token, alternately its start and its end (where typing stops),
    and the end of the file."""
    found, line_starts = [], [0]
    for line in text.splitlines(keepends=True):
        line_starts.append(line_starts[-1] + len(line))
    tokens = [t for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type != tokenize.ENDMARKER]
    for n, token in enumerate(tokens[::stride]):
        row, column = token.start if n % 2 == 0 else token.end
        found.append(line_starts[row - 1] + column)
    return found + [len(text)]


def requests(uri: str, position: types.Position) -> list[tuple[str, object]]:
    doc = types.TextDocumentIdentifier(uri)
    return [
        (types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionParams(
            context=types.InlineCompletionContext(types.InlineCompletionTriggerKind.Invoked),
            text_document=doc, position=position)),
        (types.TEXT_DOCUMENT_COMPLETION, types.CompletionParams(doc, position)),
        (types.TEXT_DOCUMENT_HOVER, types.HoverParams(doc, position)),
        (types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionParams(
            doc, types.Range(position, position), types.CodeActionContext(diagnostics=[]))),
    ]


@pytest.mark.parametrize("name, encoding", FILES)
async def test_every_feature_at_every_seventh_token_answers_without_an_error(name, encoding, stdlib_dir):
    text = (stdlib_dir / name).read_text(encoding="utf-8")
    client = await STRICT.start()
    caps = types.ClientCapabilities(general=types.GeneralClientCapabilities(position_encodings=[encoding]))
    try:
        result = await client.initialize_session(types.InitializeParams(capabilities=caps))
        assert result.capabilities.position_encoding == encoding
        uri = Path("/sweep", name).as_uri()
        open_doc(client, uri, text)
        doc, errors, answered, started = Document(uri, text), [], 0, time.perf_counter()
        for offset in token_offsets(text, STRIDE):
            position = types.Position(*doc.position_at(offset, encoding))
            for method, params in requests(uri, position):
                try:
                    await client.protocol.send_request_async(method, params)
                    answered += 1
                except JsonRpcException as exc:
                    errors.append(f"{method} at {position.line + 1}:{position.character + 1}: {exc}")
        elapsed = time.perf_counter() - started
        print(f"\n[sweep] {name} ({encoding}): {answered} requests in {elapsed:.1f} s, {len(errors)} errors")
        assert not errors, errors[:10]
        degraded = [m.message for m in client.log_messages if "gave up" in m.message or "failed" in m.message]
        assert not degraded, degraded[:5]
        await client.shutdown_session()
    finally:
        if client._server is not None and client._server.returncode is None:
            client._server.kill()
        await client.stop()
