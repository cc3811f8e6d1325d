"""End-to-end: docstring hover, code actions and quill.generateDocstring through `quill serve` + pytest-lsp."""
from __future__ import annotations

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from .helpers import SERVER, open_doc
from .helpers import apply_edits as _apply
from .helpers import parses as _parses
from .helpers import position_of as _position
from .helpers import record_applied_edits as _applied_edits

pytestmark = pytest.mark.e2e

SOURCE = '''import json

GREETING = "héllo 😀"


def load_config(path: str, strict: bool = False) -> dict:
    with open(path) as f:
        data = json.load(f)
    if strict and not data:
        raise ValueError("empty config")
    return data


def documented(x):
    """Return x unchanged."""
    return x


class Store:
    def __init__(self, root, cache_size=128):
        self.root = root
'''




@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient):
    _applied_edits(lsp_client)
    lsp_client.init_result = await lsp_client.initialize_session(
        types.InitializeParams(capabilities=types.ClientCapabilities()))
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def numpy_client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=types.ClientCapabilities(), initialization_options={"docstring": {"style": "numpy"}}))
    yield
    await lsp_client.shutdown_session()










async def _hover(client: LanguageClient, uri: str, position: types.Position):
    return await client.text_document_hover_async(types.HoverParams(types.TextDocumentIdentifier(uri), position))


async def _actions(client: LanguageClient, uri: str, position: types.Position) -> list[types.CodeAction]:
    result = await client.text_document_code_action_async(types.CodeActionParams(
        types.TextDocumentIdentifier(uri), types.Range(position, position), types.CodeActionContext(diagnostics=[])))
    return result or []


async def test_initialize_advertises_hover_code_actions_and_commands(client: LanguageClient):
    caps = client.init_result.capabilities
    assert caps.hover_provider and caps.code_action_provider
    assert {"quill.generateDocstring", "quill.generateBody"} <= set(caps.execute_command_provider.commands)


async def test_hover_on_an_undocumented_function_after_non_ascii_text_suggests_a_google_docstring(client):
    uri = "file:///e2e/config.py"
    open_doc(client, uri, SOURCE)
    position = _position(SOURCE, "load_config", 3)
    hover = await _hover(client, uri, position)
    assert hover is not None and hover.contents.kind == types.MarkupKind.Markdown
    value = hover.contents.value
    assert "```python\n\"\"\"" in value and value.rstrip().endswith('"""\n```')
    # Nothing restates a name: the facts read from the code, placeholders for the rest.
    assert "Args:\n    path (str): _description_\n    strict (bool): _description_ Defaults to False." in value
    assert "Returns:\n    dict: _description_" in value and "Raises:\n    ValueError: If strict and not data." in value
    assert hover.range.start == _position(SOURCE, "load_config")


async def test_hover_on_a_documented_function_or_off_a_name_returns_nothing(client: LanguageClient):
    uri = "file:///e2e/documented.py"
    open_doc(client, uri, SOURCE)
    assert await _hover(client, uri, _position(SOURCE, "documented")) is None
    assert await _hover(client, uri, _position(SOURCE, "json.load")) is None
    assert await _hover(client, "file:///e2e/never-opened.py", types.Position(0, 0)) is None


async def test_hover_style_follows_the_configuration(numpy_client: LanguageClient):
    uri = "file:///e2e/numpy.py"
    open_doc(numpy_client, uri, SOURCE)
    hover = await _hover(numpy_client, uri, _position(SOURCE, "load_config"))
    assert "Parameters\n----------\npath : str\n    _description_\n" in hover.contents.value
    assert "strict : bool, default False\n" in hover.contents.value


async def test_add_docstring_action_inserts_a_parseable_docstring_at_the_body_indentation(client):
    uri = "file:///e2e/action.py"
    open_doc(client, uri, SOURCE)
    actions = await _actions(client, uri, _position(SOURCE, "__init__"))
    add = next(a for a in actions if a.title == "Add docstring")
    assert add.kind == types.CodeActionKind.RefactorRewrite and add.is_preferred
    out = _apply(SOURCE, add.edit.changes[uri])
    assert _parses(out)
    assert '    def __init__(self, root, cache_size=128):\n        """' in out
    assert "\n        Args:\n            root: _description_\n" \
           "            cache_size: _description_ Defaults to 128.\n" \
           '        """\n        self.root = root\n' in out


