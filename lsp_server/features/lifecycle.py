"""initialize / initialized / configuration: settings and background model loading."""
from __future__ import annotations

import asyncio

from lsprotocol import types

from ..server.language_server import QuillServer
from ..server.parent import exit_now, watch_parent
from . import status, workspace


def on_initialize(ls: QuillServer, params: types.InitializeParams) -> None:
    """initializationOptions are the user's own settings: the only source that may choose a bundle."""
    ls.apply_settings(params.initialization_options, user_level=True)
    watch_parent(params.process_id, exit_now)  # an editor that dies sends no exit


def on_initialized(ls: QuillServer, params: types.InitializedParams) -> None:
    """Only now may the server ask for work-done progress (window/workDoneProgress/create) or register
    capabilities."""
    ls.start_loading_engine()
    asyncio.ensure_future(status.register_python_only(ls))
    workspace.on_initialized(ls)


def on_configuration(ls: QuillServer, params: types.DidChangeConfigurationParams) -> None:
    """Workspace settings: never a model bundle (lsp_server.config)."""
    ls.apply_settings(params.settings, user_level=False)
    workspace.settings_changed(ls)


def register(server: QuillServer) -> None:
    server.feature(types.INITIALIZE)(on_initialize)
    server.feature(types.INITIALIZED)(on_initialized)
    server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)(on_configuration)
