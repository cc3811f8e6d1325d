--- Neovim's own inline completion UI (vim.lsp.inline_completion, 0.12+), behind Quill's actions.
---
--- Written against the 0.12 API (enable/get/select); it cannot run on this project's CI Neovim (0.7),
--- so every call is guarded and falls back to the key's normal meaning.
local acceptance = require("quill.acceptance")
local compat = require("quill.compat")
local items = require("quill.items")

local M = {}

local api = vim.api

function M.available()
  return compat.native_inline_completion() ~= nil
end

--- Turn Neovim's inline completion on in `bufnr`; false when it refuses (then Quill draws its own).
--- (Its filter takes a buffer or a client, not both; the buffer's other clients rarely answer inline.)
function M.attach(bufnr)
  local ic = compat.native_inline_completion()
  return (pcall(ic.enable, true, { bufnr = bufnr }))
end

--- Turn Neovim's inline completion on or off in `bufnr` (:Quill enable/disable).
function M.set_enabled(bufnr, enabled)
  local ic = compat.native_inline_completion()
  return pcall(ic.enable, enabled, { bufnr = bufnr })
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

--- The text an accepted item replaces: its range (0.12's vim.Range: start/end_ with row/col) or the
--- cursor; with `keep_after`, text after the cursor stays even where the range covers it.
local function target(item, keep_after)
  local pos = api.nvim_win_get_cursor(0)
  local row, col = pos[1] - 1, pos[2]
  local range = item.range
  if not range or not range.start then
    return row, col, row, col
  end
  local finish = range.end_ or range["end"] or range.start
  local end_row, end_col = finish.row, finish.col
  if keep_after and (end_row > row or (end_row == row and end_col > col)) then
    end_row, end_col = row, col
  end
  return range.start.row, range.start.col, end_row, end_col
end

--- Insert the first line of `item` (with the line break and the next line's indent) in `bufnr`; the
--- cursor goes after it. A one-line item is inserted whole, as Neovim's own accept does. Returns the lines
--- inserted and whether that was the whole item.
function M.insert_first_line(bufnr, item)
  local lines = vim.split(items.item_text(item), "\n", { plain = true })
  local multi = #lines > 1
  if multi then
    lines = items.split_line(lines)
  end
  local row, col, end_row, end_col = target(item, multi)
  api.nvim_buf_set_text(bufnr, row, col, end_row, end_col, lines)
  api.nvim_win_set_cursor(0, { row + #lines, (#lines == 1 and col or 0) + #lines[#lines] })
  return lines, not multi
end

--- Accept the first line of the shown suggestion; false when none is shown.
function M.accept_line()
  local ic = compat.native_inline_completion()
  local bufnr = api.nvim_get_current_buf()
  -- on_accept returns nothing: Neovim applies nothing and runs no command, so the acceptance is reported here.
  local ok, accepted = pcall(ic.get, { bufnr = bufnr, on_accept = function(item)
    local taken, whole = M.insert_first_line(bufnr, item)
    local id = items.suggestion_id(item)
    if whole then
      acceptance.accepted(bufnr, id)
    else
      acceptance.partially(bufnr, id, taken)
    end
  end })
  return ok and accepted == true
end

--- Show the next (step 1) or previous (step -1) alternative; false when none is shown.
function M.cycle(step)
  if not M.is_visible() then
    return false
  end
  local ic = compat.native_inline_completion()
  return (pcall(ic.select, { bufnr = api.nvim_get_current_buf(), count = step }))
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
