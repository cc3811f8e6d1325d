-- Loaded at startup: Quill's user commands and highlight, without setup(). Suggestions come with
-- require("quill").setup() (0.7+) or vim.lsp.enable("quill") (0.11+, lsp/quill.lua).
if vim.g.loaded_quill then
  return
end
vim.g.loaded_quill = true

require("quill.commands").create()

local group = vim.api.nvim_create_augroup("quill.plugin", { clear = true })
local function highlights()
  vim.cmd("highlight default link QuillSuggestion Comment")
end
highlights()
vim.api.nvim_create_autocmd("ColorScheme", { group = group, callback = highlights })

-- A client started by vim.lsp.enable("quill") gets the same suggestions and keys as one from setup()
-- (LspAttach is 0.8+; require("quill").attach runs once per buffer).
if vim.fn.has("nvim-0.8") == 1 then
  vim.api.nvim_create_autocmd("LspAttach", {
    group = group,
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if client and client.name == "quill" then
        require("quill").attach(client, args.buf)
      end
    end,
  })
end