async def test_a_one_line_docstring_gets_add_to_first_and_regenerate_second(client: LanguageClient):
    uri = "file:///e2e/regen.py"
    open_doc(client, uri, SOURCE)
    actions = await _actions(client, uri, _position(SOURCE, "documented"))
    assert [(a.title, a.is_preferred) for a in actions][:2] == [("Add to docstring: x, Returns", True),
                                                                ("Regenerate docstring", False)]
    out = _apply(SOURCE, actions[0].edit.changes[uri])
    assert _parses(out) and '    """Return x unchanged.\n\n    Args:\n        x: _description_\n' in out
    out = _apply(SOURCE, actions[1].edit.changes[uri])
    assert _parses(out) and "Args:\n        x: _description_" in out


async def test_no_docstring_action_off_a_name(client: LanguageClient):
    uri = "file:///e2e/none.py"
    open_doc(client, uri, SOURCE)
    actions = await _actions(client, uri, _position(SOURCE, "GREETING"))
    assert not [a for a in actions if "docstring" in a.title]


async def test_generate_docstring_command_applies_the_edit_through_the_client(client: LanguageClient):
    uri = "file:///e2e/command.py"
    open_doc(client, uri, SOURCE)
    result = await client.workspace_execute_command_async(types.ExecuteCommandParams(
        "quill.generateDocstring", [uri, {"line": 5, "character": 6}]))
    assert result == {"applied": True}
    [params] = client.applied
    out = _apply(SOURCE, params.edit.changes[uri])
    assert _parses(out) and "def load_config(path: str, strict: bool = False) -> dict:\n    \"\"\"" in out


async def test_generate_docstring_command_off_a_name_and_with_bad_arguments(client: LanguageClient):
    uri = "file:///e2e/command-bad.py"
    open_doc(client, uri, SOURCE)
    result = await client.workspace_execute_command_async(types.ExecuteCommandParams(
        "quill.generateDocstring", [{"uri": uri, "position": {"line": 0, "character": 0}}]))
    assert result["applied"] is False and "no function" in result["reason"]
    with pytest.raises(Exception, match="position.line must be a non-negative integer"):
        await client.workspace_execute_command_async(types.ExecuteCommandParams(
            "quill.generateDocstring", [uri, {"line": -1, "character": 0}]))
    with pytest.raises(Exception, match="document not open"):
        await client.workspace_execute_command_async(types.ExecuteCommandParams(
            "quill.generateDocstring", ["file:///e2e/closed.py", {"line": 0, "character": 0}]))


async def test_docstring_enabled_false_turns_hover_and_actions_off(client: LanguageClient):
    uri = "file:///e2e/off.py"
    open_doc(client, uri, SOURCE)
    position = _position(SOURCE, "load_config")
    assert await _hover(client, uri, position) is not None
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"quill": {"docstring": {"enabled": False}}}))
    assert await _hover(client, uri, position) is None
    assert not [a for a in await _actions(client, uri, position) if "docstring" in a.title]


def test_apply_edit_names_the_document_version_for_a_client_that_takes_document_changes():
    """Unversioned `changes` landed three lines off when the user typed before the client applied them."""
    from .rawrpc import RawServer
    server = RawServer()
    uri = "file:///w/stale.py"
    try:
        server.initialize(capabilities={"workspace": {"applyEdit": True, "workspaceEdit": {"documentChanges": True}}})
        server.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 4,
                                                                "text": SOURCE}})
        reply = server.call("doc", "workspace/executeCommand", {
            "command": "quill.generateDocstring", "arguments": [uri, {"line": 5, "character": 6}]}, timeout=60)
        assert reply["result"] == {"applied": True}
        (request,) = [m for m in server.messages if m.get("method") == "workspace/applyEdit"]
        edit = request["params"]["edit"]
        assert "changes" not in edit
        assert edit["documentChanges"][0]["textDocument"] == {"uri": uri, "version": 4}
    finally:
        assert server.close() == 0
