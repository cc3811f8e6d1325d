"""Cross-file context for prompts: imports and top-level signatures of the other open documents.

Each document contributes a comment-free snippet headed by a `# path: name.py` line; the nearest (most
recently edited) documents come first, so when the prompt budget cuts the context it drops the farthest.
"""
from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from urllib.parse import unquote, urlparse

from ..errors import InputTooComplex
from ..syntax.documents import Document
from ..syntax.limits import OUTLINE_BYTES, check_errors
from ..syntax.queries import captures
from .prompt import CONTEXT_HEADER

_SPACE = re.compile(r"\s+")
# Characters that bound how much outline text is worth building (the prompt keeps far less).
MAX_CONTEXT_CHARS = 16_000


def _code_text(doc: Document, node, end_byte: int) -> str:
    """Source of node up to end_byte with comments removed and whitespace runs collapsed to one space."""
    data, start = doc.source_bytes, node.start_byte
    pieces, pos = [], start
    for comment in _comments(node, end_byte):
        pieces.append(data[pos:comment.start_byte])
        pos = comment.end_byte
    pieces.append(data[pos:end_byte])
    text = b"".join(pieces).decode("utf-8", "replace")
    return _SPACE.sub(" ", text).strip()


def _comments(node, end_byte: int):
    """Comment nodes inside node that start before end_byte, in order."""
    stack = [node]
    found = []
    while stack:
        current = stack.pop()
        if current.start_byte >= end_byte:
            continue
        if current.type == "comment":
            found.append(current)
        stack.extend(current.children)
    return sorted(found, key=lambda n: n.start_byte)


def signature(doc: Document, definition) -> str:
    """`def f(x) -> int: ...` / `class A(B):` for a function or class node, comments removed."""
    body = definition.child_by_field_name("body")
    end = body.start_byte if body is not None else definition.end_byte
    text = _code_text(doc, definition, end).rstrip()
    if not text.endswith(":"):
        text += ":"
    return text + " ..." if definition.type == "function_definition" else text


def _methods(doc: Document, class_node) -> list[str]:
    """Signatures of the methods directly in a class body, indented one level."""
    body = class_node.child_by_field_name("body")
    lines = []
    for child in body.named_children if body is not None else ():
        node = child.child_by_field_name("definition") if child.type == "decorated_definition" else child
        if node is not None and node.type == "function_definition":
            lines.append("    " + signature(doc, node))
    return lines


def outline_source(doc: Document) -> Document:
    """The document itself, or for one over OUTLINE_BYTES its first whole lines within them as a document of
    their own: the outline never parses more than that of another file (a 3 MB one took seconds)."""
    if len(doc.source_bytes) <= OUTLINE_BYTES:
        return doc
    head = doc.text[:doc.offset_of_byte(OUTLINE_BYTES)]
    return Document(doc.uri, head[:head.rfind("\n") + 1] or head, doc.version, doc.language_id, doc.parse_budget_s)


def outline(doc: Document) -> str:
    """Imports and top-level signatures of a document (class bodies reduced to method signatures).

    Only the first OUTLINE_BYTES are outlined (the prompt keeps far less); a document whose syntax
    errors are beyond lsp_server.syntax.limits' limits has no outline.
    """
    doc = outline_source(doc)
    if doc.tree is None:
        return ""
    try:
        check_errors(doc.tree)
    except InputTooComplex:
        return ""
    found = captures("outline", doc.tree.root_node, (0, min(OUTLINE_BYTES, len(doc.source_bytes))))
    nodes = sorted((node.start_byte, name, node) for name, group in found.items() for node in group)
    lines: list[str] = []
    for _, name, node in nodes:
        if name == "import":
            lines.append(_code_text(doc, node, node.end_byte))
        elif name == "definition.class":
            methods = _methods(doc, node)
            lines.append(signature(doc, node) + ("" if methods else " ..."))
            lines.extend(methods)
        else:
            lines.append(signature(doc, node))
    return "\n".join(line for line in lines if line)


def uri_label(uri: str, root_uri: str | None = None) -> str:
    """A short path for a document URI: relative to the workspace root when under it, else its file name."""
    path = unquote(urlparse(uri).path)
    if root_uri:
        root = unquote(urlparse(root_uri).path).rstrip("/") + "/"
        if path.startswith(root):
            return path[len(root):]
    return path.rsplit("/", 1)[-1] or uri


class OutlineCache:
    """Outlines by (uri, version): an unchanged document is not queried again.

    is_open(uri) says whether a document is still open: the inference thread may finish an outline
    after its document was closed (and forgotten here), and must not store it then.
    """

    def __init__(self, is_open: Callable[[str], bool] = lambda uri: True) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[int, str]] = {}
        self._is_open = is_open

    def get(self, doc: Document) -> str:
        """The outline of doc, computed once per version."""
        with self._lock:
            entry = self._entries.get(doc.uri)
        if entry is not None and entry[0] == doc.version:
            return entry[1]
        text = outline(doc)
        with self._lock:
            if self._is_open(doc.uri):  # checked under the lock that forget() takes after a close
                self._entries[doc.uri] = (doc.version, text)
        return text

    def forget(self, uri: str) -> None:
        """Drop a closed document's outline."""
        with self._lock:
            self._entries.pop(uri, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


def cross_file_context(docs: Iterable[tuple[str, Document]],
                       outline_of: Callable[[Document], str] = outline) -> str:
    """`# path: label` + outline for each (label, document), in the given (nearest-first) order."""
    parts, size = [], 0
    for label, doc in docs:
        body = outline_of(doc)
        if not body:
            continue
        part = f"{CONTEXT_HEADER}{label}\n{body}\n"
        parts.append(part)
        size += len(part)
        if size >= MAX_CONTEXT_CHARS:
            break
    return "".join(parts)


def snippet_label(key: str) -> str:
    """A snippet's file as the prompt names it: its last two path parts (keys are paths or file URIs)."""
    parts = [p for p in key.replace("\\", "/").split("/") if p]
    return "/".join(parts[-2:])


def snippet_context(snippets: Iterable) -> str:
    """`# path: label` + the window's text for each retrieved snippet (lsp_server.project.snippets), best
    first, in the cross-file context's format."""
    return "".join(f"{CONTEXT_HEADER}{snippet_label(s.key)}\n{s.text.rstrip()}\n" for s in snippets)
