"""Snippets of other workspace files for the prompt (RepoCoder / neighbouring-tab style retrieval).

Every indexed file is cut into overlapping windows of lines; a window is described by the set of identifiers
it uses. The query is the set of identifiers in the lines just above the cursor's line (not the line being
typed: the answer, and the prompt's cached keys and values with it, stays the same until the next line);
a window's score is the Jaccard similarity of the two sets. Identifiers that occur in more than a fifth of
the windows (`self`, `return`-like names) say nothing about a window and are left out of the query.

Hand-written rather than bm25s: retrieval must follow edits file by file (bm25s indexes a fixed corpus);
Jaccard over identifier sets is what RepoCoder measured as well as BM25 for code. Window ids only grow;
each identifier's postings are a set (cheap to edit) with a numpy copy made on first use after a change,
so a query is one bincount over the windows. Thread-safe: the index thread updates, requests retrieve.
"""
from __future__ import annotations

import keyword
import re
import threading
from dataclasses import dataclass
from typing import Sequence

import numpy as np

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{2,}")
STOP = frozenset(keyword.kwlist) | {"self", "cls", "None", "True", "False"}
WINDOW_LINES, STRIDE_LINES = 6, 3  # 6 lines did better than 12 on the fit projects (BENCHMARKS.md)
QUERY_LINES = 12
MAX_SHARE = 0.2  # identifiers in more windows than this share are not looked up
MIN_SCORE = 0.1
CACHE_SIZE = 256


@dataclass(frozen=True)
class Snippet:
    key: str
    line: int  # 0-based first line of the window in its file
    text: str
    score: float


@dataclass(frozen=True)
class _Window:
    key: str
    line: int
    text: str
    idents: np.ndarray  # sorted unique identifier ids


def identifiers(text: str) -> set[str]:
    """The identifiers of text worth matching on (3+ characters, not keywords)."""
    return {m for m in IDENTIFIER.findall(text) if m not in STOP}


def query_text(prefix: str, lines: int = QUERY_LINES) -> str:
    """The `lines` whole lines above the cursor's line (the query while the user types on this line)."""
    head = prefix[:prefix.rfind("\n") + 1] if "\n" in prefix else ""
    return "".join(head.splitlines(keepends=True)[-lines:])


class SnippetIndex:
    """Windows of the workspace's files, retrievable by identifier overlap with the code above the cursor."""

    def __init__(self, window: int = WINDOW_LINES, stride: int = STRIDE_LINES):
        self.window, self.stride = window, stride
        self._lock = threading.Lock()
        self._vocab: dict[str, int] = {}
        self._windows: dict[int, _Window] = {}
        self._files: dict[str, list[int]] = {}
        self._postings: dict[int, set[int]] = {}
        self._next = 0
        self._arrays: dict[int, np.ndarray] = {}  # identifier -> its postings as an array (made on demand)
        self._sizes = np.zeros(1024, dtype=np.int32)  # window id -> identifiers in it
        self._cache: dict[tuple[str, str | None, int], list[Snippet]] = {}

    def __len__(self) -> int:
        return len(self._windows)

    @property
    def nbytes(self) -> int:
        """Approximate bytes held: window texts, identifier arrays and postings."""
        with self._lock:
            text = sum(len(w.text) + w.idents.nbytes + 120 for w in self._windows.values())
            return text + sum(64 + 40 * len(p) for p in self._postings.values())

    def update(self, items: Sequence[tuple[str, str]]) -> None:
        """Index (key, text) pairs, replacing earlier versions of the same keys."""
        cut = [(key, self._cut(text)) for key, text in items]
        with self._lock:
            for key, windows in cut:
                self._drop(key)
                ids = []
                for line, text in windows:
                    idents = np.array(sorted({self._vocab.setdefault(name, len(self._vocab))
                                              for name in identifiers(text)}), dtype=np.int32)
                    if not len(idents):
                        continue
                    wid, self._next = self._next, self._next + 1
                    self._windows[wid] = _Window(key, line, text, idents)
                    if wid >= len(self._sizes):
                        self._sizes = np.concatenate([self._sizes, np.zeros_like(self._sizes)])
                    self._sizes[wid] = len(idents)
                    for ident in idents.tolist():
                        self._postings.setdefault(ident, set()).add(wid)
                        self._arrays.pop(ident, None)
                    ids.append(wid)
                self._files[key] = ids
            self._cache.clear()

    def remove(self, keys: Sequence[str]) -> None:
        with self._lock:
            for key in keys:
                self._drop(key)
            self._cache.clear()

    def _drop(self, key: str) -> None:
        for wid in self._files.pop(key, []):
            for ident in self._windows.pop(wid).idents.tolist():
                self._arrays.pop(ident, None)
                posting = self._postings.get(ident)
                if posting is not None:
                    posting.discard(wid)
                    if not posting:
                        del self._postings[ident]

    def _cut(self, text: str) -> list[tuple[int, str]]:
        lines = text.splitlines(keepends=True)
        starts = range(0, max(len(lines) - self.window, 0) + 1, self.stride)
        windows = ((s, "".join(lines[s:s + self.window])) for s in starts)
        return [(s, text) for s, text in windows if text.strip()]

    def retrieve(self, prefix: str, exclude: str | None = None, k: int = 4) -> list[Snippet]:
        """The k best non-overlapping windows of other files for the code above the cursor, best first."""
        query = query_text(prefix)
        cache_key = (query, exclude, k)
        with self._lock:
            if cache_key in self._cache:
                return self._cache[cache_key]
            found = self._search(query, exclude, k)
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            self._cache[cache_key] = found
            return found

    def _postings_of(self, ident: int) -> np.ndarray:
        found = self._arrays.get(ident)
        if found is None:
            posting = self._postings.get(ident, ())
            found = self._arrays[ident] = np.fromiter(posting, dtype=np.int64, count=len(posting))
        return found

    def _search(self, query: str, exclude: str | None, k: int) -> list[Snippet]:
        limit = max(8, int(MAX_SHARE * len(self._windows)))
        wanted = [self._vocab[name] for name in identifiers(query) if name in self._vocab]
        wanted = [i for i in wanted if len(self._postings.get(i, ())) <= limit]
        if not wanted:
            return []
        inter = np.bincount(np.concatenate([self._postings_of(i) for i in wanted]), minlength=self._next)
        found = np.flatnonzero(inter)
        scores = inter[found] / (len(wanted) + self._sizes[found] - inter[found])
        keep = scores >= MIN_SCORE
        found, scores = found[keep], scores[keep]
        out: list[Snippet] = []
        for j in np.argsort(-scores, kind="stable"):
            w = self._windows[int(found[j])]
            if w.key == exclude or any(s.key == w.key and abs(s.line - w.line) < self.window for s in out):
                continue  # the file itself, or a window overlapping a better one of the same file
            out.append(Snippet(w.key, w.line, w.text, round(float(scores[j]), 4)))
            if len(out) >= k:
                break
        return out
