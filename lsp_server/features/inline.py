"""textDocument/inlineCompletion: ghost text from the completion pipeline (lsp_server.inline.pipeline).

Typing through a shown suggestion is answered from it on the event loop, without the model
(lsp_server.reuse); otherwise the pipeline runs in the inference thread, reusing the document's
previous prompt pass. The hidden `quill/stats` request reports where answers came from.

A document that is not Python or is excluded (lsp_server.features.status) gets an empty list. Every item carries
the command `quill.accepted [id]`, the client's report that the user accepted it (lsp_server.features.acceptance);
typing through a suggestion keeps its id.
"""
from __future__ import annotations

import time

from lsprotocol import types

from ..inline.context import OutlineCache, cross_file_context
from ..inline.options import SuggestOptions
from ..inline.pipeline import suggest_all
from ..inline.postprocess import Suggestion
from ..inline.typing_state import DocumentReuse
from ..project.mixing import ProjectContext
from ..runtime.cancel import CancelToken
from ..runtime.engine import Engine
from ..server.language_server import QuillServer
from ..syntax.documents import Document
from .acceptance import ACCEPTED
from .status import is_active

STATS = "quill/stats"


def suggest_with_context(outlines: OutlineCache, others: list[tuple[str, Document]], doc: Document, offset: int,
                         engine: Engine, options: SuggestOptions, reuse: DocumentReuse | None,
                         project: ProjectContext | None, cancel: CancelToken) -> list[Suggestion]:
    """Worker side: cross-file context from the other documents' outlines, then the whole pipeline."""
    context = cross_file_context(others, outlines.get)
    return suggest_all(doc, offset, engine, options, cancel, context, reuse, project)


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
                                   engine, options or cfg.suggest_options(), ls.reuse.get(uri),
                                   ls.project_context(), debounce_ms=cfg.debounce_ms)
    return (found, snapshot) if found else None


def _items(texts, snapshot: Document, offset: int, encoding, sid: str | None) -> types.InlineCompletionList:
    pos = snapshot.position_at(offset, encoding)
    command = None if sid is None else types.Command(title="Quill: suggestion accepted", command=ACCEPTED,
                                                      arguments=[sid])
    return types.InlineCompletionList(items=[
        types.InlineCompletionItem(insert_text=text, range=types.Range(pos, pos), command=command) for text in texts])


def _typed_through(ls: QuillServer, params: types.InlineCompletionParams) -> types.InlineCompletionList | None:
    """The rest of the suggestion the user is typing, answered at once; None when the model must run."""
    doc = ls.store.get(params.text_document.uri)
    if doc is None or not ls.config.inline.enabled:
        return None
    snapshot = doc.snapshot()
    offset = snapshot.offset_at(params.position, ls.encoding)
    rest = ls.reuse.advance(snapshot.uri, snapshot.text, offset)
    if rest is None:
        return None
    ls.reuse.record(snapshot.version, "typed")
    return _items(rest, snapshot, offset, ls.encoding, ls.acceptance.current(snapshot.uri))


async def _from_model(ls: QuillServer, params: types.InlineCompletionParams,
                      started: float) -> types.InlineCompletionList:
    """Run the pipeline; remember what it shows (to type through, and its id) and how much of the prompt it
    reused. started: time.perf_counter() when the request arrived."""
    uri = params.text_document.uri
    cache = ls.reuse.get(uri).prompt
    before = cache.last
    found = await run_suggest_all(ls, uri, params.position)
    ran = cache.last if cache.last is not before else None  # None: the model did not run (or was cancelled)
    reused, prompt_tokens = (ran.reused, ran.prompt_tokens) if ran is not None else (0, 0)
    if found is None:
        doc = ls.store.get(uri)
        ls.reuse.record(doc.version if doc is not None else -1, "none", reused, prompt_tokens)
        ls.acceptance.hide(uri)
        return types.InlineCompletionList(items=[])
    suggestions, snapshot = found
    offset, texts = suggestions[0].offset, [s.text for s in suggestions]  # best first
    ls.reuse.show(uri, snapshot.text, offset, texts)
    ls.reuse.record(snapshot.version, "model", reused, prompt_tokens)
    sid = ls.acceptance.show(uri, (time.perf_counter() - started) * 1000)
    return _items(texts, snapshot, offset, ls.encoding, sid)


async def inline_completion(ls: QuillServer, params: types.InlineCompletionParams):
    started = time.perf_counter()
    if not is_active(ls, params.text_document.uri):  # not Python, excluded, or not open
        answer = types.InlineCompletionList(items=[])
    elif (answer := _typed_through(ls, params)) is None:
        answer = await _from_model(ls, params, started)
    ls.acceptance.answered()
    return answer


def stats(ls: QuillServer, params) -> dict:
    """Hidden: where inline answers came from (typed through a suggestion or the model), for benchmarks."""
    return ls.reuse.stats()


def register(server: QuillServer) -> None:
    server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())(inline_completion)
    server.feature(STATS)(stats)
