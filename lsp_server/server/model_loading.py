"""Model loading for the server: off the event loop, with work-done progress and timings in the log.

`ls` is the QuillServer (lsp_server.server.language_server) whose engine, doc_model and engine_error are set.
"""
from __future__ import annotations

import asyncio
import logging
import time
import uuid
from pathlib import Path

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer

from ..errors import QuillError
from ..runtime.bundles import Bundle, load_bundle
from ..runtime.docstring_model import DocstringModel
from ..runtime.engine import Engine

log = logging.getLogger("quill")
CREATE_TIMEOUT_S = 5.0  # a client that never answers window/workDoneProgress/create gets no progress


def supports_progress(ls: LanguageServer) -> bool:
    """True when the client declared window.workDoneProgress."""
    caps = getattr(ls, "client_capabilities", None)
    window = getattr(caps, "window", None)
    return bool(getattr(window, "work_done_progress", False))


async def begin_progress(ls: LanguageServer, title: str, message: str) -> str | None:
    """Create and begin a server-initiated progress; None when the client does not take one."""
    if not supports_progress(ls):
        return None
    token = f"quill-load-{uuid.uuid4().hex[:8]}"
    try:
        await asyncio.wait_for(ls.work_done_progress.create_async(token), CREATE_TIMEOUT_S)
    except (JsonRpcException, asyncio.TimeoutError) as exc:
        log.warning("client refused work-done progress %s: %r", token, exc)
        return None
    ls.work_done_progress.begin(token, types.WorkDoneProgressBegin(title=title, message=message, percentage=0))
    return token


def report_progress(ls: LanguageServer, token: str | None, message: str, percentage: int) -> None:
    if token is not None:
        ls.work_done_progress.report(token, types.WorkDoneProgressReport(message=message, percentage=percentage))


def end_progress(ls: LanguageServer, token: str | None, message: str) -> None:
    if token is not None:
        ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))


def _log(ls: LanguageServer, kind: types.MessageType, message: str) -> None:
    log.log(logging.INFO if kind != types.MessageType.Error else logging.ERROR, "%s", message)
    ls.window_log_message(types.LogMessageParams(kind, message))


async def load_engine(ls: LanguageServer, path: Path | None, threads: int) -> Engine | None:
    """Verify and load a bundle in the inference thread; the server's engine afterwards (None: unavailable).

    A failed reload keeps the engine already loaded. The user sees one showMessage per failure.
    """
    where = str(path) if path is not None else "the shipped model"
    token = await begin_progress(ls, "Quill: loading model", f"verifying {where}")
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    try:
        bundle: Bundle = await loop.run_in_executor(ls.inference, load_bundle, path)
        verified = time.perf_counter()
        report_progress(ls, token, "starting onnxruntime", 50)
        engine = await loop.run_in_executor(ls.inference, Engine, bundle, threads)
        doc_model = None
        if bundle.docstring is not None:  # optional: summaries come from the code LM without it
            report_progress(ls, token, "starting the docstring model", 75)
            doc_model = await loop.run_in_executor(ls.inference, DocstringModel, bundle, threads, engine.tokenizer)
    except QuillError as exc:
        end_progress(ls, token, "model unavailable")
        ls.engine_error = exc
        _log(ls, types.MessageType.Error, f"Quill: model unavailable: {exc}")
        ls.window_show_message(types.ShowMessageParams(
            types.MessageType.Error,
            f"Quill: the completion model is unavailable ({exc}). Other features keep working."))
        return ls.engine
    done = time.perf_counter()
    ls.engine, ls.doc_model, ls.engine_error = engine, doc_model, None
    # Token healing's index (~10 ms) is built on the inference thread now, not in the first keystroke's
    # request; queued behind nothing, it is done before a typist's first completion arrives.
    loop.run_in_executor(ls.inference, getattr, engine, "healing")
    end_progress(ls, token, f"{bundle.name} ready")
    _log(ls, types.MessageType.Info,
         f"Quill: model {bundle.name} loaded from {where} in {(done - started) * 1000:.0f} ms "
         f"(verify {(verified - started) * 1000:.0f} ms, onnxruntime session {(done - verified) * 1000:.0f} ms, "
         f"{engine.session.get_session_options().intra_op_num_threads} threads"
         f"{', with its docstring model' if doc_model is not None else ''})")
    return engine
