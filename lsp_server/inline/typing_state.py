"""Work kept between keystrokes, per document: the previous prompt pass and the suggestions last shown.

Two kinds of reuse make completions cheap while the user types:
- the KV cache of the previous prompt (engine.PromptCache): the next prompt runs only its new tokens;
- typing through a suggestion: when the only change since the last answer is that the user typed the
  start of a shown suggestion at its cursor, the answer is the rest of it, without running the model.
"""
from __future__ import annotations

import threading
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Callable

from ..runtime.engine import PromptCache

MAX_DOCUMENTS = 8   # KV caches kept (about 3 MB each for a 350-token prompt)
MAX_ANSWERS = 20_000  # the most recent answer records kept for quill/stats


@dataclass(frozen=True)
class Shown:
    """Suggestions answered at `offset` of `text` (best first)."""
    text: str
    offset: int
    items: tuple[str, ...]


def typed_through(shown: Shown, text: str, offset: int) -> tuple[str, ...] | None:
    """The rest of each shown suggestion that the text typed since continues; None if it is not so.

    The text must be the shown text with exactly the start of a suggestion inserted at its cursor, and
    the cursor right after it. Suggestions that the typing left, or that it completed, are dropped.
    """
    typed_len = offset - shown.offset
    if typed_len < 0 or len(text) != len(shown.text) + typed_len:
        return None
    typed = text[shown.offset:offset]
    rest = tuple(item[typed_len:] for item in shown.items if len(item) > typed_len and item.startswith(typed))
    if not rest:
        return None
    # Same text around the insertion; compared last, as they copy the document.
    if not (text.startswith(shown.text[:shown.offset]) and text.endswith(shown.text[shown.offset:])):
        return None
    return rest


@dataclass
class DocumentReuse:
    """What one document keeps between requests."""
    prompt: PromptCache = field(default_factory=PromptCache)  # read and written by the inference thread
    prefix_start: int | None = None  # where the previous prompt's prefix window began (prompt.py)
    shown: Shown | None = None       # read and written on the event loop
    # Completion items' own prompt pass and prefix window (their prompt ends before the word, not the cursor).
    names_prompt: PromptCache = field(default_factory=PromptCache)
    names_prefix_start: int | None = None


class ReuseStore:
    """Per-document reuse state for the most recently used documents, and counters for quill/stats."""

    def __init__(self, max_documents: int = MAX_DOCUMENTS, is_open: Callable[[str], bool] = lambda uri: True) -> None:
        self.max_documents = max_documents
        self._is_open = is_open  # a request may finish after its document closed: keep nothing for it then
        self._docs: OrderedDict[str, DocumentReuse] = OrderedDict()
        self._lock = threading.Lock()  # get() runs on the event loop and in the inference thread
        self.answers: deque[dict] = deque(maxlen=MAX_ANSWERS)

    def get(self, uri: str) -> DocumentReuse:
        """The reuse state of uri (created on first use; the least recently used one is dropped)."""
        with self._lock:
            entry = self._docs.get(uri)
            if entry is None and not self._is_open(uri):
                return DocumentReuse()
            if entry is None:
                entry = self._docs[uri] = DocumentReuse()
                while len(self._docs) > self.max_documents:
                    self._docs.popitem(last=False)
            else:
                self._docs.move_to_end(uri)
            return entry

    def forget(self, uri: str) -> None:
        """A closed document keeps nothing."""
        with self._lock:
            self._docs.pop(uri, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._docs)

    def advance(self, uri: str, text: str, offset: int) -> tuple[str, ...] | None:
        """typed_through() against uri's last answer; on success that answer moves to the new cursor."""
        entry = self.get(uri)
        if entry.shown is None:
            return None
        rest = typed_through(entry.shown, text, offset)
        if rest is not None:
            entry.shown = Shown(text, offset, rest)
        return rest

    def show(self, uri: str, text: str, offset: int, items: list[str]) -> None:
        """Remember the suggestions answered at offset of text (none: nothing to type through)."""
        self.get(uri).shown = Shown(text, offset, tuple(items)) if items else None

    def record(self, version: int, source: str, reused_tokens: int = 0, prompt_tokens: int = 0) -> None:
        """Count one answer: source is 'typed' (typed through), 'model' or 'none' (nothing to show)."""
        self.answers.append({"version": version, "source": source, "reused_tokens": reused_tokens,
                             "prompt_tokens": prompt_tokens})

    def stats(self) -> dict:
        """Counters and per-answer records (for benchmarks and tests, via the hidden quill/stats request)."""
        sources = [a["source"] for a in self.answers]
        return {"answers": list(self.answers), "typed": sources.count("typed"), "model": sources.count("model"),
                "none": sources.count("none")}
