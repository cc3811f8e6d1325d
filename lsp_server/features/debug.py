"""Test hooks: commands that expose internal state to the reliability tests.

Registered only by `quill serve --test-hooks` (a hidden flag), never in normal use:

- `quill.debug.documentText [uri]`: the server's text, version and a digest of its tree-sitter tree;
- `quill.debug.state []`: per-document bookkeeping counts, pending futures, RSS and how long the
  inference thread took to run a no-op (near zero once cancelled generations have stopped);
- `quill.debug.configure [{"step_delay_ms": N}]`: slow every model step down by N ms (checking for
  cancellation meanwhile), so that a test can cancel a generation in the middle;
- `quill.debug.modules []`: which of the modules a server never needs (torch, onnx, the training and
  export code) are in sys.modules, and whether the model is loaded.
"""
from __future__ import annotations

import asyncio
import hashlib
import os
import resource
import sys
import time
from typing import Any

import tree_sitter
from pygls.exceptions import JsonRpcInvalidParams

from ..runtime.cancel import Cancelled, CancelToken
from ..runtime.engine import Engine
from ..server.language_server import QuillServer

DOCUMENT_TEXT, STATE, CONFIGURE = "quill.debug.documentText", "quill.debug.state", "quill.debug.configure"
MODULES = "quill.debug.modules"
# Training and export code: heavy, and never needed to serve (model/ and export/ import torch or onnx).
UNSAFE_MODULES = ("torch", "onnx", "onnxscript", "safetensors", "model", "export")


def tree_digest(tree: tree_sitter.Tree | None) -> str | None:
    """sha256 of every node's type, byte range and points in document order (None without a tree)."""
    if tree is None:
        return None
    digest = hashlib.sha256()
    cursor = tree.walk()
    while True:
        node = cursor.node
        digest.update(f"{node.type}:{node.start_byte}:{node.end_byte}:{tuple(node.start_point)}:"
                      f"{tuple(node.end_point)};".encode())
        if cursor.goto_first_child() or cursor.goto_next_sibling():
            continue
        while cursor.goto_parent():
            if cursor.goto_next_sibling():
                break
        else:
            return digest.hexdigest()


def rss_bytes() -> int:
    """Resident set size of this process now (the peak where /proc is missing)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def slow_down(engine: Engine, delay_s: float) -> None:
    """Make each model step of engine take delay_s longer; a cancelled token ends the wait at once."""
    original = getattr(engine, "_undelayed_extend", engine.extend)
    engine._undelayed_extend = original

    def extend(ids, past, cancel: CancelToken):
        deadline = time.monotonic() + delay_s
        while time.monotonic() < deadline:
            if cancel.cancelled:
                raise Cancelled("cancelled while delayed")
            time.sleep(0.002)
        return original(ids, past, cancel)

    engine.extend = extend


def _uri_argument(args: tuple[Any, ...]) -> str:
    if len(args) != 1 or not isinstance(args[0], str):
        raise JsonRpcInvalidParams(message="expected one argument: a document URI")
    return args[0]


def document_text(ls: QuillServer, *args):
    doc = ls.store.get(_uri_argument(args))
    if doc is None:
        return None
    return {"text": doc.text, "version": doc.version, "tree": tree_digest(doc.tree)}


async def state(ls: QuillServer, *args):
    started = time.perf_counter()
    await asyncio.get_running_loop().run_in_executor(ls.inference, lambda: None)
    wait_ms = (time.perf_counter() - started) * 1000
    pending = [msg_id for msg_id in ls.protocol.pending_request_ids() if msg_id != ls.protocol.msg_id]
    return {**ls.per_document_state(), "request_futures": len(pending),
            "rss_bytes": rss_bytes(), "inference_wait_ms": round(wait_ms, 2)}


async def modules(ls: QuillServer, *args):
    engine = await ls.wait_engine()
    loaded = sorted(name for name in sys.modules if name.split(".")[0] in UNSAFE_MODULES)
    return {"unsafe": loaded, "engine": engine is not None}


async def configure(ls: QuillServer, *args):
    options = args[0] if len(args) == 1 and isinstance(args[0], dict) else None
    delay = options.get("step_delay_ms") if options is not None else None
    if not isinstance(delay, (int, float)) or isinstance(delay, bool) or not 0 <= delay <= 1000:
        raise JsonRpcInvalidParams(message='expected [{"step_delay_ms": 0..1000}]')
    engine = await ls.wait_engine()
    if engine is None:
        return {"configured": False}
    slow_down(engine, delay / 1000)
    return {"configured": True}


def register(server: QuillServer) -> None:
    server.command(DOCUMENT_TEXT)(document_text)
    server.command(STATE)(state)
    server.command(MODULES)(modules)
    server.command(CONFIGURE)(configure)
