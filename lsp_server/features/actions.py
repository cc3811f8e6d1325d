"""textDocument/codeAction: Add / Add to / Regenerate docstring and Generate body, each with its edit computed.

Docstring actions come in the order docstring_update.docstring_actions gives: Add docstring on an
undocumented definition; on a documented one "Add to docstring: ..." (what it lacks) first, then Regenerate,
which a docstring a person wrote gets only after an Add-to. Only the Add actions are `isPreferred` (what a
client may apply without asking): they never remove a word. Regenerate runs the model only when offered.
"""
from __future__ import annotations

from lsprotocol import types

from ..assists.docstring_update import ADD, COMPLETE
from ..server.language_server import QuillServer
from .assist_requests import (
    ADD_TO_DOCSTRING,
    body_for,
    body_title,
    docstring_for,
    docstring_plan,
    docstring_title,
    edit_for,
)

KIND = types.CodeActionKind.RefactorRewrite


def wants_rewrite(only: list[str] | None) -> bool:
    """True when the client's `only` filter (if any) admits refactor.rewrite actions."""
    return not only or any(KIND == kind or KIND.startswith(kind + ".") for kind in only)


async def docstring_actions(ls: QuillServer, uri: str, position: types.Position) -> list[types.CodeAction]:
    plan = docstring_plan(ls, uri, position)
    found: list[types.CodeAction] = []
    for action in plan.actions if plan is not None else ():
        if action == COMPLETE:
            title = f"{ADD_TO_DOCSTRING}: {', '.join(plan.completion.added)}"
            found.append(types.CodeAction(title, kind=KIND, is_preferred=True,
                                          edit=edit_for(ls, plan.snapshot, plan.completion.edit, placeholders=True)))
        elif (suggested := await docstring_for(ls, uri, position, "action")) is not None:
            suggestion, snapshot = suggested
            found.append(types.CodeAction(docstring_title(suggestion), kind=KIND, is_preferred=action == ADD,
                                          edit=edit_for(ls, snapshot, suggestion.edit, placeholders=True)))
    return found


async def code_action(ls: QuillServer, params: types.CodeActionParams):
    if not wants_rewrite(params.context.only):
        return None
    uri, position = params.text_document.uri, params.range.start
    actions = await docstring_actions(ls, uri, position)
    # Offered only once generated and checked to parse, so a listed action always has a working edit.
    if (found := await body_for(ls, uri, position, "action")) is not None:
        suggestion, snapshot = found
        actions.append(types.CodeAction(body_title(suggestion), kind=KIND,
                                        edit=edit_for(ls, snapshot, suggestion.edit)))
    return actions or None


def register(server: QuillServer) -> None:
    server.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(code_action_kinds=[KIND]))(code_action)
