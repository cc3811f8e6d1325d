"""End-to-end: the Generate body action and quill.generateBody through `quill serve` + pytest-lsp."""
from __future__ import annotations

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from lsp_server.assists.body_checks import has_repeat

from .helpers import SERVER, open_doc
from .helpers import apply_edits as _apply
from .helpers import parses as _parses
from .helpers import position_of as _position
from .helpers import record_applied_edits as _applied_edits

pytestmark = pytest.mark.e2e

ADD = 'def add(a, b):\n    """Return the sum of a and b."""\n    ...\n'
UNICODE = '# héllo 😀\n' + ADD
FULL = "def add(a, b):\n    return a + b\n"
# The shipped model's greedy body here repeats `if validators: raise ValueError(...)` until the token limit
# (tests/lsp_server/assists/test_bodies.py checks that premise with the server's project mix).
LOOPING = 'def check(validators):\n    """Raise ValueError when a validator is missing."""\n    ...\n'
STUBS = ('from typing import Protocol, overload\n\n\n@overload\ndef parse(value: int) -> int: ...\n\n\n'
         'class Reader(Protocol):\n    def read(self, size: int) -> bytes:\n        ...\n')


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient):
    _applied_edits(lsp_client)

    await lsp_client.initialize_session(types.InitializeParams(capabilities=types.ClientCapabilities()))
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def disabled_client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=types.ClientCapabilities(), initialization_options={"codegen": {"enabled": False}}))
    yield
    await lsp_client.shutdown_session()










async def _actions(client: LanguageClient, uri: str, position: types.Position, only=None) -> list[types.CodeAction]:
    result = await client.text_document_code_action_async(types.CodeActionParams(
        types.TextDocumentIdentifier(uri), types.Range(position, position),
        types.CodeActionContext(diagnostics=[], only=only)))
    return result or []


async def test_generate_body_action_on_an_ellipsis_body_returns_an_edit_that_parses(client: LanguageClient):
    uri = "file:///e2e/add.py"
    open_doc(client, uri, ADD)
    actions = await _actions(client, uri, _position(ADD, "add"))
    titles = [a.title for a in actions]
    assert "Add docstring" not in titles and "Regenerate docstring" in titles
    body = next(a for a in actions if a.title == "Generate body")
    assert body.kind == types.CodeActionKind.RefactorRewrite
    out = _apply(ADD, body.edit.changes[uri])
    assert _parses(out)
    assert out.startswith('def add(a, b):\n    """Return the sum of a and b."""\n    ') and "    ...\n" not in out


async def test_generate_body_edit_positions_are_utf16_after_non_ascii_text(client: LanguageClient):
    uri = "file:///e2e/unicode-body.py"
    open_doc(client, uri, UNICODE)
    actions = await _actions(client, uri, _position(UNICODE, "add"))
    # Whether the model offers code depends on its context; whatever it offers must land in place and parse.
    for action in (a for a in actions if a.title == "Generate body"):
        [edit] = action.edit.changes[uri]
        assert edit.range.end == types.Position(_position(UNICODE, "...").line, len("    ..."))
        out = _apply(UNICODE, [edit])
        assert _parses(out) and out.startswith(UNICODE[:UNICODE.index("...")])


async def test_no_generate_body_for_a_function_with_code_or_for_other_kinds(client: LanguageClient):
    uri = "file:///e2e/full.py"
    open_doc(client, uri, FULL)
    assert not [a for a in await _actions(client, uri, _position(FULL, "add")) if a.title == "Generate body"]
    uri2 = "file:///e2e/only.py"
    open_doc(client, uri2, ADD)
    assert await _actions(client, uri2, _position(ADD, "add"), only=[types.CodeActionKind.QuickFix]) == []


async def test_generate_body_command_applies_a_parseable_edit(client: LanguageClient):
    uri = "file:///e2e/command-body.py"
    open_doc(client, uri, ADD)
    position = _position(ADD, "...")
    result = await client.workspace_execute_command_async(types.ExecuteCommandParams(
        "quill.generateBody", [{"textDocument": {"uri": uri}, "position": {"line": position.line,
                                                                          "character": position.character}}]))
    assert result == {"applied": True}
    [params] = client.applied
    assert params.label == "Generate body"
    assert _parses(_apply(ADD, params.edit.changes[uri]))


async def test_generate_body_command_without_a_target_and_with_bad_arguments(client: LanguageClient):
    uri = "file:///e2e/command-none.py"
    open_doc(client, uri, FULL)
    result = await client.workspace_execute_command_async(types.ExecuteCommandParams(
        "quill.generateBody", [uri, {"line": 0, "character": 5}]))
    assert result["applied"] is False and client.applied == []
    with pytest.raises(Exception, match="expected arguments"):
        await client.workspace_execute_command_async(types.ExecuteCommandParams("quill.generateBody", [uri]))


async def test_codegen_disabled_offers_no_generate_body(disabled_client: LanguageClient):
    uri = "file:///e2e/disabled.py"
    open_doc(disabled_client, uri, ADD)
    actions = await _actions(disabled_client, uri, _position(ADD, "add"))
    assert not [a for a in actions if a.title == "Generate body"]
    result = await disabled_client.workspace_execute_command_async(types.ExecuteCommandParams(
        "quill.generateBody", [uri, {"line": 3, "character": 5}]))
    assert result["applied"] is False and "codegen.enabled" in result["reason"]


async def test_a_looping_candidate_is_never_offered(client: LanguageClient):
    uri = "file:///e2e/looping.py"
    open_doc(client, uri, LOOPING)
    head = LOOPING[:LOOPING.index("    ...")]
    for action in (a for a in await _actions(client, uri, _position(LOOPING, "check")) if a.title == "Generate body"):
        out = _apply(LOOPING, action.edit.changes[uri])
        assert _parses(out) and out.startswith(head) and not has_repeat(out[len(head):].rstrip(), "    ")
    result = await client.workspace_execute_command_async(types.ExecuteCommandParams(
        "quill.generateBody", [uri, {"line": 2, "character": 5}]))
    for params in client.applied:
        out = _apply(LOOPING, params.edit.changes[uri])
        assert _parses(out) and not has_repeat(out[len(head):].rstrip(), "    ")
    assert result["applied"] is bool(client.applied)


async def test_no_generate_body_on_an_overload_or_a_protocol_member(client: LanguageClient):
    uri = "file:///e2e/stubs.py"
    open_doc(client, uri, STUBS)
    for needle in ("parse", "read", "..."):
        titles = [a.title for a in await _actions(client, uri, _position(STUBS, needle))]
        assert "Generate body" not in titles, needle
    position = _position(STUBS, "read")
    result = await client.workspace_execute_command_async(types.ExecuteCommandParams(
        "quill.generateBody", [uri, {"line": position.line, "character": position.character}]))
    assert result["applied"] is False and "stubs" in result["reason"] and client.applied == []
