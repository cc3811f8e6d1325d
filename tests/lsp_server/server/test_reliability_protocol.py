"""Exactly one reply per request, in-process: lifecycle errors, malformed params, typed errors, no disk reads.

Messages go through QuillServer's real protocol as JSON (tests/reliability_support.InProcessClient), so
pygls's own deserialization runs; tests/e2e/test_reliability_rpc.py repeats the main cases over stdio.
"""
from __future__ import annotations

import asyncio
import builtins
import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pygls.exceptions import JsonRpcInternalError, JsonRpcInvalidParams
from reliability_support import InProcessClient, scaled

from lsp_server.errors import (
    BundleCorrupt,
    DocumentNotOpen,
    ModelUnavailable,
    PositionOutOfRange,
)
from lsp_server.runtime.cancel import Cancelled
from lsp_server.server.protocol import rpc_error

URI = "file:///w/person.py"
SOURCE = "import os\n\n\ndef load_config(path, strict=False):\n    return path\n"
POSITION = {"line": 3, "character": 6}
TD = {"uri": URI}
TEMPLATES = {
    "textDocument/hover": {"textDocument": TD, "position": POSITION},
    "textDocument/inlineCompletion": {"textDocument": TD, "position": POSITION, "context": {"triggerKind": 1}},
    "textDocument/completion": {"textDocument": TD, "position": POSITION},
    "textDocument/codeAction": {"textDocument": TD, "range": {"start": POSITION, "end": POSITION},
                                "context": {"diagnostics": []}},
    "workspace/executeCommand": {"command": "quill.generateDocstring", "arguments": [URI, POSITION]},
}
ALLOWED_ERRORS = {-32602, -32601}  # invalid params, method not found; never an internal error


TEXT_URI, UNOPENED_URI = "file:///w/notes.txt", "file:///w/unopened.py"


def ready_client() -> InProcessClient:
    client = InProcessClient()
    client.server.strict = True  # an internal error must reach the reply (-32603), not degrade to empty
    client.initialize("utf-16")
    client.did_open(URI, SOURCE)
    client.notify("textDocument/didOpen", {"textDocument": {"uri": TEXT_URI, "languageId": "plaintext",
                                                            "version": 1, "text": "def not_python(:\n"}})
    return client


def error_code(reply: dict) -> int | None:
    return reply["error"]["code"] if "error" in reply else None


def test_requests_before_initialize_get_server_not_initialized_and_notifications_are_dropped():
    client = InProcessClient()
    client.did_open(URI, SOURCE)
    ids = [client.request(method, params) for method, params in TEMPLATES.items()]
    ids.append(client.request("shutdown"))
    for msg_id in ids:
        assert [error_code(r) for r in client.replies(msg_id)] == [-32002]
    client.initialize()
    assert client.server.store.get(URI) is None  # the early didOpen was dropped


@pytest.mark.parametrize("params", [
    {"textDocument": TD, "position": {"line": -1, "character": 0}},
    {"textDocument": TD, "position": {"line": 0, "character": -5}},
    {"textDocument": TD, "position": {"line": 2**31, "character": 0}},
    {"textDocument": TD, "position": {"line": 0, "character": 10**20}},
    {"textDocument": TD, "position": {"line": None, "character": 0}},
    {"textDocument": TD, "position": {"line": "1", "character": 0}},
    {"textDocument": TD, "position": {"line": 1.5, "character": 0}},
    {"textDocument": TD, "position": None},
    {"textDocument": "file:///w/person.py", "position": POSITION},
    {"textDocument": {"uri": 7}, "position": POSITION},
    {"position": POSITION},
    None,
    [URI, POSITION],
    "hello",
], ids=lambda p: str(p)[:60])
def test_malformed_params_get_exactly_one_invalid_params_reply(params):
    client = ready_client()
    msg_id = client.request("textDocument/hover", params)
    (reply,) = client.replies(msg_id)
    assert error_code(reply) == -32602, reply
    assert not any(m.get("method") == "window/showMessage" for m in client.writer.messages)


