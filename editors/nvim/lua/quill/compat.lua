--- Differences between Neovim 0.7 and later releases, in one place.
local M = {}

local has_011 = vim.fn.has("nvim-0.11") == 1

--- libuv: vim.uv on 0.10+, vim.loop before.
M.uv = vim.uv or vim.loop

--- vim.secure (0.9+: a trust list of files, asked about once), or nil.
function M.secure()
  local ok, secure = pcall(function()
    return vim.secure
  end)
  if ok and type(secure) == "table" and type(secure.read) == "function" then
    return secure
  end
  return nil
end

--- Report functions of :checkhealth: vim.health.start/ok/... on 0.10+, report_start/report_ok/... before
--- (0.8-0.9 in vim.health, 0.7 in the `health` module).
function M.health()
  local h = vim.health
  if type(h) == "table" and type(h.start) == "function" then
    return { start = h.start, ok = h.ok, info = h.info, warn = h.warn, error = h.error }
  end
  if type(h) ~= "table" or type(h.report_start) ~= "function" then
    h = require("health")
  end
  return { start = h.report_start, ok = h.report_ok, info = h.report_info, warn = h.report_warn,
           error = h.report_error }
end

--- client:request on 0.11+, client.request before (the dot form is deprecated there).
function M.request(client, method, params, handler, bufnr)
  if has_011 then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

function M.request_sync(client, method, params, timeout_ms, bufnr)
  if has_011 then
    return client:request_sync(method, params, timeout_ms, bufnr)
  end
  return client.request_sync(method, params, timeout_ms, bufnr)
end

function M.notify(client, method, params)
  if has_011 then
    return client:notify(method, params)
  end
  return client.notify(method, params)
end

function M.cancel_request(client, id)
  if has_011 then
    return client:cancel_request(id)
  end
  return client.cancel_request(id)
end

function M.buf_clients(bufnr)
  if vim.lsp.get_clients then
    return vim.lsp.get_clients({ bufnr = bufnr })
  end
  return vim.lsp.buf_get_clients(bufnr)
end

--- 0.10+ draws virtual text between characters; older releases can only overlay it.
M.has_inline_virt_text = vim.fn.has("nvim-0.10") == 1

--- Neovim's own inline completion UI (0.12+), or nil.
function M.native_inline_completion()
  local ok, mod = pcall(function()
    return vim.lsp.inline_completion
  end)
  if ok and type(mod) == "table" and type(mod.enable) == "function" and type(mod.get) == "function" then
    return mod
  end
  return nil
end

--- Length of `text` in the code units of `encoding` (utf-8 bytes, utf-16 units or utf-32 characters).
function M.text_length(text, encoding)
  if encoding == "utf-8" then
    return #text
  end
  local units = 0
  for i = 1, #text do
    local byte = text:byte(i)
    if byte < 0x80 or byte >= 0xC0 then -- not a continuation byte: one character
      units = units + ((encoding == "utf-16" and byte >= 0xF0) and 2 or 1)
    end
  end
  return units
end

--- Byte column in `line` of an LSP character offset in `encoding` (utf-8, utf-16 or utf-32).
function M.byte_col(line, character, encoding)
  if encoding == "utf-8" then
    return math.min(character, #line)
  end
  local units, i = 0, 1
  while i <= #line and units < character do
    local byte = line:byte(i)
    local len = byte < 0x80 and 1 or byte < 0xE0 and 2 or byte < 0xF0 and 3 or 4
    units = units + ((encoding == "utf-16" and len == 4) and 2 or 1)
    i = i + len
  end
  return i - 1
end

return M
