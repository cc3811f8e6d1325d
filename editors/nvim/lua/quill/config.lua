--- Options of the Quill plugin: defaults, merged with what the user passes to setup().
local M = {}

M.defaults = {
  -- Command that starts the server. nil: <root>/.venv/bin/quill (or venv/, env/) when it exists and
  -- `project_server` allows it, else `quill` on PATH. A string is one executable; a list is the whole
  -- command line.
  cmd = nil,
  -- A project-local server (<root>/.venv/bin/quill) is code from the repository you opened:
  -- "trust": run it only once Neovim's trust list allows it (vim.secure, 0.9+: asked once per file;
  --          on 0.7/0.8, never); true: always run it (opt-in); false: never.
  project_server = "trust",
  filetypes = { "python" },
  -- The first folder above the file holding one of these is the root; one server runs per root.
  root_markers = { "pyproject.toml", "setup.py", "setup.cfg", "requirements.txt", ".git" },
  -- Server settings, sent as initializationOptions and workspace/didChangeConfiguration
  -- (sections inline, completion, docstring, codegen; see the README's settings table).
  settings = {},
  inline = {
    enabled = true, -- :Quill enable/disable/toggle change it while Neovim runs
    -- false: no suggestion until the trigger key (keymaps.trigger) asks for one.
    auto_trigger = true,
    debounce_ms = 100, -- wait this long after the last keystroke before asking the server
    -- "auto": Neovim's own vim.lsp.inline_completion where the running Neovim has it;
    -- false: always Quill's renderer. Manual mode (auto_trigger = false) uses Quill's renderer too.
    native = "auto",
    hl_group = "QuillSuggestion", -- linked to Comment unless you define it
  },
  -- Insert-mode keys while a suggestion is shown; each falls back to the key's normal meaning
  -- (or the mapping it had before) when none is. false disables one.
  keymaps = {
    accept = "<Tab>",
    accept_word = "<M-Right>",
    accept_line = "<M-Down>",
    dismiss = "<C-]>",
    next = "<M-]>", -- the server's next alternative (settings.inline.alternatives > 1)
    prev = "<M-[>",
    trigger = "<M-\\>",
  },
  flags = {}, -- passed to the LSP client (e.g. debounce_text_changes)
  capabilities = nil, -- extra client capabilities, deep-merged over Neovim's own
  on_attach = nil, -- function(client, bufnr) called after Quill's own attach
}

M.options = vim.deepcopy(M.defaults)

--- Merge user options over the defaults; unknown keys are reported, never fatal.
function M.set(user)
  user = user or {}
  local unknown = {}
  for key in pairs(user) do
    if M.defaults[key] == nil and key ~= "cmd" and key ~= "capabilities" and key ~= "on_attach" then
      table.insert(unknown, key)
    end
  end
  if #unknown > 0 then
    table.sort(unknown)
    vim.notify("quill: unknown option(s): " .. table.concat(unknown, ", "), vim.log.levels.WARN)
  end
  M.options = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), user)
  -- Lists are replaced, not merged index by index.
  for _, key in ipairs({ "filetypes", "root_markers" }) do
    if user[key] then
      M.options[key] = user[key]
    end
  end
  if not vim.tbl_contains({ "trust", true, false }, M.options.project_server) then
    vim.notify("quill: project_server must be \"trust\", true or false; using \"trust\"", vim.log.levels.WARN)
    M.options.project_server = "trust"
  end
  return M.options
end

return M
