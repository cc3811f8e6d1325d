"""workspace/executeCommand: quill.generateDocstring and quill.generateBody, applied with workspace/applyEdit.

Arguments are a document URI and a position, given as `[uri, {line, character}]` or as one object
`{uri | textDocument: {uri}, position: {line, character}}`. The result is `{"applied": bool}`, with a
`reason` when nothing was applied (for one: the document is not Python or is excluded, lsp_server.features.status).
"""
from __future__ import annotations

from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from ..server.language_server import QuillServer
from ..syntax.documents import Document
from ..syntax.edits import Edit
from .assist_requests import (
    body_for,
    body_title,
    docstring_for,
    docstring_title,
    versioned_edits,
    workspace_edit,
)
from .status import status_of

GENERATE_DOCSTRING, GENERATE_BODY = "quill.generateDocstring", "quill.generateBody"
UINTEGER_MAX = 2**31 - 1  # LSP's uinteger: lsprotocol's Position rejects more
USAGE = "expected arguments [uri, {line, character}] or [{uri, position: {line, character}}]"


def _invalid(message: str) -> JsonRpcInvalidParams:
    return JsonRpcInvalidParams(message=f"{message}; {USAGE}")


def parse_arguments(args: tuple[Any, ...]) -> tuple[str, types.Position]:
    """(uri, position) from a command's arguments; raises JsonRpcInvalidParams with the expected shape."""
    if len(args) == 1 and isinstance(args[0], dict):
        obj = args[0]
        document = obj.get("textDocument")
        uri = obj["uri"] if "uri" in obj else document.get("uri") if isinstance(document, dict) else None
        position = obj.get("position")
    elif len(args) == 2:
        uri, position = args
    else:
        raise _invalid(f"got {len(args)} arguments")
    if not isinstance(uri, str) or not uri:
        raise _invalid(f"the document URI must be a non-empty string, got {uri!r}")
    if not isinstance(position, dict):
        raise _invalid(f"the position must be an object, got {position!r}")
    line, character = position.get("line"), position.get("character")
    for name, value in (("line", line), ("character", character)):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= UINTEGER_MAX:
            raise _invalid(f"position.{name} must be a non-negative integer (at most {UINTEGER_MAX}), got {value!r}")
    return uri, types.Position(line, character)


async def _apply(ls: QuillServer, snapshot: Document, edit: Edit, label: str) -> dict:
    """workspace/applyEdit; an unversioned edit (the client takes no documentChanges) is refused when the
    document changed after it was computed: it would land on the wrong lines."""
    current, versioned = ls.store.get(snapshot.uri), versioned_edits(ls)
    if not versioned and (current is None or current.version != snapshot.version):
        return {"applied": False, "reason": "the document changed while the edit was computed; ask again"}
    edit = workspace_edit(snapshot, edit, ls.encoding, versioned)
    params = types.ApplyWorkspaceEditParams(edit=edit, label=label)
    result = await ls.workspace_apply_edit_async(params)
    if result.applied:
        return {"applied": True}
    return {"applied": False, "reason": result.failure_reason or "the client did not apply the edit"}


def _check_open(ls: QuillServer, uri: str) -> dict | None:
    """Raises for a document that is not open; the answer for one Quill leaves alone, else None."""
    if ls.store.get(uri) is None:
        raise JsonRpcInvalidParams(message=f"document not open: {uri}")
    status = status_of(ls, uri)
    return None if status.active else {"applied": False, "reason": f"Quill is inactive here: {status.detail}"}


async def generate_docstring(ls: QuillServer, *args):
    uri, position = parse_arguments(args)
    if (inactive := _check_open(ls, uri)) is not None:
        return inactive
    if not ls.config.docstring.enabled:
        return {"applied": False, "reason": "docstring suggestions are disabled (docstring.enabled)"}
    found = await docstring_for(ls, uri, position, "command")
    if found is None:
        return {"applied": False, "reason": "no function, method or class name at this position"}
    suggestion, snapshot = found
    return await _apply(ls, snapshot, suggestion.edit, docstring_title(suggestion))


async def generate_body(ls: QuillServer, *args):
    uri, position = parse_arguments(args)
    if (inactive := _check_open(ls, uri)) is not None:
        return inactive
    if not ls.config.codegen.enabled:
        return {"applied": False, "reason": "code generation is disabled (codegen.enabled)"}
    found = await body_for(ls, uri, position, "command")
    if found is None:
        return {"applied": False, "reason": "no empty function (stubs excluded) or comment line here, or no "
                                            "generated code parsed and passed the review (loops, undefined names)"}
    suggestion, snapshot = found
    return await _apply(ls, snapshot, suggestion.edit, body_title(suggestion))


def register(server: QuillServer) -> None:
    server.command(GENERATE_DOCSTRING)(generate_docstring)
    server.command(GENERATE_BODY)(generate_body)
