-- End-to-end test of the Quill Neovim plugin against the real `quill serve` and the shipped model.
--
-- Run it with editors/nvim/tests/run.sh. It types into a Python buffer the way a user does (keys go
-- through the typeahead, so autocommands, the debounce and the <Tab> mapping are the real ones),
-- waits for the ghost-text extmark, accepts it, and checks hover and the docstring code action when
-- the server advertises them (e2e_lsp.lua). One line per check ("ok - ", "not ok - ", "skip - "), then a
-- summary; exit status 0 only when nothing failed. e2e_editor.lua checks the editor conventions.
package.path = vim.env.QUILL_PLUGIN_DIR .. "/tests/?.lua;" .. package.path
local H = require("e2e_harness")
local api = vim.api

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
  local venv = dir .. "/proj/.venv/bin/quill"
  local opted_in = server.resolve_cmd(nil, root, { policy = true })
  local untrusted, _, skipped = server.resolve_cmd(nil, root) -- "trust": never trusted here
  local refused, _, refused_skip = server.resolve_cmd(nil, root, { policy = false })
  local cmd_string = server.resolve_cmd("/opt/quill/bin/quill", root)
  local name = "root is the folder with a marker; the server comes from the cmd option, PATH or a trusted .venv"
  H.check(name, root == dir .. "/proj" and vim.deep_equal(opted_in, { venv, "serve" })
      and (untrusted == nil or untrusted[1] ~= venv) and skipped and skipped.path == venv
      and (refused == nil or refused[1] ~= venv) and refused_skip and refused_skip.path == venv
      and vim.deep_equal(cmd_string, { "/opt/quill/bin/quill", "serve" }),
    vim.inspect({ root = root, opted_in = opted_in, untrusted = untrusted, skipped = skipped, refused = refused,
                  string = cmd_string }))

  -- "        self.na|" with an item that replaces the typed "na" (UTF-16 columns, a non-ASCII line).
  local line = "    é = self.na"
  local col = #line -- bytes: é is 2 bytes, 1 UTF-16 unit
  local item = { insertText = "name.upper()", range = { start = { line = 0, character = 13 }, ["end"] = { line = 0, character = 15 } } }
  local fitted = ghost.lines_for(item, line, 0, col, "utf-16")
  local multi = ghost.lines_for({ insertText = "\n    return x" }, "def f(x):", 0, 9, "utf-16")
  local mismatch = ghost.lines_for({ insertText = "other", range = item.range }, line, 0, col, "utf-16")
  if vim.deep_equal(fitted, { "me.upper()" }) and vim.deep_equal(multi, { "", "    return x" }) and mismatch == nil then
    H.ok("server items are fitted to the cursor (typed prefix removed, UTF-16 ranges, several lines)")
  else
    H.not_ok("server items are fitted to the cursor (typed prefix removed, UTF-16 ranges, several lines)",
      vim.inspect({ fitted = fitted, multi = multi, mismatch = mismatch }))
  end
end

