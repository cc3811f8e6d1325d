-- Quill's config for Neovim 0.11+: `vim.lsp.enable("quill")`, changed with `vim.lsp.config("quill", {...})`.
-- The command is chosen when a client starts, per project root, with the plugin's trust rules (a
-- project-local .venv/bin/quill runs only once trusted; :help quill-trust). Suggestions and keys come
-- from plugin/quill.lua's LspAttach.
return require("quill.server").lsp_config()
