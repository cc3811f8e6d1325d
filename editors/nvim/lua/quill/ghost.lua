--- Quill's own ghost text: textDocument/inlineCompletion drawn with extmarks.
---
--- The first line of a suggestion is virtual text at the cursor, the rest are virtual lines below it.
--- Requests go out on InsertEnter/TextChangedI after a debounce; moving the cursor, leaving Insert
--- mode or a completion menu clears the suggestion. Typing the suggestion's next characters keeps it.
local config = require("quill.config")
local compat = require("quill.compat")
local server = require("quill.server")

local M = {}

local api = vim.api
M.ns = api.nvim_create_namespace("quill.ghost")

-- One suggestion and one pending request at a time: only the current window is in Insert mode.
local state = {
  timer = nil,
  request = nil, -- { client = , id = }
  shown = nil, -- { bufnr, row, col, lines, tick, mark }
  generation = 0, -- bumped by every request and dismiss: older answers are dropped
}

local function cursor()
  local pos = api.nvim_win_get_cursor(0)
  return pos[1] - 1, pos[2]
end

local function in_insert_mode()
  return api.nvim_get_mode().mode:sub(1, 1) == "i"
end

local function cancel_request()
  state.generation = state.generation + 1
  local req = state.request
  state.request = nil
  if req then
    pcall(compat.cancel_request, req.client, req.id)
  end
end

local function stop_timer()
  if state.timer then
    state.timer:stop()
    state.timer:close()
    state.timer = nil
  end
end

