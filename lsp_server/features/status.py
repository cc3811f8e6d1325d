"""quill/documentStatus, and the check every document feature makes first: is Quill active for this document?

A document gets no inline suggestion, completion item, hover, code action or generate command when its
languageId is not `python`, or when `inline.exclude` or a `.quillignore` file excludes it
(lsp_server.project.exclusion). Editors show "inactive" for it with the hidden request

    quill/documentStatus {"textDocument": {"uri": URI}}   (or {"uri": URI})
    -> {"active": bool, "reason": null | "language" | "excluded" | "disabled" | "not_open", "detail": str}

`disabled` (inline.enabled is off) is reported here only: completion items and assists still follow their
own settings. Ask again after opening a document, on switching to it and after a settings change; an edited
`.quillignore` counts from the next request.

Clients that register document features dynamically get them for Python documents only (register_python_only).
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams

from ..project.exclusion import DISABLED, NOT_OPEN, DocumentStatus, document_status
from ..server.language_server import QuillServer
from .workspace import workspace_roots

log = logging.getLogger("quill")
DOCUMENT_STATUS = "quill/documentStatus"


def status_of(ls: QuillServer, uri: str) -> DocumentStatus:
    """Whether the document at uri gets answers (language and exclusions; not the per-feature switches)."""
    doc = ls.store.get(uri)
    if doc is None:
        return DocumentStatus(False, NOT_OPEN, "the document is not open")
    return document_status(doc.language_id, uri, workspace_roots(ls), ls.config.inline.exclude, ls.exclusions)


def is_active(ls: QuillServer, uri: str) -> bool:
    """False for a document that must get no answer (closed, not Python, excluded)."""
    return status_of(ls, uri).active


def _uri(params: Any) -> str:
    """The document URI of the request's params: {"textDocument": {"uri"}} or {"uri"}."""
    get = params.get if isinstance(params, dict) else lambda key: getattr(params, key, None)
    document = get("textDocument") or get("text_document")
    if isinstance(document, dict):
        uri = document.get("uri")
    else:
        uri = getattr(document, "uri", None) if document is not None else get("uri")
    if not isinstance(uri, str) or not uri:
        raise JsonRpcInvalidParams(message=f"{DOCUMENT_STATUS}: expected {{\"textDocument\": {{\"uri\": ...}}}}, "
                                           f"got {params!r:.200}")
    return uri


def document_status_request(ls: QuillServer, params: Any) -> dict:
    """Hidden: the document's status for the editor's indicator."""
    status = status_of(ls, _uri(params))
    if status.active and not ls.config.inline.enabled:
        status = DocumentStatus(False, DISABLED, "inline suggestions are off (inline.enabled)")
    return status.to_json()


async def register_python_only(ls: QuillServer) -> None:
    """After `initialized`: the features left out of the static capabilities (server.capabilities), registered
    with a Python documentSelector."""
    registrations = getattr(ls.protocol, "python_only", [])
    if not registrations:
        return
    try:
        await asyncio.wait_for(ls.client_register_capability_async(types.RegistrationParams(registrations)), 5.0)
    except (JsonRpcException, asyncio.TimeoutError) as exc:
        log.warning("client did not register %s for Python documents: %r",
                    ", ".join(r.method for r in registrations), exc)


def register(server: QuillServer) -> None:
    server.feature(DOCUMENT_STATUS)(document_status_request)
