-- The server's other features through Neovim's own LSP client: hover, code actions, Quill's commands.
local api = vim.api
local H = require("e2e_harness")

local M = {}

local function hover_text(result)
  if not result or not result.contents then
    return ""
  end
  local contents = result.contents
  if type(contents) == "string" then
    return contents
  end
  if contents.value then
    return contents.value
  end
  local parts = {}
  for _, part in ipairs(contents) do
    parts[#parts + 1] = type(part) == "string" and part or (part.value or "")
  end
  return table.concat(parts, "\n")
end

local function floating_window_text()
  for _, win in ipairs(api.nvim_list_wins()) do
    if api.nvim_win_get_config(win).relative ~= "" then
      local text = table.concat(api.nvim_buf_get_lines(api.nvim_win_get_buf(win), 0, -1, false), "\n")
      if text:match("%S") then
        return text
      end
    end
  end
end

local function close_floats()
  for _, win in ipairs(api.nvim_list_wins()) do
    if api.nvim_win_get_config(win).relative ~= "" then
      api.nvim_win_close(win, true)
    end
  end
end

local function docstring_after(bufnr, def_prefix)
  local row = H.find_line(bufnr, def_prefix)
  local next_line = row and api.nvim_buf_get_lines(bufnr, row + 1, row + 2, false)[1] or ""
  return next_line:match('^%s+[rRuU]?"""') or next_line:match("^%s+[rRuU]?'''")
end


local function check_hover(bufnr, client)
  local name = "hover suggests a docstring"
  if not client.server_capabilities.hoverProvider then
    return H.skip(name, "the server does not advertise hoverProvider")
  end
  api.nvim_win_set_cursor(0, { H.find_line(bufnr, "def add_numbers") + 1, #"def add_" })
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  local responses = vim.lsp.buf_request_sync(bufnr, "textDocument/hover", params, H.WAIT_MS) or {}
  local response = responses[client.id] or {}
  local text = hover_text(response.result)
  if response.err then
    return H.not_ok(name, "error: " .. vim.inspect(response.err))
  elseif not text:find('"""', 1, true) then
    return H.not_ok(name, "no docstring in the hover: " .. vim.inspect(response.result))
  end
  H.ok(name, ("%q"):format((text:gsub("\n", " ")):sub(1, 100)))
  vim.lsp.buf.hover()
  if H.wait_for(floating_window_text, 10000) then
    H.ok("vim.lsp.buf.hover() shows it in a floating window")
  else
    H.not_ok("vim.lsp.buf.hover() shows it in a floating window", "no floating window with text")
  end
  close_floats()
end

--- 8. The "Add docstring" code action, picked in vim.lsp.buf.code_action()'s menu, inserts one.
local function check_code_action(bufnr, client)
  local name = "code action adds a docstring"
  if not client.server_capabilities.codeActionProvider then
    return H.skip(name, "the server does not advertise codeActionProvider")
  end
  local def_row = H.find_line(bufnr, "def add_numbers")
  api.nvim_win_set_cursor(0, { def_row + 1, #"def add_" })
  local offered = {}
  local original_select = vim.ui.select
  vim.ui.select = function(items, _, on_choice) -- pick the docstring action, as a user would
    for i, item in ipairs(items) do
      local action = item.action or item[2] or item
      offered[#offered + 1] = action.title
      if (action.title or ""):lower():find("docstring") then
        return on_choice(item, i)
      end
    end
    on_choice(nil, nil)
  end
  vim.lsp.buf.code_action()
  local inserted = H.wait_for(function()
    return docstring_after(bufnr, "def add_numbers")
  end)
  vim.ui.select = original_select
  if inserted then
    H.ok(name, ("%q"):format(api.nvim_buf_get_lines(bufnr, def_row + 1, def_row + 2, false)[1]))
  elseif #offered == 0 then
    H.not_ok(name, "no code action offered on `def add_numbers`")
  else
    H.not_ok(name, "offered " .. vim.inspect(offered) .. " but no docstring appeared")
  end
end

local function server_commands(client)
  return (client.server_capabilities.executeCommandProvider or {}).commands or {}
end

--- 9. :QuillDocstring (workspace/executeCommand quill.generateDocstring) inserts a docstring.
local function check_docstring_command(bufnr, client)
  if not vim.tbl_contains(server_commands(client), "quill.generateDocstring") then
    return H.skip(":QuillDocstring", "the server does not advertise quill.generateDocstring")
  end
  api.nvim_win_set_cursor(0, { H.find_line(bufnr, "def read_lines") + 1, #"def read_" })
  vim.cmd("QuillDocstring")
  if H.wait_for(function()
    return docstring_after(bufnr, "def read_lines")
  end) then
    H.ok(":QuillDocstring inserts a docstring")
  else
    H.not_ok(":QuillDocstring inserts a docstring", "no docstring under `def read_lines`")
  end
end

--- 10. :QuillGenerate's request on an empty function: the server answers, and an applied body replaces
--- `pass` (whether the model finds code that parses is the server's business, not the plugin's).
local function check_generate_command(bufnr, client)
  if not vim.tbl_contains(server_commands(client), "quill.generateBody") then
    return H.skip(":QuillGenerate", "the server does not advertise quill.generateBody")
  end
  local def_row = H.find_line(bufnr, "def is_even")
  api.nvim_win_set_cursor(0, { def_row + 1, #"def is_" })
  local body = function()
    return api.nvim_buf_get_lines(bufnr, def_row + 1, def_row + 2, false)[1]
  end
  local answer
  require("quill.commands").run("quill.generateBody", bufnr, function(err, result)
    answer = { err = err, result = result }
  end)
  H.wait_for(function()
    return answer and (not (answer.result or {}).applied or body() ~= "    pass")
  end)
  if not answer then
    H.not_ok(":QuillGenerate", "no answer to workspace/executeCommand quill.generateBody")
  elseif answer.err then
    H.not_ok(":QuillGenerate", "error: " .. vim.inspect(answer.err))
  elseif answer.result and answer.result.applied then
    if body() ~= "    pass" then
      H.ok(":QuillGenerate replaces the empty body", ("%q"):format(body()))
    else
      H.not_ok(":QuillGenerate", "the server says applied but the body is unchanged")
    end
  else
    H.ok(":QuillGenerate round trip", "the server generated nothing here: " .. vim.inspect(answer.result))
  end
end

M.checks = { check_hover, check_code_action, check_docstring_command, check_generate_command }

return M
