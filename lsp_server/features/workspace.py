"""The workspace index's LSP side: start it after `initialized`, keep it current, report $/progress.

The index itself (lsp_server.project.workspace) works in its own thread; these handlers only hand it URIs and
texts. Folders come from the client (`workspaceFolders`, else `rootUri`/`rootPath`), never from settings,
so a workspace cannot point the server at files outside itself.
"""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from lsprotocol import types
from pygls.exceptions import JsonRpcException

from ..project.walk import root_of
from ..server.language_server import QuillServer
from ..server.model_loading import begin_progress, end_progress, report_progress

log = logging.getLogger("quill")
WATCHER_ID = "quill-python-files"
INDEX_STATS = "quill/indexStats"


def workspace_roots(ls: QuillServer) -> list[Path]:
    """Absolute paths of the client's workspace folders (file URIs only), in the client's order."""
    try:
        folders = list(ls.workspace.folders.values())
        root_uri = ls.workspace.root_uri
    except RuntimeError:  # no initialize yet
        return []
    uris = [f.uri for f in folders] or ([root_uri] if root_uri else [])
    roots = []
    for uri in uris:
        path = root_of(uri)
        if path is not None and path not in roots:
            roots.append(path)
    return roots


async def start_index(ls: QuillServer) -> None:
    """(Re)build the workspace index in the background, once the model's tokenizer is there."""
    roots = workspace_roots(ls)
    cfg = ls.config.project
    if not roots or not cfg.index:
        return
    engine = await ls.wait_engine()
    if engine is None:
        return
    ls.project.walk_limits, ls.project.index_limits = cfg.walk_limits(), cfg.index_limits()
    ls.project.with_snippets = ls.config.inline.snippets > 0
    ls.project.with_doc_summaries = reads_summaries(ls)
    token = await begin_progress(ls, "Quill: indexing the workspace", "reading files")
    loop = asyncio.get_running_loop()

    def progress(message: str, percentage: int) -> None:  # called in the index thread
        loop.call_soon_threadsafe(report_progress, ls, token, message, percentage)

    done = ls.project.start(roots, engine.encode_batch, progress)
    try:
        await asyncio.wrap_future(done)
    finally:
        stats = ls.project.stats()
        end_progress(ls, token, f"{stats['files']} files, {stats['tokens']} tokens")
        for message in stats["messages"]:
            ls.window_log_message(types.LogMessageParams(types.MessageType.Info, f"Quill: project index: {message}"))


async def register_watcher(ls: QuillServer) -> None:
    """Ask the client to report changes to Python files (and ignore files) when it can watch dynamically."""
    caps = getattr(getattr(ls.client_capabilities, "workspace", None), "did_change_watched_files", None)
    if not getattr(caps, "dynamic_registration", False):
        return
    watchers = [types.FileSystemWatcher(glob_pattern="**/*.py")]
    options = types.DidChangeWatchedFilesRegistrationOptions(watchers=watchers)
    registration = types.Registration(id=WATCHER_ID, method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                                      register_options=options)
    try:
        await asyncio.wait_for(ls.client_register_capability_async(types.RegistrationParams([registration])), 5.0)
    except (JsonRpcException, asyncio.TimeoutError) as exc:  # a client that refuses keeps didSave updates only
        log.warning("client did not register the file watcher: %r", exc)


def on_initialized(ls: QuillServer) -> None:
    """Called by lifecycle.on_initialized: index in the background, watch files."""
    asyncio.ensure_future(start_index(ls))
    asyncio.ensure_future(register_watcher(ls))


def reads_summaries(ls: QuillServer) -> bool:
    """The loaded docstring model reads the workspace's summaries (a context-v1 model): only then are they kept."""
    return ls.doc_model is not None and ls.doc_model.uses_context


async def _reindex_for_the_model(ls: QuillServer) -> None:
    """A newly chosen bundle whose docstring model does (or no longer does) read summaries: rebuild once loaded."""
    await ls.wait_engine()
    if reads_summaries(ls) != ls.project.with_doc_summaries and ls.project.state == "ready":
        await start_index(ls)


def settings_changed(ls: QuillServer) -> None:
    """After new settings: snippets turned on need the workspace's windows, and a new bundle's docstring model
    may need the summaries, which only an index build makes."""
    if ls.config.inline.snippets > 0 and ls.project.snippets is None and ls.project.state == "ready":
        asyncio.ensure_future(start_index(ls))
    elif ls.engine_loading:
        asyncio.ensure_future(_reindex_for_the_model(ls))


def did_save(ls: QuillServer, params: types.DidSaveTextDocumentParams) -> None:
    ls.project.files_changed([params.text_document.uri])


def did_change_watched_files(ls: QuillServer, params: types.DidChangeWatchedFilesParams) -> None:
    deleted = [c.uri for c in params.changes if c.type == types.FileChangeType.Deleted]
    changed = [c.uri for c in params.changes if c.type != types.FileChangeType.Deleted]
    ls.project.files_changed(changed)
    ls.project.files_deleted(deleted)


def did_change_folders(ls: QuillServer, params: types.DidChangeWorkspaceFoldersParams) -> None:
    asyncio.ensure_future(start_index(ls))


def index_stats(ls: QuillServer, params) -> dict:
    """Hidden: the index's state, size and messages (benchmarks, tests, :checkhealth)."""
    return ls.project.stats()


def register(server: QuillServer) -> None:
    server.feature(types.TEXT_DOCUMENT_DID_SAVE)(did_save)
    server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)(did_change_watched_files)
    server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)(did_change_folders)
    server.feature(INDEX_STATS)(index_stats)
