"""Summaries of the workspace's documented functions: the neighbours the docstring model reads
(lsp_server/doc_format.py, manifest source_format "context-v1").

The index thread reads each file when it changes (WorkspaceIndex, beside ParamDocs) and keeps only strings:
per function whose docstring passes the training pairs' summary rules (doc_format.summary_reason), its
summary, its class and the words of its code without the docstring (doc_format.identifier_words). A
request ranks them against its own function (doc_format.rank_neighbours): the same folder is SAME_FOLDER,
elsewhere ELSEWHERE; the request's own document is read from its snapshot instead (file_summaries), where
the same class is SAME_CLASS and the rest SAME_FILE.
"""
from __future__ import annotations

import ast
import posixpath
import sys
import threading
from dataclasses import dataclass
from typing import Iterable

import tree_sitter

from ..doc_format import (
    ELSEWHERE,
    SAME_FOLDER,
    first_sentence,
    identifier_words,
    summary_reason,
)
from ..syntax.definitions import docstring_node, enclosing_class
from ..syntax.documents import parse
from ..syntax.queries import captures

MAX_PER_FILE = 100     # summaries kept per file (the first in source order)
MAX_FAR = 2000         # candidates from other folders one request ranks (the first files indexed)
Candidate = tuple[str, tuple[str, ...], int]  # (summary, words, nearness): doc_format.rank_neighbours' input


@dataclass(frozen=True)
class DocEntry:
    """One documented function of a file."""
    summary: str
    words: tuple[str, ...]      # distinct, interned
    class_name: str | None      # the class whose body holds it
    start_byte: int             # its function_definition node


def _summary(doc: tree_sitter.Node) -> str | None:
    """The docstring literal's summary when the training pairs would keep it (model/docpairs.py), else None."""
    try:
        value = ast.literal_eval(doc.named_children[0].text.decode("utf-8"))
    except (SyntaxError, ValueError, UnicodeDecodeError, MemoryError, RecursionError):
        return None
    if not isinstance(value, str):
        return None
    summary = first_sentence(value)
    return summary if summary_reason(value, summary) is None else None


def file_summaries(text: str, tree: tree_sitter.Tree | None = None) -> list[DocEntry]:
    """The documented functions of one file, in source order (at most MAX_PER_FILE)."""
    data = text.encode("utf-8", "surrogatepass")
    tree = tree if tree is not None else parse(data)
    if tree is None:
        return []
    root = tree.root_node
    found = []
    for node in sorted(captures("definitions", root, (0, root.end_byte)).get("definition.function", []),
                       key=lambda n: n.start_byte):
        body = node.child_by_field_name("body")
        doc = docstring_node(body) if body is not None else None
        summary = _summary(doc) if doc is not None else None
        if summary is None:
            continue
        code = (data[node.start_byte:doc.start_byte] + data[doc.end_byte:node.end_byte]).decode("utf-8", "replace")
        cls = enclosing_class(node)
        cls_name = cls.child_by_field_name("name") if cls is not None else None
        found.append(DocEntry(summary, tuple(sorted(sys.intern(w) for w in identifier_words(code))),
                              cls_name.text.decode("utf-8", "replace") if cls_name is not None else None,
                              node.start_byte))
        if len(found) == MAX_PER_FILE:
            break
    return found


def _folder(key: str) -> str:
    return posixpath.dirname(key.replace("\\", "/"))


class DocSummaries:
    """The per-file summaries of one workspace. Thread-safe like ParamDocs: the index thread writes (parsing
    outside the lock), requests read under it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
        # Off: update() reads nothing (a docstring model without context never asks; WorkspaceIndex sets it).
        self.enabled = True

    def update(self, key: str, text: str) -> None:
        """(Re)read one file (nothing while not enabled)."""
        if self.enabled:
            self.set(key, [(e.summary, e.words) for e in file_summaries(text)])

    def set(self, key: str, entries: list[tuple[str, tuple[str, ...]]]) -> None:
        with self._lock:
            self._files.pop(key, None)
            if entries:
                self._files[key] = entries

    def remove(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._files.pop(key, None)

    def clear(self, keep: Iterable[str] = ()) -> None:
        """Forget every file but those in keep."""
        keep = set(keep)
        with self._lock:
            for key in [k for k in self._files if k not in keep]:
                del self._files[key]

    def __len__(self) -> int:
        return len(self._files)

    def candidates(self, near: str | None) -> list[Candidate]:
        """Every summary of the files in near's folder (SAME_FOLDER) and up to MAX_FAR of the others
        (ELSEWHERE); the file `near` itself is left out (the request reads its own snapshot)."""
        with self._lock:
            files = list(self._files.items())
        folder = _folder(near) if near is not None else None
        close: list[Candidate] = []
        far: list[Candidate] = []
        for key, entries in files:
            if key == near:
                continue
            if folder is not None and _folder(key) == folder:
                close += [(summary, words, SAME_FOLDER) for summary, words in entries]
            elif len(far) < MAX_FAR:
                far += [(summary, words, ELSEWHERE) for summary, words in entries[:MAX_FAR - len(far)]]
        return close + far


@dataclass(frozen=True)
class ProjectSummaries:
    """The workspace's summaries as one document sees them: the table, and the document's key in it."""
    table: DocSummaries
    key: str | None = None

    def candidates(self) -> list[Candidate]:
        return self.table.candidates(self.key)
