-- End-to-end test of the Quill Neovim plugin against the real `quill serve` and the shipped model.
--
-- Run it with editors/nvim/tests/run.sh. It types into a Python buffer the way a user does (keys go
-- through the typeahead, so autocommands, the debounce and the <Tab> mapping are the real ones),
-- waits for the ghost-text extmark, accepts it, and checks hover and the docstring code action when
-- the server advertises them. One line per check ("ok - ", "not ok - ", "skip - "), then a summary;
-- exit status 0 only when nothing failed.
local api = vim.api
local env = vim.env

local plugin_dir = assert(env.QUILL_PLUGIN_DIR, "QUILL_PLUGIN_DIR is not set (use tests/run.sh)")
vim.opt.runtimepath:prepend(plugin_dir)
vim.opt.swapfile = false
vim.opt.showmode = false
vim.opt.autoindent = false -- the keys below type every indent themselves

if env.QUILL_NVIM_DEBUG then vim.lsp.set_log_level("debug") end
local cmd = env.QUILL_CMD and vim.fn.json_decode(env.QUILL_CMD) or { "quill", "serve" }
local WAIT_MS = tonumber(env.QUILL_NVIM_WAIT_MS or "30000") -- model load + one generation on a busy CPU

local results = { passed = 0, failed = 0, skipped = 0 }
local function out(line)
  io.stdout:write(line .. "\n")
  io.stdout:flush()
end
local function ok(name, detail)
  results.passed = results.passed + 1
  out("ok - " .. name .. (detail and (": " .. detail) or ""))
end
local function not_ok(name, why)
  results.failed = results.failed + 1
  out("not ok - " .. name .. ": " .. why)
end
local function skip(name, why)
  results.skipped = results.skipped + 1
  out("skip - " .. name .. ": " .. why)
end

