--- Neovim's own inline completion UI (vim.lsp.inline_completion, 0.12+), behind Quill's actions.
---
--- Written against the 0.12 API (enable/get/select); it cannot run on this project's CI Neovim (0.7),
--- so every call is guarded and falls back to the key's normal meaning.
local compat = require("quill.compat")

local M = {}

local api = vim.api

function M.available()
  return compat.native_inline_completion() ~= nil
end

function M.attach(bufnr, client)
  local ic = compat.native_inline_completion()
  local ok = pcall(ic.enable, true, { bufnr = bufnr, client_id = client.id })
  return ok
end

local function native_mark(bufnr)
  local ns = api.nvim_get_namespaces()["nvim.lsp.inline_completion"]
  if not ns then
    return nil
  end
  local marks = api.nvim_buf_get_extmarks(bufnr, ns, 0, -1, { details = true })
  return marks[1]
end

function M.is_visible()
  return native_mark(api.nvim_get_current_buf()) ~= nil
end

--- Accept the shown suggestion; false when there is none (get() then asks the server for one).
function M.accept()
  local ic = compat.native_inline_completion()
  local ok, accepted = pcall(ic.get, { bufnr = api.nvim_get_current_buf() })
  return ok and accepted == true
end

--- Accept the first word of the shown text (read from Neovim's own extmark); false when none is shown.
function M.accept_word()
  local bufnr = api.nvim_get_current_buf()
  local mark = native_mark(bufnr)
  local virt = mark and mark[4] and mark[4].virt_text
  local text = virt and virt[1] and virt[1][1]
  if not text or text == "" then
    return false
  end
  local word = text:match("^%s*[%w_]+") or text:match("^%s*[^%w_%s]+") or text
  local row, col = mark[2], mark[3]
  api.nvim_buf_set_text(bufnr, row, col, row, col, { word })
  api.nvim_win_set_cursor(0, { row + 1, col + #word })
  return true
end

function M.accept_line()
  return M.accept()
end

--- Hide the suggestion (re-enabling resets the built-in state); false when none is shown.
function M.dismiss()
  if not M.is_visible() then
    return false
  end
  local ic = compat.native_inline_completion()
  local bufnr = api.nvim_get_current_buf()
  pcall(ic.enable, false, { bufnr = bufnr })
  pcall(ic.enable, true, { bufnr = bufnr })
  return true
end

function M.request()
  local ic = compat.native_inline_completion()
  if not M.is_visible() then
    pcall(ic.get, { bufnr = api.nvim_get_current_buf() }) -- with nothing shown, get() asks the server
  end
end

return M
