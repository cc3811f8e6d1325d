"""Tests of the document store: incremental edits of text and tree against references."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lsprotocol import types as lsp
from reliability_support import ref_lines, ref_offset, units

from lsp_server.errors import DocumentNotOpen, PositionOutOfRange
from lsp_server.syntax.documents import Document, DocumentStore, get_parser, parse
from lsp_server.syntax.positions import Position, PositionEncoding, Range

SOURCE = (
    "def grüße(name):\r\n"
    '    """Say 你好 😀."""\n'
    "    return f'hi {name}'\r"
    "\n"
    "class Ünïcode:\n"
    "    x = '\u2028'  # line separator is not a line break\n"
    "    def m(self):\f\n"
    "        return [1, 2,\n"
    "                3]\n"
)
SNIPPETS = [
    "", "x", "é", "中文", "😀", " ", "    ", "\n", "\r\n", "\r", "\u2028", "\f", "(", ")", ":", "'",
    '"""', "#", "def f(a, b):\n    return a\n", "if x:\n    pass\n", "return 1", "\n\nclass C:\n",
]








def node_spans(node):
    """Every node's type, byte range and points, in document order."""
    spans = [(node.type, node.start_byte, node.end_byte, tuple(node.start_point), tuple(node.end_point))]
    for child in node.children:
        spans.extend(node_spans(child))
    return spans


def assert_matches_fresh_parse(doc):
    fresh = parse(doc.text.encode("utf-8"), budget_s=None)
    assert str(doc.tree.root_node) == str(fresh.root_node)
    assert node_spans(doc.tree.root_node) == node_spans(fresh.root_node)


@st.composite
def positions(draw, text, encoding):
    lines = ref_lines(text)
    line = draw(st.integers(0, len(lines)))
    width = units(lines[line][1], encoding) if line < len(lines) else 0
    return Position(line, draw(st.integers(0, width + 2)))


@settings(max_examples=120, deadline=None)
@given(st.sampled_from(list(PositionEncoding)), st.data())
def test_incremental_edits_match_reference_text_and_fresh_parse(encoding, data):
    doc = Document("file:///t.py", SOURCE)
    text = SOURCE
    for version in range(1, data.draw(st.integers(1, 6)) + 1):
        a, b = data.draw(positions(text, encoding)), data.draw(positions(text, encoding))
        start = ref_offset(text, a.line, a.character, encoding)
        end = ref_offset(text, b.line, b.character, encoding)
        if start > end:
            a, b, start, end = b, a, end, start
        new_text = data.draw(st.sampled_from(SNIPPETS))
        doc.apply_change(Range(a, b), new_text, encoding, version)
        text = text[:start] + new_text + text[end:]
        assert doc.text == text
        assert doc.source_bytes == text.encode("utf-8")
        assert doc.version == version
        assert_matches_fresh_parse(doc)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(list(PositionEncoding)), st.data())
def test_batched_changes_equal_full_text_sync(encoding, data):
    doc = Document("file:///t.py", SOURCE)
    text, changes = SOURCE, []
    for _ in range(data.draw(st.integers(1, 5))):
        a = data.draw(positions(text, encoding))
        start = ref_offset(text, a.line, a.character, encoding)
        new_text = data.draw(st.sampled_from(SNIPPETS))
        changes.append(lsp.TextDocumentContentChangePartial(range=lsp.Range(a, a), text=new_text))
        text = text[:start] + new_text + text[start:]
    doc.apply_changes(changes, encoding, version=2)
    full = Document("file:///t.py", SOURCE)
    full.apply_changes([lsp.TextDocumentContentChangeWholeDocument(text=text)], encoding, version=2)
    assert doc.text == full.text == text
    assert str(doc.tree.root_node) == str(full.tree.root_node)
    assert_matches_fresh_parse(doc)


def test_full_replace_when_range_is_none():
    doc = Document("file:///t.py", SOURCE)
    doc.apply_change(None, "y = 'é'\n", "utf-16", 5)
    assert (doc.text, doc.version) == ("y = 'é'\n", 5)
    assert_matches_fresh_parse(doc)


def test_edit_after_line_separator_lands_on_the_lsp_line():
    doc = Document("file:///t.py", "a = '\u2028'\nb = 1\n")
    doc.apply_change(Range(Position(1, 4), Position(1, 5)), "2", "utf-16")
    assert doc.text == "a = '\u2028'\nb = 2\n"


