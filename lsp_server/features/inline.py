"""textDocument/inlineCompletion: ghost text from the completion pipeline (lsp_server.suggest)."""
from __future__ import annotations

import asyncio

from lsprotocol import types

from ..engine import CancelToken
from ..server import QuillServer
from ..suggest import Suggestion, suggest


async def run_suggest(ls: QuillServer, uri: str, position: types.Position) -> tuple[Suggestion, object] | None:
    """Run the pipeline off the event loop; None when there is nothing to say or the text changed."""
    doc = ls.store.get(uri)
    if doc is None or not ls.config.inline.enabled:
        return None
    engine = await ls.wait_engine()
    if engine is None:
        return None
    snapshot = doc.snapshot()
    offset = snapshot.offset_at(position, ls.encoding)
    token = CancelToken()
    ls.cancel_inflight(uri)  # a newer request for the same document supersedes older ones
    ls.track(uri, token)
    loop = asyncio.get_running_loop()
    try:
        result = await loop.run_in_executor(ls.inference, suggest, snapshot, offset, engine,
                                            ls.config.inline.suggest_options(), token)
    except asyncio.CancelledError:
        token.cancel()  # $/cancelRequest: stop the running onnxruntime step too
        raise
    finally:
        ls.untrack(uri, token)
    current = ls.store.get(uri)
    if result is None or token.cancelled or current is None or current.version != snapshot.version:
        return None  # computed for a text that no longer exists
    return result, snapshot


def register(server: QuillServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def inline_completion(ls: QuillServer, params: types.InlineCompletionParams):
        found = await run_suggest(ls, params.text_document.uri, params.position)
        if found is None:
            return types.InlineCompletionList(items=[])
        suggestion, snapshot = found
        pos = snapshot.position_at(suggestion.offset, ls.encoding)
        item = types.InlineCompletionItem(insert_text=suggestion.text, range=types.Range(pos, pos))
        return types.InlineCompletionList(items=[item])
