"""Tree-sitter queries kept as data in lsp_server/queries/*.scm, compiled once per process."""
from __future__ import annotations

import threading
from importlib import resources

import tree_sitter

from .documents import python_language

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


def captures(name: str, node: tree_sitter.Node) -> dict[str, list[tree_sitter.Node]]:
    """Captures of query `name` under node, by capture name ({} when nothing matched)."""
    return tree_sitter.QueryCursor(load_query(name)).captures(node)
