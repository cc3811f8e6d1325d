"""The document store parses lazily: didChange only edits, the first tree read parses (== a fresh parse)."""
from hypothesis import given, settings
from hypothesis import strategies as st

import lsp_server.syntax.documents as documents
from lsp_server.syntax.documents import Document, parse
from lsp_server.syntax.positions import Position, Range

SOURCE = "def f(x):\n    return x + 1\n\n\nclass C:\n    def m(self):\n        return 'é'\n"
SNIPPETS = ["x", "(", ")", ":", "'", '"""', "\n", "    ", "é", "def g():\n    pass\n", ""]


def fresh(text):
    return str(parse(text.encode("utf-8"), budget_s=None).root_node)


def counting_parse(monkeypatch):
    calls = []
    real = documents.parse

    def counted(*args, **kwargs):
        calls.append(args[1] is not None)
        return real(*args, **kwargs)
    monkeypatch.setattr(documents, "parse", counted)
    return calls


def test_edits_do_not_parse_until_the_tree_is_read(monkeypatch):
    doc = Document("file:///t.py", SOURCE)
    doc.tree
    calls = counting_parse(monkeypatch)
    for i, ch in enumerate("y = f("):
        doc.apply_change(Range(Position(2, i), Position(2, i)), ch, "utf-16", version=i + 1)
    assert calls == []
    assert str(doc.tree.root_node) == fresh(doc.text)
    assert calls[0] is True and len(calls) <= 2  # one incremental reparse (+ a fresh one after errors)
    doc.tree
    assert len(calls) <= 2  # parsed once per version


def test_a_snapshot_of_an_unparsed_version_parses_its_own_text():
    doc = Document("file:///t.py", SOURCE)
    doc.apply_change(Range(Position(0, 4), Position(0, 5)), "g", "utf-16")
    snap = doc.snapshot()
    doc.apply_change(Range(Position(0, 0), Position(0, 0)), "'", "utf-16")
    assert str(snap.tree.root_node) == fresh(snap.text)
    assert str(doc.tree.root_node) == fresh(doc.text)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(SOURCE)), st.integers(0, 3), st.sampled_from(SNIPPETS),
                          st.booleans()), min_size=1, max_size=8))
def test_bursts_of_unread_edits_still_give_the_fresh_parse(edits):
    doc = Document("file:///t.py", SOURCE)
    text = SOURCE
    for start, length, new, read in edits:
        start = min(start, len(text))
        end = min(start + length, len(text))
        a, b = doc.position_at(start, "utf-32"), doc.position_at(end, "utf-32")
        doc.apply_change(Range(a, b), new, "utf-32")
        text = text[:start] + new + text[end:]
        if read:  # sometimes a feature reads the tree in between, sometimes edits pile up
            assert str(doc.tree.root_node) == fresh(text)
    assert doc.text == text
    assert str(doc.tree.root_node) == fresh(text)
