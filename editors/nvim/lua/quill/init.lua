--- Quill for Neovim: `quill serve` through the built-in LSP client, with ghost-text suggestions.
---
---   require("quill").setup({})      -- Neovim 0.7+
local config = require("quill.config")
local server = require("quill.server")
local ghost = require("quill.ghost")
local native = require("quill.native")
local commands = require("quill.commands")

local M = {}

local api = vim.api
local use_native = false -- Neovim's own inline completion is there and wanted
local native_bufs = {} -- buffers where it was enabled

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

--- Ask for a suggestion at the cursor now.
function M.trigger()
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
  commands.run("quill.generateDocstring")
end

function M.generate_body()
  commands.run("quill.generateBody")
end

local function termcodes(keys)
  return api.nvim_replace_termcodes(keys, true, false, true)
end

-- The mapping a key had before Quill's, so that the fallback keeps it.
local previous = {}

-- Expression results are in <> notation; vim.keymap.set turns them into key codes.
local function fallback(bufnr, lhs)
  local prev = previous[bufnr] and previous[bufnr][lhs]
  if not prev then
    return lhs
  end
  local keys
  if prev.expr == 1 then
    keys = prev.callback and prev.callback() or api.nvim_eval(prev.rhs)
    if type(keys) ~= "string" then
      return ""
    end
  elseif prev.callback then
    M._previous_callback = prev.callback
    return "<Cmd>lua require('quill')._previous_callback()<CR>"
  else
    keys = prev.rhs
  end
  if prev.noremap == 1 then
    return keys
  end
  api.nvim_feedkeys(termcodes(keys), "m", false) -- the old mapping's keys were meant to be remapped
  return ""
end

local actions = {
  accept = "accept",
  accept_word = "accept_word",
  accept_line = "accept_line",
  dismiss = "dismiss",
}

local function map_keys(bufnr)
  local keymaps = config.options.keymaps
  previous[bufnr] = {}
  for name, fn in pairs(actions) do
    local lhs = keymaps[name]
    if lhs then
      local prev
      api.nvim_buf_call(bufnr, function() -- (0.7 mangles a table returned through nvim_buf_call)
        prev = vim.fn.maparg(lhs, "i", false, true)
      end)
      if type(prev) == "table" and prev.lhs and not (prev.desc or ""):match("^Quill") then
        previous[bufnr][lhs] = prev
      end
      -- An expression mapping may not edit the buffer, so the edit runs as a <Cmd> afterwards.
      vim.keymap.set("i", lhs, function()
        if name == "accept" and ui() == native then
          -- Neovim's own get() accepts (deferring the edit itself) and says whether it did.
          return native.accept() and "" or fallback(bufnr, lhs)
        end
        if M.is_visible() then
          return "<Cmd>lua require('quill')." .. fn .. "()<CR>"
        end
        return fallback(bufnr, lhs)
      end, { buffer = bufnr, expr = true, desc = "Quill: " .. name })
    end
  end
  if keymaps.trigger then
    vim.keymap.set("i", keymaps.trigger, M.trigger, { buffer = bufnr, desc = "Quill: suggest now" })
  end
end

local attached = {}

local function on_attach(client, bufnr)
  if not attached[bufnr] then
    attached[bufnr] = true
    if config.options.inline.enabled then
      if use_native and native.attach(bufnr, client) then
        native_bufs[bufnr] = true
      else
        ghost.attach(bufnr)
      end
      map_keys(bufnr)
    end
    api.nvim_create_autocmd("BufUnload", { buffer = bufnr, once = true, callback = function()
      attached[bufnr] = nil
      previous[bufnr] = nil
      native_bufs[bufnr] = nil
    end })
  end
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
  use_native = options.inline.native ~= false and native.available()
  vim.cmd("highlight default link QuillSuggestion Comment")
  commands.create()
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
