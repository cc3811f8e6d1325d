"""Unit tests of the server's request bookkeeping (QuillServer.run_inference), without a client."""
import asyncio
from pathlib import Path

from lsp_server.server.language_server import QuillServer

URI = "file:///w/a.py"


def server_with_document():
    server = QuillServer()
    server.store.open(URI, "x = 1\n", version=1)
    return server


def echo(value, token):
    return value


async def test_a_result_for_the_current_text_is_returned():
    server = server_with_document()
    snapshot = server.store.get(URI).snapshot()
    assert await server.run_inference(snapshot, "inline", echo, 42) == 42


async def test_a_newer_request_of_the_same_kind_supersedes_a_debounced_one():
    server = server_with_document()
    snapshot = server.store.get(URI).snapshot()
    first = asyncio.ensure_future(server.run_inference(snapshot, "inline", echo, 1, debounce_ms=200))
    await asyncio.sleep(0.01)
    second = await server.run_inference(snapshot, "inline", echo, 2, debounce_ms=10)
    assert (await first, second) == (None, 2)


async def test_requests_of_other_kinds_do_not_cancel_each_other():
    server = server_with_document()
    snapshot = server.store.get(URI).snapshot()
    inline = asyncio.ensure_future(server.run_inference(snapshot, "inline", echo, 1, debounce_ms=50))
    completion = await server.run_inference(snapshot, "completion", echo, 2)
    assert (await inline, completion) == (1, 2)


async def test_an_edit_makes_an_in_flight_answer_obsolete():
    server = server_with_document()
    snapshot = server.store.get(URI).snapshot()
    pending = asyncio.ensure_future(server.run_inference(snapshot, "inline", echo, 1, debounce_ms=100))
    await asyncio.sleep(0.01)
    server.cancel_inflight(URI)
    server.store.apply_changes(URI, [(None, "x = 2\n")], version=2)
    assert await pending is None


async def test_model_choice_prefers_the_command_line_then_user_settings():
    server = QuillServer()
    assert server.model_choice() == (None, 0)
    server.apply_settings({"model": {"bundle_path": "/opt/b", "threads": 2}})
    assert str(server.model_choice()[0]) == "/opt/b" and server.model_choice()[1] == 2
    flagged = QuillServer(bundle_path=Path("/cli/b"), threads=1)
    flagged.apply_settings({"model": {"bundle_path": "/opt/b", "threads": 2}})
    assert str(flagged.model_choice()[0]) == "/cli/b" and flagged.model_choice()[1] == 1
