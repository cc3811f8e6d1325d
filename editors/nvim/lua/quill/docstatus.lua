--- The server's word on each buffer (quill/documentStatus): active, or inactive and why ("language",
--- "excluded" by inline.exclude or a .quillignore, "disabled", "not_open"). The server pushes no changes, so
--- the plugin asks after attaching a buffer (its didOpen went first), on BufEnter, after a settings change
--- and after a .quillignore is written. Quill asks for no suggestion in a buffer the server reports inactive.
local compat = require("quill.compat")
local server = require("quill.server")

local M = {}

M.METHOD = "quill/documentStatus"

local by_buf = {} -- bufnr -> { active = bool, reason = string|nil, detail = string }
local asked = {} -- bufnr -> number of the newest question (older answers are dropped)
local sequence = 0

--- A well-formed answer as a table (JSON null becomes nil), or nil.
function M.parse(result)
  if type(result) ~= "table" or type(result.active) ~= "boolean" then
    return nil
  end
  local reason = type(result.reason) == "string" and result.reason or nil
  return { active = result.active, reason = (not result.active) and reason or nil,
           detail = type(result.detail) == "string" and result.detail or "" }
end

--- The last answer for `bufnr` (nil: not asked yet, or the server could not answer).
function M.get(bufnr)
  return by_buf[bufnr]
end

--- True when the server said Quill makes no suggestions in `bufnr`.
function M.is_inactive(bufnr)
  local status = by_buf[bufnr]
  return status ~= nil and status.active == false
end

--- An answer in words: "inactive (excluded): legacy.py is ignored by a .quillignore file of /w", "active",
--- or "not known" (nil).
function M.words(status)
  if not status then
    return "not known (the server has not answered quill/documentStatus)"
  elseif status.active then
    return "active"
  end
  local detail = status.detail ~= "" and (": " .. status.detail) or ""
  return ("inactive (%s)%s"):format(status.reason or "unknown", detail)
end

--- The last answer for `bufnr` in words.
function M.describe(bufnr)
  return M.words(by_buf[bufnr])
end

local function record(bufnr, mine, err, result)
  if asked[bufnr] ~= mine then
    return false
  end
  asked[bufnr] = nil
  by_buf[bufnr] = (not err) and M.parse(result) or nil -- an older server without the method: not known
  return true
end

local function params(bufnr)
  return { textDocument = { uri = vim.uri_from_bufnr(bufnr) } }
end

--- Ask the server about `bufnr` again; `on_change(bufnr)` runs when the answer is recorded.
function M.refresh(bufnr, on_change)
  local client = server.client_for(bufnr)
  if not client then
    by_buf[bufnr] = nil
    return
  end
  sequence = sequence + 1
  local mine = sequence
  asked[bufnr] = mine
  compat.request(client, M.METHOD, params(bufnr), function(err, result)
    if record(bufnr, mine, err, result) and on_change then
      on_change(bufnr)
    end
  end, bufnr)
end

--- Ask and wait (at most `timeout_ms`): for :checkhealth and :Quill status. The answer, or nil and why.
function M.refresh_sync(bufnr, timeout_ms)
  local client = server.client_for(bufnr)
  if not client then
    return nil, "no Quill client is attached to this buffer"
  end
  sequence = sequence + 1
  local mine = sequence
  asked[bufnr] = mine
  local response, err = compat.request_sync(client, M.METHOD, params(bufnr), timeout_ms or 2000, bufnr)
  if not response then
    if asked[bufnr] == mine then
      asked[bufnr] = nil
    end
    return nil, err or "no answer"
  end
  record(bufnr, mine, response.err, response.result)
  if response.err then
    return nil, response.err.message or vim.inspect(response.err)
  end
  return M.parse(response.result)
end

--- Forget a buffer (unloaded).
function M.forget(bufnr)
  by_buf[bufnr], asked[bufnr] = nil, nil
end

return M
