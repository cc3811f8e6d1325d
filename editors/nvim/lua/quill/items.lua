--- Inline completion items as text: fitting a server item to the cursor, and splitting a suggestion into
--- the part to accept now and the part left to show. Pure functions (no buffer, no client).
local compat = require("quill.compat")

local M = {}

--- The plain text of an item's insertText (a snippet StringValue loses its placeholders' syntax).
function M.item_text(item)
  local text = item.insertText or item.insert_text
  if type(text) == "table" then
    text = (text.value or ""):gsub("%${%d+:([^}]*)}", "%1"):gsub("%$%d+", "")
  end
  return type(text) == "string" and text or ""
end

--- Lines to show for `item` with the cursor at (row, col) of `line`, or nil if it does not fit there.
function M.lines_for(item, line, row, col, encoding)
  local text = M.item_text(item)
  if item.range then
    local start, finish = item.range.start, item.range["end"]
    if start.line ~= row or finish.line ~= row then
      return nil
    end
    local start_col = compat.byte_col(line, start.character, encoding)
    local end_col = compat.byte_col(line, finish.character, encoding)
    if start_col > col or end_col < col then
      return nil
    end
    -- The item replaces [start, end): what the user typed before the cursor must be its prefix,
    -- and what follows the cursor inside the range must be a suffix we can keep.
    local typed = line:sub(start_col + 1, col)
    if text:sub(1, #typed) ~= typed then
      return nil
    end
    text = text:sub(#typed + 1)
    local replaced = line:sub(col + 1, end_col)
    if replaced ~= "" then
      if text:sub(-#replaced) ~= replaced then
        return nil
      end
      text = text:sub(1, #text - #replaced)
    end
  end
  if text == "" then
    return nil
  end
  return vim.split(text, "\n", { plain = true })
end

--- The suggestion id of a server item (the argument of its `quill.accepted` command), or nil.
function M.suggestion_id(item)
  local command = type(item) == "table" and item.command
  if type(command) ~= "table" or command.command ~= "quill.accepted" or type(command.arguments) ~= "table" then
    return nil
  end
  local id = command.arguments[1]
  return type(id) == "string" and id ~= "" and id or nil
end

--- Every item of a server answer that fits the cursor, as lists of lines, best first, without repeats;
--- and the suggestion id of each (for quill.accepted; nil where an item has none).
function M.alternatives(items, line, row, col, encoding)
  local found, seen, ids = {}, {}, {}
  for _, item in ipairs(items or {}) do
    local lines = M.lines_for(item, line, row, col, encoding)
    local key = lines and table.concat(lines, "\n")
    if key and not seen[key] then
      seen[key] = true
      found[#found + 1] = lines
      ids[#found] = M.suggestion_id(item)
    end
  end
  return found, ids
end

--- Split off the suggestion's next word (or the line break and the next line's indent):
--- the lines to insert now and the lines still to show (nil when nothing is left).
function M.split_word(lines)
  local first = lines[1]
  if first == "" and #lines > 1 then
    return M.split_line(lines)
  end
  local word = first:match("^%s*[%w_]+") or first:match("^%s*[^%w_%s]+") or first
  local left = vim.deepcopy(lines)
  left[1] = first:sub(#word + 1)
  if left[1] == "" and #left == 1 then
    left = nil
  end
  return { word }, left
end

--- Split off the suggestion's first line with the line break and the next line's indent.
function M.split_line(lines)
  if #lines == 1 then
    return lines, nil
  end
  local indent = lines[2]:match("^%s*")
  local left = vim.list_slice(lines, 2)
  left[1] = left[1]:sub(#indent + 1)
  return { lines[1], indent }, left
end

return M
