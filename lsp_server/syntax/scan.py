"""Lexical scans of Python source that need no parse: strings, comments, brackets, indentation."""
from __future__ import annotations

from .documents import Document

_CLOSERS = {"(": ")", "[": "]", "{": "}"}


def indent_width(line: str) -> int:
    """Columns of leading spaces and tabs."""
    return len(line) - len(line.lstrip(" \t"))


def _is_docstring(string_node) -> bool:
    stmt = string_node.parent
    if stmt is None or stmt.type != "expression_statement" or stmt.named_child_count != 1:
        return False
    prev = stmt.prev_named_sibling
    while prev is not None and prev.type == "comment":  # a shebang or licence comment may precede it
        prev = prev.prev_named_sibling
    return prev is None


def _open_on_line(line_before: str) -> str | None:
    """'comment' or 'string' when the line so far ends inside one, by a lexical scan of that line alone.

    Inside an f-string's {field} the text is code again.
    """
    quote, fstring, field, i = "", False, 0, 0
    while i < len(line_before):
        c = line_before[i]
        if quote and field:
            field += (c == "{") - (c == "}")
        elif quote:
            if c == "\\":
                i += 1
            elif line_before.startswith(quote, i):
                i += len(quote) - 1
                quote = ""
            elif fstring and c == "{":
                if line_before.startswith("{{", i):
                    i += 1
                else:
                    field = 1
        elif c == "#":
            return "comment"
        elif c in "'\"":
            quote = line_before[i:i + 3] if line_before[i:i + 3] in ("'''", '"""') else c
            fstring = "f" in line_before[max(i - 2, 0):i].lower()
            i += len(quote) - 1
        i += 1
    return "string" if quote and not field else None


def string_or_comment_at(doc: Document, offset: int) -> str | None:
    """'comment', 'string', 'docstring' when offset is inside one; None in code (f-string fields are code)."""
    if offset == 0:
        return None
    if doc.tree is None or doc.tree.root_node.has_error:
        # Error recovery does not make an unclosed quote a string node; the line itself still tells.
        found = _open_on_line(doc.text[doc.text.rfind("\n", 0, offset) + 1:offset])
        if found is not None:
            return found
    if doc.tree is None:
        return None
    byte = doc.byte_at(offset)
    node = doc.tree.root_node.descendant_for_byte_range(max(byte - 1, 0), byte)
    while node is not None:
        if node.type == "interpolation" and node.start_byte < byte < node.end_byte:
            return None
        if node.type == "comment":
            return "comment" if byte > node.start_byte else None
        if node.type == "string":
            if not (node.start_byte < byte < node.end_byte):
                return None
            return "docstring" if _is_docstring(node) else "string"
        node = node.parent
    return None


def scan_brackets(code: str, stack: list[str] | None = None, floor: int | None = None) -> tuple[list[str], int | None]:
    """Bracket closers still open after `code` (strings and comments skipped), starting from `stack`.

    Also returns the index in code of the first closer met while at most `floor` brackets are open (by
    default the initial stack's depth): the bracket that closes one opened before. None if none does.
    """
    stack = list(stack or [])
    floor = len(stack) if floor is None else floor
    i, n, closed_outer = 0, len(code), None
    while i < n:
        c = code[i]
        if c == "#":
            i = code.find("\n", i)
            i = n if i < 0 else i
            continue
        if c in "'\"":
            quote = code[i:i + 3] if code[i:i + 3] in ("'''", '"""') else c
            end = code.find(quote, i + len(quote))
            while end > 0 and len(quote) == 1 and code[end - 1] == "\\":
                end = code.find(quote, end + 1)
            i = n if end < 0 else end + len(quote)
            continue
        if c in _CLOSERS:
            stack.append(_CLOSERS[c])
        elif c in ")]}":
            if len(stack) <= floor and closed_outer is None:
                closed_outer = i
            if stack:
                stack.pop()
        i += 1
    return stack, closed_outer


def unclosed_strings(code: str) -> int:
    """Strings in code left unclosed: single-quoted ones at the end of their line, any at the end of code."""
    count, i, n = 0, 0, len(code)
    while i < n:
        c = code[i]
        if c == "#":
            i = n if (e := code.find("\n", i)) < 0 else e
            continue
        if c not in "'\"":
            i += 1
            continue
        quote = code[i:i + 3] if code[i:i + 3] in ("'''", '"""') else c
        j = i + len(quote)
        while j < n and not code.startswith(quote, j) and (len(quote) == 3 or code[j] != "\n"):
            j += 2 if code[j] == "\\" else 1
        if j >= n or not code.startswith(quote, j):
            count += 1
            i = j
        else:
            i = j + len(quote)
    return count
