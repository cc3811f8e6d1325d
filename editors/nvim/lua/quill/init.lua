--- Quill for Neovim: `quill serve` through the built-in LSP client, with ghost-text suggestions.
---
---   require("quill").setup({})      -- Neovim 0.7+
---   vim.lsp.enable("quill")         -- or this on 0.11+ (lsp/quill.lua), without setup()
local config = require("quill.config")
local docstatus = require("quill.docstatus")
local server = require("quill.server")
local ghost = require("quill.ghost")
local native = require("quill.native")
local keymaps = require("quill.keymaps")
local status = require("quill.status")

local M = {}

local api = vim.api
local attached = {} -- buffers Quill attached to: bufnr -> true
local inline_ready = {} -- buffers whose suggestions (autocommands or native UI, keys) are set up
local native_bufs = {} -- buffers where Neovim's own inline completion shows them

local function ui()
  return native_bufs[api.nvim_get_current_buf()] and native or ghost
end

--- Accept the whole suggestion; returns false (and does nothing) when none is shown.
function M.accept()
  return ui().accept()
end

--- Accept the suggestion's next word.
function M.accept_word()
  return ui().accept_word()
end

--- Accept the suggestion's first line.
function M.accept_line()
  return ui().accept_line()
end

--- Hide the suggestion.
function M.dismiss()
  return ui().dismiss()
end

--- Show the server's next alternative suggestion (false when none is shown).
function M.next()
  return ui().cycle(1)
end

--- Show the previous alternative suggestion.
function M.prev()
  return ui().cycle(-1)
end

--- Ask for a suggestion at the cursor now (the only way one comes in manual mode).
function M.trigger()
  if not config.options.inline.enabled then
    return
  end
  if ui() == native then
    return native.request()
  end
  return ghost.request(1)
end

function M.is_visible()
  return ui().is_visible()
end

--- :QuillDocstring / :QuillGenerate as functions.
function M.generate_docstring()
  require("quill.commands").run("quill.generateDocstring")
end

function M.generate_body()
  require("quill.commands").run("quill.generateBody")
end

-- Neovim's own inline completion is there and wanted (manual mode needs Quill's renderer: the built-in
-- one asks on every keystroke).
local function wants_native()
  local inline = config.options.inline
  return inline.native ~= false and inline.auto_trigger ~= false and native.available()
end

local function start_inline(bufnr)
  if inline_ready[bufnr] then
    return
  end
  inline_ready[bufnr] = true
  if wants_native() and native.attach(bufnr) then
    native_bufs[bufnr] = true
  else
    ghost.attach(bufnr)
  end
  keymaps.map(bufnr, M, function()
    -- Neovim's own get() accepts (deferring the edit itself) and says whether it did.
    return native_bufs[bufnr] and native.accept()
  end)
end

-- The server's answer about `bufnr` changed: Quill's ghost text asks for nothing in an inactive buffer
-- (ghost.request checks), and Neovim's own inline completion is turned off there.
local function on_status(bufnr)
  local inactive = docstatus.is_inactive(bufnr)
  if native_bufs[bufnr] then
    native.set_enabled(bufnr, config.options.inline.enabled and not inactive)
  elseif inactive and bufnr == api.nvim_get_current_buf() then
    ghost.dismiss()
  end
end

