-- What the headless Neovim tests share: one line per check ("ok - ", "not ok - ", "skip - ") and a summary,
-- steps that sleep in a coroutine (so Neovim's main loop keeps processing typed keys, autocommands and
-- LSP messages in between), typing through the typeahead, reading Quill's ghost text, a sample project.
local api = vim.api
local env = vim.env
local uv = vim.uv or vim.loop

local H = {}

H.plugin_dir = assert(env.QUILL_PLUGIN_DIR, "QUILL_PLUGIN_DIR is not set (use tests/run.sh)")
H.cmd = env.QUILL_CMD and vim.fn.json_decode(env.QUILL_CMD) or { "quill", "serve" }
H.WAIT_MS = tonumber(env.QUILL_NVIM_WAIT_MS or "30000") -- model load + one generation on a busy CPU
H.uv = uv

vim.opt.runtimepath:prepend(H.plugin_dir)
vim.opt.swapfile = false
vim.opt.showmode = false
vim.opt.autoindent = false -- the keys below type every indent themselves
if env.QUILL_NVIM_DEBUG then
  vim.lsp.set_log_level("debug")
end

local results = { passed = 0, failed = 0, skipped = 0 }
function H.out(line)
  io.stdout:write(line .. "\n")
  io.stdout:flush()
end
function H.ok(name, detail)
  results.passed = results.passed + 1
  H.out("ok - " .. name .. (detail and (": " .. detail) or ""))
end
function H.not_ok(name, why)
  results.failed = results.failed + 1
  H.out("not ok - " .. name .. ": " .. why)
end
function H.skip(name, why)
  results.skipped = results.skipped + 1
  H.out("skip - " .. name .. ": " .. why)
end
--- ok(name, detail) when `passed`, else not_ok(name, why).
function H.check(name, passed, why, detail)
  if passed then
    H.ok(name, detail)
  else
    H.not_ok(name, why)
  end
end

local function stop_clients()
  for _, client in pairs((vim.lsp.get_clients or vim.lsp.get_active_clients)()) do
    if vim.fn.has("nvim-0.11") == 1 then
      client:stop()
    else
      client.stop()
    end
  end
end

