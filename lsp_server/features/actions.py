"""textDocument/codeAction: Add / Regenerate docstring and Generate body, each with its edit computed."""
from __future__ import annotations

from lsprotocol import types

from ..server.language_server import QuillServer
from .assist_requests import (
    body_for,
    body_title,
    docstring_for,
    docstring_title,
    edit_for,
)

KIND = types.CodeActionKind.RefactorRewrite


def wants_rewrite(only: list[str] | None) -> bool:
    """True when the client's `only` filter (if any) admits refactor.rewrite actions."""
    return not only or any(KIND == kind or KIND.startswith(kind + ".") for kind in only)


async def code_action(ls: QuillServer, params: types.CodeActionParams):
    if not wants_rewrite(params.context.only):
        return None
    uri, position = params.text_document.uri, params.range.start
    actions = []
    if (found := await docstring_for(ls, uri, position, "action")) is not None:
        suggestion, snapshot = found
        actions.append(types.CodeAction(docstring_title(suggestion), kind=KIND,
                                        edit=edit_for(ls, snapshot, suggestion.edit)))
    # Offered only once generated and checked to parse, so a listed action always has a working edit.
    if (found := await body_for(ls, uri, position, "action")) is not None:
        suggestion, snapshot = found
        actions.append(types.CodeAction(body_title(suggestion), kind=KIND,
                                        edit=edit_for(ls, snapshot, suggestion.edit)))
    return actions or None


def register(server: QuillServer) -> None:
    server.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(code_action_kinds=[KIND]))(code_action)
