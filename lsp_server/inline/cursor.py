"""Stage 1 of the completion pipeline: is the cursor somewhere to complete, and how much to complete.

Mid-line -> the rest of the line (LINE). At the end of a line whose ':' opens a block, or on a blank
line inside a block -> up to the end of that block (BLOCK). The syntax tree decides what opens a block.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..syntax.documents import Document
from ..syntax.limits import check_position, statement_start
from ..syntax.scan import indent_width, scan_brackets, string_or_comment_at

LINE, BLOCK = "line", "block"

# Statements whose ':' at the end of a line opens an indented block (lambda, slices and dict entries do not).
BLOCK_OPENERS = frozenset({
    "function_definition", "class_definition", "if_statement", "elif_clause", "else_clause", "for_statement",
    "while_statement", "with_statement", "try_statement", "except_clause", "except_group_clause",
    "finally_clause", "match_statement", "case_clause",
})
_BLOCK_KEYWORD = re.compile(r"\s*(async\s+)?(def|class|if|elif|else|for|while|with|try|except|finally|match|case)\b")


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

    Raises InputTooComplex where the position is beyond lsp_server.syntax.limits' limits.
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
