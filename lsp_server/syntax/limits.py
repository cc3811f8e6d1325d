"""Limits that keep the work of one request bounded on hostile input: huge files, deep nesting, long lines.

Three costs are not linear and need a limit. tree-sitter's `Node.parent` walks down from the root, so
climbing from a node 100,000 levels deep is quadratic; a query over an ERROR node with many children is
quadratic in their number; and pure-Python scans over "the statement around the cursor" cost as much as
that statement, which may be the whole file. So features first check the position (check_position), run
queries on byte windows at bounded depth (ts_queries.captures) and scan windows of bounded size
(statement_window). Past a limit they raise InputTooComplex, which the LSP layer turns into an empty
result and one log line.
"""
from __future__ import annotations

import tree_sitter

from ..errors import InputTooComplex
from .documents import PYTHON_LANGUAGE_ID, Document

MAX_DEPTH = 500               # syntax-tree depth at a position; real code stays under ~60
MAX_ERROR_CHILDREN = 4_000    # children of one ERROR node (tree-sitter queries are quadratic in it)
MAX_ERROR_SCAN = 200_000      # nodes on the paths to syntax errors that check_errors may visit
MAX_QUERY_DEPTH = 64          # patterns start at most this deep under the queried node
QUERY_BYTES = 65_536          # a query without an explicit window looks at most this far into its node
NAME_WINDOW_BYTES = 32_768    # name collection looks this far either side of the cursor ...
HEADER_BYTES = 8_192          # ... and at the top of the file, where the imports are
OUTLINE_BYTES = 65_536        # cross-file context outlines this much of each other document
WINDOW_BYTES = 16_384         # statement windows that syntax checks rescan in Python
MAX_LINE_CHARS = 100_000      # a cursor further into one line than this gets no answer
MAX_WORD_CHARS = 256          # an identifier longer than this is not completed
_CONTAINERS = ("module", "block")


def check_path(node: tree_sitter.Node, byte: int) -> int:
    """Depth below node of the smallest node at byte; raises InputTooComplex past the limits."""
    cursor, depth = node.walk(), 0
    while True:
        current = cursor.node
        if current.is_error and current.child_count > MAX_ERROR_CHILDREN:
            raise InputTooComplex(f"a syntax error spans {current.child_count} tokens at byte {current.start_byte}")
        if cursor.goto_first_child_for_byte(byte) is None:
            return depth
        depth += 1
        if depth > MAX_DEPTH:
            raise InputTooComplex(f"the code is nested more than {MAX_DEPTH} levels deep at byte {byte}")


def check_errors(tree: tree_sitter.Tree) -> None:
    """Raise InputTooComplex when an ERROR node anywhere has more than MAX_ERROR_CHILDREN children.

    Only nodes that contain an error are entered, so an error-free tree costs nothing; a tree with
    more than MAX_ERROR_SCAN nodes on its error paths counts as too broken too.
    """
    stack, visited = [tree.root_node], 0
    while stack:
        node = stack.pop()
        if node.is_error and node.child_count > MAX_ERROR_CHILDREN:
            raise InputTooComplex(f"a syntax error spans {node.child_count} tokens at byte {node.start_byte}")
        visited += node.child_count
        if visited > MAX_ERROR_SCAN:
            raise InputTooComplex(f"the syntax errors span more than {MAX_ERROR_SCAN} nodes")
        cursor = node.walk()
        if cursor.goto_first_child():
            while True:
                if cursor.node.has_error:
                    stack.append(cursor.node)
                if not cursor.goto_next_sibling():
                    break


def check_position(doc: Document, offset: int) -> None:
    """Raise InputTooComplex where answering at offset would exceed a limit (line length, depth, errors,
    a Python document that did not parse in time)."""
    index = doc.line_index
    column = offset - index.line_start(index.line_of(offset))
    if column > MAX_LINE_CHARS:
        raise InputTooComplex(f"the cursor is {column} characters into its line (limit {MAX_LINE_CHARS})")
    if doc.tree is not None:
        check_path(doc.tree.root_node, doc.byte_at(offset))
        check_errors(doc.tree)
    elif doc.language_id == PYTHON_LANGUAGE_ID:  # parse() gave up: the document is beyond its time budget
        raise InputTooComplex(f"the document did not parse within its {doc.parse_budget_s} s budget")


