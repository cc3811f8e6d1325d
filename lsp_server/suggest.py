"""The completion pipeline: should we complete here -> prompt -> generate -> post-process.

Each stage is a function with its own tests; `suggest` chains them for the LSP features.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from .documents import Document, parse
from .engine import CancelToken, Engine, Generation, StopFn
from .prompt import PromptBudget, build_prompt

LINE, BLOCK = "line", "block"


@dataclass(frozen=True)
class SuggestOptions:
    max_new_tokens: int = 24
    max_lines: int = 6
    budget: PromptBudget = PromptBudget()
    timeout_ms: int = 400


@dataclass(frozen=True)
class CursorContext:
    offset: int
    prefix: str
    suffix: str
    line_before: str  # current line up to the cursor
    line_after: str   # rest of the current line
    mode: str         # LINE: rest of this line; BLOCK: up to max_lines lines
    indent: int       # columns a BLOCK completion must stay deeper than (or equal to, see block_floor)
    block_floor: int  # a non-blank line indented less than this ends a BLOCK completion


@dataclass
class Suggestion:
    text: str
    offset: int
    generation: Generation
    mode: str


def _indent_width(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _in_comment_or_plain_string(doc: Document, offset: int) -> bool:
    """True inside a comment, or inside a string that is not a docstring."""
    if doc.tree is None or offset == 0:
        return False
    byte = doc.byte_at(offset)
    node = doc.tree.root_node.descendant_for_byte_range(max(byte - 1, 0), byte)
    while node is not None:
        if node.type == "comment":
            return byte > node.start_byte
        if node.type == "string":
            if not (node.start_byte < byte < node.end_byte):
                return False
            stmt = node.parent
            prev = stmt.prev_named_sibling if stmt is not None else None
            while prev is not None and prev.type == "comment":  # a shebang or licence comment may precede it
                prev = prev.prev_named_sibling
            is_doc = stmt is not None and stmt.type == "expression_statement" and stmt.named_child_count == 1 \
                and prev is None
            return not is_doc
        node = node.parent
    return False


def cursor_context(doc: Document, offset: int) -> CursorContext | None:
    """Stage 1: decide whether and how to complete at offset (None: stay quiet here)."""
    text = doc.text
    if _in_comment_or_plain_string(doc, offset):
        return None
    line_start = text.rfind("\n", 0, offset) + 1
    line_end = len(text) if (e := text.find("\n", offset)) < 0 else e
    before, after = text[line_start:offset], text[offset:line_end].rstrip("\r")
    indent = _indent_width(before)
    if after.strip():
        mode, floor = LINE, 0
    elif not before.strip():
        mode, floor = BLOCK, len(before)  # blank line inside a block: stay at this depth
    elif before.rstrip().endswith(":"):
        mode, floor = BLOCK, indent + 1  # opens a block: the body must be deeper than this line
    else:
        mode, floor = LINE, 0
    return CursorContext(offset, text[:offset], text[offset:], before, after, mode, indent, floor)


def make_stop(ctx: CursorContext, max_lines: int) -> StopFn:
    """Stage 3 helper: where generation stops for this context (cut index into the generated text)."""
    def stop(text: str) -> int | None:
        if ctx.mode == LINE:
            first_content = len(text) - len(text.lstrip("\n")) if not ctx.line_before.strip() else 0
            nl = text.find("\n", first_content)
            return None if nl < 0 else nl
        lines = text.split("\n")
        for i, line in enumerate(lines[:-1]):  # only complete lines can be judged
            if i == 0 or not line.strip():
                continue
            if _indent_width(line) < ctx.block_floor:
                return sum(len(x) + 1 for x in lines[:i]) - 1
            if i >= max_lines:
                return sum(len(x) + 1 for x in lines[:i]) - 1
        if len(lines) > max_lines + 1:
            return sum(len(x) + 1 for x in lines[:max_lines + 1]) - 1
        return None
    return stop


def _bracket_net(text: str) -> int:
    return sum(text.count(c) for c in "([{") - sum(text.count(c) for c in ")]}")


def trim_suffix_overlap(completion: str, line_after: str, line_before: str = "") -> str:
    """Drop the end of a completion that repeats what already follows the cursor on this line.

    The whole rest of the line may be repeated (`foo(x))` before `)`), or a start of it made only of
    closing punctuation (`name)` before `):`). Closing brackets are only dropped when the line would
    otherwise close more than it opens: `foo(x)` in `print(|)` is right as it is.
    """
    rest = line_after.strip()
    for k in range(min(len(completion), len(rest)), 0, -1):
        head = rest[:k]
        if completion.endswith(head) and (k == len(rest) or all(c in ")]}:,;'\" " for c in head)):
            over_closed = _bracket_net(completion) < 0 and _bracket_net(line_before + completion + line_after) < 0
            if any(c in ")]}" for c in head) and not over_closed:
                continue
            return completion[:-k].rstrip()
    return completion


def postprocess(text: str, ctx: CursorContext) -> str:
    """Stage 4: tidy whitespace and remove suffix duplication."""
    lines = [line.rstrip() for line in text.split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    text = "\n".join(lines)
    if ctx.mode == LINE:
        text = trim_suffix_overlap(text, ctx.line_after, ctx.line_before)
    if not ctx.line_before.strip() and ctx.mode == BLOCK:
        # On an indented blank line the model may re-emit the newline; keep the text on this line.
        if text.startswith("\n"):
            text = text.lstrip("\n")
            # Its indentation is then counted from column 0, but the cursor already stands after line_before.
            if text.startswith(ctx.line_before):
                text = text[len(ctx.line_before):]
    return text


def _error_count(node) -> int:
    if not node.has_error:
        return 0
    if node.type == "ERROR" or node.is_missing:
        return 1
    return sum(_error_count(child) for child in node.children)


def _window(doc: Document, offset: int) -> tuple[int, int]:
    """Code-point range of the top-level statement around offset (the region a completion can break)."""
    text = doc.text
    if doc.tree is None:
        return 0, len(text)
    byte = doc.byte_at(offset)
    start, end = 0, len(doc.source_bytes)
    for child in doc.tree.root_node.children:
        if child.end_byte < byte:
            start = child.end_byte
        elif child.start_byte > byte:
            end = child.start_byte
            break
    return doc.offset_of_byte(start), doc.offset_of_byte(end)


def syntax_cut(doc: Document, offset: int, completion: str) -> str:
    """Longest completion (whole, then cut at line ends) that adds no syntax error; '' if none."""
    start, end = _window(doc, offset)
    text = doc.text
    before, after = text[start:offset], text[offset:end]
    baseline = _count(before + after)
    candidates = [completion] + [completion[:i] for i in range(len(completion) - 1, 0, -1) if completion[i] == "\n"]
    for cand in candidates:
        if cand.strip() and _count(before + cand + after) <= baseline:
            return cand
    return ""


def _count(text: str) -> int:
    tree = parse(text.encode("utf-8"), None, 0.2)
    return 10**6 if tree is None else _error_count(tree.root_node)


def suggest(doc: Document, offset: int, engine: Engine, options: SuggestOptions = SuggestOptions(),
            cancel: CancelToken | None = None) -> Suggestion | None:
    """Run the whole pipeline for one cursor position of a document snapshot."""
    ctx = cursor_context(doc, offset)
    if ctx is None:
        return None
    prompt = build_prompt(ctx.prefix, ctx.suffix, engine.encode, engine.special, options.budget)
    deadline = time.monotonic() + options.timeout_ms / 1000
    stop = make_stop(ctx, options.max_lines)
    gen = engine.generate(prompt.ids, options.max_new_tokens, stop, deadline, cancel)
    if gen.stop_reason == "cancelled":
        return None
    # Generation may end (eos, max_tokens, deadline) inside a last line the stop rule could not judge yet.
    cut = stop(gen.text + "\n")
    text = syntax_cut(doc, offset, postprocess(gen.text if cut is None else gen.text[:cut], ctx))
    if not text.strip():
        return None
    return Suggestion(text, offset, gen, ctx.mode)