function H.finish()
  H.out(("nvim e2e: %d passed, %d failed, %d skipped"):format(results.passed, results.failed, results.skipped))
  if results.failed > 0 then
    local log = vim.lsp.get_log_path and vim.lsp.get_log_path()
    if log and uv.fs_stat(log) then
      local lines = vim.fn.readfile(log)
      H.out("--- last lines of " .. log)
      for i = math.max(1, #lines - 30), #lines do
        H.out(lines[i])
      end
    end
  end
  stop_clients()
  vim.cmd(results.failed > 0 and "cquit 1" or "qall!")
end

local co
local function resume()
  local alive, err = coroutine.resume(co)
  if not alive then
    H.not_ok("test script", tostring(err))
    H.finish()
  elseif coroutine.status(co) == "dead" then
    H.finish()
  end
end

--- Run `main` as the test, with a hard stop after QUILL_NVIM_TOTAL_MS, whatever happens.
function H.run(main)
  vim.defer_fn(function()
    H.not_ok("test script", "did not finish within the overall timeout")
    H.finish()
  end, tonumber(env.QUILL_NVIM_TOTAL_MS or "150000"))
  co = coroutine.create(main)
  vim.schedule(resume)
end

function H.sleep(ms)
  vim.defer_fn(resume, ms)
  coroutine.yield()
end

function H.wait_for(predicate, timeout_ms)
  local deadline = uv.now() + (timeout_ms or H.WAIT_MS)
  while true do
    local value = predicate()
    if value then
      return value
    end
    if uv.now() > deadline then
      return nil
    end
    H.sleep(20)
  end
end

function H.feed(keys)
  -- "t": as if typed, so mappings and insert-mode autocommands apply.
  api.nvim_feedkeys(api.nvim_replace_termcodes(keys, true, false, true), "t", false)
end

local ghost_ns = api.nvim_create_namespace("quill.ghost")

--- The ghost text the user sees: the extmark's virtual text and virtual lines (Quill's own chunks only).
function H.shown_ghost(bufnr)
  local marks = api.nvim_buf_get_extmarks(bufnr, ghost_ns, 0, -1, { details = true })
  if #marks == 0 then
    return nil
  end
  local row, col, details = marks[1][2], marks[1][3], marks[1][4]
  local function text_of(chunks)
    local text = ""
    for _, chunk in ipairs(chunks or {}) do
      if chunk[2] == "QuillSuggestion" then
        text = text .. chunk[1]
      end
    end
    return text
  end
  local lines = { text_of(details.virt_text) }
  for _, vline in ipairs(details.virt_lines or {}) do
    lines[#lines + 1] = text_of(vline)
  end
  return { row = row, col = col, lines = lines, text = table.concat(lines, "\n") }
end

function H.buffer_text(bufnr)
  return table.concat(api.nvim_buf_get_lines(bufnr, 0, -1, true), "\n")
end

function H.cursor()
  local pos = api.nvim_win_get_cursor(0)
  return pos[1] - 1, pos[2]
end

--- Ghost text at the cursor, waited for (nil after `timeout_ms`, WAIT_MS by default).
function H.wait_ghost(bufnr, timeout_ms)
  return H.wait_for(function()
    local g = H.shown_ghost(bufnr)
    local row, col = H.cursor()
    if g and g.row == row and g.col == col and g.text:match("%S") then
      return g
    end
  end, timeout_ms)
end

function H.no_ghost(bufnr)
  return #api.nvim_buf_get_extmarks(bufnr, ghost_ns, 0, -1, {}) == 0
end

H.SOURCE = {
  "import os",
  "",
  "",
  "def add_numbers(first, second):",
  "    if first is None:",
  "        raise ValueError('first is missing')",
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

function H.find_line(bufnr, prefix)
  for i, line in ipairs(api.nvim_buf_get_lines(bufnr, 0, -1, true)) do
    if line:sub(1, #prefix) == prefix then
      return i - 1
    end
  end
end

--- Back to Normal mode with the original text, so each check starts from the same clean file.
function H.reset(bufnr)
  H.feed("<Esc>")
  H.wait_for(function()
    return api.nvim_get_mode().mode == "n"
  end, 2000)
  api.nvim_buf_set_lines(bufnr, 0, -1, true, H.SOURCE)
end

--- A project folder with a pyproject.toml and sample.py (H.SOURCE); its path and the file's.
function H.sample_project()
  local dir = vim.fn.tempname()
  vim.fn.mkdir(dir, "p")
  vim.fn.writefile({ "[project]", 'name = "sample"' }, dir .. "/pyproject.toml")
  local path = dir .. "/sample.py"
  vim.fn.writefile(H.SOURCE, path)
  return dir, path
end

--- Record what vim.notify is told (it still shows it): the list of messages, newest last.
function H.capture_notes()
  local notes = {}
  local notify = vim.notify
  vim.notify = function(msg, level, opts)
    notes[#notes + 1] = tostring(msg)
    return notify(msg, level, opts)
  end
  return notes
end

--- Type `text` (Normal-mode keys, then Insert mode) and wait until it is in the line.
function H.in_insert(text)
  H.feed(text)
  H.wait_for(function()
    return api.nvim_get_mode().mode == "i" and api.nvim_get_current_line():find(text:sub(3), 1, true) ~= nil
  end, 3000)
end

--- Count the requests of `method` a client sends (0.7 calls client.request(m, ...), 0.11+ client:request(m, ...)).
function H.count_requests(client, method)
  local counter = { n = 0 }
  local original = client.request
  client.request = function(first, ...)
    local m = first == client and select(1, ...) or first
    if m == method then
      counter.n = counter.n + 1
    end
    return original(first, ...)
  end
  return counter
end

--- The lines of :checkhealth quill run from the current buffer.
function H.health_report()
  vim.cmd("checkhealth quill")
  local lines = api.nvim_buf_get_lines(0, 0, -1, false)
  if vim.bo.filetype == "checkhealth" then
    vim.cmd(#api.nvim_list_tabpages() > 1 and "tabclose" or "bwipeout")
  end
  return lines
end

--- Open `path` as a Python buffer and wait for an initialized Quill client; bufnr, client (nil on failure).
function H.open_python(path)
  vim.cmd("edit " .. vim.fn.fnameescape(path))
  vim.bo.filetype = "python" -- -u NONE: no filetype detection
  local bufnr = api.nvim_get_current_buf()
  local client = H.wait_for(function()
    local c = require("quill.server").client_for(bufnr)
    return c and c.server_capabilities and c
  end, 15000)
  if not client then
    H.not_ok("server starts and attaches", "no initialized `quill` client after 15 s (cmd: "
      .. table.concat(H.cmd, " ") .. ")")
    return bufnr, nil
  end
  H.ok("server starts and attaches", "root " .. client.config.root_dir)
  return bufnr, client
end

return H
