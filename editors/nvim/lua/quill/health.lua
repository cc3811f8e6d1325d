--- :checkhealth quill — Neovim and the inline path, the server command and its version, the model the
--- server loaded, the client of the buffer you came from, its position encoding, the last error.
local compat = require("quill.compat")
local config = require("quill.config")
local docstatus = require("quill.docstatus")
local events = require("quill.events")
local native = require("quill.native")
local server = require("quill.server")
local status = require("quill.status")

local M = {}

local api = vim.api
local VERSION_TIMEOUT_MS = 10000

local function is_report(bufnr)
  return vim.bo[bufnr].filetype == "checkhealth" or api.nvim_buf_get_name(bufnr):match("^health://") ~= nil
end

--- The buffer :checkhealth was run from: it shows its report in a buffer of its own first (in a new tab,
--- the current window or a float), so the alternate buffer, the previous window's or the previous tab's.
local function target_buffer()
  local candidates = { api.nvim_get_current_buf(), vim.fn.bufnr("#") }
  local previous_win = vim.fn.win_getid(vim.fn.winnr("#"))
  if previous_win > 0 then
    candidates[#candidates + 1] = api.nvim_win_get_buf(previous_win)
  end
  local tab = vim.fn.tabpagenr("#")
  if tab > 0 then
    candidates[#candidates + 1] = vim.fn.tabpagebuflist(tab)[vim.fn.tabpagewinnr(tab)]
  end
  for _, bufnr in ipairs(candidates) do
    if bufnr and bufnr > 0 and api.nvim_buf_is_valid(bufnr) and not is_report(bufnr) then
      return bufnr
    end
  end
  return api.nvim_get_current_buf()
end

local function check_neovim(report)
  report.start("quill: Neovim")
  local v = vim.version()
  local version = ("%d.%d.%d"):format(v.major, v.minor, v.patch)
  if vim.fn.has("nvim-0.7") == 1 then
    report.ok("Neovim " .. version)
  else
    report.error("Neovim " .. version .. ": Quill needs 0.7 or later")
  end
  local inline = config.options.inline
  if native.available() and inline.native ~= false and inline.auto_trigger ~= false then
    report.ok("inline path: Neovim's own inline completion (vim.lsp.inline_completion, 0.12+)")
  else
    local why = not native.available() and "this Neovim has no vim.lsp.inline_completion"
      or (inline.native == false and "inline.native = false" or "manual mode needs it")
    report.ok(("inline path: Quill's ghost text (%s; %s)"):format(why,
      compat.has_inline_virt_text and "text drawn between characters" or "drawn over the rest of the line"))
  end
  report.info(("suggestions %s, %s"):format(inline.enabled and "on" or "off (:Quill enable)",
    inline.auto_trigger and "while typing" or "only on the trigger key (inline.auto_trigger = false)"))
end

--- The command that prints the server's version: the server command up to `serve`, then --version.
local function version_command(cmd)
  local out = {}
  for _, part in ipairs(cmd) do
    if part == "serve" then
      break
    end
    out[#out + 1] = part
  end
  out[#out + 1] = "--version"
  return out
end

--- Run `argv`; its exit code (nil on a time-out) and output.
local function run(argv)
  local output = {}
  local collect = function(_, data)
    for _, line in ipairs(data or {}) do
      if line ~= "" then
        output[#output + 1] = line
      end
    end
  end
  local ok, job = pcall(vim.fn.jobstart, argv, { on_stdout = collect, on_stderr = collect })
  if not ok or job <= 0 then
    return -1, { "could not start " .. argv[1] }
  end
  local code = vim.fn.jobwait({ job }, VERSION_TIMEOUT_MS)[1]
  if code == -1 then
    vim.fn.jobstop(job)
    return nil, output
  end
  return code, output
end

local function check_version(report, cmd)
  local argv = version_command(cmd)
  local code, output = run(argv)
  local shown = table.concat(argv, " ")
  if code == 0 and #output > 0 then
    report.ok(("`%s`: %s"):format(shown, table.concat(output, " | ")))
  elseif code == nil then
    report.warn(("`%s` did not finish within %d s"):format(shown, VERSION_TIMEOUT_MS / 1000))
  else
    report.warn(("`%s` gave no version (exit %s): %s"):format(shown, tostring(code), output[#output] or ""),
      { "a server from before `quill --version` existed: update it (pip install -U quill-lsp)" })
  end
end

local function check_server(report, bufnr)
  report.start("quill: server")
  local root = server.root_of(bufnr)
  local client = server.client_for(bufnr)
  local cmd, source, skipped = server.resolve_cmd(config.options.cmd, root, { ask = false })
  if client and type(client.config.cmd) == "table" then
    cmd, source = client.config.cmd, "running"
  end
  if skipped and source ~= "running" then
    report.warn(("project-local server %s is not run: %s"):format(skipped.path, skipped.why))
  end
  if not cmd then
    report.error("no server command: none allowed in " .. root .. "/.venv and no `quill` on PATH",
      { "pip install quill-lsp", "or set the `cmd` option", "or trust the project's own (:help quill-trust)" })
    return
  end
  if vim.fn.executable(cmd[1]) ~= 1 then
    report.error(("server command %q is not an executable"):format(cmd[1]), { "check the `cmd` option" })
    return
  end
  local from = { option = "the cmd option", project = "the project's .venv", path = "PATH",
                 running = "the running client" }
  report.ok(("server command: %s (from %s)"):format(table.concat(cmd, " "), from[source]))
  check_version(report, cmd)
end

--- "<size> in <n> files" of a bundle folder, from its manifest; nil where the server named no folder.
local function bundle_size(where)
  local manifest = where .. "/manifest.json"
  if vim.fn.filereadable(manifest) ~= 1 then
    return nil
  end
  local ok, data = pcall(vim.fn.json_decode, table.concat(vim.fn.readfile(manifest), "\n"))
  if not ok or type(data) ~= "table" or type(data.files) ~= "table" then
    return nil
  end
  local bytes, count = 0, 0
  for _, entry in pairs(data.files) do
    bytes, count = bytes + (tonumber(entry.bytes) or 0), count + 1
  end
  return ("%.1f MB in %d files"):format(bytes / 1e6, count)
end

local function check_model(report, client)
  local heard = events.get(client.id)
  if heard.model then
    local size = bundle_size(heard.model.where) or "size not reported by the server"
    report.ok(("bundle %s verified and loaded from %s (%s)"):format(heard.model.name, heard.model.where, size))
  elseif heard.model_error then
    report.error(heard.model_error, { "quill serve --bundle DIR with a bundle from `quill export`" })
  else
    report.warn("the server has not reported a model yet (" .. status.model(client.id) .. ")")
  end
end

--- The server's quill/documentStatus for the buffer: an exclusion is a choice, so it is information.
local function check_document(report, bufnr)
  local status, why = docstatus.refresh_sync(bufnr, 2000)
  if not status then
    report.warn("document status: the server did not answer quill/documentStatus (" .. tostring(why) .. ")",
      { "a server from before quill/documentStatus: update it (pip install -U quill-lsp)" })
  elseif status.active then
    report.ok("document status: active (Quill makes suggestions in this buffer)")
  else
    report.info("document status: " .. docstatus.words(status) .. "; Quill makes no suggestions in this buffer")
  end
end

local function check_buffer(report, bufnr)
  report.start("quill: this buffer")
  local name = api.nvim_buf_get_name(bufnr)
  local client = server.client_for(bufnr)
  if not client then
    report.warn(("no Quill client attached to buffer %d (%s, filetype %q)"):format(bufnr,
      name ~= "" and name or "no name", vim.bo[bufnr].filetype),
      { "run :checkhealth quill from a Python buffer",
        "check `filetypes` and that setup() or vim.lsp.enable('quill') ran" })
  else
    report.ok(("client %d attached to buffer %d (%s), root %s"):format(client.id, bufnr, name,
      tostring(client.config.root_dir)))
    report.ok("position encoding: " .. tostring(client.offset_encoding))
    check_document(report, bufnr)
    check_model(report, client)
  end
  local last = events.last_error
  if last then
    report.warn(("last error (%s): %s"):format(os.date("%H:%M:%S", last.at), last.message))
  else
    report.ok("no error reported since Neovim started")
  end
end

function M.check()
  local report = compat.health()
  local bufnr = target_buffer()
  check_neovim(report)
  check_server(report, bufnr)
  check_buffer(report, bufnr)
end

return M
