--- May Quill run a server executable that came with the project (<root>/.venv/bin/quill)?
---
--- A cloned repository can ship a `.venv/bin/quill` that would run as you the moment you open one of its
--- files. The `project_server` option decides: "trust" runs it only once Neovim's trust list allows it
--- (vim.secure.read, 0.9+, asks once per file and remembers "allow" and "deny" across sessions; on 0.7/0.8
--- there is no trust list, so never), true always runs it, false never does.
local compat = require("quill.compat")

local M = {}

-- policy and path -> { allowed = bool, why = string, db = trust list's mtime }: one file is asked about
-- once, until the trust list changes (an answer to another prompt, :trust).
local decisions = {}

local function trust_db_mtime()
  if not compat.secure() then
    return "none" -- 0.7/0.8: no trust list (and no stdpath("state"))
  end
  local stat = compat.uv.fs_stat(vim.fn.stdpath("state") .. "/trust")
  return stat and (stat.mtime.sec .. "." .. (stat.mtime.nsec or 0)) or "none"
end

local function decide(path, policy, ask)
  if policy == true then
    return { allowed = true, why = "project_server = true" }
  elseif policy == false then
    return { allowed = false, why = "project_server = false" }
  end
  local secure = compat.secure()
  if not secure then
    return { allowed = false,
             why = "Neovim before 0.9 has no trust list (vim.secure); set project_server = true to run it" }
  end
  if not ask then
    return nil
  end
  local ok, contents = pcall(secure.read, path)
  if ok and contents ~= nil then
    return { allowed = true, why = "trusted (vim.secure)" }
  end
  return { allowed = false, why = "not trusted: answer (a)llow when asked, or open it and run :trust" }
end

--- Whether the project-local executable at `path` may run under `policy` ("trust", true or false), and
--- why. With `ask` false nothing is asked: an undecided "trust" answers nil (for :checkhealth).
function M.check(path, policy, ask)
  local key = tostring(policy) .. "\0" .. path
  local decision = decisions[key]
  if not decision or decision.db ~= trust_db_mtime() then
    decision = decide(path, policy, ask)
    if not decision then
      return nil, "not asked yet (Quill asks when it starts a server for a file of this project)"
    end
    decision.db = trust_db_mtime() -- after the answer, which may have written the list
    decisions[key] = decision
  end
  return decision.allowed, decision.why
end

--- Forget this session's answers (tests; a changed trust list).
function M.forget()
  decisions = {}
end

return M
