"""The workspace index: the workspace folders' Python files in a ProjectIndex, kept current.

Everything runs in one index thread (never on the event loop): the first walk, files saved or changed on
disk, deleted files, and open documents, whose text wins over the disk (coalesced: a burst of keystrokes is
tokenized once, DOCUMENT_DELAY_S after it started). Keys are absolute file paths, so a document and its file
on disk are one entry. A newer walk (folders changed) makes an older one stop between batches.
"""
from __future__ import annotations

import ctypes
import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Callable

from .doc_summaries import DocSummaries
from .index import EncodeBatch, IndexLimits, ProjectIndex
from .param_docs import ParamDocs
from .snippets import SnippetIndex
from .symbols import ProjectSymbols
from .walk import (
    IgnoreRules,
    WalkLimits,
    is_indexable,
    read_source,
    root_of,
    walk_workspace,
)

log = logging.getLogger("quill")
BATCH_FILES = 64
DOCUMENT_DELAY_S = 0.5
Progress = Callable[[str, int], None]  # (message, percentage)


def _noop(message: str, percentage: int) -> None:
    return None


def trim_heap() -> None:
    """Give freed heap memory back to the system: a build frees ~1.5x the index in temporaries (token lists,
    sort buffers) that glibc would otherwise keep (measured on django: RSS growth 365 MB -> 186 MB)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


class WorkspaceIndex:
    """The project index of the workspace folders. Methods are safe to call from the event loop: they only
    queue work for the index thread."""

    def __init__(self, walk_limits: WalkLimits = WalkLimits(), index_limits: IndexLimits = IndexLimits()):
        self.walk_limits, self.index_limits = walk_limits, index_limits
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="quill-index")
        self.index: ProjectIndex | None = None
        self.symbols = ProjectSymbols()  # the files' top-level names, for completion items
        # Windows of the files for the prompt (inline.snippets > 0 only: it costs ~30 bytes per token).
        self.snippets: SnippetIndex | None = None
        self.with_snippets = False  # build self.snippets at the next start()
        self.param_docs = ParamDocs()  # documented parameter names -> descriptions, for docstrings
        self.doc_summaries = DocSummaries()  # documented functions' summaries: the docstring model's neighbours
        self.with_doc_summaries = False  # fill self.doc_summaries from the next start() (a context-v1 model)
        self.roots: list[Path] = []
        self._rules: dict[Path, IgnoreRules] = {}
        self._open: dict[str, str] = {}  # open .py document path -> its newest text (inside a folder or not)
        self._pending: dict[str, str] = {}  # open document key -> newest text not yet indexed
        self._lock = threading.Lock()
        self._generation = 0  # bumped by each start(): an older walk stops
        self.messages: list[str] = []
        self.state = "idle"  # idle | indexing | ready
        self.build_s: float | None = None

    # --- the event loop's side ----------------------------------------------------------------------------

    def start(self, roots: list[Path], encode_batch: EncodeBatch, progress: Progress = _noop) -> Future:
        """(Re)build the index of these folders in the background."""
        with self._lock:
            self._generation += 1
            generation = self._generation
        self.state = "indexing"
        self.roots = list(roots)
        return self.executor.submit(self._build, list(roots), encode_batch, progress, generation)

    def key_of(self, uri: str) -> str | None:
        """The index key of a file URI inside a workspace folder (None: not ours to index)."""
        key = self._file_key(uri)
        return key if key is not None and self._root_for(Path(key)) is not None else None

    @staticmethod
    def _file_key(uri: str) -> str | None:
        path = root_of(uri)
        return str(path) if path is not None and path.suffix == ".py" else None

    def document_key(self, uri: str) -> str | None:
        """The key of any .py file URI in the tables, inside a workspace folder or not (param_docs keeps
        open documents outside the folders too)."""
        return self._file_key(uri)

    def document_changed(self, uri: str, text: str) -> None:
        """An open document's text (didOpen/didChange): indexed soon, and it wins over the disk. Kept for
        any .py file URI: a folder walk that starts later indexes the newest text, not the disk's."""
        key = self._file_key(uri)
        if key is None:
            return
        with self._lock:
            self._open[key] = text
            first = not self._pending
            self._pending[key] = text
        if first:
            self.executor.submit(self._flush_documents)

    def document_closed(self, uri: str) -> None:
        """Closed: the file on disk is what the project has again (or nothing, if it is gone)."""
        key = self._file_key(uri)
        if key is not None:
            with self._lock:
                self._open.pop(key, None)
                self._pending.pop(key, None)
            self.executor.submit(self._forget_outside, key)
            self.executor.submit(self._reread, [Path(key)])

    def files_changed(self, uris: list[str]) -> None:
        """didSave / watched files created or changed: re-read them (open documents keep their text)."""
        paths = [Path(k) for k in filter(None, map(self.key_of, uris))]
        if paths:
            self.executor.submit(self._reread, paths)

    def files_deleted(self, uris: list[str]) -> None:
        keys = [k for k in map(self.key_of, uris) if k is not None]
        if keys:
            self.executor.submit(self.symbols.remove, *keys)
            self.executor.submit(self.param_docs.remove, *keys)
            self.executor.submit(self.doc_summaries.remove, *keys)
        if keys and self.index is not None:
            self.executor.submit(self.index.remove, keys)
            if self.snippets is not None:
                self.executor.submit(self.snippets.remove, keys)

    def shutdown(self) -> None:
        with self._lock:
            self._generation += 1
        self.executor.shutdown(wait=False, cancel_futures=True)

    def stats(self) -> dict:
        index = self.index
        return {"state": self.state, "roots": [str(r) for r in self.roots], "messages": list(self.messages),
                "files": index.stats.files if index else 0, "tokens": index.stats.tokens if index else 0,
                "bytes": index.nbytes if index else 0, "build_s": self.build_s,
                "snippet_windows": len(self.snippets) if self.snippets is not None else 0}

    # --- the index thread ---------------------------------------------------------------------------------

    def _root_for(self, path: Path) -> Path | None:
        for root in self.roots:
            if path == root or root in path.parents:
                return root
        return None

    def _build(self, roots: list[Path], encode_batch: EncodeBatch, progress: Progress, generation: int) -> None:
        started = time.monotonic()
        self.roots = roots
        self._rules = {root: IgnoreRules.load(root) for root in roots}
        self.index = index = ProjectIndex(encode_batch, self.index_limits)
        self.snippets = snippets = SnippetIndex() if self.with_snippets else None
        self.symbols.clear(keep=set(self._open))
        self.param_docs.clear(keep=set(self._open))
        self.doc_summaries.clear(keep=set(self._open) if self.with_doc_summaries else ())
        self.doc_summaries.enabled = self.with_doc_summaries
        found = walk_workspace(roots, self.walk_limits)
        self.messages = list(found.messages) + [f"skipped {n} ({why})" for why, n in found.skipped.items() if n]
        for message in found.messages:
            log.info("project index: %s", message)
        files = found.files
        for start in range(0, len(files), BATCH_FILES):
            if generation != self._generation:
                return  # a newer start() took over
            batch = []
            for root, path in files[start:start + BATCH_FILES]:
                if str(path) in self._open:
                    continue  # the open document's text is indexed instead
                text = read_source(root, path, self.walk_limits.max_file_bytes)
                if text is not None:
                    batch.append((str(path), text))
                    self.symbols.update(str(path), root, text)
                    self.param_docs.update(str(path), text)
                    self.doc_summaries.update(str(path), text)
            index.update(batch)
            if snippets is not None:
                snippets.update(batch)
            progress(f"{min(start + BATCH_FILES, len(files))}/{len(files)} files", 100 * start // max(len(files), 1))
        with self._lock:
            self._pending.update(self._open)  # every open document's newest text, over the disk's
        self._flush_documents(wait=False)
        self.messages += index.stats.messages
        self.build_s = time.monotonic() - started
        self.state = "ready"
        trim_heap()
        log.info("project index: %d files, %d tokens, %.1f MB in %.1f s", index.stats.files, index.stats.tokens,
                 index.nbytes / 1e6, self.build_s)

    def _flush_documents(self, wait: bool = True) -> None:
        if wait:
            time.sleep(DOCUMENT_DELAY_S)  # let a burst of keystrokes settle: one tokenization for all of it
        with self._lock:
            pending, self._pending = self._pending, {}
        inside = []
        for key, text in pending.items():
            root = self._root_for(Path(key))
            indexable = root is not None and is_indexable(root, Path(key), self._rules.get(root))
            if indexable:
                self.symbols.update(key, root, text)
                inside.append((key, text))
            if indexable or root is None:  # open documents outside the folders count too (not excluded ones)
                self.param_docs.update(key, text)
                self.doc_summaries.update(key, text)
        if self.index is not None and inside:
            self.index.update(inside)
            if self.snippets is not None:
                self.snippets.update(inside)

    def _forget_outside(self, key: str) -> None:
        """A closed document outside the folders: its descriptions go (one inside is read again from disk)."""
        if self._root_for(Path(key)) is None:
            self.param_docs.remove(key)
            self.doc_summaries.remove(key)

    def _reread(self, paths: list[Path]) -> None:
        if self.index is None:
            return
        update, gone = [], []
        for path in paths:
            if str(path) in self._open:
                continue
            root = self._root_for(path)
            if root is None or not is_indexable(root, path, self._rules.get(root)):
                continue
            text = read_source(root, path, self.walk_limits.max_file_bytes)
            (update.append((str(path), text)) if text is not None else gone.append(str(path)))
            if text is not None:
                self.symbols.update(str(path), root, text)
                self.param_docs.update(str(path), text)
                self.doc_summaries.update(str(path), text)
            else:
                self.symbols.remove(str(path))
                self.param_docs.remove(str(path))
                self.doc_summaries.remove(str(path))
        self.index.update(update)
        self.index.remove(gone)
        if self.snippets is not None:
            self.snippets.update(update)
            self.snippets.remove(gone)
