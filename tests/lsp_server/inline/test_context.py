"""Unit tests of cross-file context (lsp_server.context) and the server's recency order."""

from lsp_server.inline.context import (
    OutlineCache,
    cross_file_context,
    outline,
    uri_label,
)
from lsp_server.server.language_server import QuillServer
from lsp_server.syntax.documents import Document

SOURCE = '''#!/usr/bin/env python
"""Module docstring."""
import os  # why
from typing import (Any,  # any
                    List)


def top(a,  # first
        b: int = 2) -> int:  # trailing
    """Doc."""
    return a


@dataclass
class Point(Base):  # comment
    x: int

    def norm(self, p=2):
        return 1

    @property
    def y(self): return 2


class Empty: pass


async def run(): pass


if __name__ == "__main__":
    def hidden(): pass
'''


def test_outline_has_imports_and_top_level_signatures_without_comments_or_bodies():
    assert outline(Document("file:///w/a.py", SOURCE)).split("\n") == [
        "import os",
        "from typing import (Any, List)",
        "def top(a, b: int = 2) -> int: ...",
        "class Point(Base):",
        "    def norm(self, p=2): ...",
        "    def y(self): ...",
        "class Empty: ...",
        "async def run(): ...",
    ]


def test_outline_of_a_document_without_a_tree_is_empty():
    assert outline(Document("file:///w/notes.txt", "def f(): pass\n", language_id="plaintext")) == ""


def test_cross_file_context_keeps_the_given_order_and_skips_empty_outlines():
    near = Document("file:///w/near.py", "import sys\n")
    empty = Document("file:///w/empty.py", "x = 1\n")
    far = Document("file:///w/pkg/far.py", "def far(): pass\n")
    text = cross_file_context([("near.py", near), ("empty.py", empty), ("pkg/far.py", far)])
    assert text == "# path: near.py\nimport sys\n# path: pkg/far.py\ndef far(): ...\n"


def test_uri_label_is_relative_to_the_workspace_root_or_the_file_name():
    assert uri_label("file:///w/pkg/a%20b.py", "file:///w") == "pkg/a b.py"
    assert uri_label("file:///elsewhere/c.py", "file:///w") == "c.py"
    assert uri_label("file:///w/c.py", None) == "c.py"


def test_outline_cache_recomputes_only_for_a_new_version(monkeypatch):
    import lsp_server.inline.context as context
    calls = []
    monkeypatch.setattr(context, "outline", lambda d: calls.append(d.version) or outline(d))
    cache = OutlineCache()
    doc = Document("file:///w/a.py", "import os\n", version=1)
    assert cache.get(doc) == cache.get(doc) == "import os"
    doc.apply_change(None, "import sys\n", version=2)
    assert cache.get(doc) == "import sys"
    assert calls == [1, 2]


def test_server_lists_other_open_documents_most_recently_edited_first():
    server = QuillServer()
    for name in ("a", "b", "c"):
        server.store.open(f"file:///w/{name}.py", f"import {name}\n")
        server.touch(f"file:///w/{name}.py")
    server.touch("file:///w/a.py")  # an edit makes a.py the nearest
    server.store.open("file:///w/notes.txt", "import x\n", language_id="plaintext")
    server.touch("file:///w/notes.txt")
    assert [label for label, _ in server.context_documents("file:///w/b.py")] == ["a.py", "c.py"]
    server.store.close("file:///w/a.py")
    server.forget("file:///w/a.py")
    assert [label for label, _ in server.context_documents("file:///w/b.py")] == ["c.py"]


def test_context_never_parses_another_document_on_the_event_loop_nor_more_than_its_head():
    """Ten large documents with a syntax error made every inline request elsewhere wait seconds (issue 12 §7)."""
    server = QuillServer()
    big = "".join(f"def f{i}(x):\n    return x + {i}\n\n\n" for i in range(30_000)) + "def broken(:\n"
    assert len(big) > 1_000_000
    for i in range(10):
        server.store.open(f"file:///w/big{i}.py", big)
        server.touch(f"file:///w/big{i}.py")
    server.store.open("file:///w/small.py", "import os\n")
    others = server.context_documents("file:///w/small.py")  # what the event loop does per request
    assert len(others) == 10 and not any(doc.parsed for _, doc in others)
    context = cross_file_context(others, server.outlines.get)  # the inference thread's part
    assert "def f0(x): ..." in context and "broken" not in context  # the head of each, outlined
    assert not any(doc.parsed for _, doc in others)  # only a head of at most OUTLINE_BYTES was parsed


def test_a_document_over_the_outline_window_is_outlined_from_its_head():
    from lsp_server.syntax.limits import OUTLINE_BYTES
    text = "import os\n\n\ndef first(a):\n    return a\n" + "x = 1\n" * (OUTLINE_BYTES // 6 + 10) + "def last():\n"
    doc = Document("file:///w/long.py", text)
    assert outline(doc) == "import os\ndef first(a): ..."
