-- The editor conventions of the Quill plugin in a headless Neovim (run.sh e2e_editor.lua): the commands
-- of plugin/quill.lua without setup(), :help quill, trust of a project-local server, then against the real
-- `quill serve`: :Quill toggle, manual mode, next/previous alternatives, the statusline, Neovim 0.12's
-- accept_line, and :checkhealth quill. Same output format as e2e.lua.
package.path = vim.env.QUILL_PLUGIN_DIR .. "/tests/?.lua;" .. package.path
local H = require("e2e_harness")
local trust_checks = require("e2e_trust")
local api = vim.api

-- What vim.notify was told, for the checks of :Quill's messages.
local notes = H.capture_notes()

local in_insert = H.in_insert

--- 1. plugin/quill.lua defines the commands; nothing needs setup() for them.
local function check_plugin_commands()
  vim.cmd("runtime! plugin/quill.lua") -- -u NONE loads no plugin by itself
  local missing = vim.tbl_filter(function(name)
    return vim.fn.exists(":" .. name) ~= 2
  end, { "Quill", "QuillDocstring", "QuillGenerate" })
  local ok_status = pcall(vim.cmd, "Quill status")
  H.check("plugin/quill.lua defines :Quill, :QuillDocstring, :QuillGenerate without setup()",
    #missing == 0 and ok_status and (notes[#notes] or ""):find("suggestions: on", 1, true) ~= nil,
    ("missing %s; :Quill status ran: %s, said %q"):format(vim.inspect(missing), tostring(ok_status),
      tostring(notes[#notes])))
end

local function doc_options(defaults, prefix, out)
  for key, value in pairs(defaults) do
    local name = prefix .. key
    if type(value) == "table" and not (vim.islist or vim.tbl_islist)(value) and next(value) then
      doc_options(value, name .. ".", out)
    else
      out[#out + 1] = name
    end
  end
  return out
end

--- 2. :help quill opens the plugin's doc (tags made by :helptags), which documents every option and
--- whose |quill-...| links all resolve.
local function check_help()
  local doc = H.plugin_dir .. "/doc"
  vim.cmd("helptags " .. vim.fn.fnameescape(doc))
  local opened = pcall(vim.cmd, "help quill")
  local name = opened and api.nvim_buf_get_name(0) or ""
  local text = table.concat(vim.fn.readfile(doc .. "/quill.txt"), "\n")
  if opened then
    vim.cmd("helpclose")
  end
  H.check(":help quill opens the plugin's doc", name:match("doc/quill%.txt$") ~= nil,
    ("help quill opened %q"):format(name))
  -- Options whose default is nil are not keys of the defaults table.
  local options = doc_options(require("quill.config").defaults, "", { "cmd", "capabilities", "on_attach" })
  local undocumented = vim.tbl_filter(function(option)
    return not text:find("*quill-" .. option .. "*", 1, true)
  end, options)
  local tags = {}
  for _, line in ipairs(vim.fn.readfile(doc .. "/tags")) do
    tags[line:match("^[^\t]+")] = true
  end
  local broken = {}
  for link in text:gmatch("|(quill[^|%s]*)|") do
    if not tags[link] then
      broken[#broken + 1] = link
    end
  end
  H.check("the help documents every option, command and mapping, and its links resolve",
    #undocumented == 0 and #broken == 0 and text:find(":Quill toggle", 1, true) ~= nil
      and text:find("*quill-mappings*", 1, true) ~= nil and text:find("*hl-QuillSuggestion*", 1, true) ~= nil,
    ("undocumented options %s, broken links %s"):format(vim.inspect(undocumented), vim.inspect(broken)),
    ("%d options"):format(#options))
end

--- 3. Neovim 0.11+: vim.lsp.enable("quill") with the plugin's lsp/quill.lua and no setup(): the command
--- is resolved per root when the client starts (here `quill` on PATH), LspAttach brings the suggestions.
local function check_lsp_enable()
  local name = "vim.lsp.enable('quill') starts the server from lsp/quill.lua and shows suggestions"
  if not (vim.lsp.config and vim.lsp.enable) then
    return H.skip(name, "vim.lsp.config/enable need Neovim 0.11+")
  end
  local path = vim.env.PATH
  if vim.fn.fnamemodify(H.cmd[1], ":t") == "quill" then
    vim.env.PATH = vim.fn.fnamemodify(H.cmd[1], ":h") .. ":" .. path
  else
    vim.lsp.config("quill", { cmd = H.cmd })
  end
  vim.lsp.config("quill", { flags = { debounce_text_changes = 0 } })
  vim.lsp.enable("quill")
  local _, file = H.sample_project()
  local bufnr, client = H.open_python(file)
  local shown, accepted
  if client then
    in_insert("Go        self.")
    shown = H.wait_for(function()
      local ns = api.nvim_get_namespaces()["nvim.lsp.inline_completion"]
      if ns and #api.nvim_buf_get_extmarks(bufnr, ns, 0, -1, {}) > 0 then
        return "Neovim's own inline completion"
      end
      return not H.no_ghost(bufnr) and "Quill's ghost text"
    end)
    H.feed("<Tab>")
    accepted = H.wait_for(function()
      local line = api.nvim_get_current_line()
      return line:match("^        self%.%S") and line
    end, 3000)
  end
  H.check(name, client ~= nil and shown and accepted, ("client %s, shown by %s, line after <Tab> %q"):format(
    client and client.name or "none", tostring(shown), api.nvim_get_current_line()),
    ("%s, <Tab> accepted %q"):format(tostring(shown), tostring(accepted)))
  H.feed("<Esc>")
  vim.lsp.enable("quill", false)
  if client then
    client:stop(true)
  end
  vim.cmd("enew")
  vim.cmd("bwipeout! " .. bufnr)
  vim.env.PATH = path
end

--- 3. :Quill toggle hides the suggestion shown and asks for none until toggled back.
local function check_toggle(bufnr, counter)
  local quill = require("quill")
  in_insert("Go        self.")
  if not H.wait_ghost(bufnr) then
    return H.not_ok(":Quill toggle stops ghost text", "no ghost text before the toggle")
  end
  H.feed("<Cmd>Quill toggle<CR>")
  local hidden = H.wait_for(function()
    return H.no_ghost(bufnr)
  end, 2000)
  local before = counter.n
  H.feed("na")
  H.sleep(600) -- many debounce periods: a request would have gone out
  local status_off = quill.status()
  local quiet = hidden and counter.n == before and H.no_ghost(bufnr)
  H.check(":Quill toggle stops ghost text", quiet and status_off == "Quill: off",
    ("hidden %s, %d requests while off, ghost %s, status %q"):format(tostring(hidden), counter.n - before,
      vim.inspect(H.shown_ghost(bufnr)), status_off))
  H.feed("<Cmd>Quill toggle<CR>m")
  local back = H.wait_ghost(bufnr)
  H.check(":Quill toggle again brings suggestions back", back ~= nil and quill.status() == "Quill: ready",
    ("ghost %s, status %q"):format(vim.inspect(back), quill.status()), back and ("%q"):format(back.text))
  H.reset(bufnr)
end

--- 4. Manual mode: typing asks for nothing; the trigger key asks, and the suggestion shows.
local function check_manual(bufnr, counter)
  require("quill").setup({ cmd = H.cmd, flags = { debounce_text_changes = 0 },
    inline = { debounce_ms = 50, native = false, auto_trigger = false },
    settings = { inline = { timeout_ms = 3000 } } })
  local before = counter.n
  in_insert("Go        self.")
  H.sleep(600)
  local quiet = counter.n == before and H.no_ghost(bufnr)
  local status = require("quill").status()
  H.check("manual mode shows no suggestion while typing", quiet and status == "Quill: manual",
    ("%d requests, ghost %s, status %q"):format(counter.n - before, vim.inspect(H.shown_ghost(bufnr)), status))
  H.feed("<M-\\>")
  local ghost = H.wait_ghost(bufnr)
  H.check("in manual mode the trigger key shows one", ghost ~= nil and counter.n == before + 1,
    ("ghost %s after %d requests"):format(vim.inspect(ghost), counter.n - before), ghost and ("%q"):format(ghost.text))
  H.reset(bufnr)
end

--- 5. Next/previous keys cycle through the alternatives (canned, so their number does not depend on the
--- model), and the statusline says which is shown.
local function check_alternatives(bufnr)
  local options = require("quill.config").options
  options.inline.enabled = false -- no server answer may replace the canned ones
  in_insert("Go        self.")
  local row, col = H.cursor()
  local alternatives = { { "name" }, { "name.upper()" }, { "greet()" } }
  require("quill.ghost").render(bufnr, row, col, alternatives[1], alternatives, 1)
  local seen = { H.shown_ghost(bufnr).text }
  for _, key in ipairs({ "<M-]>", "<M-]>", "<M-]>", "<M-[>" }) do
    H.feed(key)
    H.sleep(50)
    seen[#seen + 1] = (H.shown_ghost(bufnr) or {}).text
  end
  local status = require("quill").status()
  H.check("next/previous keys cycle through the alternatives",
    vim.deep_equal(seen, { "name", "name.upper()", "greet()", "name", "greet()" }) and status == "Quill: 3/3",
    ("shown %s, status %q"):format(vim.inspect(seen), status))
  options.inline.enabled = true
  H.reset(bufnr)
end

--- 6. Neovim 0.12's own inline completion: accept_line takes the first line of the item it accepts.
local function check_native_accept_line(bufnr)
  local name = "on the 0.12 native path accept_line accepts one line"
  local ic = require("quill.compat").native_inline_completion()
  if not ic then
    return H.skip(name, "this Neovim has no vim.lsp.inline_completion")
  end
  in_insert("Go    def f(x):")
  local get = ic.get
  ic.get = function(opts) -- stands in for a shown item: get() accepts it through on_accept
    vim.schedule(function()
      opts.on_accept({ insert_text = "\n        y = x + 1\n        return y" })
    end)
    return true
  end
  local accepted = require("quill.native").accept_line()
  ic.get = get
  local lines = H.wait_for(function()
    local l = api.nvim_buf_get_lines(bufnr, -3, -1, false)
    return l[2] == "        " and l
  end, 2000)
  H.check(name, accepted and lines and lines[1] == "    def f(x):",
    ("accepted %s, last lines %s"):format(tostring(accepted),
      vim.inspect(api.nvim_buf_get_lines(bufnr, -3, -1, false))))
  H.reset(bufnr)
end

--- 7. :checkhealth quill with the real server: no ERROR, and every item named; a missing command is one.
local function check_health(bufnr)
  local lines = H.health_report()
  local text = table.concat(lines, "\n")
  if vim.env.QUILL_NVIM_SHOW_HEALTH then
    H.out(text)
  end
  local errors = vim.tbl_filter(function(line)
    return line:find("ERROR", 1, true) ~= nil
  end, lines)
  local wanted = { "Neovim 0.", "inline path: ", "server command: ", "--version`", "bundle %S+ verified and loaded",
                   "client %d+ attached to buffer " .. bufnr, "position encoding: utf%-", "error" }
  local absent = vim.tbl_filter(function(pattern)
    return not text:find(pattern)
  end, wanted)
  H.check(":checkhealth quill has no ERROR with the real server", #errors == 0 and #absent == 0,
    ("errors %s, missing %s in:\n%s"):format(vim.inspect(errors), vim.inspect(absent), text),
    (text:match("[^\n]*verified and loaded[^\n]*") or ""):gsub("^%s*", ""))
  local options = require("quill.config").options
  local cmd = options.cmd
  options.cmd = { "/nonexistent/quill", "serve" }
  vim.cmd("enew")
  local broken = table.concat(H.health_report(), "\n")
  options.cmd = cmd
  vim.cmd("buffer " .. bufnr)
  H.check(":checkhealth quill reports a server command that cannot run as an ERROR",
    broken:find("ERROR[^\n]*/nonexistent/quill") ~= nil, broken)
end

local function main()
  check_plugin_commands()
  check_help()
  check_lsp_enable()
  trust_checks.run()
  local _, path = H.sample_project()
  require("quill").setup({ cmd = H.cmd, flags = { debounce_text_changes = 0 },
    inline = { debounce_ms = 50, native = false }, settings = { inline = { timeout_ms = 3000 } } })
  local bufnr, client = H.open_python(path)
  if not client then
    return
  end
  local counter = H.count_requests(client, "textDocument/inlineCompletion")
  check_toggle(bufnr, counter)
  check_manual(bufnr, counter)
  check_alternatives(bufnr)
  check_native_accept_line(bufnr)
  check_health(bufnr)
end

H.run(main)
