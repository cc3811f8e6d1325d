--- Insert-mode keys of a buffer with suggestions: each acts on the suggestion shown, and otherwise keeps
--- the key's own meaning (or the mapping it had before Quill's).
local config = require("quill.config")

local M = {}

local api = vim.api

-- The mapping a key had before Quill's, per buffer, so that the fallback keeps it.
local previous = {}

-- Key name in the keymaps option -> function of require("quill").
local actions = {
  accept = "accept",
  accept_word = "accept_word",
  accept_line = "accept_line",
  dismiss = "dismiss",
  next = "next",
  prev = "prev",
}

local function termcodes(keys)
  return api.nvim_replace_termcodes(keys, true, false, true)
end

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
    return "<Cmd>lua require('quill.keymaps')._previous_callback()<CR>"
  else
    keys = prev.rhs
  end
  if prev.noremap == 1 then
    return keys
  end
  api.nvim_feedkeys(termcodes(keys), "m", false) -- the old mapping's keys were meant to be remapped
  return ""
end

local function remember(bufnr, lhs)
  local prev
  api.nvim_buf_call(bufnr, function() -- (0.7 mangles a table returned through nvim_buf_call)
    prev = vim.fn.maparg(lhs, "i", false, true)
  end)
  if type(prev) == "table" and prev.lhs and not (prev.desc or ""):match("^Quill") then
    previous[bufnr][lhs] = prev
  end
end

--- Map the keys of the keymaps option in `bufnr`. `quill` is the plugin's main module; `accept_now`
--- (optional) accepts inside the expression and says whether it did (Neovim's own UI defers the edit).
function M.map(bufnr, quill, accept_now)
  local keymaps = config.options.keymaps
  previous[bufnr] = previous[bufnr] or {}
  for name, fn in pairs(actions) do
    local lhs = keymaps[name]
    if lhs then
      remember(bufnr, lhs)
      -- An expression mapping may not edit the buffer, so the edit runs as a <Cmd> afterwards.
      vim.keymap.set("i", lhs, function()
        if name == "accept" and accept_now and accept_now() then
          return ""
        elseif quill.is_visible() then
          return "<Cmd>lua require('quill')." .. fn .. "()<CR>"
        end
        return fallback(bufnr, lhs)
      end, { buffer = bufnr, expr = true, desc = "Quill: " .. name })
    end
  end
  if keymaps.trigger then
    vim.keymap.set("i", keymaps.trigger, quill.trigger, { buffer = bufnr, desc = "Quill: suggest now" })
  end
end

--- Forget a buffer's earlier mappings (it was unloaded).
function M.forget(bufnr)
  previous[bufnr] = nil
end

return M
