--- User commands: :Quill toggle|enable|disable|status|stats, and :QuillDocstring / :QuillGenerate (the
--- server's quill.generateDocstring / quill.generateBody).
local compat = require("quill.compat")
local server = require("quill.server")

local M = {}

local function notify(msg, level)
  vim.notify("quill: " .. msg, level or vim.log.levels.INFO)
end

local function is_workspace_edit(value)
  return type(value) == "table" and (value.changes ~= nil or value.documentChanges ~= nil)
end

--- Run `command` on the function at the cursor; the server edits the buffer (workspace/applyEdit)
--- and answers {applied = bool, reason = ...}. `on_done(err, result)` is optional.
function M.run(command, bufnr, on_done)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local client = server.client_for(bufnr)
  if not client then
    notify("no Quill server is attached to this buffer", vim.log.levels.WARN)
    return
  end
  local pos = vim.lsp.util.make_position_params(0, client.offset_encoding or "utf-16")
  local params = {
    command = command,
    arguments = { { uri = pos.textDocument.uri, position = pos.position } },
  }
  compat.request(client, "workspace/executeCommand", params, function(err, result)
    if err then
      require("quill.events").request_error(err, client.id, command)
      notify(command .. " failed: " .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
    elseif is_workspace_edit(result) then
      -- A server that answers with the edit instead of sending workspace/applyEdit.
      vim.lsp.util.apply_workspace_edit(result, client.offset_encoding or "utf-16")
    elseif type(result) == "table" and result.applied == false then
      notify(result.reason or "nothing was changed", vim.log.levels.WARN)
    end
    if on_done then
      on_done(err, result)
    end
  end, bufnr)
end

local function switch(action)
  return function()
    require("quill")[action]()
    notify("suggestions " .. (require("quill.config").options.inline.enabled and "on" or "off"))
  end
end

local subcommands = {
  toggle = switch("toggle"),
  enable = switch("enable"),
  disable = switch("disable"),
  status = function()
    local bufnr = vim.api.nvim_get_current_buf()
    if server.client_for(bufnr) then
      require("quill.docstatus").refresh_sync(bufnr, 1000) -- the server pushes no changes: ask now
    end
    notify(table.concat(require("quill.status").describe(bufnr), "\n"))
  end,
  stats = function()
    require("quill").stats(function(stats, why)
      if stats then
        notify("acceptance statistics of this session\n" .. table.concat(require("quill.acceptance").describe(stats), "\n"))
      else
        notify("no statistics: " .. why, vim.log.levels.WARN)
      end
    end)
  end,
}

local function quill_command(args)
  local name = args.fargs[1] or "status"
  local run_it = subcommands[name]
  if not run_it then
    local names = vim.tbl_keys(subcommands)
    table.sort(names)
    notify(("unknown subcommand %q (one of: %s)"):format(name, table.concat(names, ", ")), vim.log.levels.ERROR)
    return
  end
  run_it()
end

local function complete(lead)
  local names = vim.tbl_filter(function(name)
    return name:sub(1, #lead) == lead
  end, vim.tbl_keys(subcommands))
  table.sort(names)
  return names
end

--- Define the user commands (plugin/quill.lua does at startup; setup() again, harmlessly).
function M.create()
  vim.api.nvim_create_user_command("Quill", quill_command, {
    nargs = "?", complete = complete, desc = "Quill: toggle|enable|disable|status|stats",
  })
  vim.api.nvim_create_user_command("QuillDocstring", function()
    M.run("quill.generateDocstring")
  end, { desc = "Quill: write a docstring for the function at the cursor" })
  vim.api.nvim_create_user_command("QuillGenerate", function()
    M.run("quill.generateBody")
  end, { desc = "Quill: generate the body of the function at the cursor" })
end

return M