def test_unknown_methods_get_method_not_found_and_unknown_notifications_nothing():
    client = ready_client()
    ids = [client.request("quill/noSuchThing", {"x": 1}), client.request("$/noSuchThing"),
           client.request("quill/noParams")]
    client.send({"jsonrpc": "2.0", "id": "extra", "method": "quill/x", "params": {}, "surplus": 1})
    client.notify("quill/noSuchNotification", {"x": 1})
    for msg_id in ids + ["extra"]:
        assert [error_code(r) for r in client.replies(msg_id)] == [-32601]
    assert len([m for m in client.writer.messages if "id" in m]) == 5  # initialize + 4


def test_non_jsonrpc_messages_with_an_id_get_invalid_request():
    client = ready_client()
    client.send({"id": 41, "method": "textDocument/hover", "params": TEMPLATES["textDocument/hover"]})
    client.send({"jsonrpc": "1.0", "id": 42, "method": "shutdown"})
    client.send({"no": "method"})
    client.send([1, 2, 3])
    assert [error_code(r) for r in client.replies(41)] == [-32600]
    assert [error_code(r) for r in client.replies(42)] == [-32600]


@pytest.mark.parametrize("position", [{"line": 2**31, "character": 0}, {"line": 0, "character": -1},
                                      {"line": True, "character": 0}, {"line": 1.0, "character": 0}])
def test_command_positions_outside_lsp_integers_are_invalid_params(position):
    client = ready_client()
    params = {"command": "quill.generateDocstring", "arguments": [URI, position]}

    async def run():
        (reply,) = await client.one_reply_each([client.request("workspace/executeCommand", params)])
        assert error_code(reply) == -32602, reply

    asyncio.run(run())


def test_second_initialize_and_requests_after_shutdown_get_invalid_request():
    client = ready_client()
    again = client.request("initialize", {"processId": None, "rootUri": None, "capabilities": {}})
    assert [error_code(r) for r in client.replies(again)] == [-32600]
    shutdown = client.request("shutdown")
    assert client.replies(shutdown) == [{"jsonrpc": "2.0", "id": shutdown, "result": None}]
    late = client.request("textDocument/hover", TEMPLATES["textDocument/hover"])
    assert [error_code(r) for r in client.replies(late)] == [-32600]


def test_exit_ends_the_server_whatever_its_params():
    client = ready_client()
    with pytest.raises(SystemExit) as exited:
        client.notify("exit", {"unexpected": [1, 2]})
    assert exited.value.code == 1  # no shutdown first


def test_malformed_notifications_leave_the_document_unchanged_and_get_no_reply():
    client = ready_client()
    before = len(client.writer.messages)
    client.did_change(URI, 2, [{"range": {"start": {"line": -1, "character": 0},
                                          "end": {"line": 0, "character": 0}}, "text": "x"}])
    client.did_change(URI, 2, [{"range": None, "text": 5}])
    client.notify("textDocument/didChange", None)
    client.notify("textDocument/didOpen", {"textDocument": {"uri": 3}})
    assert client.server.store.get(URI).text == SOURCE
    assert len(client.writer.messages) == before


@pytest.mark.parametrize("exc, code", [
    (PositionOutOfRange("negative position"), -32602), (DocumentNotOpen("file:///x"), -32602),
    (ModelUnavailable("no bundle"), -32803), (BundleCorrupt("sha256 mismatch"), -32803), (Cancelled("stop"), -32800),
    (JsonRpcInvalidParams(message="bad"), -32602), (KeyError("boom"), -32603)])
def test_typed_errors_become_their_lsp_error_codes(exc, code):
    assert rpc_error(exc).code == code


@pytest.mark.parametrize("failure, code", [
    (PositionOutOfRange("negative position (-1, 0)"), -32602), (RuntimeError("a bug"), -32603), (None, -32603)])
async def test_a_failing_handler_gets_exactly_one_error_reply(failure, code):
    client = ready_client()

    async def failing_hover(params):
        if failure is None:
            return object()  # a result that cannot be serialized
        raise failure

    client.server.protocol.fm.features["textDocument/hover"] = failing_hover
    (reply,) = await client.one_reply_each([client.request("textDocument/hover", TEMPLATES["textDocument/hover"])])
    assert error_code(reply) == code, reply