--- Remove the suggestion from the screen (the server's answer is forgotten too).
function M.clear()
  local shown = state.shown
  state.shown = nil
  if shown and api.nvim_buf_is_valid(shown.bufnr) then
    api.nvim_buf_clear_namespace(shown.bufnr, M.ns, 0, -1)
  end
end

--- Clear the suggestion, the pending request and the debounce timer; true if one was shown.
function M.dismiss()
  local had = state.shown ~= nil
  stop_timer()
  cancel_request()
  M.clear()
  return had
end

--- The suggestion at the cursor, as lines, or nil.
function M.current()
  local shown = state.shown
  if not shown or shown.bufnr ~= api.nvim_get_current_buf() then
    return nil
  end
  local row, col = cursor()
  if row ~= shown.row or col ~= shown.col then
    return nil
  end
  return shown.lines
end

function M.is_visible()
  return M.current() ~= nil
end

local function display(text)
  -- Extmark text shows a tab as ^I; draw it as the spaces it takes.
  return (text:gsub("\t", string.rep(" ", vim.bo.tabstop)))
end

--- Draw `lines` as ghost text at (row, col) of `bufnr` (0-based row, byte col).
function M.render(bufnr, row, col, lines)
  M.clear()
  if #lines == 0 or (#lines == 1 and lines[1] == "") then
    return
  end
  local hl = config.options.inline.hl_group
  local line = api.nvim_buf_get_lines(bufnr, row, row + 1, true)[1]
  local rest = line:sub(col + 1)
  local first = { { display(lines[1]), hl } }
  local virt_lines = {}
  for i = 2, #lines do
    virt_lines[#virt_lines + 1] = { { display(lines[i]), hl } }
  end
  local opts = { hl_mode = "combine", priority = 200 }
  if compat.has_inline_virt_text then
    opts.virt_text_pos = "inline"
  else
    -- 0.7-0.9 can only overlay: draw the rest of the real line again after the suggestion.
    opts.virt_text_pos = "overlay"
    if rest ~= "" then
      if #virt_lines == 0 then
        table.insert(first, { display(rest), "Normal" })
      else
        table.insert(virt_lines[#virt_lines], { display(rest), "Normal" })
        table.insert(first, { string.rep(" ", vim.fn.strdisplaywidth(rest)), "Normal" })
      end
    end
  end
  opts.virt_text = first
  if #virt_lines > 0 then
    opts.virt_lines = virt_lines
  end
  local mark = api.nvim_buf_set_extmark(bufnr, M.ns, row, col, opts)
  state.shown = {
    bufnr = bufnr, row = row, col = col, lines = lines, mark = mark,
    tick = api.nvim_buf_get_changedtick(bufnr),
    before = line:sub(1, col),
  }
end

local function item_text(item)
  local text = item.insertText
  if type(text) == "table" then -- StringValue (a snippet): show and insert its plain text
    text = (text.value or ""):gsub("%${%d+:([^}]*)}", "%1"):gsub("%$%d+", "")
  end
  return type(text) == "string" and text or ""
end

--- Lines to show for `item` with the cursor at (row, col), or nil if it does not fit there.
function M.lines_for(item, line, row, col, encoding)
  local text = item_text(item)
  if item.range then
    local start, finish = item.range.start, item.range["end"]
    if start.line ~= row or finish.line ~= row then
      return nil
    end
    local start_col = compat.byte_col(line, start.character, encoding)
    local end_col = compat.byte_col(line, finish.character, encoding)
    if start_col > col or end_col < col then
      return nil
    end
    -- The item replaces [start, end): what the user typed before the cursor must be its prefix,
    -- and what follows the cursor inside the range must be a suffix we can keep.
    local typed = line:sub(start_col + 1, col)
    if text:sub(1, #typed) ~= typed then
      return nil
    end
    text = text:sub(#typed + 1)
    local replaced = line:sub(col + 1, end_col)
    if replaced ~= "" then
      if text:sub(-#replaced) ~= replaced then
        return nil
      end
      text = text:sub(1, #text - #replaced)
    end
  end
  if text == "" then
    return nil
  end
  return vim.split(text, "\n", { plain = true })
end

local function on_result(generation, bufnr, tick, row, col, client, err, result)
  if err or not result or generation ~= state.generation then
    return
  end
  if api.nvim_get_current_buf() ~= bufnr or not in_insert_mode()
      or api.nvim_buf_get_changedtick(bufnr) ~= tick then
    return -- answered for a text or place that is gone
  end
  local r, c = cursor()
  if r ~= row or c ~= col then
    return
  end
  local items = result.items or result
  local line = api.nvim_buf_get_lines(bufnr, row, row + 1, true)[1]
  for _, item in ipairs(items) do
    local lines = M.lines_for(item, line, row, col, client.offset_encoding or "utf-16")
    if lines then
      M.render(bufnr, row, col, lines)
      return
    end
  end
end

--- Ask the server for a suggestion at the cursor now (trigger_kind 1 = invoked, 2 = automatic).
function M.request(trigger_kind)
  stop_timer()
  cancel_request()
  local bufnr = api.nvim_get_current_buf()
  local client = server.client_for(bufnr)
  if not client or not config.options.inline.enabled then
    return
  end
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding or "utf-16")
  params.context = { triggerKind = trigger_kind or 2 }
  local row, col = cursor()
  local tick = api.nvim_buf_get_changedtick(bufnr)
  local generation = state.generation
  local ok, id
  ok, id = compat.request(client, "textDocument/inlineCompletion", params, function(err, result)
    if state.request and state.request.id == id then
      state.request = nil
    end
    on_result(generation, bufnr, tick, row, col, client, err, result)
  end, bufnr)
  if ok and id then
    state.request = { client = client, id = id }
  end
end

--- Request after the debounce delay, unless something newer happens first.
function M.schedule()
  stop_timer()
  local timer = vim.loop.new_timer()
  state.timer = timer
  timer:start(config.options.inline.debounce_ms, 0, vim.schedule_wrap(function()
    if state.timer ~= timer then
      return
    end
    stop_timer()
    if in_insert_mode() then
      M.request(2)
    end
  end))
end

--- The text just typed matches the suggestion's start: keep showing the rest.
local function typed_through(bufnr)
  local shown = state.shown
  if not shown or shown.bufnr ~= bufnr then
    return false
  end
  local row, col = cursor()
  if row ~= shown.row or col <= shown.col then
    return false
  end
  local line = api.nvim_buf_get_lines(bufnr, row, row + 1, true)[1]
  if line:sub(1, shown.col) ~= shown.before then
    return false
  end
  local typed = line:sub(shown.col + 1, col)
  local first = shown.lines[1]
  if first:sub(1, #typed) ~= typed or (#typed == #first and #shown.lines == 1) then
    return false
  end
  local lines = vim.deepcopy(shown.lines)
  lines[1] = first:sub(#typed + 1)
  M.render(bufnr, row, col, lines)
  return true
end

function M.on_text_changed(bufnr)
  local shown = state.shown
  if shown and shown.bufnr == bufnr and shown.tick == api.nvim_buf_get_changedtick(bufnr) then
    return -- our own edit (accept word/line) already drew what is left
  end
  cancel_request()
  if typed_through(bufnr) then
    return
  end
  M.clear()
  M.schedule()
end

function M.on_cursor_moved(bufnr)
  local shown = state.shown
  if not shown or shown.bufnr ~= bufnr then
    return
  end
  if shown.tick ~= api.nvim_buf_get_changedtick(bufnr) then
    return -- the text changed too: TextChangedI (which comes next) decides
  end
  local row, col = cursor()
  if row ~= shown.row or col ~= shown.col then
    M.dismiss()
  end
end

--- Insert `lines` at the suggestion's place and leave the cursor after them.
local function insert(shown, lines)
  api.nvim_buf_set_text(shown.bufnr, shown.row, shown.col, shown.row, shown.col, lines)
  local row = shown.row + #lines - 1
  local col = (#lines == 1 and shown.col or 0) + #lines[#lines]
  api.nvim_win_set_cursor(0, { row + 1, col })
  return row, col
end

--- Accept the whole suggestion; false when none is shown at the cursor.
function M.accept()
  local lines = M.current()
  if not lines then
    return false
  end
  local shown = state.shown
  M.dismiss()
  insert(shown, lines)
  return true
end

local function accept_part(split)
  local lines = M.current()
  if not lines then
    return false
  end
  local shown = state.shown
  local taken, left = split(lines)
  M.dismiss()
  local row, col = insert(shown, taken)
  if left then
    M.render(shown.bufnr, row, col, left)
  end
  return true
end

--- Accept the suggestion up to the end of its next word (or the line break and the next indent).
function M.accept_word()
  return accept_part(function(lines)
    local first = lines[1]
    if first == "" and #lines > 1 then
      local indent = lines[2]:match("^%s*")
      local left = vim.list_slice(lines, 2)
      left[1] = left[1]:sub(#indent + 1)
      return { "", indent }, left
    end
    local word = first:match("^%s*[%w_]+") or first:match("^%s*[^%w_%s]+") or first
    local left = vim.deepcopy(lines)
    left[1] = first:sub(#word + 1)
    if left[1] == "" and #left == 1 then
      left = nil
    end
    return { word }, left
  end)
end

--- Accept the suggestion's first line (and the line break after it).
function M.accept_line()
  return accept_part(function(lines)
    if #lines == 1 then
      return lines, nil
    end
    local indent = lines[2]:match("^%s*")
    local left = vim.list_slice(lines, 2)
    left[1] = left[1]:sub(#indent + 1)
    return { lines[1], indent }, left
  end)
end

--- Autocommands of one attached buffer.
function M.attach(bufnr)
  local group = api.nvim_create_augroup("quill.ghost." .. bufnr, { clear = true })
  api.nvim_create_autocmd({ "InsertEnter" }, { group = group, buffer = bufnr, callback = function()
    M.schedule()
  end })
  api.nvim_create_autocmd({ "TextChangedI" }, { group = group, buffer = bufnr, callback = function()
    M.on_text_changed(bufnr)
  end })
  api.nvim_create_autocmd({ "CursorMovedI" }, { group = group, buffer = bufnr, callback = function()
    M.on_cursor_moved(bufnr)
  end })
  -- A completion menu is open: it owns the screen below the cursor.
  api.nvim_create_autocmd({ "TextChangedP", "InsertLeave", "BufLeave" }, {
    group = group, buffer = bufnr, callback = function()
      M.dismiss()
    end })
  api.nvim_create_autocmd({ "BufUnload" }, { group = group, buffer = bufnr, callback = function()
    M.dismiss()
    pcall(api.nvim_del_augroup_by_id, group)
  end })
end

return M
