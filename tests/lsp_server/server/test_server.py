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


async def test_a_burst_of_model_changes_runs_one_load_at_a_time_and_only_the_newest(monkeypatch):
    """100 thread-count flips once queued 100 full reloads: 3.4 GB of RSS and a 22 s inline (issue 12 §6)."""
    import lsp_server.server.language_server as language_server
    loads = []

    async def fake_load(ls, path, threads):
        loads.append(threads)
        await asyncio.sleep(0.05)  # a load takes a while; changes keep arriving meanwhile
        ls.engine, ls.engine_error = f"engine-{threads}", None
        return ls.engine

    monkeypatch.setattr(language_server, "load_engine", fake_load)
    server = QuillServer()
    server.start_loading_engine()
    for i in range(100):
        server.apply_settings({"model": {"threads": 1 + i % 2}}, user_level=True)
        await asyncio.sleep(0)
    assert await server.wait_engine() == "engine-2"  # the last choice (i = 99: threads 2)
    assert len(loads) == 2 and loads[-1] == 2  # the first load, then only the newest choice: not one per change
    server.apply_settings({"model": {"threads": 2}}, user_level=True)  # unchanged: nothing to do
    assert await server.wait_engine() == "engine-2" and len(loads) == 2


def test_workspace_settings_cannot_change_the_thread_count():
    server = QuillServer()
    server.apply_settings({"model": {"threads": 1}}, user_level=True)
    server.apply_settings({"model": {"threads": 4}}, user_level=False)
    assert server.config.model.threads == 1


def test_threads_are_capped_at_the_machines_cores():
    import os

    from lsp_server.runtime.ort_session import session_options
    cores = os.cpu_count() or 1
    assert session_options(cores + 60).intra_op_num_threads == cores
    assert session_options(0).intra_op_num_threads == min(2, cores)