local function finish()
  out(("nvim e2e: %d passed, %d failed, %d skipped"):format(results.passed, results.failed, results.skipped))
  if results.failed > 0 then
    local log = vim.lsp.get_log_path and vim.lsp.get_log_path()
    if log and vim.loop.fs_stat(log) then
      local lines = vim.fn.readfile(log)
      out("--- last lines of " .. log)
      for i = math.max(1, #lines - 30), #lines do
        out(lines[i])
      end
    end
  end
  for _, client in pairs((vim.lsp.get_clients or vim.lsp.get_active_clients)()) do
    if vim.fn.has("nvim-0.11") == 1 then
      client:stop()
    else
      client.stop()
    end
  end
  vim.cmd(results.failed > 0 and "cquit 1" or "qall!")
end

-- The steps run in a coroutine that sleeps on timers, so Neovim's main loop keeps processing
-- typed keys, autocommands and LSP messages in between.
local co
local function resume()
  local alive, err = coroutine.resume(co)
  if not alive then
    not_ok("test script", tostring(err))
    finish()
  elseif coroutine.status(co) == "dead" then
    finish()
  end
end
local function sleep(ms)
  vim.defer_fn(resume, ms)
  coroutine.yield()
end
local function wait_for(predicate, timeout_ms)
  local deadline = vim.loop.now() + (timeout_ms or WAIT_MS)
  while true do
    local value = predicate()
    if value then
      return value
    end
    if vim.loop.now() > deadline then
      return nil
    end
    sleep(20)
  end
end
local function feed(keys)
  -- "t": as if typed, so mappings and insert-mode autocommands apply.
  api.nvim_feedkeys(api.nvim_replace_termcodes(keys, true, false, true), "t", false)
end

local ghost_ns = api.nvim_create_namespace("quill.ghost")

--- The ghost text the user sees: the extmark's virtual text and virtual lines (Quill's own chunks only).
local function shown_ghost(bufnr)
  local marks = api.nvim_buf_get_extmarks(bufnr, ghost_ns, 0, -1, { details = true })
  if #marks == 0 then
    return nil
  end
  local row, col, details = marks[1][2], marks[1][3], marks[1][4]
  local lines = { "" }
  for _, chunk in ipairs(details.virt_text or {}) do
    if chunk[2] == "QuillSuggestion" then
      lines[1] = lines[1] .. chunk[1]
    end
  end
  for _, vline in ipairs(details.virt_lines or {}) do
    local text = ""
    for _, chunk in ipairs(vline) do
      if chunk[2] == "QuillSuggestion" then
        text = text .. chunk[1]
      end
    end
    lines[#lines + 1] = text
  end
  return { row = row, col = col, lines = lines, text = table.concat(lines, "\n") }
end

local function buffer_text(bufnr)
  return table.concat(api.nvim_buf_get_lines(bufnr, 0, -1, true), "\n")
end

local function cursor()
  local pos = api.nvim_win_get_cursor(0)
  return pos[1] - 1, pos[2]
end

local function wait_ghost(bufnr)
  return wait_for(function()
    local g = shown_ghost(bufnr)
    local row, col = cursor()
    if g and g.row == row and g.col == col and g.text:match("%S") then
      return g
    end
  end)
end

local function no_ghost(bufnr)
  return #api.nvim_buf_get_extmarks(bufnr, ghost_ns, 0, -1, {}) == 0
end

local SOURCE = {
  "import os",
  "",
  "",
  "def add_numbers(first, second):",
  "    total = first + second",
  "    return total",
  "",
  "",
  "def read_lines(path):",
  "    with open(path) as handle:",
  "        return handle.read().splitlines()",
  "",
  "",
  "def is_even(number):",
  "    pass",
  "",
  "",
  "class Person:",
  "    def __init__(self, name):",
}

local function find_line(bufnr, prefix)
  for i, line in ipairs(api.nvim_buf_get_lines(bufnr, 0, -1, true)) do
    if line:sub(1, #prefix) == prefix then
      return i - 1
    end
  end
end

local function hover_text(result)
  if not result or not result.contents then
    return ""
  end
  local contents = result.contents
  if type(contents) == "string" then
    return contents
  end
  if contents.value then
    return contents.value
  end
  local parts = {}
  for _, part in ipairs(contents) do
    parts[#parts + 1] = type(part) == "string" and part or (part.value or "")
  end
  return table.concat(parts, "\n")
end

local function floating_window_text()
  for _, win in ipairs(api.nvim_list_wins()) do
    if api.nvim_win_get_config(win).relative ~= "" then
      local text = table.concat(api.nvim_buf_get_lines(api.nvim_win_get_buf(win), 0, -1, false), "\n")
      if text:match("%S") then
        return text
      end
    end
  end
end

local function close_floats()
  for _, win in ipairs(api.nvim_list_wins()) do
    if api.nvim_win_get_config(win).relative ~= "" then
      api.nvim_win_close(win, true)
    end
  end
end

local function docstring_after(bufnr, def_prefix)
  local row = find_line(bufnr, def_prefix)
  local next_line = row and api.nvim_buf_get_lines(bufnr, row + 1, row + 2, false)[1] or ""
  return next_line:match('^%s+[rRuU]?"""') or next_line:match("^%s+[rRuU]?'''")
end

--- Back to Normal mode with the original text, so each check starts from the same clean file.
local function reset(bufnr)
  feed("<Esc>")
  wait_for(function()
    return api.nvim_get_mode().mode == "n"
  end, 2000)
  api.nvim_buf_set_lines(bufnr, 0, -1, true, SOURCE)
end

--- The plugin's pure parts: root and server lookup, fitting a server item to the cursor.
local function unit_checks()
  local server = require("quill.server")
  local ghost = require("quill.ghost")
  local dir = vim.fn.tempname()
  vim.fn.mkdir(dir .. "/proj/pkg/sub", "p")
  vim.fn.mkdir(dir .. "/proj/.venv/bin", "p")
  vim.fn.writefile({}, dir .. "/proj/pyproject.toml")
  vim.fn.writefile({ "#!/bin/sh" }, dir .. "/proj/.venv/bin/quill")
  vim.fn.setfperm(dir .. "/proj/.venv/bin/quill", "rwxr-xr-x")
  local root = server.find_root(dir .. "/proj/pkg/sub/mod.py", { "pyproject.toml", ".git" })
  local cmd_venv = server.resolve_cmd(nil, root)
  local cmd_string = server.resolve_cmd("/opt/quill/bin/quill", root)
  if root == dir .. "/proj" and vim.deep_equal(cmd_venv, { dir .. "/proj/.venv/bin/quill", "serve" })
      and vim.deep_equal(cmd_string, { "/opt/quill/bin/quill", "serve" }) then
    ok("root is the folder with a marker; the server comes from its .venv or the cmd option")
  else
    not_ok("root is the folder with a marker; the server comes from its .venv or the cmd option",
      vim.inspect({ root = root, venv = cmd_venv, string = cmd_string }))
  end

  -- "        self.na|" with an item that replaces the typed "na" (UTF-16 columns, a non-ASCII line).
  local line = "    é = self.na"
  local col = #line -- bytes: é is 2 bytes, 1 UTF-16 unit
  local item = { insertText = "name.upper()", range = { start = { line = 0, character = 13 }, ["end"] = { line = 0, character = 15 } } }
  local fitted = ghost.lines_for(item, line, 0, col, "utf-16")
  local multi = ghost.lines_for({ insertText = "\n    return x" }, "def f(x):", 0, 9, "utf-16")
  local mismatch = ghost.lines_for({ insertText = "other", range = item.range }, line, 0, col, "utf-16")
  if vim.deep_equal(fitted, { "me.upper()" }) and vim.deep_equal(multi, { "", "    return x" }) and mismatch == nil then
    ok("server items are fitted to the cursor (typed prefix removed, UTF-16 ranges, several lines)")
  else
    not_ok("server items are fitted to the cursor (typed prefix removed, UTF-16 ranges, several lines)",
      vim.inspect({ fitted = fitted, multi = multi, mismatch = mismatch }))
  end
end

--- 1. Type, see the ghost text, accept it with <Tab>; the cursor ends after it.
local function check_type_and_accept(bufnr)
  local started = vim.loop.now()
  feed("Go        self.")
  local ghost = wait_ghost(bufnr)
  if not ghost then
    not_ok("ghost text appears after typing", ("no ghost-text extmark at the cursor within %d ms; line: %q")
      :format(WAIT_MS, api.nvim_get_current_line()))
    return
  end
  ok("ghost text appears after typing", ("%q after %d ms"):format(ghost.text, vim.loop.now() - started))
  local before = api.nvim_get_current_line()
  local before_row = cursor()
  feed("<Tab>")
  local expected = before .. ghost.text
  if wait_for(function()
    return buffer_text(bufnr):find(expected, 1, true) ~= nil
  end, 5000) then
    ok("<Tab> accepts the ghost text", ("line now %q"):format(api.nvim_get_current_line()))
  else
    not_ok("<Tab> accepts the ghost text", ("buffer does not contain %q; current line %q")
      :format(expected, api.nvim_get_current_line()))
  end
  local row, col = cursor()
  local lines = vim.split(expected, "\n", { plain = true })
  local end_row = before_row + #lines - 1
  if row == end_row and col == #lines[#lines] then
    ok("cursor is left after the accepted text")
  else
    not_ok("cursor is left after the accepted text", ("cursor %d:%d, expected %d:%d"):format(row, col, end_row, #lines[#lines]))
  end
end

--- 2. Accept one word of the suggestion.
local function check_accept_word(bufnr)
  reset(bufnr)
  feed("Go        self.")
  local ghost = wait_ghost(bufnr)
  if not ghost then
    not_ok("accept word inserts the next word only", "no ghost text on a `self.` line")
    return
  end
  local before = api.nvim_get_current_line()
  local first = ghost.lines[1]
  local word = first:match("^%s*[%w_]+") or first:match("^%s*[^%w_%s]+") or first
  feed("<M-Right>")
  local line = wait_for(function()
    local l = api.nvim_get_current_line()
    return l ~= before and l
  end, 5000)
  if line == before .. word then
    ok("accept word inserts the next word only", ("%q of %q"):format(word, ghost.text))
  else
    not_ok("accept word inserts the next word only", ("line %q, expected %q"):format(tostring(line), before .. word))
  end
end

--- 3. Typing the suggestion's next character keeps the rest on screen (no new request); <C-]> then
--- dismisses it, and it does not come back by itself.
local function check_type_through_and_dismiss(bufnr)
  reset(bufnr)
  feed("Go        self.")
  local ghost = wait_ghost(bufnr)
  if not ghost then
    not_ok("<C-]> dismisses the suggestion", "no ghost text on a `self.` line")
    return
  end
  local first = ghost.lines[1]
  if #first > 1 and #ghost.lines == 1 then
    local char = first:sub(1, 1)
    feed(char == "<" and "<lt>" or char)
    local rest = wait_for(function()
      local g = shown_ghost(bufnr)
      local _, c = cursor()
      return g and g.col == c and g.text == first:sub(2) and g
    end, 2000)
    if rest then
      ok("typing the suggestion's next character keeps the rest", ("%q"):format(rest.text))
    else
      not_ok("typing the suggestion's next character keeps the rest",
        ("typed %q of %q; ghost now %s"):format(char, first, vim.inspect(shown_ghost(bufnr))))
    end
  else
    skip("typing the suggestion's next character keeps the rest", ("suggestion %q is too short"):format(ghost.text))
  end
  feed("<C-]>")
  local gone = wait_for(function()
    return no_ghost(bufnr)
  end, 2000)
  sleep(300)
  if gone and no_ghost(bufnr) then
    ok("<C-]> dismisses the suggestion")
  else
    not_ok("<C-]> dismisses the suggestion", ("ghost %s, line %q"):format(vim.inspect(shown_ghost(bufnr)), api.nvim_get_current_line()))
  end
end

--- 4. Entering Insert mode asks for a suggestion; leaving it clears the one shown.
local function check_insert_leave(bufnr)
  feed("<Esc>A")
  if not wait_ghost(bufnr) then
    not_ok("InsertEnter requests and InsertLeave clears the suggestion", "no ghost text after re-entering Insert mode")
    return
  end
  feed("<Esc>")
  if wait_for(function()
    return no_ghost(bufnr)
  end, 2000) then
    ok("InsertEnter requests and InsertLeave clears the suggestion")
  else
    not_ok("InsertEnter requests and InsertLeave clears the suggestion", "ghost text still shown in Normal mode")
  end
end

--- 5. With no suggestion shown, <Tab> is a plain Tab, and a key mapped before Quill keeps that mapping
--- (these keys arrive before any debounce ends, so no suggestion can be shown yet).
local function check_plain_tab_and_previous_mapping(bufnr)
  feed("o<Tab><M-Down>")
  if wait_for(function()
    return api.nvim_get_current_line() == "\tPREV"
  end, 3000) then
    ok("<Tab> without a suggestion inserts a tab")
  else
    not_ok("<Tab> without a suggestion inserts a tab", ("line %q (expected a tab, then PREV from the user's <M-Down>)")
      :format(api.nvim_get_current_line()))
  end
  reset(bufnr)
end

--- 6. A multi-line suggestion (a canned answer, so its shape does not depend on the model): the first line
--- as virtual text, the rest as virtual lines; <Tab> inserts all of them.
local function check_multi_line(bufnr)
  local options = require("quill.config").options
  options.inline.enabled = false -- no server answer may replace the canned one
  feed("Go    def greet(self):")
  wait_for(function()
    return api.nvim_get_current_line() == "    def greet(self):" and api.nvim_get_mode().mode == "i"
  end, 3000)
  local row, col = cursor()
  local canned = { "", "        greeting = 'Hello, ' + self.name", "        return greeting" }
  require("quill.ghost").render(bufnr, row, col, canned)
  local ghost = shown_ghost(bufnr)
  if ghost and ghost.text == table.concat(canned, "\n") then
    ok("multi-line suggestion is drawn as virtual text + virtual lines")
  else
    not_ok("multi-line suggestion is drawn as virtual text + virtual lines", vim.inspect(ghost))
  end
  feed("<Tab>")
  local whole = "    def greet(self):" .. table.concat(canned, "\n")
  if wait_for(function()
    return buffer_text(bufnr):find(whole, 1, true) ~= nil
  end, 3000) then
    ok("<Tab> accepts every line of a multi-line suggestion")
  else
    not_ok("<Tab> accepts every line of a multi-line suggestion", vim.inspect(api.nvim_buf_get_lines(bufnr, row, -1, false)))
  end
  options.inline.enabled = true
  reset(bufnr)
end

--- 7. Hover on an undocumented function suggests a docstring, also through Neovim's own hover window.
local function check_hover(bufnr, client)
  local name = "hover suggests a docstring"
  if not client.server_capabilities.hoverProvider then
    return skip(name, "the server does not advertise hoverProvider")
  end
  api.nvim_win_set_cursor(0, { find_line(bufnr, "def add_numbers") + 1, #"def add_" })
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  local responses = vim.lsp.buf_request_sync(bufnr, "textDocument/hover", params, WAIT_MS) or {}
  local response = responses[client.id] or {}
  local text = hover_text(response.result)
  if response.err then
    return not_ok(name, "error: " .. vim.inspect(response.err))
  elseif not text:find('"""', 1, true) then
    return not_ok(name, "no docstring in the hover: " .. vim.inspect(response.result))
  end
  ok(name, ("%q"):format((text:gsub("\n", " ")):sub(1, 100)))
  vim.lsp.buf.hover()
  if wait_for(floating_window_text, 10000) then
    ok("vim.lsp.buf.hover() shows it in a floating window")
  else
    not_ok("vim.lsp.buf.hover() shows it in a floating window", "no floating window with text")
  end
  close_floats()
end

--- 8. The "Add docstring" code action, picked in vim.lsp.buf.code_action()'s menu, inserts one.
local function check_code_action(bufnr, client)
  local name = "code action adds a docstring"
  if not client.server_capabilities.codeActionProvider then
    return skip(name, "the server does not advertise codeActionProvider")
  end
  local def_row = find_line(bufnr, "def add_numbers")
  api.nvim_win_set_cursor(0, { def_row + 1, #"def add_" })
  local offered = {}
  local original_select = vim.ui.select
  vim.ui.select = function(items, _, on_choice) -- pick the docstring action, as a user would
    for i, item in ipairs(items) do
      local action = item.action or item[2] or item
      offered[#offered + 1] = action.title
      if (action.title or ""):lower():find("docstring") then
        return on_choice(item, i)
      end
    end
    on_choice(nil, nil)
  end
  vim.lsp.buf.code_action()
  local inserted = wait_for(function()
    return docstring_after(bufnr, "def add_numbers")
  end)
  vim.ui.select = original_select
  if inserted then
    ok(name, ("%q"):format(api.nvim_buf_get_lines(bufnr, def_row + 1, def_row + 2, false)[1]))
  elseif #offered == 0 then
    not_ok(name, "no code action offered on `def add_numbers`")
  else
    not_ok(name, "offered " .. vim.inspect(offered) .. " but no docstring appeared")
  end
end

local function server_commands(client)
  return (client.server_capabilities.executeCommandProvider or {}).commands or {}
end

--- 9. :QuillDocstring (workspace/executeCommand quill.generateDocstring) inserts a docstring.
local function check_docstring_command(bufnr, client)
  if not vim.tbl_contains(server_commands(client), "quill.generateDocstring") then
    return skip(":QuillDocstring", "the server does not advertise quill.generateDocstring")
  end
  api.nvim_win_set_cursor(0, { find_line(bufnr, "def read_lines") + 1, #"def read_" })
  vim.cmd("QuillDocstring")
  if wait_for(function()
    return docstring_after(bufnr, "def read_lines")
  end) then
    ok(":QuillDocstring inserts a docstring")
  else
    not_ok(":QuillDocstring inserts a docstring", "no docstring under `def read_lines`")
  end
end

--- 10. :QuillGenerate's request on an empty function: the server answers, and an applied body replaces
--- `pass` (whether the model finds code that parses is the server's business, not the plugin's).
local function check_generate_command(bufnr, client)
  if not vim.tbl_contains(server_commands(client), "quill.generateBody") then
    return skip(":QuillGenerate", "the server does not advertise quill.generateBody")
  end
  local def_row = find_line(bufnr, "def is_even")
  api.nvim_win_set_cursor(0, { def_row + 1, #"def is_" })
  local body = function()
    return api.nvim_buf_get_lines(bufnr, def_row + 1, def_row + 2, false)[1]
  end
  local answer
  require("quill.commands").run("quill.generateBody", bufnr, function(err, result)
    answer = { err = err, result = result }
  end)
  wait_for(function()
    return answer and (not (answer.result or {}).applied or body() ~= "    pass")
  end)
  if not answer then
    not_ok(":QuillGenerate", "no answer to workspace/executeCommand quill.generateBody")
  elseif answer.err then
    not_ok(":QuillGenerate", "error: " .. vim.inspect(answer.err))
  elseif answer.result and answer.result.applied then
    if body() ~= "    pass" then
      ok(":QuillGenerate replaces the empty body", ("%q"):format(body()))
    else
      not_ok(":QuillGenerate", "the server says applied but the body is unchanged")
    end
  else
    ok(":QuillGenerate round trip", "the server generated nothing here: " .. vim.inspect(answer.result))
  end
end

local function main()
  unit_checks()
  local dir = vim.fn.tempname()
  vim.fn.mkdir(dir, "p")
  vim.fn.writefile({ "[project]", 'name = "sample"' }, dir .. "/pyproject.toml")
  local path = dir .. "/sample.py"
  vim.fn.writefile(SOURCE, path)

  -- A mapping the user had before: Quill's <M-Down> (accept line) must fall back to it.
  vim.keymap.set("i", "<M-Down>", "PREV", {})
  require("quill").setup({
    cmd = cmd,
    flags = { debounce_text_changes = 0 },
    inline = { debounce_ms = 50, native = false },
    -- A generous deadline: CI shares two cores with other work.
    settings = { inline = { timeout_ms = 3000 } },
  })
  vim.cmd("edit " .. vim.fn.fnameescape(path))
  vim.bo.filetype = "python" -- -u NONE: no filetype detection
  local bufnr = api.nvim_get_current_buf()

  local client = wait_for(function()
    local c = require("quill.server").client_for(bufnr)
    return c and c.server_capabilities and c
  end, 15000)
  if not client then
    not_ok("server starts and attaches", "no initialized `quill` client after 15 s (cmd: " .. table.concat(cmd, " ") .. ")")
    return
  end
  ok("server starts and attaches", "root " .. client.config.root_dir)

  for _, check in ipairs({
    check_type_and_accept, check_accept_word, check_type_through_and_dismiss, check_insert_leave,
    check_plain_tab_and_previous_mapping, check_multi_line, check_hover, check_code_action,
    check_docstring_command, check_generate_command,
  }) do
    check(bufnr, client)
  end
end

-- A hard stop, whatever happens.
vim.defer_fn(function()
  not_ok("test script", "did not finish within the overall timeout")
  finish()
end, tonumber(env.QUILL_NVIM_TOTAL_MS or "150000"))

co = coroutine.create(main)
vim.schedule(resume)