def _span_in(container: tree_sitter.Node, first: int, last: int, lo: int, hi: int):
    """((start, end) bytes from the end of the child before [first, last] to the start of the child after it,
    the single child holding the range or None)."""
    cursor = container.walk()  # (Node.first_child_for_byte crashes where no child qualifies)
    if cursor.goto_first_child_for_byte(max(first - 1, 0)) is None:  # the first child ending at or after first
        count = container.child_count
        return ((container.child(count - 1).end_byte if count else lo), hi), None
    child = cursor.node
    prev = child.prev_sibling
    start = prev.end_byte if prev is not None else lo
    if child.start_byte > last:
        return (start, child.start_byte), None  # between two children
    inner, node = child, child
    while (following := node.next_sibling) is not None and following.start_byte <= last:
        node, inner = following, None
    return (start, following.start_byte if following is not None else hi), inner


def _block_inside(node: tree_sitter.Node, first: int, last: int) -> tree_sitter.Node | None:
    """The outermost block under node that holds [first, last]; None when there is none within MAX_DEPTH."""
    cursor = node.walk()
    for _ in range(MAX_DEPTH):
        if cursor.goto_first_child_for_byte(first) is None:
            return None
        current = cursor.node
        if current.start_byte > first or current.end_byte < last:
            return None
        if current.type == "block":
            return current
    return None


def _clip(doc: Document, start: int, end: int, cap: int) -> tuple[int, int]:
    """At most about cap characters around [start, end], cut at line starts/ends where possible."""
    text = doc.text
    lo, hi = max(start - cap // 2, 0), min(end + cap // 2, len(text))
    newline = text.find("\n", lo, start)
    lo = newline + 1 if lo > 0 and newline >= 0 else lo
    newline = text.rfind("\n", end, hi)
    hi = newline if hi < len(text) and newline >= 0 else hi
    return lo, hi


def statement_window(doc: Document, start: int, end: int | None = None,
                     cap: int = WINDOW_BYTES) -> tuple[int, int]:
    """Code-point range of the statements around [start, end]: the top-level ones when they fit in cap
    bytes, else those of the innermost block that fits, else about cap characters of lines around it.

    The range runs from the end of the statement before to the start of the statement after, so it
    holds the comments and blank lines around the position too.
    """
    end = start if end is None else end
    if doc.tree is not None:
        first, last = doc.byte_at(start), doc.byte_at(end)
        container = doc.tree.root_node
        lo, hi = 0, len(doc.source_bytes)
        while container is not None:
            (lo, hi), inner = _span_in(container, first, last, lo, hi)
            if hi - lo <= cap:
                return doc.offset_of_byte(lo), doc.offset_of_byte(hi)
            container = _block_inside(inner, first, last) if inner is not None else None
            if container is not None:
                lo, hi = container.start_byte, container.end_byte
    return _clip(doc, start, end, cap)


def statement_start(doc: Document, offset: int, cap: int = WINDOW_BYTES) -> int:
    """Offset where the top-level statement that starts last before offset starts, at most about cap back."""
    start = 0
    if doc.tree is not None:
        byte, root = doc.byte_at(offset), doc.tree.root_node
        cursor = root.walk()
        if cursor.goto_first_child_for_byte(max(byte - 1, 0)) is None:
            child = root.child(root.child_count - 1) if root.child_count else None
        else:
            child = cursor.node if cursor.node.start_byte < byte else cursor.node.prev_sibling
        start = doc.offset_of_byte(child.start_byte) if child is not None else 0
    if offset - start > cap:
        newline = doc.text.find("\n", offset - cap, offset)
        start = newline + 1 if newline >= 0 else offset - cap
    return start


def around(doc: Document, offset: int, radius: int = NAME_WINDOW_BYTES) -> tuple[int, int]:
    """Byte range of radius bytes either side of offset."""
    byte = doc.byte_at(offset)
    return max(byte - radius, 0), min(byte + radius, len(doc.source_bytes))


def error_count(node: tree_sitter.Node) -> int:
    """Number of ERROR and MISSING nodes under node (iterative: a parsed window may nest thousands deep)."""
    count, stack = 0, [node]
    while stack:
        current = stack.pop()
        if not current.has_error:
            continue
        if current.is_error or current.is_missing:
            count += 1
        else:
            stack.extend(current.children)
    return count
