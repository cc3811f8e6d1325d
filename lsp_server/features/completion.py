"""textDocument/completion: buffer names ranked by the model at identifier and attribute positions.

Elsewhere (after `=`, `(`, at a block opener) the inline suggestion is offered as one item, for clients
without ghost text. A document that is not Python or is excluded (lsp_server.features.status) gets no items.
"""
from __future__ import annotations

import dataclasses
import functools

from lsprotocol import types

from ..assists.name_ranking import (
    NameCompletion,
    NameOptions,
    NameRequest,
    complete_names,
)
from ..config import QuillConfig
from ..inline.context import OutlineCache, cross_file_context
from ..inline.prompt import PromptBudget
from ..project.symbols import ProjectSymbols
from ..runtime.cancel import CancelToken
from ..runtime.engine import Engine
from ..server.language_server import QuillServer
from ..syntax.documents import Document
from ..syntax.identifiers import word_at
from .inline import run_suggest_all
from .status import is_active

KINDS = {
    "function": types.CompletionItemKind.Function, "method": types.CompletionItemKind.Method,
    "class": types.CompletionItemKind.Class, "parameter": types.CompletionItemKind.Variable,
    "variable": types.CompletionItemKind.Variable, "constant": types.CompletionItemKind.Constant,
    "module": types.CompletionItemKind.Module, "field": types.CompletionItemKind.Field,
    "model": types.CompletionItemKind.Text,
}


def name_options(config: QuillConfig) -> NameOptions:
    """Completion-item settings, with the inline prompt budget."""
    return NameOptions(config.completion.model_ranking, config.completion.max_items,
                       budget=PromptBudget(config.inline.prefix_tokens, config.inline.suffix_tokens))


def names_with_context(outlines: OutlineCache, others: list[tuple[str, Document]], doc: Document, offset: int,
                       engine: Engine | None, options: NameOptions, symbols: ProjectSymbols | None, key: str | None,
                       request: NameRequest, cancel: CancelToken) -> NameCompletion | None:
    """Worker side: cross-file context and project names (the document's index key), then complete_names."""
    context = cross_file_context(others, outlines.get) if engine is not None else ""
    project = functools.partial(symbols.names_at, doc, key=key) if symbols is not None else None
    return complete_names(doc, offset, engine, options, cancel, context, project, request)


def to_completion_list(result: NameCompletion, doc: Document, encoding) -> types.CompletionList:
    """LSP items: kind from the buffer, a text edit replacing the whole word at the cursor, model order."""
    edit_range = types.Range(doc.position_at(result.word.start, encoding), doc.position_at(result.word.end, encoding))
    items = []
    for rank, name in enumerate(result.names):
        detail = "Quill: model guess" if name.kind == "model" else f"Quill: {name.kind}"
        if name.score is not None:
            detail += f" (log p {name.score:.1f})"
        items.append(types.CompletionItem(
            label=name.text, kind=KINDS[name.kind], detail=detail, sort_text=f"{rank:04d}",
            filter_text=name.text, text_edit=types.TextEdit(edit_range, name.text),
            insert_text_format=types.InsertTextFormat.PlainText))
    return types.CompletionList(is_incomplete=result.incomplete, items=items)


async def _names(ls: QuillServer, doc: Document, offset: int) -> types.CompletionList:
    options = name_options(ls.config)
    engine = await ls.wait_engine() if options.model_ranking else None
    others = ls.context_documents(doc.uri) if engine is not None and ls.config.inline.cross_file_context else []
    request = NameRequest(ls.project_context(), ls.reuse.get(doc.uri))
    result = await ls.run_inference(doc, "completion", names_with_context, ls.outlines, others, doc, offset,
                                    engine, options, ls.project.symbols, ls.project.key_of(doc.uri), request)
    if result is None:  # cancelled or out of date: the client must ask again
        return types.CompletionList(is_incomplete=True, items=[])
    return to_completion_list(result, doc, ls.encoding)


async def _line_suggestion(ls: QuillServer, params: types.CompletionParams) -> types.CompletionList:
    options = dataclasses.replace(ls.config.inline.suggest_options(), alternatives=1)
    found = await run_suggest_all(ls, params.text_document.uri, params.position, "completion", options)
    if found is None:
        return types.CompletionList(is_incomplete=True, items=[])
    suggestion, snapshot = found[0][0], found[1]
    pos = snapshot.position_at(suggestion.offset, ls.encoding)
    text = suggestion.text
    item = types.CompletionItem(
        label=text.strip().splitlines()[0], kind=types.CompletionItemKind.Text, detail="Quill (local model)",
        filter_text=text, text_edit=types.TextEdit(types.Range(pos, pos), text),
        insert_text_format=types.InsertTextFormat.PlainText, sort_text="0")
    # Incomplete: typing on changes the model's answer, so the client must ask again.
    return types.CompletionList(is_incomplete=True, items=[item])


async def completion(ls: QuillServer, params: types.CompletionParams):
    doc = ls.store.get(params.text_document.uri)
    if doc is None or not ls.config.completion.enabled or not is_active(ls, doc.uri):
        return types.CompletionList(is_incomplete=False, items=[])
    snapshot = doc.snapshot()
    offset = snapshot.offset_at(params.position, ls.encoding)
    if word_at(snapshot, offset) is not None:
        return await _names(ls, snapshot, offset)
    if not ls.config.completion.line_suggestion:
        return types.CompletionList(is_incomplete=False, items=[])
    return await _line_suggestion(ls, params)


def register(server: QuillServer) -> None:
    server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=["."]))(completion)
