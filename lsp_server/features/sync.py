"""Document synchronisation into the DocumentStore (incremental, negotiated position encoding)."""
from __future__ import annotations

import logging

from lsprotocol import types

from ..errors import QuillError
from ..server.language_server import QuillServer

log = logging.getLogger("quill")


def did_open(ls: QuillServer, params: types.DidOpenTextDocumentParams) -> None:
    """Keep the document's text (and parse it lazily); it becomes the most recent context document."""
    doc = params.text_document
    ls.store.open(doc.uri, doc.text, doc.version, doc.language_id or "python")
    ls.touch(doc.uri)
    ls.project.document_changed(doc.uri, doc.text)


def did_change(ls: QuillServer, params: types.DidChangeTextDocumentParams) -> None:
    """Apply the edits; every answer in flight for the older text is cancelled first."""
    uri = params.text_document.uri
    ls.cancel_inflight(uri)
    try:
        ls.store.apply_changes(uri, params.content_changes, params.text_document.version, ls.encoding)
        ls.touch(uri)
        ls.project.document_changed(uri, ls.store.get(uri).text)
    except QuillError as exc:
        log.warning("didChange for %s ignored: %s", uri, exc)


def did_close(ls: QuillServer, params: types.DidCloseTextDocumentParams) -> None:
    """Nothing of a closed document is kept."""
    ls.close(params.text_document.uri)
    ls.project.document_closed(params.text_document.uri)


def register(server: QuillServer) -> None:
    server.feature(types.TEXT_DOCUMENT_DID_OPEN)(did_open)
    server.feature(types.TEXT_DOCUMENT_DID_CHANGE)(did_change)
    server.feature(types.TEXT_DOCUMENT_DID_CLOSE)(did_close)
