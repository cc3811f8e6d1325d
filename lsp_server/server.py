"""The Quill language server: state on a LanguageServer subclass, one module per feature."""
from __future__ import annotations

import asyncio
import itertools
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.protocol.language_server import lsp_method

from . import __version__
from .config import QuillConfig, parse_config
from .context import OutlineCache, uri_label
from .doc_model import DocstringModel
from .documents import Document, DocumentStore
from .engine import CancelToken, Engine
from .errors import QuillError
from .guard import Guard, strict_from_env
from .loading import load_engine
from .positions import PositionEncoding, as_encoding
from .reuse import ReuseStore
from .protocol import ReliableProtocol

log = logging.getLogger("quill")


class QuillProtocol(ReliableProtocol):
    """Our DocumentStore owns document text, so pygls's own copy is not kept.

    This skips pygls's O(size) line splitting on every edit (which also breaks lines at \\f, \\x85,
    U+2028 where LSP does not) and its fallback of reading unopened URIs from disk.
    """

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: types.DidOpenTextDocumentParams):
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_OPEN)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams):
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CHANGE)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: types.DidCloseTextDocumentParams):
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CLOSE)) is not None:
            yield handler, (params,), None


class QuillServer(LanguageServer):
    """Documents, the model engine, configuration and in-flight requests."""

    def __init__(self, bundle_path: Path | None = None, threads: int = 0):
        super().__init__("quill", __version__, protocol_cls=QuillProtocol,
                         text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.bundle_path = bundle_path  # --bundle: wins over model.bundle_path
        self.threads = threads          # --threads: wins over model.threads
        self.store = DocumentStore()
        self.config = QuillConfig()
        self.engine: Engine | None = None
        self.doc_model: DocstringModel | None = None  # the bundle's docstring model, loaded with the engine
        self.engine_error: QuillError | None = None
        self._engine_task: asyncio.Future | None = None
        # One inference worker: two cores are best spent on one request's onnxruntime threads.
        self.inference = ThreadPoolExecutor(max_workers=1, thread_name_prefix="quill-infer")
        self._inflight: dict[str, set[CancelToken]] = {}
        self._latest: dict[tuple[str, str], CancelToken] = {}
        self._lock = threading.Lock()
        self._edits = itertools.count()
        self._edited: dict[str, int] = {}  # uri -> edit counter value: larger is more recent
        self.outlines = OutlineCache(is_open=self.store.__contains__)
        # Per document: the previous prompt's KV cache, the suggestions shown.
        self.reuse = ReuseStore(is_open=self.store.__contains__)
        self.strict = strict_from_env()  # QUILL_STRICT=1 / --strict: internal errors raise instead of degrading
        self.guard = Guard(self)

    def feature(self, feature_name: str, options: Any | None = None) -> Callable:
        """pygls's decorator, with the handler run inside lsp_server.guard (failures degrade or, strict, raise)."""
        register = super().feature(feature_name, options)
        return lambda handler: register(self.guard.wrap(feature_name, handler))

    def command(self, command_name: str) -> Callable:
        """pygls's decorator, with the command run inside lsp_server.guard."""
        register = super().command(command_name)
        return lambda handler: register(self.guard.wrap(command_name, handler))

    def report_server_error(self, error: Exception, source) -> None:
        """A body that is not JSON gets a Parse error reply instead of pygls's "Error in server" pop-up."""
        if not self.protocol.reply_parse_error(error):
            super().report_server_error(error, source)

    @property
    def encoding(self) -> PositionEncoding:
        """The negotiated position encoding (UTF-16 unless the client offered another first)."""
        try:
            return as_encoding(self.workspace.position_encoding or "utf-16")
        except (QuillError, RuntimeError):
            return PositionEncoding.UTF16

    def apply_settings(self, data, user_level: bool = True) -> None:
        """Update configuration from client JSON; report problems once, keep defaults for them.

        user_level: initializationOptions (True) or workspace/didChangeConfiguration (False), which may
        carry workspace settings and so cannot choose a model bundle.
        """
        before = self.model_choice()
        self.config, problems = parse_config(data, self.config, user_level)
        if problems:
            self.window_show_message(types.ShowMessageParams(
                types.MessageType.Warning, "Quill: ignored invalid settings: " + "; ".join(problems)))
        if self._engine_task is not None and self.model_choice() != before:
            self.start_loading_engine()  # a new bundle or thread count: reload in the background

    def model_choice(self) -> tuple[Path | None, int]:
        """(bundle folder or None for the shipped one, threads): command-line flags, then settings."""
        configured = self.config.model.bundle_path
        path = self.bundle_path or (Path(configured).expanduser() if configured else None)
        return path, self.threads or self.config.model.threads

    def start_loading_engine(self) -> None:
        """Load (or reload) the bundle off the event loop, with $/progress where the client shows it."""
        self._engine_task = asyncio.ensure_future(load_engine(self, *self.model_choice()))

    async def wait_engine(self) -> Engine | None:
        """The engine once loaded; None when loading failed (the user was told once)."""
        if self._engine_task is None:
            return self.engine
        return await asyncio.shield(self._engine_task)

    def touch(self, uri: str) -> None:
        """Record an open or edit of uri (cross-file context puts recently edited files first)."""
        self._edited[uri] = next(self._edits)

    def forget(self, uri: str) -> None:
        """A closed document no longer contributes context."""
        self._edited.pop(uri, None)
        self.outlines.forget(uri)

    def per_document_state(self) -> dict[str, int]:
        """Sizes of the per-document tables (closing every document must empty them all)."""
        with self._lock:
            inflight, latest = len(self._inflight), len(self._latest)
        return {"documents": len(self.store), "inflight": inflight, "latest": latest,
                "edited": len(self._edited), "outlines": len(self.outlines), "reuse": len(self.reuse)}

    def context_documents(self, uri: str) -> list[tuple[str, Document]]:
        """(label, snapshot) of the other open Python documents, most recently edited first."""
        try:
            root = self.workspace.root_uri
        except RuntimeError:  # before initialize there is no workspace
            root = None
        found = []
        for other in sorted(self._edited, key=self._edited.__getitem__, reverse=True):
            doc = self.store.get(other)
            if other != uri and doc is not None and doc.tree is not None:
                found.append((uri_label(other, root), doc.snapshot()))
        return found

    async def run_inference(self, snapshot: Document, kind: str, fn: Callable[..., Any], *args,
                            debounce_ms: int = 0) -> Any:
        """fn(*args, token) in the inference thread; None if cancelled or the document changed meanwhile.

        A newer request of the same kind for the same document cancels this one; so does an edit.
        """
        uri, token = snapshot.uri, CancelToken()
        with self._lock:
            previous = self._latest.get((uri, kind))
            self._latest[(uri, kind)] = token
        if previous is not None:
            previous.cancel()
        self.track(uri, token)
        try:
            if debounce_ms:
                await asyncio.sleep(debounce_ms / 1000)
            if token.cancelled:
                return None
            result = await asyncio.get_running_loop().run_in_executor(self.inference, fn, *args, token)
        except asyncio.CancelledError:
            token.cancel()  # $/cancelRequest: stop the running onnxruntime step too
            raise
        finally:
            self.untrack(uri, token)
            with self._lock:
                if self._latest.get((uri, kind)) is token:
                    del self._latest[(uri, kind)]
        current = self.store.get(uri)
        if token.cancelled or current is None or current.version != snapshot.version:
            return None  # computed for a text that no longer exists
        return result

    def track(self, uri: str, token: CancelToken) -> None:
        """Register an in-flight request's token so that an edit of uri cancels it."""
        with self._lock:
            self._inflight.setdefault(uri, set()).add(token)

    def untrack(self, uri: str, token: CancelToken) -> None:
        """Forget a finished request's token."""
        with self._lock:
            tokens = self._inflight.get(uri)
            if tokens is not None:
                tokens.discard(token)
                if not tokens:
                    del self._inflight[uri]

    def cancel_inflight(self, uri: str) -> None:
        """A newer edit makes every in-flight answer for this document obsolete."""
        with self._lock:
            tokens = list(self._inflight.get(uri, ()))
        for token in tokens:
            token.cancel()


def create_server(bundle_path: Path | None = None, threads: int = 0) -> QuillServer:
    """Build the server and register every feature module."""
    from .features import actions, commands, completion, hover, inline, lifecycle, sync
    server = QuillServer(bundle_path, threads)
    for module in (lifecycle, sync, inline, completion, hover, actions, commands):
        module.register(server)
    return server
