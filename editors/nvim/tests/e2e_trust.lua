-- Trust of a project-local server: a repository's own `.venv/bin/quill` (here a script that only leaves a
-- marker file) must not run when one of its files is opened, unless the user said so (project_server =
-- true, or Neovim's trust list on 0.9+). The opt-in case shows that the marker would appear.
local api = vim.api
local H = require("e2e_harness")

local M = {}

--- A repository with pyproject.toml, mod.py and a fake .venv/bin/quill; its folder, file, server and marker.
local function fake_repository()
  local dir = vim.fn.tempname()
  vim.fn.mkdir(dir .. "/.venv/bin", "p")
  vim.fn.writefile({ "[project]", 'name = "cloned"' }, dir .. "/pyproject.toml")
  vim.fn.writefile({ "x = 1" }, dir .. "/mod.py")
  local exe = dir .. "/.venv/bin/quill"
  vim.fn.writefile({ "#!/bin/sh", 'touch "$(dirname "$0")/../../ran"' }, exe)
  vim.fn.setfperm(exe, "rwxr-xr-x")
  return { dir = dir, file = dir .. "/mod.py", exe = exe, marker = dir .. "/ran" }
end

local function ran(repo)
  return vim.fn.filereadable(repo.marker) == 1
end

--- Open the repository's file as a user would (FileType starts Quill) and close it again.
local function open(repo, wait_ms, until_ran)
  vim.cmd("edit " .. vim.fn.fnameescape(repo.file))
  vim.bo.filetype = "python"
  local bufnr = api.nvim_get_current_buf()
  if until_ran then
    H.wait_for(function()
      return ran(repo)
    end, wait_ms)
  else
    H.sleep(wait_ms)
  end
  vim.cmd("enew")
  pcall(vim.cmd, "bwipeout! " .. bufnr)
end

function M.run()
  local path = vim.env.PATH
  vim.env.PATH = "/usr/bin:/bin" -- no `quill` to fall back on: only the project's could start
  local quill = require("quill")
  local options = { flags = { debounce_text_changes = 0 }, inline = { native = false } }

  quill.setup(options)
  local untrusted = fake_repository()
  open(untrusted, 1500, false)
  H.check("a project-local .venv/bin/quill is not run without trust", not ran(untrusted),
    "opening " .. untrusted.file .. " ran " .. untrusted.exe)

  quill.setup(vim.tbl_extend("force", options, { project_server = true }))
  local opted_in = fake_repository()
  open(opted_in, 5000, true)
  H.check("project_server = true runs the project-local server", ran(opted_in),
    "opening " .. opted_in.file .. " did not run " .. opted_in.exe)

  local secure = vim.secure
  if secure and secure.trust then
    quill.setup(options)
    local trusted = fake_repository()
    -- As a user does: open the file, :trust it (Neovim trusts what it showed, so a buffer, not a path).
    vim.cmd("edit " .. vim.fn.fnameescape(trusted.exe))
    local trust_buf = api.nvim_get_current_buf()
    secure.trust({ action = "allow", bufnr = trust_buf })
    vim.cmd("enew")
    vim.cmd("bwipeout! " .. trust_buf)
    open(trusted, 5000, true)
    H.check("a project-local server trusted with vim.secure.trust runs", ran(trusted),
      "opening " .. trusted.file .. " did not run the trusted " .. trusted.exe)
  else
    H.skip("a project-local server trusted with vim.secure.trust runs", "this Neovim has no vim.secure.trust (0.10+)")
  end
  vim.env.PATH = path
  for _, client in pairs((vim.lsp.get_clients or vim.lsp.get_active_clients)()) do
    pcall(vim.lsp.stop_client, client.id, true)
  end
end

return M
