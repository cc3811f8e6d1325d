"""textDocument/inlineCompletion: ghost text from the completion pipeline (lsp_server.suggest)."""
from __future__ import annotations

from lsprotocol import types

from ..context import OutlineCache, cross_file_context
from ..documents import Document
from ..engine import CancelToken, Engine
from ..server import QuillServer
from ..suggest import SuggestOptions, Suggestion, suggest_all


def suggest_with_context(outlines: OutlineCache, others: list[tuple[str, Document]], doc: Document, offset: int,
                         engine: Engine, options: SuggestOptions, cancel: CancelToken) -> list[Suggestion]:
    """Worker side: cross-file context from the other documents' outlines, then the whole pipeline."""
    context = cross_file_context(others, outlines.get)
    return suggest_all(doc, offset, engine, options, cancel, context)


async def run_suggest_all(ls: QuillServer, uri: str, position: types.Position, kind: str = "inline",
                          options: SuggestOptions | None = None) -> tuple[list[Suggestion], Document] | None:
    """Run the pipeline off the event loop; None when there is nothing to say or the text changed."""
    doc = ls.store.get(uri)
    cfg = ls.config.inline
    if doc is None or not cfg.enabled:
        return None
    snapshot = doc.snapshot()  # the text the client's position refers to
    engine = await ls.wait_engine()
    if engine is None:
        return None
    offset = snapshot.offset_at(position, ls.encoding)
    others = ls.context_documents(uri) if cfg.cross_file_context else []
    found = await ls.run_inference(snapshot, kind, suggest_with_context, ls.outlines, others, snapshot, offset,
                                   engine, options or cfg.suggest_options(), debounce_ms=cfg.debounce_ms)
    return (found, snapshot) if found else None


def register(server: QuillServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def inline_completion(ls: QuillServer, params: types.InlineCompletionParams):
        found = await run_suggest_all(ls, params.text_document.uri, params.position)
        if found is None:
            return types.InlineCompletionList(items=[])
        suggestions, snapshot = found
        items = []
        for suggestion in suggestions:  # best first
            pos = snapshot.position_at(suggestion.offset, ls.encoding)
            items.append(types.InlineCompletionItem(insert_text=suggestion.text, range=types.Range(pos, pos)))
        return types.InlineCompletionList(items=items)
