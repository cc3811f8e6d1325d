"""End-to-end: docstrings in a workspace (tests/data/param_project) through `quill serve` + pytest-lsp.

`seq` is documented in seqtools/sorting.py and used undocumented in seqtools/search.py, which is the only file
opened: the hover on find_first describes `seq` with the project's words, read by the workspace index from
disk. seqtools/ranked.py's undocumented head() gets the summary of sorting.py's documented head(). On
well-documented functions the action list never starts with Regenerate.
"""
from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from .helpers import SERVER, open_doc
from .helpers import position_of as _position

pytestmark = pytest.mark.e2e

PROJECT = Path(__file__).parents[1] / "data" / "param_project"
SNIPPETS = types.ClientCapabilities(workspace=types.WorkspaceClientCapabilities(
    workspace_edit=types.WorkspaceEditClientCapabilities(document_changes=True, snippet_edit_support=True)))


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


async def _start(client: LanguageClient, root: Path, capabilities=None) -> None:
    shutil.copytree(PROJECT, root, dirs_exist_ok=True)
    await client.initialize_session(types.InitializeParams(
        capabilities=capabilities or types.ClientCapabilities(), root_uri=root.as_uri(),
        workspace_folders=[types.WorkspaceFolder(root.as_uri(), "project")]))
    for _ in range(400):
        stats = await client.protocol.send_request_async("quill/indexStats", {})
        if stats.state == "ready":
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the index never got ready: {stats}")


def _open(client: LanguageClient, root: Path, rel: str) -> tuple[str, str]:
    path = root / rel
    text = path.read_text()
    open_doc(client, path.as_uri(), text)
    return path.as_uri(), text


async def _actions(client: LanguageClient, uri: str, position: types.Position) -> list[types.CodeAction]:
    result = await client.text_document_code_action_async(types.CodeActionParams(
        types.TextDocumentIdentifier(uri), types.Range(position, position), types.CodeActionContext(diagnostics=[])))
    return result or []


async def _hover_value(client: LanguageClient, root: Path, rel: str, name: str) -> str:
    """The hover text on the name of rel's definition `name`, rel the only file opened."""
    await _start(client, root)
    uri, text = _open(client, root, rel)
    hover = await client.text_document_hover_async(types.HoverParams(
        types.TextDocumentIdentifier(uri), _position(text, name, 2)))
    return hover.contents.value


async def test_hover_on_an_undocumented_function_shows_the_projects_description(client, tmp_path):
    value = await _hover_value(client, tmp_path, "seqtools/search.py", "find_first")
    assert "    seq: The items to work on, in any order.\n" in value  # from sorting.py, never opened
    assert "The seq." not in value and "target: _description_" in value
    assert "1 of 3 parameter descriptions from the project" in value


async def test_hover_on_an_undocumented_method_shows_the_summary_of_its_documented_namesake(client, tmp_path):
    value = await _hover_value(client, tmp_path, "seqtools/ranked.py", "head")
    assert "summary of the same name in the project" in value
    assert '"""The first items.\n\nArgs:\n    seq: The items to work on, in any order.\n' in value


async def test_the_action_list_on_a_well_documented_function_does_not_start_with_regenerate(client, tmp_path):
    await _start(client, tmp_path, SNIPPETS)
    uri, text = _open(client, tmp_path, "seqtools/sorting.py")
    complete = await _actions(client, uri, _position(text, "sort_items", 2))
    assert not [a for a in complete if "docstring" in a.title]  # nothing to add: nothing that would replace it
    actions = await _actions(client, uri, _position(text, "head", 2))
    assert [(a.title, a.is_preferred) for a in actions] == [("Add to docstring: Returns", True),
                                                            ("Regenerate docstring", False)]
    (change,) = actions[0].edit.document_changes[0].edits
    assert isinstance(change, types.SnippetTextEdit)  # the client takes snippet edits: placeholders are tab stops
    assert "        n (int): How many items to take.\n\n    Returns:\n        ${1:_description_}\n" \
        in change.snippet.value
