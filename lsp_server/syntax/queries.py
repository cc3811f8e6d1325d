"""Tree-sitter queries kept as data in lsp_server/queries/*.scm, compiled once per process."""
from __future__ import annotations

import threading
from importlib import resources

import tree_sitter

from .documents import python_language
from .limits import MAX_QUERY_DEPTH, QUERY_BYTES

_compiled: dict[str, tree_sitter.Query] = {}
_lock = threading.Lock()


def load_query(name: str) -> tree_sitter.Query:
    """The compiled query queries/<name>.scm for Python (compiled on first use, then shared)."""
    query = _compiled.get(name)
    if query is None:
        with _lock:
            query = _compiled.get(name)
            if query is None:
                source = resources.files("lsp_server").joinpath("queries", f"{name}.scm").read_text("utf-8")
                query = _compiled[name] = tree_sitter.Query(python_language(), source)
    return query


def captures(name: str, node: tree_sitter.Node,
             byte_range: tuple[int, int] | None = None) -> dict[str, list[tree_sitter.Node]]:
    """Captures of query `name` under node, by capture name ({} when nothing matched).

    Bounded (lsp_server.syntax.limits): patterns start at most MAX_QUERY_DEPTH below node and only byte_range
    is searched (by default the first QUERY_BYTES of node). Queries are quadratic in the children of an
    ERROR node, so callers check the tree first (bounds.check_position or bounds.check_errors).
    """
    start, end = byte_range or (node.start_byte, min(node.end_byte, node.start_byte + QUERY_BYTES))
    cursor = tree_sitter.QueryCursor(load_query(name))
    cursor.set_max_start_depth(MAX_QUERY_DEPTH)
    cursor.set_byte_range(start, end)
    return cursor.captures(node)
