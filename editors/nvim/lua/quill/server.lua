--- Starting `quill serve` through Neovim's LSP client: one server per root folder.
local config = require("quill.config")
local compat = require("quill.compat")

local M = {}

local uv = vim.loop
local clients_by_root = {} -- 0.7 only: root -> client id (vim.lsp.start does this itself on 0.8+)
local warned_missing = false

local function exists(path)
  return uv.fs_stat(path) ~= nil
end

local function parent(dir)
  local up = vim.fn.fnamemodify(dir, ":h")
  if up == dir then
    return nil
  end
  return up
end

--- The folder above `path` that holds one of `markers`; the file's own folder when none does.
function M.find_root(path, markers)
  local start = vim.fn.fnamemodify(path, ":p:h")
  local dir = start
  while dir do
    for _, marker in ipairs(markers) do
      if exists(dir .. "/" .. marker) then
        return dir
      end
    end
    dir = parent(dir)
  end
  return start
end

local function is_windows()
  return vim.fn.has("win32") == 1
end

--- The command line that starts the server for `root`, or nil when no `quill` can be found.
--- Order: the `cmd` option, a virtual environment in the root (.venv, venv, env), `quill` on PATH.
function M.resolve_cmd(cmd, root)
  if type(cmd) == "string" then
    return { cmd, "serve" }
  elseif type(cmd) == "table" then
    return cmd
  end
  local exe = is_windows() and { "Scripts", "quill.exe" } or { "bin", "quill" }
  for _, venv in ipairs({ ".venv", "venv", "env" }) do
    local candidate = table.concat({ root, venv, exe[1], exe[2] }, "/")
    if vim.fn.executable(candidate) == 1 then
      return { candidate, "serve" }
    end
  end
  if vim.fn.executable("quill") == 1 then
    return { "quill", "serve" }
  end
  return nil
end

local function capabilities()
  local caps = vim.lsp.protocol.make_client_capabilities()
  caps.textDocument = caps.textDocument or {}
  -- LSP 3.18; older Neovims do not announce it, but Quill's renderer handles the answers.
  caps.textDocument.inlineCompletion = caps.textDocument.inlineCompletion or { dynamicRegistration = false }
  if config.options.capabilities then
    caps = vim.tbl_deep_extend("force", caps, config.options.capabilities)
  end
  return caps
end

--- The Quill client attached to `bufnr`, if any.
function M.client_for(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  for _, client in pairs(compat.buf_clients(bufnr)) do
    if client.name == "quill" then
      return client
    end
  end
  return nil
end

local function client_config(cmd, root, on_attach)
  local opts = config.options
  -- An empty Lua table would be sent as a JSON list; the server wants an object.
  local settings = next(opts.settings or {}) and opts.settings or vim.empty_dict()
  return {
    name = "quill",
    cmd = cmd,
    root_dir = root,
    workspace_folders = { { uri = vim.uri_from_fname(root), name = root } },
    init_options = settings,
    settings = { quill = settings },
    capabilities = capabilities(),
    flags = opts.flags,
    on_attach = on_attach,
  }
end

--- Start (or reuse) the server for this buffer's root and attach the buffer to it.
function M.attach(bufnr, on_attach)
  local path = vim.api.nvim_buf_get_name(bufnr)
  if path == "" then
    path = vim.fn.getcwd() .. "/untitled"
  end
  local root = M.find_root(path, config.options.root_markers)
  local cmd = M.resolve_cmd(config.options.cmd, root)
  if not cmd then
    if not warned_missing then
      warned_missing = true
      vim.notify("quill: no `quill` executable (not in " .. root .. "/.venv and not on PATH); "
        .. "install it with `pip install quill-lsp` or set the `cmd` option", vim.log.levels.ERROR)
    end
    return nil
  end
  local cfg = client_config(cmd, root, on_attach)
  if vim.lsp.start then -- 0.8+: reuses a running client with the same name and root
    return vim.lsp.start(cfg, { bufnr = bufnr })
  end
  local id = clients_by_root[root]
  local client = id and vim.lsp.get_client_by_id(id)
  if not client or client.is_stopped() then
    id = vim.lsp.start_client(cfg)
    if not id then
      return nil
    end
    clients_by_root[root] = id
  end
  vim.lsp.buf_attach_client(bufnr, id)
  return id
end

return M
