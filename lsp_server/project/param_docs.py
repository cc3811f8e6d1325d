"""Documented parameters of the workspace: parameter name -> the descriptions its docstrings give it.

The index thread reads each file when it changes (WorkspaceIndex, beside ProjectSymbols) and keeps only
strings: for every docstring in Google, NumPy or Sphinx style, `param:<name>` -> description, the
Returns/Yields text of each function name (`returns:<function>`, `yields:<function>`) and the summary of each
definition name (`summary:<name>`: the docstring's first sentence when the docstring model's training pairs
would keep it, lsp_server.doc_format). A request asks for the candidates of one name (ParamDocs.candidates):
the wordings of the nearest module that documents it first (the same file, then the same folder, then one
folder further...), the most frequent first.
"""
from __future__ import annotations

import re
import threading
from collections import Counter
from typing import Iterable

import tree_sitter

from ..doc_format import first_sentence, summary_reason
from ..syntax.definitions import docstring_node
from ..syntax.docstring_fields import RETURNS, YIELDS, literal_lines, parse_fields
from ..syntax.documents import parse
from ..syntax.queries import captures

FileDocs = dict[str, Counter]  # "param:seq" -> Counter({"The sequence to sort.": 2})
MAX_CHARS = 300  # a description longer than this is cut at its last sentence end before it (or skipped)
# A file without any of these is not parsed: it documents nothing, or only in one-quote docstrings (rare).
MARKERS = re.compile(r'"""|\'\'\'|Args|Arguments|Parameters|Params|:param|:arg|:key|Returns|:return|Yields|:yield')


def param_key(name: str) -> str:
    return "param:" + name.lstrip("*")


def summary_key(name: str) -> str:
    return "summary:" + name


def summary_of(literal: str) -> str | None:
    """The summary `summary:<name>` keeps for a docstring literal as written; None when the training pairs'
    rules drop it (too short, a reference, boilerplate...) or the literal is not a plain string."""
    parsed = literal_lines(literal)
    if parsed is None:
        return None
    docstring = "\n".join(parsed[1])
    summary = first_sentence(docstring)
    return clean_description(summary) if summary_reason(docstring, summary) is None else None


def clean_description(text: str) -> str | None:
    """One line of at most MAX_CHARS characters (cut at a sentence end); None when nothing is left."""
    text = " ".join(text.split())
    if len(text) > MAX_CHARS:
        cut = text.rfind(". ", 0, MAX_CHARS)
        text = text[:cut + 1] if cut > 0 else ""
    return text if any(c.isalnum() for c in text) else None


def definition_docs(name: str, literal: str) -> FileDocs:
    """What one docstring literal documents: its parameters, and its summary and Returns/Yields under the
    definition name."""
    found: FileDocs = {}
    parsed = literal_lines(literal)
    if parsed is None:
        return found
    if (summary := summary_of(literal)) is not None:
        found[summary_key(name)] = Counter({summary: 1})
    fields = parse_fields(parsed[1])
    for param, text in fields.params().items():
        if (text := clean_description(text)) is not None:
            found.setdefault(param_key(param), Counter())[text] += 1
    for kind in (RETURNS, YIELDS):
        text = fields.text_of(kind)
        if text and (text := clean_description(text)) is not None:
            found.setdefault(f"{kind}:{name}", Counter())[text] += 1
    return found


def file_docs(text: str, tree: tree_sitter.Tree | None = None, skip: tuple[int, int] | None = None) -> FileDocs:
    """Everything the file's docstrings document; `skip` is a byte range whose docstring is left out."""
    if not MARKERS.search(text):
        return {}
    tree = tree if tree is not None else parse(text.encode("utf-8", "surrogatepass"))
    if tree is None:
        return {}
    root = tree.root_node
    found: FileDocs = {}
    found_nodes = captures("definitions", root, (0, root.end_byte))
    for node in found_nodes.get("definition.function", []) + found_nodes.get("definition.class", []):
        body, name = node.child_by_field_name("body"), node.child_by_field_name("name")
        doc = docstring_node(body) if body is not None else None
        if doc is None or name is None or (skip is not None and doc.start_byte < skip[1] and skip[0] < doc.end_byte):
            continue
        literal = doc.text.decode("utf-8", "replace")
        for entry, counts in definition_docs(name.text.decode("utf-8", "replace"), literal).items():
            found.setdefault(entry, Counter()).update(counts)
    return found


def _folders(key: str) -> list[str]:
    return key.replace("\\", "/").split("/")[:-1]


def distance(a: str, b: str) -> int:
    """0 for the same file, else 1 + the folder steps from one file's folder to the other's."""
    if a == b:
        return 0
    fa, fb = _folders(a), _folders(b)
    common = 0
    while common < min(len(fa), len(fb)) and fa[common] == fb[common]:
        common += 1
    return 1 + len(fa) + len(fb) - 2 * common


class ParamDocs:
    """The per-file tables of one workspace. Thread-safe: the index thread writes (parsing outside the lock),
    requests read under it and get lists of strings back."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: dict[str, FileDocs] = {}
        self._by_entry: dict[str, dict[str, Counter]] = {}  # entry -> {file key: its wordings}

    def update(self, key: str, text: str) -> None:
        """(Re)read one file."""
        self.set(key, file_docs(text))

    def set(self, key: str, docs: FileDocs) -> None:
        with self._lock:
            self._drop(key)
            if docs:
                self._files[key] = docs
                for entry, counts in docs.items():
                    self._by_entry.setdefault(entry, {})[key] = counts

    def remove(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._drop(key)

    def clear(self, keep: Iterable[str] = ()) -> None:
        """Forget every file but those in keep."""
        keep = set(keep)
        with self._lock:
            for key in [k for k in self._files if k not in keep]:
                self._drop(key)

    def _drop(self, key: str) -> None:
        for entry in self._files.pop(key, {}):
            owners = self._by_entry[entry]
            owners.pop(key, None)
            if not owners:
                del self._by_entry[entry]

    def __len__(self) -> int:
        return len(self._files)

    def candidates(self, entry: str, near: str | None, local: FileDocs | None = None) -> list[str]:
        """Wordings of entry, the nearest file's first and within one distance the most frequent first
        (ties: the most frequent in the whole workspace, then the shortest). `local` stands for the file
        `near` (its text as the request sees it), replacing what the index read."""
        with self._lock:
            owners = dict(self._by_entry.get(entry, {}))
        if local is not None:
            owners.pop(near, None)
            if entry in local:
                owners[near or ""] = local[entry]
        overall: Counter = Counter()
        tiers: dict[int, Counter] = {}
        for key, counts in owners.items():
            overall.update(counts)
            tiers.setdefault(distance(key, near) if near is not None else 1, Counter()).update(counts)
        ranked: list[str] = []
        for tier in sorted(tiers):
            counts = tiers[tier]
            ranked += sorted((t for t in counts if t not in ranked), key=lambda t: (-counts[t], -overall[t], len(t), t))
        return ranked
