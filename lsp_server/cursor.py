"""Stage 1 of the completion pipeline: is the cursor somewhere to complete, and how much to complete.

Mid-line -> the rest of the line (LINE). At the end of a line whose ':' opens a block, or on a blank
line inside a block -> up to the end of that block (BLOCK). The syntax tree decides what opens a block.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .bounds import check_position, statement_start
from .documents import Document

LINE, BLOCK = "line", "block"

# Statements whose ':' at the end of a line opens an indented block (lambda, slices and dict entries do not).
BLOCK_OPENERS = frozenset({
    "function_definition", "class_definition", "if_statement", "elif_clause", "else_clause", "for_statement",
    "while_statement", "with_statement", "try_statement", "except_clause", "except_group_clause",
    "finally_clause", "match_statement", "case_clause",
})
_BLOCK_KEYWORD = re.compile(r"\s*(async\s+)?(def|class|if|elif|else|for|while|with|try|except|finally|match|case)\b")
_CLOSERS = {"(": ")", "[": "]", "{": "}"}


@dataclass(frozen=True)
class CursorContext:
    offset: int
    prefix: str
    suffix: str
    line_before: str  # current line up to the cursor
    line_after: str   # rest of the current line
    mode: str         # LINE: rest of this line; BLOCK: up to the end of the enclosing block
    indent: int       # indentation of the cursor's line
    block_floor: int  # a non-blank line indented less than this ends a BLOCK completion
    open_brackets: str = ""  # closers of the brackets still open at the cursor, innermost last
    in_docstring: bool = False
    lead: str = ""  # written before the model's text: the newline that starts a block's first line
    body_indent: int | None = None  # indentation of the block's existing first line, after a block opener


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


def opens_block(doc: Document, offset: int, line_before: str) -> bool:
    """True when line_before (ending at offset) ends with the ':' of a statement that opens a block."""
    stripped = line_before.rstrip()
    if not stripped.endswith(":"):
        return False
    if doc.tree is None:
        return bool(_BLOCK_KEYWORD.match(stripped))
    colon = offset - (len(line_before) - len(stripped)) - 1
    byte = doc.byte_at(colon)
    node = doc.tree.root_node.descendant_for_byte_range(byte, byte + 1)
    if node is None or node.type != ":" or node.parent is None:
        return False
    if node.parent.type in BLOCK_OPENERS:
        return True
    # Error recovery may leave an unfinished compound statement as an ERROR node; its keyword still tells.
    return node.parent.type == "ERROR" and bool(_BLOCK_KEYWORD.match(stripped))


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


def _statement_start(doc: Document, offset: int) -> int:
    """Offset where the top-level statement around offset starts (at most bounds.WINDOW_BYTES back)."""
    return statement_start(doc, offset)


def _next_code_line(text: str, line_end: int, look: int = 50) -> str | None:
    """The first non-blank, non-comment line after the one ending at line_end (within `look` lines)."""
    for line in text[line_end + 1:].split("\n", look)[:look]:
        if line.strip() and not line.lstrip().startswith("#"):
            return line
    return None


def cursor_context(doc: Document, offset: int) -> CursorContext | None:
    """Stage 1: decide whether and how to complete at offset (None: stay quiet here).

    Raises InputTooComplex where the position is beyond lsp_server.bounds' limits.
    """
    check_position(doc, offset)
    where = string_or_comment_at(doc, offset)
    if where in ("comment", "string"):
        return None
    text = doc.text
    line_start = text.rfind("\n", 0, offset) + 1
    line_end = len(text) if (e := text.find("\n", offset)) < 0 else e
    before, after = text[line_start:offset], text[offset:line_end].rstrip("\r")
    indent = indent_width(before)
    lead, body_indent = "", None
    if after.strip() or where == "docstring":  # a block would push a trailing comment onto its last line
        mode, floor = LINE, 0
    elif not before.strip():
        mode, floor = BLOCK, len(before)  # blank line inside a block: stay at this depth
    elif opens_block(doc, offset, before):
        mode, floor = BLOCK, indent + 1  # opens a block: the body must be deeper than this line
        lead = "\n"  # the model then writes the indentation itself, as in training
        body = _next_code_line(text, line_end)
        body_indent = indent_width(body) if body is not None and indent_width(body) > indent else None
    else:
        mode, floor = LINE, 0
    brackets = "" if where == "docstring" else "".join(scan_brackets(text[_statement_start(doc, offset):offset])[0])
    return CursorContext(offset, text[:offset], text[offset:], before, after, mode, indent, floor,
                         brackets, where == "docstring", lead, body_indent)
