"""LSP glue shared by hover, code actions and commands: run a pure core off the event loop, make edits.

Cores (assists.docstrings.suggest_docstring, assists.bodies.suggest_body) run on a document snapshot in the inference
thread through QuillServer.run_inference: cancellable between tokens, superseded by a newer request of
the same kind, and dropped when the text changed meanwhile. A document that is not Python or is excluded
(lsp_server.features.status) gets no assist.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from lsprotocol import types

from ..assists.bodies import COMMENT, BodySuggestion, find_body_target, suggest_body
from ..assists.descriptions import ProjectDocs, describe, own_fields
from ..assists.docstring_render import snippet_text
from ..assists.docstring_update import Completion, complete_docstring, docstring_actions
from ..assists.docstrings import DocstringSuggestion, suggest_docstring
from ..assists.filler import is_placeholder
from ..project.doc_summaries import ProjectSummaries
from ..server.language_server import QuillServer
from ..syntax.definitions import DefinitionInfo, find_definition
from ..syntax.documents import Document
from ..syntax.edits import Edit
from .status import is_active

ADD_DOCSTRING, REGENERATE_DOCSTRING, ADD_TO_DOCSTRING = "Add docstring", "Regenerate docstring", "Add to docstring"
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
    engine = await ls.wait_engine()  # None: the summary is a placeholder, the rest still works
    cfg = ls.config.docstring
    suggest = partial(suggest_docstring, doc_model=ls.doc_model, beam=cfg.beam, min_score=cfg.min_score,
                      project=project_docs(ls, snapshot),  # doc_model: loaded with engine
                      summaries=ProjectSummaries(ls.project.doc_summaries, ls.project.document_key(snapshot.uri)))
    found = await ls.run_inference(snapshot, f"docstring.{kind}", suggest, snapshot, offset, engine,
                                   cfg.style, cfg.max_new_tokens)
    return None if found is None else (found, snapshot)


def project_docs(ls: QuillServer, snapshot: Document) -> ProjectDocs:
    """The workspace's documented parameters (the index's table, open documents included) for snapshot."""
    return ProjectDocs(ls.project.param_docs, ls.project.document_key(snapshot.uri))


@dataclass(frozen=True)
class DocstringPlan:
    """The docstring actions for the definition at a position (docstring_update.docstring_actions), and the
    Add-to edit when the docstring lacks something; computed without a model."""
    snapshot: Document
    info: DefinitionInfo
    actions: list[str]
    completion: Completion | None


def docstring_plan(ls: QuillServer, uri: str, position: types.Position) -> DocstringPlan | None:
    """None off a definition's name, or where docstrings are off or Quill is inactive."""
    snapshot = _snapshot(ls, uri)
    if snapshot is None or not ls.config.docstring.enabled:
        return None
    info = find_definition(snapshot, snapshot.offset_at(position, ls.encoding))
    if info is None:
        return None
    completion = None
    if info.docstring is not None:
        described = describe(info, own_fields(snapshot, info), project_docs(ls, snapshot))
        completion = complete_docstring(snapshot, info, described, ls.config.docstring.style)
    return DocstringPlan(snapshot, info, docstring_actions(snapshot, info, completion), completion)


async def body_for(ls: QuillServer, uri: str, position: types.Position,
                   kind: str) -> tuple[BodySuggestion, Document] | None:
    """Generated code for the comment line or empty function at position, checked to parse and reviewed
    (assists.body_checks); None when nothing passed, so the action is withheld."""
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
    suggest = partial(suggest_body, project=ls.project_context())  # the workspace's n-grams steer it too
    found = await ls.run_inference(snapshot, f"codegen.{kind}", suggest, snapshot, offset, engine, options)
    return None if found is None else (found, snapshot)


def text_edit(snapshot: Document, edit: Edit, encoding) -> types.TextEdit:
    """An LSP TextEdit for a code-point Edit, in the negotiated position encoding."""
    return types.TextEdit(types.Range(snapshot.position_at(edit.start, encoding),
                                      snapshot.position_at(edit.end, encoding)), edit.new_text)


def _workspace_edit_caps(ls: QuillServer):
    workspace = getattr(getattr(ls, "client_capabilities", None), "workspace", None)
    return getattr(workspace, "workspace_edit", None)


def versioned_edits(ls: QuillServer) -> bool:
    """True when the client takes `documentChanges` (workspace.workspaceEdit.documentChanges)."""
    return bool(getattr(_workspace_edit_caps(ls), "document_changes", False))


def snippet_edits(ls: QuillServer) -> bool:
    """True when the client takes LSP 3.18 snippet edits in a workspace edit (workspace.workspaceEdit.
    snippetEditSupport, which lives in documentChanges)."""
    return versioned_edits(ls) and bool(getattr(_workspace_edit_caps(ls), "snippet_edit_support", False))


def workspace_edit(snapshot: Document, edit: Edit, encoding, versioned: bool = False,
                   snippet: bool = False) -> types.WorkspaceEdit:
    """A WorkspaceEdit changing one document. `versioned` (the client takes documentChanges): the edit names
    the document version it was computed for, so a client refuses it once the user has typed on. `snippet`
    (with versioned): a SnippetTextEdit whose placeholders are tab stops."""
    change = text_edit(snapshot, edit, encoding)
    if versioned:
        if snippet:
            change = types.SnippetTextEdit(change.range, types.StringValue(snippet_text(change.new_text)))
        document = types.OptionalVersionedTextDocumentIdentifier(uri=snapshot.uri, version=snapshot.version)
        return types.WorkspaceEdit(document_changes=[types.TextDocumentEdit(text_document=document, edits=[change])])
    return types.WorkspaceEdit(changes={snapshot.uri: [change]})


def edit_for(ls: QuillServer, snapshot: Document, edit: Edit, placeholders: bool = False) -> types.WorkspaceEdit:
    """workspace_edit in the form and position encoding the client negotiated. With `placeholders` (a
    docstring's `_description_`...), they become tab stops where the client takes snippet edits, else they
    stay as visible markers."""
    snippet = placeholders and snippet_edits(ls) and is_placeholder(edit.new_text)
    return workspace_edit(snapshot, edit, ls.encoding, versioned_edits(ls), snippet)


def docstring_title(suggestion: DocstringSuggestion) -> str:
    """"Regenerate docstring" where one exists, else "Add docstring"."""
    return REGENERATE_DOCSTRING if suggestion.info.docstring is not None else ADD_DOCSTRING


def body_title(suggestion: BodySuggestion) -> str:
    """"Generate body" for an empty function, "Generate code for comment" for a comment line."""
    return GENERATE_FROM_COMMENT if suggestion.target.kind == COMMENT else GENERATE_BODY
