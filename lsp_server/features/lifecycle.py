"""initialize / initialized / configuration: settings and background model loading."""
from __future__ import annotations

from lsprotocol import types

from ..server import QuillServer


def register(server: QuillServer) -> None:
    @server.feature(types.INITIALIZE)
    def on_initialize(ls: QuillServer, params: types.InitializeParams) -> None:
        ls.apply_settings(params.initialization_options)
        ls.start_loading_engine()

    @server.feature(types.INITIALIZED)
    async def on_initialized(ls: QuillServer, params: types.InitializedParams) -> None:
        engine = await ls.wait_engine()
        if engine is None and ls.engine_error is not None:
            ls.window_show_message(types.ShowMessageParams(
                types.MessageType.Error,
                f"Quill: the completion model is unavailable ({ls.engine_error}). Other features keep working."))

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    def on_configuration(ls: QuillServer, params: types.DidChangeConfigurationParams) -> None:
        ls.apply_settings(params.settings)
