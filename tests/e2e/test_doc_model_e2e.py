"""End-to-end: `quill serve --bundle` with a bundle that carries a docstring model (a tiny Seq2Seq taught one
sentence): loaded at start next to the code LM, used by hover and code actions, beam width from the settings,
and still no torch in the server."""
from __future__ import annotations

import pytest
from doc_fixtures import doc_bundle, small_tokenizer, taught_seq2seq
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from lsp_server.features.debug import MODULES
from model.docpairs import extract_pairs

from .helpers import SERVER, open_doc
from .helpers import position_of as _position

pytestmark = pytest.mark.e2e

SENTENCE = "Return the configuration read from the file."
URI = "file:///e2e/doc_model.py"
SOURCE = '''import json


def load_config(path: str) -> dict:
    with open(path) as f:
        return json.load(f)


def documented(x):
    """Return x unchanged."""
    return x + 1
'''


@pytest.fixture(scope="module")
def bundle(stdlib_texts, tmp_path_factory, one_torch_thread):
    work = tmp_path_factory.mktemp("doc-e2e")
    tokenizer = small_tokenizer(stdlib_texts, work)
    codes = [pair["code"] for pair in extract_pairs(SOURCE)] + ["def load_config(path: str) -> dict:\n"
                                                                  "    with open(path) as f:\n"
                                                                  "        return json.load(f)\n"]
    return doc_bundle(tokenizer, taught_seq2seq(tokenizer, SENTENCE, codes), work, int8=True)


async def _start(bundle, options: dict | None = None) -> LanguageClient:
    client = await ClientServerConfig(server_command=[*SERVER, "--bundle", str(bundle), "--test-hooks"]).start()
    await client.initialize_session(types.InitializeParams(capabilities=types.ClientCapabilities(),
                                                           initialization_options=options))
    return client


async def _hover(client: LanguageClient, needle: str):
    return await client.text_document_hover_async(types.HoverParams(
        types.TextDocumentIdentifier(URI), _position(SOURCE, needle, 3)))


@pytest.mark.parametrize("beam", [1, 4])
async def test_hover_and_actions_use_the_bundles_docstring_model(bundle, beam):
    client = await _start(bundle, {"docstring": {"beam": beam}})
    try:
        open_doc(client, URI, SOURCE)
        hover = await _hover(client, "load_config")
        assert "summary by the local docstring model" in hover.contents.value
        assert f'"""{SENTENCE}\n\nArgs:\n    path (str):' in hover.contents.value
        assert any("with its docstring model" in m.message for m in client.log_messages)
        actions = await client.text_document_code_action_async(types.CodeActionParams(
            types.TextDocumentIdentifier(URI), types.Range(_position(SOURCE, "documented", 2),
                                                           _position(SOURCE, "documented", 2)),
            types.CodeActionContext(diagnostics=[])))
        (regenerate,) = [a for a in actions if a.title == "Regenerate docstring"]
        (edit,) = regenerate.edit.changes[URI]
        assert edit.new_text.startswith(f'"""{SENTENCE}')
        modules = await client.workspace_execute_command_async(types.ExecuteCommandParams(command=MODULES))
        assert modules == {"unsafe": [], "engine": True}
        assert not client.messages  # nothing went wrong loading either model
        await client.shutdown_session()
    finally:
        if client._server is not None and client._server.returncode is None:
            client._server.kill()
        await client.stop()
