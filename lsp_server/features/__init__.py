"""One module per LSP method; handlers are module-level functions taking the server first, and each module's
register(server) attaches them. lsp_server.app is the one place that calls register()."""
