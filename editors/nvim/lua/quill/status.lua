--- Quill's state in words: one short phrase for the statusline, a few lines for :Quill status.
local config = require("quill.config")
local docstatus = require("quill.docstatus")
local events = require("quill.events")
local server = require("quill.server")

local M = {}

local function is_quill_filetype(bufnr)
  return vim.tbl_contains(config.options.filetypes, vim.bo[bufnr].filetype)
end

--- The state of `bufnr` in a few words: "off", "no server", "inactive (excluded)" (the server makes no
--- suggestions there, quill/documentStatus), "loading", "no model", "manual", "ready".
function M.state(bufnr)
  local client = server.client_for(bufnr)
  if not client then
    return "no server"
  end
  local heard = events.get(client.id)
  if not config.options.inline.enabled then
    return "off"
  elseif docstatus.is_inactive(bufnr) then
    return ("inactive (%s)"):format(docstatus.get(bufnr).reason or "unknown")
  elseif heard.model_error then
    return "no model"
  elseif heard.loading or not heard.model then
    return "loading"
  elseif not config.options.inline.auto_trigger then
    return "manual"
  end
  return "ready"
end

--- The statusline phrase for `bufnr` ("" in a buffer Quill has nothing to do with); `index`/`count`:
--- which of the server's alternatives is shown.
function M.line(bufnr, index, count)
  if not server.client_for(bufnr) and not is_quill_filetype(bufnr) then
    return ""
  end
  if index and count and count > 1 then
    return ("Quill: %d/%d"):format(index, count)
  end
  return "Quill: " .. M.state(bufnr)
end

--- The model a client reported, in words.
function M.model(client_id)
  local heard = events.get(client_id)
  if heard.model then
    local model = heard.model
    return ("%s from %s (loaded in %d ms)"):format(model.name, model.where, model.ms or 0)
  end
  return heard.model_error or (heard.loading and "loading" or "not reported yet")
end

--- Lines of :Quill status for `bufnr`.
function M.describe(bufnr)
  local inline = config.options.inline
  local trigger = "manual (trigger key " .. tostring(config.options.keymaps.trigger) .. ")"
  local lines = {
    ("suggestions: %s, %s"):format(inline.enabled and "on" or "off", inline.auto_trigger and "while typing" or trigger),
  }
  local client = server.client_for(bufnr)
  if client then
    lines[#lines + 1] = ("server: client %d, root %s, cmd %s"):format(client.id, tostring(client.config.root_dir),
      table.concat(type(client.config.cmd) == "table" and client.config.cmd or { "(function)" }, " "))
    lines[#lines + 1] = "model: " .. M.model(client.id)
    lines[#lines + 1] = "position encoding: " .. tostring(client.offset_encoding)
    lines[#lines + 1] = "this buffer: " .. docstatus.describe(bufnr)
  else
    lines[#lines + 1] = "server: none attached to this buffer"
  end
  local last = events.last_error
  lines[#lines + 1] = "last error: " .. (last and (os.date("%H:%M:%S", last.at) .. " " .. last.message) or "none")
  return lines
end

return M