def test_reversed_range_raises_and_leaves_document_unchanged():
    doc = Document("file:///t.py", "x = 1\ny = 2\n")
    tree_before = str(doc.tree.root_node)
    changes = [(Range(Position(0, 0), Position(0, 1)), "z"), (Range(Position(1, 3), Position(1, 1)), "")]
    with pytest.raises(PositionOutOfRange):
        doc.apply_changes(changes, "utf-16", version=9)
    assert (doc.text, doc.version, str(doc.tree.root_node)) == ("x = 1\ny = 2\n", 0, tree_before)


def test_snapshot_is_unchanged_by_later_edits():
    doc = Document("file:///t.py", "def f():\n    return 1\n")
    snap = doc.snapshot()
    tree_before = node_spans(snap.tree.root_node)
    doc.apply_change(Range(Position(0, 0), Position(0, 0)), "import os\n\n", "utf-16")
    assert snap.text == "def f():\n    return 1\n"
    assert node_spans(snap.tree.root_node) == tree_before
    assert doc.text.startswith("import os")


def test_helpers_convert_through_non_ascii_text():
    doc = Document("file:///t.py", "s = '😀é'\nvalue = s\r\n")
    offset = doc.offset_at(Position(1, 2), "utf-16")
    assert offset == 11
    assert doc.position_at(offset, "utf-8") == Position(1, 2)
    assert doc.byte_at(offset) == len("s = '😀é'\nva".encode("utf-8"))
    assert doc.offset_of_byte(doc.byte_at(offset)) == offset
    assert doc.point_at(offset) == (1, 2)
    assert doc.line_at(offset) == "value = s"
    assert doc.node_at_offset(offset).type == "identifier"
    assert doc.node_at_offset(offset).text == b"value"


def test_line_at_keeps_unicode_separators_inside_the_line():
    doc = Document("file:///t.py", "a\nb\u2028c\fd\r\ne")
    assert doc.line_at(3) == "b\u2028c\fd"


def test_parse_over_budget_leaves_no_tree_and_features_degrade():
    text = "def f(x):\n    return x + 1\n" * 20_000  # over 3 samples: its parse time is predicted
    doc = Document("file:///big.py", text, parse_budget_s=0.0)
    assert doc.tree is None
    assert doc.node_at_offset(5) is None
    doc.parse_budget_s = None
    doc.apply_change(Range(Position(0, 4), Position(0, 5)), "g", "utf-16")
    assert doc.tree is not None
    assert_matches_fresh_parse(doc)


def test_parser_is_usable_after_a_refused_parse():
    assert parse(b"def f(x):\n    return x\n" * 20_000, budget_s=0.0) is None
    tree = parse(b"y = 2\n")
    assert str(tree.root_node) == str(get_parser().parse(b"y = 2\n").root_node)
    assert tree.root_node.end_byte == 6


def test_non_python_document_has_text_but_no_tree():
    doc = Document("file:///notes.txt", "hello é\n", language_id="plaintext")
    doc.apply_change(Range(Position(0, 0), Position(0, 5)), "bye", "utf-8")
    assert (doc.text, doc.tree) == ("bye é\n", None)


def test_store_does_not_invent_unknown_documents():
    store = DocumentStore()
    assert store.get("file:///missing.py") is None
    with pytest.raises(DocumentNotOpen):
        store.get_or_raise("file:///missing.py")
    with pytest.raises(DocumentNotOpen):
        store.apply_changes("file:///missing.py", [(None, "x")])
    assert "file:///missing.py" not in store


def test_store_open_change_close_lifecycle():
    store = DocumentStore()
    doc = store.open("file:///a.py", "x = 1\n", version=1)
    assert store.get("file:///a.py") is doc
    change = lsp.TextDocumentContentChangePartial(
        range=lsp.Range(lsp.Position(0, 4), lsp.Position(0, 5)), text="2"
    )
    store.apply_changes("file:///a.py", [change], version=2, encoding=lsp.PositionEncodingKind.Utf16)
    assert (doc.text, doc.version) == ("x = 2\n", 2)
    assert list(store) == ["file:///a.py"] and len(store) == 1
    store.close("file:///a.py")
    store.close("file:///a.py")
    assert store.get("file:///a.py") is None


def test_a_fresh_parse_is_refused_when_its_samples_predict_more_than_the_budget():
    from lsp_server.syntax.documents import predicted_parse_s
    text = b"def f(x):\n    return x\n" * 40_000  # ~1 MB: tree-sitter parses ~9 MB/s
    predicted = predicted_parse_s(get_parser(), text)
    assert 0 < predicted < 5
    assert parse(text, budget_s=predicted * 100) is not None and parse(text, budget_s=predicted / 100) is None
    assert predicted_parse_s(get_parser(), b"x = 1\n" * 1000) == 0.0  # small: parsed whatever the budget
