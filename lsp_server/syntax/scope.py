"""Which function parameters are in scope at the end of a text, read from indentation (works on the
unfinished code of a buffer being typed, where tree-sitter's error recovery often leaves the cursor in no
function_definition at all), and whether a suggestion uses `self`/`cls` where no such parameter exists."""
from __future__ import annotations

import re

DEF_HEADER = re.compile(r"^([ \t]*)(?:async[ \t]+)?def[ \t]+\w+[ \t]*\(")
RECEIVERS = ("self", "cls")
_RECEIVER_USE = re.compile(r"(?<![\w.])(self|cls)\b")
_PARAM = re.compile(r"^\s*\**\s*([A-Za-z_]\w*)")
MAX_LINES_UP = 400  # a function header further up than this is not looked for


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def header_parameters(lines: list[str], start: int) -> set[str]:
    """Parameter names of the def header starting at lines[start] (it may span lines)."""
    text = "\n".join(lines[start:start + 40])
    i = text.index("(") + 1
    depth, part, parts = 0, "", []
    for c in text[i:]:
        if c in "([{":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                break
            depth -= 1
        if c == "," and depth == 0:
            parts.append(part)
            part = ""
        else:
            part += c
    parts.append(part)
    return {m.group(1) for p in parts if (m := _PARAM.match(p.split(":")[0].split("=")[0]))}


def enclosing_parameters(text_before: str) -> set[str]:
    """Parameters of every def enclosing the end of text_before (innermost and outer: closures see them),
    found by walking up to lines indented less than the cursor's line."""
    lines = text_before.split("\n")
    floor = _indent(lines[-1]) if lines[-1].strip() else len(lines[-1])
    found: set[str] = set()
    for k in range(len(lines) - 2, max(len(lines) - 2 - MAX_LINES_UP, -1), -1):
        line = lines[k]
        stripped = line.lstrip()
        # Blank lines, comments and the closing line of a multi-line header (`) -> None:`) set no scope.
        if not stripped or stripped[0] in "#)]}" or _indent(line) >= floor:
            continue
        floor = _indent(line)
        if DEF_HEADER.match(line):
            found |= header_parameters(lines, k)
        if floor == 0:
            break
    return found


def unbound_receiver(text_before: str, completion: str) -> str | None:
    """`self` or `cls` when the completion uses it as a name where no enclosing function (nor a def in the
    completion itself) has such a parameter; else None."""
    word = re.search(r"[\w.]*$", text_before.split("\n")[-1]).group()
    used = {m.group(1) for m in _RECEIVER_USE.finditer(word + completion)}
    if not used:
        return None
    lines = (text_before.split("\n")[-1] + completion).split("\n")  # a def header typed on this line counts
    bound = enclosing_parameters(text_before)
    for k, line in enumerate(lines):
        if DEF_HEADER.match(line):
            bound |= header_parameters(lines, k)
    missing = sorted(used - bound)
    return missing[0] if missing else None
