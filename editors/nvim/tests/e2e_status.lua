-- Document status and acceptance statistics of the Quill plugin in a headless Neovim (run.sh e2e_status.lua)
-- against the real `quill serve`: a buffer the project's .quillignore lists is "inactive (excluded)" in the
-- statusline, :Quill status and :checkhealth quill, and asks for no ghost text; switching to a Python file the
-- server answers makes it active again; a word accepted with <M-Right> is a partial acceptance of its length,
-- and accepting a suggestion with <Tab> makes quill.stats count one accepted; :Quill stats shows the counts.
-- Same output format as e2e.lua.
package.path = vim.env.QUILL_PLUGIN_DIR .. "/tests/?.lua;" .. package.path
local H = require("e2e_harness")
local api = vim.api

-- What vim.notify was told, for :Quill status and :Quill stats.
local notes = H.capture_notes()

--- The sample project with a .quillignore that lists legacy.py (a copy of sample.py); both files' paths.
local function project()
  local dir, sample = H.sample_project()
  vim.fn.writefile({ "# files Quill leaves alone", "legacy.py" }, dir .. "/.quillignore")
  local legacy = dir .. "/legacy.py"
  vim.fn.writefile(H.SOURCE, legacy)
  return sample, legacy
end

local function wait_status(pattern)
  return H.wait_for(function()
    local line = require("quill").status()
    return line:find(pattern) and line
  end, 10000)
end

--- quill.stats from the server, asked synchronously.
local function stats(client, bufnr)
  local response = require("quill.compat").request_sync(client, "workspace/executeCommand",
    { command = "quill.stats" }, 5000, bufnr)
  return response and response.result or {}
end

--- 1. The excluded buffer: inactive with the reason, and no inlineCompletion request while typing or on
--- the trigger key.
local function check_excluded(bufnr, counter)
  local line = wait_status("inactive")
  vim.cmd("Quill status")
  local said = notes[#notes] or ""
  H.check("a buffer listed in .quillignore shows inactive with the reason",
    line == "Quill: inactive (excluded)"
      and said:find("this buffer: inactive (excluded): legacy.py is ignored by a .quillignore", 1, true) ~= nil,
    ("statusline %q, :Quill status said %q"):format(tostring(line), said), line)
  local before = counter.n
  H.in_insert("Go        self.")
  H.sleep(600) -- many debounce periods: a request would have gone out
  H.feed("<M-\\>")
  H.sleep(300)
  H.check("a buffer listed in .quillignore gets no ghost text and asks for none",
    counter.n == before and H.no_ghost(bufnr),
    ("%d inlineCompletion requests, ghost %s"):format(counter.n - before, vim.inspect(H.shown_ghost(bufnr))))
  H.reset(bufnr)
  local report = table.concat(H.health_report(), "\n")
  H.check(":checkhealth quill shows the buffer's document status",
    report:find("document status: inactive (excluded): legacy.py is ignored by a .quillignore", 1, true) ~= nil,
    report, (report:match("document status: [^\n]*") or ""))
end

--- 2. Back in a file the server answers: active again (BufEnter asked). <M-Right> takes one word: a partial
--- acceptance of that many characters (or, when the word was all there was, a whole one).
local function check_partial(bufnr, client)
  local line = wait_status("ready")
  H.check("switching to a file the server answers shows it active", line == "Quill: ready",
    ("statusline %q"):format(require("quill").status()))
  local before = stats(client, bufnr)
  H.in_insert("Go        self.")
  local ghost = H.wait_ghost(bufnr)
  H.feed("<M-Right>")
  H.sleep(100)
  local rest = H.shown_ghost(bufnr)
  local word = ghost and api.nvim_get_current_line():sub(#"        self." + 1) or ""
  local after = H.wait_for(function()
    local now = stats(client, bufnr)
    return (now.partially_accepted ~= before.partially_accepted or now.accepted ~= before.accepted) and now
  end, 5000) or stats(client, bufnr)
  local counted = rest and (after.partially_accepted == 1 and after.partial_chars == #word and after.accepted == 0)
    or (not rest and after.accepted == 1 and after.partially_accepted == 0)
  H.check("accepting a word with <M-Right> reports a partial acceptance with its length",
    ghost ~= nil and before.partially_accepted == 0 and counted,
    ("ghost %s, word %q, rest %s, stats %s"):format(vim.inspect(ghost), word, vim.inspect(rest), vim.inspect(after)),
    ("%q of %q"):format(word, ghost and ghost.text or ""))
  H.reset(bufnr)
end

--- 3. <Tab> accepts a suggestion: quill.stats counts one accepted (its partial acceptance, if the server
--- offered the same suggestion again, becomes a whole one); :Quill stats says what was counted.
local function check_accept(bufnr, client)
  local before = stats(client, bufnr)
  H.in_insert("Go        self.")
  local ghost = H.wait_ghost(bufnr)
  H.feed("<Tab>")
  local after = H.wait_for(function()
    local now = stats(client, bufnr)
    return now.accepted ~= before.accepted and now
  end, 5000) or stats(client, bufnr)
  H.check("accepting a suggestion with <Tab> makes quill.stats count one accepted",
    ghost ~= nil and (before.accepted or 0) + 1 == after.accepted,
    ("ghost %s, accepted %s -> %s"):format(vim.inspect(ghost), tostring(before.accepted), tostring(after.accepted)),
    ghost and ("%q, accepted %d -> %d"):format(ghost.text, before.accepted, after.accepted))
  H.reset(bufnr)
  vim.cmd("Quill stats")
  local said = H.wait_for(function()
    return (notes[#notes] or ""):find("acceptance statistics", 1, true) and notes[#notes]
  end, 5000) or tostring(notes[#notes])
  H.check(":Quill stats shows quill.stats", said:find("accepted: " .. after.accepted, 1, true) ~= nil
    and said:find("suggestions shown: " .. after.shown, 1, true) ~= nil, said, (said:gsub("\n", "; ")))
end

local function main()
  vim.cmd("runtime! plugin/quill.lua")
  local sample, legacy = project()
  require("quill").setup({ cmd = H.cmd, flags = { debounce_text_changes = 0 },
    inline = { debounce_ms = 50, native = false }, settings = { inline = { timeout_ms = 3000 } } })
  local excluded, client = H.open_python(legacy)
  if not client then
    return
  end
  local counter = H.count_requests(client, "textDocument/inlineCompletion")
  check_excluded(excluded, counter)
  local bufnr = H.open_python(sample)
  check_partial(bufnr, client)
  check_accept(bufnr, client)
end

H.run(main)