--- Ask the server again whether it makes suggestions in `bufnr` (quill/documentStatus; it pushes no
--- changes): after attaching, on BufEnter, after setup() changed the settings, after a .quillignore is written.
function M.refresh_status(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and api.nvim_get_current_buf() or bufnr
  docstatus.refresh(bufnr, on_status)
end

local function refresh_all()
  for bufnr in pairs(attached) do
    M.refresh_status(bufnr)
  end
end

local function watch_status(bufnr)
  local group = api.nvim_create_augroup("quill.status." .. bufnr, { clear = true })
  api.nvim_create_autocmd("BufEnter", { group = group, buffer = bufnr, callback = function()
    M.refresh_status(bufnr)
  end })
  api.nvim_create_autocmd("BufWritePost", { group = api.nvim_create_augroup("quill.quillignore", { clear = true }),
    pattern = ".quillignore", callback = refresh_all })
  M.refresh_status(bufnr) -- its didOpen went out before this (on_attach and LspAttach come after it)
  return group
end

--- Set up suggestions in `bufnr` for `client` (a Quill client); the LspAttach of plugin/quill.lua and
--- setup()'s on_attach both call it, once per buffer.
function M.attach(client, bufnr)
  if attached[bufnr] then
    return
  end
  attached[bufnr] = client.id
  if config.options.inline.enabled then
    start_inline(bufnr)
  end
  local group = watch_status(bufnr)
  api.nvim_create_autocmd("BufUnload", { buffer = bufnr, once = true, callback = function()
    attached[bufnr], inline_ready[bufnr], native_bufs[bufnr] = nil, nil, nil
    keymaps.forget(bufnr)
    docstatus.forget(bufnr)
    pcall(api.nvim_del_augroup_by_id, group)
  end })
end

local function set_enabled(enabled)
  config.options.inline.enabled = enabled
  if not enabled then
    ghost.dismiss()
  end
  for bufnr in pairs(attached) do
    if native_bufs[bufnr] then
      native.set_enabled(bufnr, enabled and not docstatus.is_inactive(bufnr))
    elseif enabled and api.nvim_buf_is_valid(bufnr) then
      local client = server.client_for(bufnr)
      if client then
        start_inline(bufnr)
      end
    end
  end
end

--- Turn suggestions on (every buffer); :Quill enable.
function M.enable()
  set_enabled(true)
end

--- Turn suggestions off: none is shown or asked for until enable(); :Quill disable.
function M.disable()
  set_enabled(false)
end

--- :Quill toggle.
function M.toggle()
  set_enabled(not config.options.inline.enabled)
end

--- A short state for the statusline: "" where Quill has nothing to say, else "Quill: ready", "Quill: off",
--- "Quill: inactive (excluded)", "Quill: manual", "Quill: loading", "Quill: no model", "Quill: no server",
--- "Quill: 2/3", ...
function M.status(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and api.nvim_get_current_buf() or bufnr
  local index, count
  if not native_bufs[bufnr] then
    index, count = ghost.position()
  end
  return status.line(bufnr, index, count)
end

local function on_attach(client, bufnr)
  M.attach(client, bufnr)
  if config.options.on_attach then
    config.options.on_attach(client, bufnr)
  end
end

--- Start Quill for `bufnr` (the current buffer by default).
function M.start(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and api.nvim_get_current_buf() or bufnr
  if vim.bo[bufnr].buftype ~= "" then
    return nil
  end
  return server.attach(bufnr, on_attach)
end

--- This session's acceptance statistics (the server's quill.stats): `callback(stats)`, or (nil, why).
function M.stats(callback)
  require("quill.acceptance").stats(api.nvim_get_current_buf(), callback)
end

--- Configure the plugin; Python buffers opened from now on (and the current one) get the server. Called
--- again, it sends the new `settings` to the servers already running.
function M.setup(opts)
  local options = config.set(opts)
  if server.push_settings() > 0 then
    refresh_all() -- inline.exclude or inline.enabled may have changed the answers
  end
  vim.cmd("highlight default link QuillSuggestion Comment")
  require("quill.commands").create()
  local group = api.nvim_create_augroup("quill", { clear = true })
  api.nvim_create_autocmd("FileType", {
    group = group,
    pattern = options.filetypes,
    callback = function(args)
      M.start(args.buf)
    end,
  })
  -- setup() may run after the current buffer's FileType (lazy loading on `ft = "python"`).
  local current = api.nvim_get_current_buf()
  if vim.tbl_contains(options.filetypes, vim.bo[current].filetype) then
    M.start(current)
  end
end

return M
