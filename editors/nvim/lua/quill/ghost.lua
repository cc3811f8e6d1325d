--- Quill's own ghost text: textDocument/inlineCompletion drawn with extmarks.
---
--- The first line of a suggestion is virtual text at the cursor, the rest are virtual lines below it.
--- Requests go out on InsertEnter/TextChangedI after a debounce; moving the cursor, leaving Insert
--- mode or a completion menu clears the suggestion. Typing the suggestion's next characters keeps it.
local acceptance = require("quill.acceptance")
local config = require("quill.config")
local compat = require("quill.compat")
local docstatus = require("quill.docstatus")
local events = require("quill.events")
local items = require("quill.items")
local server = require("quill.server")

local M = {}

local api = vim.api
M.ns = api.nvim_create_namespace("quill.ghost")

-- One suggestion and one pending request at a time: only the current window is in Insert mode.
local state = {
  timer = nil,
  request = nil, -- { client = , id = }
  shown = nil, -- { bufnr, row, col, lines, tick, mark, alternatives, index, ids }
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

--- Draw `lines` as ghost text at (row, col) of `bufnr` (0-based row, byte col); `alternatives` (with
--- `lines` at `index`) are what the next/previous keys cycle through, `ids` their suggestion ids.
function M.render(bufnr, row, col, lines, alternatives, index, ids)
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
    alternatives = alternatives or { lines },
    index = index or 1,
    ids = ids or {},
  }
end

--- The suggestion id of what `shown` shows (for quill.accepted), or nil.
local function shown_id(shown)
  return shown.ids[shown.index]
end

M.lines_for = items.lines_for

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
  local line = api.nvim_buf_get_lines(bufnr, row, row + 1, true)[1]
  local found, ids = items.alternatives(result.items or result, line, row, col, client.offset_encoding or "utf-16")
  if #found > 0 then
    M.render(bufnr, row, col, found[1], found, 1, ids)
  end
end

--- Ask the server for a suggestion at the cursor now (trigger_kind 1 = invoked, 2 = automatic).
function M.request(trigger_kind)
  stop_timer()
  cancel_request()
  local bufnr = api.nvim_get_current_buf()
  local client = server.client_for(bufnr)
  if not client or not config.options.inline.enabled or docstatus.is_inactive(bufnr) then
    return -- (the server said it makes no suggestions here: excluded, not Python, ...)
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
    events.request_error(err, client.id, "textDocument/inlineCompletion")
    on_result(generation, bufnr, tick, row, col, client, err, result)
  end, bufnr)
  if ok and id then
    state.request = { client = client, id = id }
  end
end

--- Request after the debounce delay, unless something newer happens first (never in manual mode:
--- inline.auto_trigger = false leaves requests to the trigger key).
function M.schedule()
  stop_timer()
  local inline = config.options.inline
  if not (inline.enabled and inline.auto_trigger) then
    return
  end
  local timer = compat.uv.new_timer()
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
  M.render(bufnr, row, col, lines, nil, nil, { shown_id(shown) })
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
  acceptance.accepted(shown.bufnr, shown_id(shown))
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
  local id = shown_id(shown)
  if left then
    M.render(shown.bufnr, row, col, left, nil, nil, { id })
    acceptance.partially(shown.bufnr, id, taken)
  else
    acceptance.accepted(shown.bufnr, id) -- the last part: the whole suggestion is in
  end
  return true
end

--- Accept the suggestion up to the end of its next word (or the line break and the next indent).
function M.accept_word()
  return accept_part(items.split_word)
end

--- Accept the suggestion's first line (and the line break after it).
function M.accept_line()
  return accept_part(items.split_line)
end

--- Show the next (step 1) or previous (step -1) of the server's alternatives; false when none is shown.
function M.cycle(step)
  local lines = M.current()
  if not lines then
    return false
  end
  local shown = state.shown
  local count = #shown.alternatives
  local index = (shown.index - 1 + step) % count + 1
  M.render(shown.bufnr, shown.row, shown.col, shown.alternatives[index], shown.alternatives, index, shown.ids)
  return true
end

--- Position among the alternatives of the suggestion shown in this buffer: index, count (nil when none).
function M.position()
  local shown = state.shown
  if shown and shown.bufnr == api.nvim_get_current_buf() then
    return shown.index, #shown.alternatives
  end
  return nil
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
