"""Document synchronisation into the DocumentStore (incremental, negotiated position encoding)."""
from __future__ import annotations

import logging

from lsprotocol import types

from ..errors import QuillError
from ..server import QuillServer

log = logging.getLogger("quill")


def register(server: QuillServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: QuillServer, params: types.DidOpenTextDocumentParams) -> None:
        doc = params.text_document
        ls.store.open(doc.uri, doc.text, doc.version, doc.language_id or "python")
        ls.touch(doc.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: QuillServer, params: types.DidChangeTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.cancel_inflight(uri)
        try:
            ls.store.apply_changes(uri, params.content_changes, params.text_document.version, ls.encoding)
            ls.touch(uri)
        except QuillError as exc:
            log.warning("didChange for %s ignored: %s", uri, exc)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: QuillServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.cancel_inflight(params.text_document.uri)
        ls.store.close(params.text_document.uri)
        ls.forget(params.text_document.uri)
        ls.reuse.forget(params.text_document.uri)
