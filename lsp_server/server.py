"""The Quill language server: state on a LanguageServer subclass, one module per feature."""
from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.protocol.language_server import LanguageServerProtocol, lsp_method

from . import __version__
from .config import QuillConfig, parse_config
from .documents import DocumentStore
from .engine import CancelToken, Engine
from .errors import QuillError
from .positions import PositionEncoding, as_encoding

log = logging.getLogger("quill")


class QuillProtocol(LanguageServerProtocol):
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
        self.bundle_path = bundle_path
        self.threads = threads
        self.store = DocumentStore()
        self.config = QuillConfig()
        self.engine: Engine | None = None
        self.engine_error: QuillError | None = None
        self._engine_task: asyncio.Future | None = None
        # One inference worker: two cores are best spent on one request's onnxruntime threads.
        self.inference = ThreadPoolExecutor(max_workers=1, thread_name_prefix="quill-infer")
        self._inflight: dict[str, set[CancelToken]] = {}
        self._lock = threading.Lock()

    @property
    def encoding(self) -> PositionEncoding:
        """The negotiated position encoding (UTF-16 unless the client offered another first)."""
        try:
            return as_encoding(self.workspace.position_encoding or "utf-16")
        except (QuillError, RuntimeError):
            return PositionEncoding.UTF16

    def apply_settings(self, data) -> None:
        """Update configuration from client JSON; report problems once, keep defaults for them."""
        self.config, problems = parse_config(data, self.config)
        if problems:
            self.window_show_message(types.ShowMessageParams(
                types.MessageType.Warning, "Quill: ignored invalid settings: " + "; ".join(problems)))

    def start_loading_engine(self) -> None:
        """Load the bundle in a worker thread so `initialize` is answered at once."""
        loop = asyncio.get_running_loop()
        self._engine_task = loop.run_in_executor(self.inference, self._load_engine)

    def _load_engine(self) -> Engine | None:
        try:
            self.engine = Engine.load(self.bundle_path, threads=self.threads)
            log.info("model %s loaded", self.engine.bundle.name)
        except QuillError as exc:
            self.engine_error = exc
            log.error("model unavailable: %s", exc)
        return self.engine

    async def wait_engine(self) -> Engine | None:
        """The engine once loaded; None when loading failed (the user was told once)."""
        if self._engine_task is None:
            return self.engine
        return await asyncio.shield(self._engine_task)

    def track(self, uri: str, token: CancelToken) -> None:
        with self._lock:
            self._inflight.setdefault(uri, set()).add(token)

    def untrack(self, uri: str, token: CancelToken) -> None:
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
    from .features import completion, inline, lifecycle, sync
    server = QuillServer(bundle_path, threads)
    for module in (lifecycle, sync, inline, completion):
        module.register(server)
    return server
