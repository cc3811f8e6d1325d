--- What the server has said, kept for :checkhealth, :Quill status and the statusline: the model it loaded
--- (from its window/logMessage), whether a load is in progress ($/progress) and the last error.
---
--- The handlers wrap Neovim's own (which still show and log everything as before).
local M = {}

-- client id -> { model = {name, where, ms}, loading = string|nil, error = {message, at} }
local by_client = {}
M.last_error = nil -- { message, at, client_id }: the newest error from any Quill client

local ERROR = 1 -- lsp.MessageType.Error
local IGNORED_CODES = { [-32800] = true, [-32801] = true } -- RequestCancelled, ContentModified

local function record(client_id)
  by_client[client_id] = by_client[client_id] or {}
  return by_client[client_id]
end

--- What is known about client `client_id` (a table, empty when nothing was heard).
function M.get(client_id)
  return by_client[client_id] or {}
end

--- Remember `message` as the last error (of `client_id` when given).
function M.error(message, client_id)
  local entry = { message = message, at = os.time(), client_id = client_id }
  M.last_error = entry
  if client_id then
    record(client_id).error = entry
  end
end

--- A request's error answer, unless it only says the request was cancelled or overtaken.
function M.request_error(err, client_id, method)
  if err and not IGNORED_CODES[err.code] then
    M.error(("%s failed: %s"):format(method, err.message or vim.inspect(err)), client_id)
  end
end

local function on_log(result, client_id)
  local message = result.message or ""
  local name, where, ms = message:match("^Quill: model (%S+) loaded from (.-) in (%d+) ms")
  if name then
    local state = record(client_id)
    state.model = { name = name, where = where, ms = tonumber(ms) }
    state.model_error = nil
  elseif message:match("^Quill: model unavailable") then
    record(client_id).model_error = message
  end
  if result.type == ERROR then
    M.error(message, client_id)
  end
end

local function on_progress(result, client_id)
  local value = result.value or {}
  local state = record(client_id)
  if value.kind == "begin" then
    state.loading = value.title or "working"
  elseif value.kind == "end" then
    state.loading = nil
  end
end

local function wrap(method, observe)
  return function(err, result, ctx, config)
    if result and ctx and ctx.client_id then
      observe(result, ctx.client_id)
    end
    local default = vim.lsp.handlers[method]
    if default then
      return default(err, result, ctx, config)
    end
  end
end

--- Handlers for a Quill client's config.
function M.handlers()
  return {
    ["window/logMessage"] = wrap("window/logMessage", on_log),
    ["window/showMessage"] = wrap("window/showMessage", function(result, client_id)
      if result.type == ERROR then
        M.error(result.message or "", client_id)
      end
    end),
    ["$/progress"] = wrap("$/progress", on_progress),
  }
end

--- A client's on_exit: an exit status other than 0 (or a signal) is an error worth showing.
function M.on_exit(code, signal, client_id)
  if (code and code ~= 0) or (signal and signal ~= 0) then
    M.error(("the server exited with code %s, signal %s"):format(tostring(code), tostring(signal)), client_id)
  end
  by_client[client_id] = by_client[client_id] and { error = by_client[client_id].error } or nil
end

return M
