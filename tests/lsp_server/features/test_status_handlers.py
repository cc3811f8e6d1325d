"""Exclusions and acceptance statistics through the feature handlers, called directly on a server never started
(as tests/lsp_server/features/test_handlers.py): quill/documentStatus, the features' silence for a non-Python or
excluded document, the inline item's quill.accepted command, quill.stats."""
from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pygls.workspace import Workspace

from lsp_server.app import create_server
from lsp_server.features import (
    acceptance,
    commands,
    completion,
    hover,
    inline,
    status,
    sync,
)
from lsp_server.server.language_server import QuillServer

# A raise condition gives the docstring hover a real line (a docstring of placeholders only is not hovered).
SHOP = ("def total_price(items, tax):\n    if tax < 0:\n        raise ValueError(tax)\n"
        "    return sum(items) * (1 + tax)\n\nprint(total_pr)\n")
AT_NAME = types.Position(5, len("print(total_pr"))


@pytest.fixture
def ls(tmp_path):
    server = create_server(threads=1)
    server.protocol._workspace = Workspace(tmp_path.as_uri())  # as `initialize` with rootUri would
    server.config.completion.model_ranking = False  # buffer names: no engine needed
    yield server
    server.inference.shutdown(wait=True)


def open_doc(ls: QuillServer, path: Path, text: str = SHOP, language: str = "python") -> str:
    uri = path.as_uri()
    sync.did_open(ls, types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, language, 1, text)))
    return uri


def doc_status(ls: QuillServer, uri: str) -> dict:
    return status.document_status_request(ls, {"textDocument": {"uri": uri}})


async def names(ls: QuillServer, uri: str) -> list[str]:
    found = await completion.completion(ls, types.CompletionParams(types.TextDocumentIdentifier(uri), AT_NAME))
    return [item.label for item in found.items]


async def hover_at_def(ls: QuillServer, uri: str):
    return await hover.hover(ls, types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(0, 5)))


async def test_document_status_says_why_a_document_is_inactive(ls, tmp_path):
    (tmp_path / ".quillignore").write_text("vendor/\n", encoding="utf-8")
    ls.config.inline.exclude = ["tests/**"]
    assert doc_status(ls, open_doc(ls, tmp_path / "app.py")) == {"active": True, "reason": None, "detail": ""}
    assert doc_status(ls, open_doc(ls, tmp_path / "notes.md", language="markdown"))["reason"] == "language"
    assert doc_status(ls, open_doc(ls, tmp_path / "tests" / "t.py"))["reason"] == "excluded"
    assert doc_status(ls, open_doc(ls, tmp_path / "vendor" / "v.py"))["reason"] == "excluded"
    assert doc_status(ls, (tmp_path / "closed.py").as_uri())["reason"] == "not_open"
    assert status.document_status_request(ls, {"uri": (tmp_path / "app.py").as_uri()})["active"]
    ls.config.inline.enabled = False
    assert doc_status(ls, (tmp_path / "app.py").as_uri())["reason"] == "disabled"


@pytest.mark.parametrize("params", [{}, {"textDocument": {}}, {"uri": 3}, None, []])
def test_document_status_without_a_uri_is_invalid_params(ls, params):
    with pytest.raises(JsonRpcInvalidParams, match="textDocument"):
        status.document_status_request(ls, params)


async def test_an_excluded_or_non_python_document_gets_no_completion_items_and_no_hover(ls, tmp_path):
    ls.config.inline.exclude = ["generated/"]
    python = open_doc(ls, tmp_path / "shop.py")
    excluded = open_doc(ls, tmp_path / "generated" / "shop.py")
    other = open_doc(ls, tmp_path / "shop.txt", language="plaintext")
    assert "total_price" in await names(ls, python) and await hover_at_def(ls, python) is not None
    for uri in (excluded, other):
        assert await names(ls, uri) == [] and await hover_at_def(ls, uri) is None


async def test_generate_commands_refuse_an_excluded_document_with_the_reason(ls, tmp_path):
    (tmp_path / ".quillignore").write_text("legacy_*.py\n", encoding="utf-8")
    uri = open_doc(ls, tmp_path / "legacy_shop.py")
    found = await commands.generate_docstring(ls, uri, {"line": 0, "character": 5})
    assert found["applied"] is False and "inactive" in found["reason"] and ".quillignore" in found["reason"]