async def test_a_client_reply_that_cannot_be_read_fails_our_request_instead_of_hanging():
    client = ready_client()
    future = client.server.protocol.send_request("workspace/applyEdit", {"edit": {}}, msg_id="ours")
    client.send({"jsonrpc": "2.0", "id": "ours", "result": {"applied": "perhaps"}})
    assert future.done() and isinstance(future.exception(), JsonRpcInvalidParams)
    assert not isinstance(future.exception(), JsonRpcInternalError)


async def test_unopened_documents_get_empty_answers_and_are_never_read_from_disk(tmp_path, monkeypatch):
    on_disk = tmp_path / "person.py"
    on_disk.write_text(SOURCE, encoding="utf-8")
    real_open = builtins.open

    def guarded_open(file, *args, **kwargs):
        assert "person.py" not in str(file), f"the server read {file} from disk"
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded_open)
    client = InProcessClient()
    client.initialize()
    uri = on_disk.as_uri()
    results = {}
    for method, template in TEMPLATES.items():
        params = copy.deepcopy(template)
        if method == "workspace/executeCommand":
            params["arguments"][0] = uri
        else:
            params["textDocument"] = {"uri": uri}
        (results[method],) = await client.one_reply_each([client.request(method, params)])
    assert results["textDocument/hover"]["result"] is None
    assert results["textDocument/inlineCompletion"]["result"] == {"items": []}
    assert results["textDocument/completion"]["result"]["items"] == []
    assert results["textDocument/codeAction"]["result"] is None
    assert error_code(results["workspace/executeCommand"]) == -32602


async def test_out_of_range_positions_are_clamped_to_the_line_and_the_document_end():
    client = ready_client()
    line = SOURCE.split("\n")[3]
    replies = []
    for position in ({"line": 3, "character": len(line)}, {"line": 3, "character": 2**31 - 1}):
        params = {"textDocument": TD, "position": position}
        replies.append(await client.reply(client.request("textDocument/completion", params)))
    assert replies[0]["result"] == replies[1]["result"]
    far = {"textDocument": TD, "position": {"line": 2**31 - 1, "character": 2**31 - 1}}
    assert "result" in await client.reply(client.request("textDocument/hover", far))


JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=False)
                    | st.text(max_size=8), lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=6)


@st.composite
def mutated_params(draw):
    """A valid request's params with one value (or the whole params) replaced by random JSON."""
    method = draw(st.sampled_from(sorted(TEMPLATES)))
    uri = draw(st.sampled_from([URI, TEXT_URI, UNOPENED_URI]))
    params = json.loads(json.dumps(TEMPLATES[method]).replace(URI, uri))
    if draw(st.integers(0, 9)) == 0:
        return method, draw(JSON)
    node, key = None, None
    value = params
    while isinstance(value, (dict, list)) and value and draw(st.booleans()):
        keys = list(value) if isinstance(value, dict) else list(range(len(value)))
        node, key = value, draw(st.sampled_from(keys))
        value = node[key]
    if node is None:
        return method, draw(JSON)
    node[key] = draw(JSON | st.sampled_from([-1, 2**31, 2**31 - 1, None, "", [], {}]))
    return method, params


@pytest.fixture(scope="module")
def shared_client() -> InProcessClient:
    return ready_client()


@settings(max_examples=scaled(150, 5000), deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(batch=st.lists(mutated_params(), min_size=1, max_size=4))
def test_fuzzed_params_get_exactly_one_reply_and_never_an_internal_error(shared_client, batch):
    async def run():
        client = shared_client
        ids = [client.request(method, params) for method, params in batch]
        for reply in await client.one_reply_each(ids):
            assert error_code(reply) in ALLOWED_ERRORS | {None}, reply
        assert not any(m.get("method") == "window/showMessage" for m in client.writer.messages)

    asyncio.run(run())
