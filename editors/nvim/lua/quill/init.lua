--- Quill for Neovim: `quill serve` through the built-in LSP client, with ghost-text suggestions.
---
---   require("quill").setup({})      -- Neovim 0.7+
---   vim.lsp.enable("quill")         -- or this on 0.11+ (lsp/quill.lua), without setup()
local config = require("quill.config")
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
  api.nvim_create_autocmd("BufUnload", { buffer = bufnr, once = true, callback = function()
    attached[bufnr], inline_ready[bufnr], native_bufs[bufnr] = nil, nil, nil
    keymaps.forget(bufnr)
  end })
end

local function set_enabled(enabled)
  config.options.inline.enabled = enabled
  if not enabled then
    ghost.dismiss()
  end
  for bufnr in pairs(attached) do
    if native_bufs[bufnr] then
      native.set_enabled(bufnr, enabled)
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
--- "Quill: manual", "Quill: loading", "Quill: no model", "Quill: no server", "Quill: 2/3", ...
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

--- Configure the plugin; Python buffers opened from now on (and the current one) get the server.
function M.setup(opts)
  local options = config.set(opts)
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
