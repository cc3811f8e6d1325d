--- Starting `quill serve` through Neovim's LSP client: one server per root folder.
local config = require("quill.config")
local compat = require("quill.compat")
local events = require("quill.events")
local trust = require("quill.trust")

local M = {}

local uv = compat.uv
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

--- The project-local server of `root` (<root>/.venv/bin/quill, venv/, env/), or nil.
function M.project_executable(root)
  local exe = is_windows() and { "Scripts", "quill.exe" } or { "bin", "quill" }
  for _, venv in ipairs({ ".venv", "venv", "env" }) do
    local candidate = table.concat({ root, venv, exe[1], exe[2] }, "/")
    if vim.fn.executable(candidate) == 1 then
      return candidate
    end
  end
  return nil
end

--- The command line that starts the server for `root`, or nil when no `quill` may be run.
--- Order: the `cmd` option, the project's own executable where `project_server` allows it (asking
--- Neovim's trust list unless `opts.ask == false`), `quill` on PATH. The second value says where the
--- command came from ("option", "project", "path"); the third, when a project-local executable was
--- passed over, { path = , why = }.
function M.resolve_cmd(cmd, root, opts)
  opts = opts or {}
  if type(cmd) == "string" then
    return { cmd, "serve" }, "option"
  elseif type(cmd) == "table" then
    return cmd, "option"
  end
  local skipped
  local project = M.project_executable(root)
  if project then
    local policy = opts.policy
    if policy == nil then
      policy = config.options.project_server
    end
    local allowed, why = trust.check(project, policy, opts.ask ~= false)
    if allowed then
      return { project, "serve" }, "project"
    end
    skipped = { path = project, why = why }
  end
  if vim.fn.executable("quill") == 1 then
    return { "quill", "serve" }, "path", skipped
  end
  return nil, nil, skipped
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

-- The settings option as the server wants it (an empty Lua table would be sent as a JSON list).
local function server_settings()
  local settings = config.options.settings
  return next(settings or {}) and settings or vim.empty_dict()
end

--- What a Quill client's config holds whichever way it starts (setup() or vim.lsp.config).
local function common_config()
  local opts = config.options
  local settings = server_settings()
  return {
    name = "quill",
    init_options = settings,
    settings = { quill = settings },
    capabilities = capabilities(),
    flags = opts.flags,
    handlers = events.handlers(),
    on_exit = events.on_exit,
  }
end

local warned_skipped = {}

local function warn_skipped(skipped, cmd)
  if warned_skipped[skipped.path] or config.options.project_server == false then
    return
  end
  warned_skipped[skipped.path] = true
  local instead = cmd and ("; using `" .. cmd[1] .. "` instead") or ""
  vim.notify(("quill: not running the project's own %s (%s)%s"):format(skipped.path, skipped.why, instead),
    vim.log.levels.WARN)
end

--- The command for `root` (see resolve_cmd), saying once why a project-local one was passed over and
--- that none was found; nil when there is none.
function M.command_for(root)
  local cmd, _, skipped = M.resolve_cmd(config.options.cmd, root)
  if skipped then
    warn_skipped(skipped, cmd)
  end
  if not cmd then
    local message = "no `quill` executable (none allowed in " .. root .. "/.venv and none on PATH); "
      .. "install it with `pip install quill-lsp` or set the `cmd` option"
    events.error(message)
    if not warned_missing then
      warned_missing = true
      -- Later: an error message inside the FileType autocommand would abort the :edit (or the
      -- vim.cmd) that opened the file.
      vim.schedule(function()
        vim.notify("quill: " .. message, vim.log.levels.ERROR)
      end)
    end
  end
  return cmd
end

--- Every running Quill client (one per root).
function M.clients()
  return vim.tbl_filter(function(client)
    return client.name == "quill"
  end, (vim.lsp.get_clients or vim.lsp.get_active_clients)())
end

--- Send the settings option to every running Quill client (workspace/didChangeConfiguration, as Neovim
--- sends them at start); the number of clients told.
function M.push_settings()
  local settings = { quill = server_settings() }
  local clients = M.clients()
  for _, client in ipairs(clients) do
    client.config.settings = settings
    compat.notify(client, "workspace/didChangeConfiguration", { settings = settings })
  end
  return #clients
end

--- The root of `bufnr`: the folder above its file holding one of the root markers.
function M.root_of(bufnr)
  local path = vim.api.nvim_buf_get_name(bufnr)
  if path == "" then
    path = vim.fn.getcwd() .. "/untitled"
  end
  return M.find_root(path, config.options.root_markers)
end

--- The config of lsp/quill.lua for vim.lsp.config / vim.lsp.enable (0.11+): the command is chosen per
--- root when the client starts, with the same trust rules as setup(); LspAttach (plugin/quill.lua)
--- brings the suggestions.
function M.lsp_config()
  local cfg = common_config()
  cfg.name = nil -- vim.lsp.config names it after the file
  cfg.filetypes = config.options.filetypes
  cfg.root_markers = config.options.root_markers
  cfg.cmd = function(dispatchers, client_cfg)
    local root = client_cfg and client_cfg.root_dir or M.root_of(vim.api.nvim_get_current_buf())
    local cmd = M.command_for(root) or { "quill", "serve" }
    return vim.lsp.rpc.start(cmd, dispatchers, { cwd = root })
  end
  return cfg
end

--- Start (or reuse) the server for this buffer's root and attach the buffer to it.
function M.attach(bufnr, on_attach)
  local root = M.root_of(bufnr)
  local cmd = M.command_for(root)
  if not cmd then
    return nil
  end
  local cfg = common_config()
  cfg.cmd, cfg.root_dir, cfg.on_attach = cmd, root, on_attach
  cfg.workspace_folders = { { uri = vim.uri_from_fname(root), name = root } }
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
