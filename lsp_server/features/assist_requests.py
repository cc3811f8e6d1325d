"""LSP glue shared by hover, code actions and commands: run a pure core off the event loop, make edits.

Cores (assists.docstrings.suggest_docstring, assists.bodies.suggest_body) run on a document snapshot in the inference
thread through QuillServer.run_inference: cancellable between tokens, superseded by a newer request of
the same kind, and dropped when the text changed meanwhile. A document that is not Python or is excluded
(lsp_server.features.status) gets no assist.
"""
from __future__ import annotations

from functools import partial

from lsprotocol import types

from ..assists.bodies import COMMENT, BodySuggestion, find_body_target, suggest_body
from ..assists.docstrings import DocstringSuggestion, suggest_docstring
from ..server.language_server import QuillServer
from ..syntax.definitions import find_definition
from ..syntax.documents import Document
from ..syntax.edits import Edit
from .status import is_active

ADD_DOCSTRING, REGENERATE_DOCSTRING = "Add docstring", "Regenerate docstring"
GENERATE_BODY, GENERATE_FROM_COMMENT = "Generate body", "Generate code for comment"


def _snapshot(ls: QuillServer, uri: str) -> Document | None:
    """The document's text now; None when it is not open, not Python or excluded."""
    doc = ls.store.get(uri)
    return None if doc is None or not is_active(ls, uri) else doc.snapshot()


async def docstring_for(ls: QuillServer, uri: str, position: types.Position, kind: str,
                        existing: bool = True) -> tuple[DocstringSuggestion, Document] | None:
    """The docstring suggestion for the name at position; existing=False skips documented definitions.

    kind names the request stream (hover, action, command): a newer request of the same kind cancels this.
    """
    snapshot = _snapshot(ls, uri)
    if snapshot is None or not ls.config.docstring.enabled:
        return None
    offset = snapshot.offset_at(position, ls.encoding)
    info = find_definition(snapshot, offset)  # cheap: decide before queueing any inference
    if info is None or (info.docstring is not None and not existing):
        return None
    engine = await ls.wait_engine()  # None: the summary comes from the name, the rest still works
    cfg = ls.config.docstring
    suggest = partial(suggest_docstring, doc_model=ls.doc_model, beam=cfg.beam, min_score=cfg.min_score)  # doc_model: loaded with engine
    found = await ls.run_inference(snapshot, f"docstring.{kind}", suggest, snapshot, offset, engine,
                                   cfg.style, cfg.max_new_tokens)
    return None if found is None else (found, snapshot)


async def body_for(ls: QuillServer, uri: str, position: types.Position,
                   kind: str) -> tuple[BodySuggestion, Document] | None:
    """Generated code for the comment line or empty function at position, checked to parse."""
    snapshot = _snapshot(ls, uri)
    if snapshot is None or not ls.config.codegen.enabled:
        return None
    offset = snapshot.offset_at(position, ls.encoding)
    if find_body_target(snapshot, offset) is None:
        return None
    engine = await ls.wait_engine()
    if engine is None:
        return None
    options = ls.config.codegen.body_options()
    found = await ls.run_inference(snapshot, f"codegen.{kind}", suggest_body, snapshot, offset, engine, options)
    return None if found is None else (found, snapshot)


def text_edit(snapshot: Document, edit: Edit, encoding) -> types.TextEdit:
    """An LSP TextEdit for a code-point Edit, in the negotiated position encoding."""
    return types.TextEdit(types.Range(snapshot.position_at(edit.start, encoding),
                                      snapshot.position_at(edit.end, encoding)), edit.new_text)


def versioned_edits(ls: QuillServer) -> bool:
    """True when the client takes `documentChanges` (workspace.workspaceEdit.documentChanges)."""
    workspace = getattr(getattr(ls, "client_capabilities", None), "workspace", None)
    return bool(getattr(getattr(workspace, "workspace_edit", None), "document_changes", False))


def workspace_edit(snapshot: Document, edit: Edit, encoding, versioned: bool = False) -> types.WorkspaceEdit:
    """A WorkspaceEdit changing one document. `versioned` (the client takes documentChanges): the edit names
    the document version it was computed for, so a client refuses it once the user has typed on."""
    change = text_edit(snapshot, edit, encoding)
    if versioned:
        document = types.OptionalVersionedTextDocumentIdentifier(uri=snapshot.uri, version=snapshot.version)
        return types.WorkspaceEdit(document_changes=[types.TextDocumentEdit(text_document=document, edits=[change])])
    return types.WorkspaceEdit(changes={snapshot.uri: [change]})


def edit_for(ls: QuillServer, snapshot: Document, edit: Edit) -> types.WorkspaceEdit:
    """workspace_edit in the form and position encoding the client negotiated."""
    return workspace_edit(snapshot, edit, ls.encoding, versioned_edits(ls))


def docstring_title(suggestion: DocstringSuggestion) -> str:
    """"Regenerate docstring" where one exists, else "Add docstring"."""
    return REGENERATE_DOCSTRING if suggestion.info.docstring is not None else ADD_DOCSTRING


def body_title(suggestion: BodySuggestion) -> str:
    """"Generate body" for an empty function, "Generate code for comment" for a comment line."""
    return GENERATE_FROM_COMMENT if suggestion.target.kind == COMMENT else GENERATE_BODY
