--- Local acceptance statistics: the server's inline items carry `command = quill.accepted [id]`; when the
--- plugin's keys insert a suggestion (items.suggestion_id reads the id), this tells the server
--- (workspace/executeCommand): `[id]` for the whole suggestion, `[id, length]` after a word or a line of it (the length accepted so far, in the client's
--- position encoding). :Quill stats shows what `quill.stats` counted. Nothing leaves the server process.
local compat = require("quill.compat")
local events = require("quill.events")
local server = require("quill.server")

local M = {}

M.ACCEPTED, M.STATS = "quill.accepted", "quill.stats"

-- The suggestion accepted in parts so far: { id = , length = }.
local partial = {}

local function execute(bufnr, arguments)
  local client = server.client_for(bufnr)
  if not client then
    return
  end
  compat.request(client, "workspace/executeCommand", { command = M.ACCEPTED, arguments = arguments },
    function(err)
      events.request_error(err, client.id, M.ACCEPTED)
    end, bufnr)
end

--- The whole suggestion `id` was accepted in `bufnr`.
function M.accepted(bufnr, id)
  if id then
    partial = {}
    execute(bufnr, { id })
  end
end

--- `lines` of suggestion `id` were accepted in `bufnr` (a word or a line; the rest is still shown).
function M.partially(bufnr, id, lines)
  if not id then
    return
  end
  local client = server.client_for(bufnr)
  local encoding = client and client.offset_encoding or "utf-16"
  local length = compat.text_length(table.concat(lines, "\n"), encoding)
  partial = { id = id, length = (partial.id == id and partial.length or 0) + length }
  execute(bufnr, { id, partial.length })
end

--- A Quill client for :Quill stats: the buffer's, else any running one.
local function stats_client(bufnr)
  return server.client_for(bufnr) or server.clients()[1]
end

--- `quill.stats` in words.
function M.describe(stats)
  local rate = type(stats.acceptance_rate) == "number" and ("%.0f%%"):format(100 * stats.acceptance_rate) or "-"
  local latency = type(stats.mean_latency_ms) == "number" and ("%.0f ms"):format(stats.mean_latency_ms) or "-"
  return {
    ("suggestions shown: %s (of %s requests)"):format(tostring(stats.shown), tostring(stats.requests)),
    ("accepted: %s (%s of those shown)"):format(tostring(stats.accepted), rate),
    ("partially accepted: %s (%s characters)"):format(tostring(stats.partially_accepted), tostring(stats.partial_chars)),
    "mean latency: " .. latency,
  }
end

--- Ask the server for quill.stats; `callback(stats)` with its answer, or (nil, why).
function M.stats(bufnr, callback)
  local client = stats_client(bufnr)
  if not client then
    return callback(nil, "no Quill server is running")
  end
  compat.request(client, "workspace/executeCommand", { command = M.STATS }, function(err, result)
    if err or type(result) ~= "table" then
      events.request_error(err, client.id, M.STATS)
      return callback(nil, err and (err.message or vim.inspect(err)) or "no answer")
    end
    callback(result)
  end, bufnr)
end

return M
