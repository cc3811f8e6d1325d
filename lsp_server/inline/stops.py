"""Stage 3's stop rules: where generation stops for a cursor context (a cut index into the generated text).

LINE stops at the end of the line; BLOCK when a line dedents out of the block, a new top-level definition
starts, enough lines are written, or a bracket open at the cursor is closed. Both stop where the text starts
looping (loop_start, shared with code generation).
"""
from __future__ import annotations

import re

from ..runtime.engine import StopFn
from ..syntax.scan import indent_width, scan_brackets
from .cursor import LINE, CursorContext

_CONTINUES_STATEMENT = re.compile(r"(else|elif|except|finally)\b|[)\]}]")


_DEFINITION = re.compile(r"(async\s+def|def|class)\b|@")


def _cut_before_line(lines: list[str], i: int) -> int:
    """Index in "\n".join(lines) where line i starts, minus its newline."""
    return sum(len(x) + 1 for x in lines[:i]) - 1


def _closes_enclosing(ctx: CursorContext, text: str, stack: list[str], start: int) -> int | None:
    """Cut index when text[start:] closes a bracket open at the cursor; None if it does not.

    The cut drops the bracket when the code after the cursor already closes it, else keeps its line.
    """
    if ctx.in_docstring or not ctx.open_brackets:
        return None
    line_end = text.find("\n", start)
    line = text[start:] if line_end < 0 else text[start:line_end]
    _, closed = scan_brackets(line, stack, len(ctx.open_brackets))
    if closed is None:
        return None
    if ctx.suffix.lstrip().startswith(line[closed]):
        return start + closed
    return None if line_end < 0 else line_end


def loop_start(text: str, max_unit: int = 24) -> int | None:
    """Where text ends in a degenerate loop (a unit repeated 4 times, or 3 for units over 4 chars)."""
    for k in range(1, min(max_unit, len(text) // 3) + 1):
        times = 4 if k <= 4 else 3
        if len(text) < k * times:
            continue
        unit = text[-k:]
        if unit.strip() and "\n" not in unit and text.endswith(unit * times):  # repeated lines: _ends_block
            start = len(text) - k * times
            while start >= k and text[start - k:start] == unit:
                start -= k
            return start
    return None


def _line_stop(ctx: CursorContext, text: str) -> int | None:
    first_content = len(text) - len(text.lstrip("\n")) if not ctx.line_before.strip() else 0
    closed = _closes_enclosing(ctx, text, list(ctx.open_brackets), first_content)
    if closed is not None:
        return closed
    nl = text.find("\n", first_content)
    return None if nl < 0 else nl


def _ends_block(ctx: CursorContext, line: str, previous: str | None, content: int, levels: list[int],
                max_lines: int) -> bool:
    """True when this complete line must not be part of the completion; keeps `levels` (indent stack)."""
    width = indent_width(line)
    if line.strip() == previous or width < ctx.block_floor or content >= max_lines:
        return True  # the model loops, the line leaves the block, or the block is long enough
    if width == 0 and content and (ctx.block_floor == 0 or _DEFINITION.match(line)) \
            and not _CONTINUES_STATEMENT.match(line):
        return True  # a new top-level statement or definition
    if content == 0 and ctx.body_indent is not None and width != ctx.body_indent:
        return True  # the block's existing lines follow: the first new line must sit at their depth
    if width > levels[-1]:
        if content and not (previous or "").endswith(":"):
            return True  # only a block opener may be followed by a deeper line: "unexpected indent"
        levels.append(width)
    while len(levels) > 1 and width < levels[-1]:
        levels.pop()
    return width != levels[-1]  # a dedent to a level that no enclosing line has: IndentationError


def _block_stop(ctx: CursorContext, text: str, max_lines: int) -> int | None:
    lines = text.split("\n")
    stack, levels = list(ctx.open_brackets), [ctx.block_floor if not ctx.line_before.strip() else ctx.indent]
    content, start, previous = 0, 0, None
    for i, line in enumerate(lines):
        # Only complete lines can be judged; lines inside brackets the completion opened are continuations.
        judged = 0 < i < len(lines) - 1 and line.strip() and len(stack) <= len(ctx.open_brackets)
        if judged and _ends_block(ctx, line, previous, content, levels, max_lines):
            return _cut_before_line(lines, i)
        closed = _closes_enclosing(ctx, text, stack, start)
        if closed is not None:
            return closed
        stack, _ = scan_brackets(line, stack)
        content += bool(line.strip())
        previous = line.strip() or previous
        start += len(line) + 1
    return None


def make_stop(ctx: CursorContext, max_lines: int) -> StopFn:
    """Stage 3 helper: where generation stops for this context (cut index into the generated text).

    LINE stops at the end of the line; BLOCK when a line dedents out of the block, a new top-level
    definition starts, max_lines lines are written, or a bracket open at the cursor is closed. Both stop
    where the text starts looping (a line or a short unit repeated).
    """
    def stop(text: str) -> int | None:
        loop = loop_start(text)
        text = text if loop is None else text[:loop]
        cut = _line_stop(ctx, text) if ctx.mode == LINE else _block_stop(ctx, text, max_lines)
        return loop if cut is None else cut
    return stop


def engine_stop(ctx: CursorContext, stop: StopFn) -> StopFn:
    """The stop rule on the model's own text, which follows ctx.lead in the completion."""
    if not ctx.lead:
        return stop

    def shifted(text: str) -> int | None:
        cut = stop(ctx.lead + text)
        return None if cut is None else max(cut - len(ctx.lead), 0)
    return shifted
