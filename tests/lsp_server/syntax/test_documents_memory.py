"""Reparsing does not leak (issue 12 §3): tree-sitter 0.26 leaked every chunk its read callable returned, so
keystrokes in a 20 MB document took the server from 270 MB to 1.24 GB, and closing it gave nothing back."""
from __future__ import annotations

import ctypes
import gc
import os

import pytest

from lsp_server.syntax.documents import DocumentStore, parse
from lsp_server.syntax.positions import Position, Range

MB = 1024 * 1024
URI = "file:///w/big.py"


def rss() -> int:
    """Resident bytes after a collection, with freed C heap handed back (glibc's malloc_trim): what is left is
    what is still referenced, not what the allocator keeps for reuse (tens of MB of tree-sitter nodes here)."""
    gc.collect()
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the figure includes the allocator's free lists
        pass
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def python_of(size: int) -> str:
    """About `size` bytes of valid Python (classes of 50 methods), after a comment line to type into."""
    method = "    def f{0}(self, items, limit=10):\n        return sum(x * {0} for x in items if x < limit)\n\n"
    block = "".join(method.format(i) for i in range(50))
    classes = size // (len(block) + 20)
    return "# notes: \n" + "".join(f"class C{k}:\n{block}\n" for k in range(classes))


def type_into(store: DocumentStore, text: str, typed: str, line: int, column: int, version: int) -> int:
    """Type `typed` one character per didChange at (line, column), reading the tree after each (a reparse)."""
    for i, char in enumerate(typed):
        at = Position(line, column + i)
        store.apply_changes(URI, [(Range(at, at), char)], version, "utf-16")
        assert store.get(URI).tree is not None
        version += 1
    return version


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="RSS from /proc")
@pytest.mark.parametrize("size_mb", [1, 10])
def test_typing_200_keystrokes_into_a_large_document_grows_rss_by_under_50_mb_and_closing_returns_it(size_mb):
    store = DocumentStore(parse_budget_s=10.0)  # 10 MB parse in ~1.2 s here: over the default 1 s budget
    text = python_of(size_mb * MB)
    gc.collect()
    before = rss()
    store.open(URI, text, 1)
    assert store.get(URI).tree is not None
    opened = rss()
    type_into(store, text, ("abcdefghij" * 20)[:200], 0, len("# notes: "), 2)
    gc.collect()
    typed = rss()
    store.close(URI)
    gc.collect()
    closed = rss()
    assert typed - opened < 50 * MB, f"typing grew RSS by {(typed - opened) / MB:.0f} MB"
    assert closed - before < 50 * MB, f"closing left {(closed - before) / MB:.0f} MB of the document"


def test_fresh_parses_keep_rss_flat():
    """What typing into a document with a syntax error does: every reparse is redone from scratch."""
    data = python_of(MB // 2).encode()
    before = rss()
    for _ in range(20):
        assert parse(data, budget_s=10.0) is not None
    assert rss() - before < 8 * MB  # the read-callable parse kept ~1.7 MB per MB parsed: ~17 MB here