async def inline_at(ls: QuillServer, uri: str, position: types.Position) -> types.InlineCompletionList:
    return await inline.inline_completion(ls, types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri), position=position,
        context=types.InlineCompletionContext(types.InlineCompletionTriggerKind.Invoked)))


async def test_inline_items_carry_the_acceptance_command_and_stats_count_them(ls, engine, tmp_path):
    ls.engine = engine
    ls.config.inline.min_confidence = 0.0  # the wiring is under test, not the confidence gate
    text, cursor = "def add(a, b):\n    return ", types.Position(1, 11)
    uri = open_doc(ls, tmp_path / "add.py", text)
    answer = await inline_at(ls, uri, cursor)
    assert answer.items
    commands_sent = {(item.command.command, tuple(item.command.arguments)) for item in answer.items}
    assert len(commands_sent) == 1  # the alternatives are one suggestion
    (name, (sid,)), = commands_sent
    assert name == acceptance.ACCEPTED
    assert acceptance.stats(ls)["shown"] == 1 and acceptance.stats(ls)["accepted"] == 0
    # Typing its first character is answered from it: the same id, not a second suggestion shown.
    shown = answer.items[0].insert_text
    typed = types.TextDocumentContentChangePartial(range=types.Range(cursor, cursor), text=shown[0])
    sync.did_change(ls, types.DidChangeTextDocumentParams(types.VersionedTextDocumentIdentifier(uri=uri, version=2), [typed]))
    rest = await inline_at(ls, uri, types.Position(1, 12))
    if len(shown) > 1:
        assert rest.items and all(item.command.arguments == [sid] for item in rest.items)
    assert acceptance.accepted(ls, sid, 2) == {"recorded": True}
    assert acceptance.accepted(ls, sid) == {"recorded": True}
    found = acceptance.stats(ls)
    assert (found["requests"], found["shown"], found["accepted"], found["partially_accepted"]) == (2, 1, 1, 0)
    assert found["partial_chars"] == 2 and found["mean_latency_ms"] > 0


async def test_inline_completion_is_empty_for_a_non_python_or_excluded_document(ls, engine, tmp_path):
    ls.engine = engine
    ls.config.inline.min_confidence = 0.0
    ls.config.inline.exclude = ["skip_*.py"]
    text, cursor = "def add(a, b):\n    return ", types.Position(1, 11)
    assert (await inline_at(ls, open_doc(ls, tmp_path / "add.py", text), cursor)).items  # the control
    for uri in (open_doc(ls, tmp_path / "skip_add.py", text), open_doc(ls, tmp_path / "add.txt", text, "plaintext")):
        assert (await inline_at(ls, uri, cursor)).items == []
    assert acceptance.stats(ls)["shown"] == 1


@pytest.mark.parametrize("args, words", [
    ((), "got 0 arguments"), (("a", 1, 2), "got 3 arguments"), ((3,), "id must be"), (("",), "id must be"),
    (("q1", -1), "length must be"), (("q1", True), "length must be"), (("q1", "3"), "length must be"),
    (({"length": 3},), "id must be"),
])
def test_accepted_rejects_bad_arguments_with_the_expected_shape(ls, args, words):
    with pytest.raises(JsonRpcInvalidParams, match=words):
        acceptance.accepted(ls, *args)


def test_accepted_takes_an_object_and_refuses_an_unknown_id(ls):
    assert acceptance.parse_acceptance(({"id": "q7", "length": 5},)) == ("q7", 5)
    assert acceptance.parse_acceptance(({"id": "q7"},)) == ("q7", None)
    found = acceptance.accepted(ls, "q404")
    assert found["recorded"] is False and "unknown" in found["reason"]


async def test_closing_a_document_forgets_the_suggestion_it_showed(ls, engine, tmp_path):
    ls.engine = engine
    ls.config.inline.min_confidence = 0.0
    uri = open_doc(ls, tmp_path / "add.py", "def add(a, b):\n    return ")
    assert (await inline_at(ls, uri, types.Position(1, 11))).items
    assert ls.per_document_state()["suggestion_ids"] == 1
    sync.did_close(ls, types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri)))
    assert set(ls.per_document_state().values()) == {0}