--- 1. Type, see the ghost text, accept it with <Tab>; the cursor ends after it.
local function check_type_and_accept(bufnr)
  local started = H.uv.now()
  H.feed("Go        self.")
  local ghost = H.wait_ghost(bufnr)
  if not ghost then
    H.not_ok("ghost text appears after typing", ("no ghost-text extmark at the cursor within %d ms; line: %q")
      :format(H.WAIT_MS, api.nvim_get_current_line()))
    return
  end
  H.ok("ghost text appears after typing", ("%q after %d ms"):format(ghost.text, H.uv.now() - started))
  local before = api.nvim_get_current_line()
  local before_row = H.cursor()
  H.feed("<Tab>")
  local expected = before .. ghost.text
  if H.wait_for(function()
    return H.buffer_text(bufnr):find(expected, 1, true) ~= nil
  end, 5000) then
    H.ok("<Tab> accepts the ghost text", ("line now %q"):format(api.nvim_get_current_line()))
  else
    H.not_ok("<Tab> accepts the ghost text", ("buffer does not contain %q; current line %q")
      :format(expected, api.nvim_get_current_line()))
  end
  local row, col = H.cursor()
  local lines = vim.split(expected, "\n", { plain = true })
  local end_row = before_row + #lines - 1
  if row == end_row and col == #lines[#lines] then
    H.ok("cursor is left after the accepted text")
  else
    H.not_ok("cursor is left after the accepted text", ("cursor %d:%d, expected %d:%d"):format(row, col, end_row, #lines[#lines]))
  end
end

--- 2. Accept one word of the suggestion.
local function check_accept_word(bufnr)
  H.reset(bufnr)
  H.feed("Go        self.")
  local ghost = H.wait_ghost(bufnr)
  if not ghost then
    H.not_ok("accept word inserts the next word only", "no ghost text on a `self.` line")
    return
  end
  local before = api.nvim_get_current_line()
  local first = ghost.lines[1]
  local word = first:match("^%s*[%w_]+") or first:match("^%s*[^%w_%s]+") or first
  H.feed("<M-Right>")
  local line = H.wait_for(function()
    local l = api.nvim_get_current_line()
    return l ~= before and l
  end, 5000)
  if line == before .. word then
    H.ok("accept word inserts the next word only", ("%q of %q"):format(word, ghost.text))
  else
    H.not_ok("accept word inserts the next word only", ("line %q, expected %q"):format(tostring(line), before .. word))
  end
end

--- 3. Typing the suggestion's next character keeps the rest on screen (no new request); <C-]> then
--- dismisses it, and it does not come back by itself.
local function check_type_through_and_dismiss(bufnr)
  H.reset(bufnr)
  H.feed("Go        self.")
  local ghost = H.wait_ghost(bufnr)
  if not ghost then
    H.not_ok("<C-]> dismisses the suggestion", "no ghost text on a `self.` line")
    return
  end
  local first = ghost.lines[1]
  if #first > 1 and #ghost.lines == 1 then
    local char = first:sub(1, 1)
    H.feed(char == "<" and "<lt>" or char)
    local rest = H.wait_for(function()
      local g = H.shown_ghost(bufnr)
      local _, c = H.cursor()
      return g and g.col == c and g.text == first:sub(2) and g
    end, 2000)
    if rest then
      H.ok("typing the suggestion's next character keeps the rest", ("%q"):format(rest.text))
    else
      H.not_ok("typing the suggestion's next character keeps the rest",
        ("typed %q of %q; ghost now %s"):format(char, first, vim.inspect(H.shown_ghost(bufnr))))
    end
  else
    H.skip("typing the suggestion's next character keeps the rest", ("suggestion %q is too short"):format(ghost.text))
  end
  H.feed("<C-]>")
  local gone = H.wait_for(function()
    return H.no_ghost(bufnr)
  end, 2000)
  H.sleep(300)
  if gone and H.no_ghost(bufnr) then
    H.ok("<C-]> dismisses the suggestion")
  else
    H.not_ok("<C-]> dismisses the suggestion", ("ghost %s, line %q"):format(vim.inspect(H.shown_ghost(bufnr)), api.nvim_get_current_line()))
  end
end

--- 4. Entering Insert mode asks for a suggestion; leaving it clears the one shown.
local function check_insert_leave(bufnr)
  H.feed("<Esc>A")
  if not H.wait_ghost(bufnr) then
    H.not_ok("InsertEnter requests and InsertLeave clears the suggestion", "no ghost text after re-entering Insert mode")
    return
  end
  H.feed("<Esc>")
  if H.wait_for(function()
    return H.no_ghost(bufnr)
  end, 2000) then
    H.ok("InsertEnter requests and InsertLeave clears the suggestion")
  else
    H.not_ok("InsertEnter requests and InsertLeave clears the suggestion", "ghost text still shown in Normal mode")
  end
end

--- 5. With no suggestion shown, <Tab> is a plain Tab, and a key mapped before Quill keeps that mapping
--- (these keys arrive before any debounce ends, so no suggestion can be shown yet).
local function check_plain_tab_and_previous_mapping(bufnr)
  H.feed("o<Tab><M-Down>")
  if H.wait_for(function()
    return api.nvim_get_current_line() == "\tPREV"
  end, 3000) then
    H.ok("<Tab> without a suggestion inserts a tab")
  else
    H.not_ok("<Tab> without a suggestion inserts a tab", ("line %q (expected a tab, then PREV from the user's <M-Down>)")
      :format(api.nvim_get_current_line()))
  end
  H.reset(bufnr)
end

--- 6. A multi-line suggestion (a canned answer, so its shape does not depend on the model): the first line
--- as virtual text, the rest as virtual lines; <Tab> inserts all of them.
local function check_multi_line(bufnr)
  local options = require("quill.config").options
  options.inline.enabled = false -- no server answer may replace the canned one
  H.feed("Go    def greet(self):")
  H.wait_for(function()
    return api.nvim_get_current_line() == "    def greet(self):" and api.nvim_get_mode().mode == "i"
  end, 3000)
  local row, col = H.cursor()
  local canned = { "", "        greeting = 'Hello, ' + self.name", "        return greeting" }
  require("quill.ghost").render(bufnr, row, col, canned)
  local ghost = H.shown_ghost(bufnr)
  if ghost and ghost.text == table.concat(canned, "\n") then
    H.ok("multi-line suggestion is drawn as virtual text + virtual lines")
  else
    H.not_ok("multi-line suggestion is drawn as virtual text + virtual lines", vim.inspect(ghost))
  end
  H.feed("<Tab>")
  local whole = "    def greet(self):" .. table.concat(canned, "\n")
  if H.wait_for(function()
    return H.buffer_text(bufnr):find(whole, 1, true) ~= nil
  end, 3000) then
    H.ok("<Tab> accepts every line of a multi-line suggestion")
  else
    H.not_ok("<Tab> accepts every line of a multi-line suggestion", vim.inspect(api.nvim_buf_get_lines(bufnr, row, -1, false)))
  end
  options.inline.enabled = true
  H.reset(bufnr)
end


local function main()
  unit_checks()
  local _, path = H.sample_project()
  -- A mapping the user had before: Quill's <M-Down> (accept line) must fall back to it.
  vim.keymap.set("i", "<M-Down>", "PREV", {})
  require("quill").setup({
    cmd = H.cmd,
    flags = { debounce_text_changes = 0 },
    inline = { debounce_ms = 50, native = false },
    -- A generous deadline: CI shares two cores with other work.
    settings = { inline = { timeout_ms = 3000 } },
  })
  local bufnr, client = H.open_python(path)
  if not client then
    return
  end
  local checks = {
    check_type_and_accept, check_accept_word, check_type_through_and_dismiss, check_insert_leave,
    check_plain_tab_and_previous_mapping, check_multi_line,
  }
  vim.list_extend(checks, require("e2e_lsp").checks)
  for _, check in ipairs(checks) do
    check(bufnr, client)
  end
end

H.run(main)
