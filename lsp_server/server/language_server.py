"""The Quill language server: state on a LanguageServer subclass (lsp_server.app registers the features)."""
from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.protocol.language_server import lsp_method

from .. import VERSION
from ..config import QuillConfig, parse_config
from ..errors import QuillError
from ..inline.context import OutlineCache, uri_label
from ..inline.typing_state import ReuseStore
from ..project.exclusion import ExclusionRules
from ..project.mixing import ProjectContext
from ..project.workspace import WorkspaceIndex
from ..runtime.docstring_model import DocstringModel
from ..runtime.engine import Engine
from ..syntax.documents import PYTHON_LANGUAGE_ID, Document, DocumentStore
from ..syntax.positions import PositionEncoding, as_encoding
from .acceptance import AcceptanceStats
from .capabilities import python_only_registrations
from .failure_guard import Guard, strict_from_env
from .model_loading import load_engine
from .protocol import ReliableProtocol
from .sessions import DocumentSessions

log = logging.getLogger("quill")


class QuillProtocol(ReliableProtocol):
    """Our DocumentStore owns document text, so pygls's own copy is not kept.

    This skips pygls's O(size) line splitting on every edit (which also breaks lines at \\f, \\x85,
    U+2028 where LSP does not) and its fallback of reading unopened URIs from disk.
    The document features a client registers dynamically are offered for Python only (server.capabilities).
    """

    python_only: list[types.Registration] = []  # sent by lifecycle.on_initialized

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams):
        result = yield from super().lsp_initialize(params)
        self.python_only = python_only_registrations(result.capabilities, params.capabilities)
        return result

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
        super().__init__("quill", VERSION, protocol_cls=QuillProtocol,
                         text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.bundle_path = bundle_path  # --bundle: wins over model.bundle_path
        self.threads = threads          # --threads: wins over model.threads
        self.store = DocumentStore()
        self.config = QuillConfig()
        self.engine: Engine | None = None
        self.doc_model: DocstringModel | None = None  # the bundle's docstring model, loaded with the engine
        self.engine_error: QuillError | None = None
        self._engine_task: asyncio.Future | None = None
        self._wanted: tuple[Path | None, int] | None = None  # the newest model choice asked for
        self._loaded: tuple[Path | None, int] | None = None  # the choice the engine was loaded with
        # One inference worker: two cores are best spent on one request's onnxruntime threads.
        self.inference = ThreadPoolExecutor(max_workers=1, thread_name_prefix="quill-infer")
        # Per document: edit order, outline, the previous prompt's KV cache, the suggestions shown, requests.
        self.sessions = DocumentSessions(is_open=self.store.__contains__)
        self.strict = strict_from_env()  # QUILL_STRICT=1 / --strict: internal errors raise instead of degrading
        self.guard = Guard(self)
        self.project = WorkspaceIndex()  # the workspace folders' files, indexed after `initialized`
        self.exclusions = ExclusionRules()  # inline.exclude and .quillignore (features.status)

    def feature(self, feature_name: str, options: Any | None = None) -> Callable:
        """pygls's decorator, with the handler run inside server.failure_guard (failures degrade or, strict, raise)."""
        register = super().feature(feature_name, options)
        return lambda handler: register(self.guard.wrap(feature_name, handler))

    def command(self, command_name: str) -> Callable:
        """pygls's decorator, with the command run inside server.failure_guard."""
        register = super().command(command_name)
        return lambda handler: register(self.guard.wrap(command_name, handler))

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
        """Load (or reload) the bundle off the event loop, with $/progress where the client shows it.

        A burst of calls runs one load at a time: a load in progress finishes, then only the newest choice
        is loaded (never one per call, each holding a bundle in memory).
        """
        self._wanted = self.model_choice()
        if self._engine_task is None or self._engine_task.done():
            self._engine_task = asyncio.ensure_future(self._load_newest())

    async def _load_newest(self) -> Engine | None:
        while True:
            choice = self._wanted
            if choice == self._loaded and self.engine is not None:
                return self.engine
            engine = await load_engine(self, *choice)
            if self.engine_error is None:
                self._loaded = choice
            if self._wanted == choice:
                return engine

    @property
    def engine_loading(self) -> bool:
        """A bundle is being (re)loaded in the background (a new model choice in the settings)."""
        return self._engine_task is not None and not self._engine_task.done()

    async def wait_engine(self) -> Engine | None:
        """The engine once loaded; None when loading failed (the user was told once)."""
        if self._engine_task is None:
            return self.engine
        return await asyncio.shield(self._engine_task)

    @property
    def outlines(self) -> OutlineCache:
        """Outlines of the open documents, for cross-file context."""
        return self.sessions.outlines

    @property
    def acceptance(self) -> AcceptanceStats:
        """This session's counts of suggestions shown and accepted, and the id each document shows."""
        return self.sessions.acceptance

    @property
    def reuse(self) -> ReuseStore:
        """Per document: the previous prompt pass and the suggestions shown."""
        return self.sessions.reuse

    def touch(self, uri: str) -> None:
        """Record an open or edit of uri (cross-file context puts recently edited files first)."""
        self.sessions.touch(uri)

    def forget(self, uri: str) -> None:
        """A closed document keeps nothing: its requests are cancelled, its session state dropped."""
        self.sessions.forget(uri)

    def close(self, uri: str) -> None:
        """didClose: drop the document's text, then cancel its requests and everything kept for it."""
        self.store.close(uri)  # first: a request finishing now sees the document closed and stores nothing
        self.sessions.forget(uri)

    def project_context(self) -> ProjectContext | None:
        """What steers decoding besides the model: the workspace index (if any) and the mixing rule."""
        rule = self.config.project.mix_rule()
        if rule is None:
            return None
        return ProjectContext(self.project.index, rule, snippets=self.project.snippets)

    def per_document_state(self) -> dict[str, int]:
        """Sizes of the per-document tables (closing every document must empty them all)."""
        return {"documents": len(self.store), **self.sessions.sizes()}

    def context_documents(self, uri: str) -> list[tuple[str, Document]]:
        """(label, snapshot) of the other open Python documents, most recently edited first."""
        try:
            root = self.workspace.root_uri
        except RuntimeError:  # before initialize there is no workspace
            root = None
        found = []
        for other in self.sessions.recent():
            doc = self.store.get(other)
            # Never doc.tree here: that would parse on the event loop (the outline is made in the worker).
            if other != uri and doc is not None and doc.language_id == PYTHON_LANGUAGE_ID:
                found.append((uri_label(other, root), doc.snapshot()))
        return found

    async def run_inference(self, snapshot: Document, kind: str, fn: Callable[..., Any], *args,
                            debounce_ms: int = 0) -> Any:
        """fn(*args, token) in the inference thread; None if cancelled or the document changed meanwhile.

        A newer request of the same kind for the same document cancels this one; so does an edit.
        """
        uri = snapshot.uri
        token = self.sessions.start(uri, kind)
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
            self.sessions.finish(uri, kind, token)
        current = self.store.get(uri)
        if token.cancelled or current is None or current.version != snapshot.version:
            return None  # computed for a text that no longer exists
        return result

    def cancel_inflight(self, uri: str) -> None:
        """A newer edit makes every in-flight answer for this document obsolete."""
        self.sessions.cancel(uri)
