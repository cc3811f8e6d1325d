"""End-to-end inline completion, configuration and model loading through pytest-lsp with the shipped bundle."""
from __future__ import annotations

import sys

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from lsp_server.config import parse_config
from lsp_server.inline.pipeline import suggest_all
from lsp_server.project.mixing import ProjectContext
from lsp_server.runtime.engine import Engine
from lsp_server.syntax.documents import Document, parse

pytestmark = pytest.mark.e2e

# One onnxruntime thread: the in-process check of the ranking then computes exactly what the server does.
SERVER = [sys.executable, "-m", "lsp_server", "serve", "--threads", "1"]
SELF_DOT = "class Person:\n    def __init__(self, name):\n        self."


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


async def _start(client: LanguageClient, options=None, progress: bool = False) -> None:
    caps = types.ClientCapabilities(window=types.WindowClientCapabilities(work_done_progress=progress))
    await client.initialize_session(types.InitializeParams(capabilities=caps, initialization_options=options))


def _open(client: LanguageClient, uri: str, text: str) -> None:
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, text)))


async def _inline(client: LanguageClient, uri: str, line: int, character: int) -> types.InlineCompletionList:
    return await client.text_document_inline_completion_async(types.InlineCompletionParams(
        context=types.InlineCompletionContext(types.InlineCompletionTriggerKind.Invoked),
        text_document=types.TextDocumentIdentifier(uri), position=types.Position(line, character)))


def _end_of(text: str) -> tuple[int, int]:
    lines = text.split("\n")
    return len(lines) - 1, len(lines[-1])


async def test_three_alternatives_are_distinct_and_ranked_by_confidence(client: LanguageClient):
    options = {"inline": {"alternatives": 3, "min_confidence": 0.0}}  # no gate: the ranking is what is tested
    await _start(client, options)
    _open(client, "file:///e2e/alt.py", SELF_DOT)
    result = await _inline(client, "file:///e2e/alt.py", *_end_of(SELF_DOT))
    texts = [item.insert_text for item in result.items]
    assert 2 <= len(texts) <= 3 and len(set(texts)) == len(texts), texts
    # The server's order is the pipeline's ranking by mean token log-probability.
    config, _ = parse_config(options)
    # No workspace folder: the project context is the document's own text.
    expected = suggest_all(Document("file:///x.py", SELF_DOT), len(SELF_DOT), Engine.load(threads=1),
                           config.inline.suggest_options(), project=ProjectContext(None, config.project.mix_rule()))
    assert texts == [s.text for s in expected]
    assert [s.mean_logprob for s in expected] == sorted((s.mean_logprob for s in expected), reverse=True)


async def test_no_suggestion_inside_a_string(client: LanguageClient):
    await _start(client)
    text = 'def greet(name):\n    message = "Hello, dear '
    _open(client, "file:///e2e/string.py", text + '"\n')
    assert not (await _inline(client, "file:///e2e/string.py", 1, len('    message = "Hello, dear '))).items


async def test_multiline_completion_after_a_def_stops_at_the_end_of_the_block(client: LanguageClient):
    # The stop rule is under test, not the confidence gate (which may withhold an unsure block).
    await _start(client, {"inline": {"alternatives": 3, "max_new_tokens": 64, "min_confidence": 0.0}})
    text = "def f(x):\n\n\nprint(f(2))\n"
    _open(client, "file:///e2e/block.py", text)
    result = await _inline(client, "file:///e2e/block.py", 0, len("def f(x):"))
    assert result.items, "the shipped model gave no block after `def f(x):`"
    for item in result.items:
        body = item.insert_text
        assert body.startswith("\n") and body.strip()
        assert all(line.startswith((" ", "\t")) for line in body.split("\n")[1:] if line.strip()), body
        assert "print(f(2))" not in body
        completed = "def f(x):" + body + text[len("def f(x):"):]
        assert not parse(completed.encode()).root_node.has_error, completed


async def test_model_loading_reports_progress_to_a_client_that_supports_it(client: LanguageClient):
    await _start(client, progress=True)
    _open(client, "file:///e2e/progress.py", SELF_DOT)
    await _inline(client, "file:///e2e/progress.py", *_end_of(SELF_DOT))  # answered once the model is loaded
    assert len(client.progress_reports) == 1
    (reports,) = client.progress_reports.values()
    assert isinstance(reports[0], types.WorkDoneProgressBegin) and "loading model" in reports[0].title
    assert isinstance(reports[-1], types.WorkDoneProgressEnd)
    assert any("loaded" in m.message and " ms" in m.message for m in client.log_messages)


async def test_no_progress_without_the_capability_but_timings_are_logged(client: LanguageClient):
    await _start(client, progress=False)
    _open(client, "file:///e2e/noprogress.py", SELF_DOT)
    await _inline(client, "file:///e2e/noprogress.py", *_end_of(SELF_DOT))
    assert client.progress_reports == {}
    assert any("verify" in m.message and "onnxruntime session" in m.message for m in client.log_messages)


async def test_invalid_configuration_gives_one_message_naming_the_setting(client: LanguageClient):
    await _start(client, {"inline": {"max_lines": "three", "alternatives": 2}})
    assert len(client.messages) == 1
    assert "inline.max_lines" in client.messages[0].message
    assert client.messages[0].type == types.MessageType.Warning
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"quill": {"inline": {"confidence_threshold": "high"}}}))
    message = await client.wait_for_notification(types.WINDOW_SHOW_MESSAGE)
    assert "inline.confidence_threshold" in message.message
    _open(client, "file:///e2e/config.py", SELF_DOT)
    result = await _inline(client, "file:///e2e/config.py", *_end_of(SELF_DOT))
    assert isinstance(result, types.InlineCompletionList)  # defaults used, nothing crashed
    assert len(client.messages) == 2


async def test_a_workspace_setting_cannot_choose_the_model(client: LanguageClient):
    await _start(client, {"inline": {"min_confidence": 0.0}})  # any answer will do: no confidence gate
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"quill": {"model": {"bundle_path": "/tmp/not-a-quill-bundle"}}}))
    message = await client.wait_for_notification(types.WINDOW_SHOW_MESSAGE)
    assert "model.bundle_path" in message.message
    _open(client, "file:///e2e/ws.py", SELF_DOT)
    assert (await _inline(client, "file:///e2e/ws.py", *_end_of(SELF_DOT))).items  # the shipped model still answers


async def test_a_missing_user_bundle_is_reported_and_other_features_keep_working(client: LanguageClient, tmp_path):
    await _start(client, {"model": {"bundle_path": str(tmp_path / "missing")}})
    _open(client, "file:///e2e/missing.py", "import os\nvalue = 1\nprint(val")
    assert not (await _inline(client, "file:///e2e/missing.py", 2, len("print(val"))).items
    errors = [m for m in client.messages if m.type == types.MessageType.Error]
    assert len(errors) == 1 and "missing" in errors[0].message
    items = await client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier("file:///e2e/missing.py"),
        position=types.Position(2, len("print(val"))))
    assert [item.label for item in items.items] == ["value"]
