"""Tests of LSP position <-> offset <-> byte <-> tree-sitter point conversion."""

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lsprotocol import types as lsp
from reliability_support import ref_lines, units

from lsp_server.errors import PositionOutOfRange, QuillError
from lsp_server.syntax.positions import LineIndex, Position, PositionEncoding

ENCODINGS = list(PositionEncoding)
NOT_LINE_BREAKS = ["\f", "\v", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
# Characters chosen to hit every width: ASCII, 2-byte é, 3-byte CJK, 4-byte/2-unit emoji, terminators.
ALPHABET = ["a", " ", "é", "中", "😀", "\n", "\r", "\r\n", *NOT_LINE_BREAKS]
texts = st.lists(st.sampled_from(ALPHABET), max_size=30).map("".join)






def test_lines_split_only_on_lsp_terminators():
    text = "a\nb\r\nc\rd" + "".join(f"x{c}y" for c in NOT_LINE_BREAKS) + "\n"
    index = LineIndex(text)
    expected = ["a", "b", "c", "d" + "".join(f"x{c}y" for c in NOT_LINE_BREAKS), ""]
    assert [index.line_text(i) for i in range(index.line_count)] == expected


def test_unicode_line_separator_does_not_start_a_new_line():
    index = LineIndex("a = 1\u2028b = 2\nc")
    assert index.offset_to_position(8, "utf-16") == Position(0, 8)
    assert index.position_to_offset(1, 0, "utf-16") == 12


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [("utf-8", [0, 1, 3, 6, 10, 11]), ("utf-16", [0, 1, 2, 3, 5, 6]), ("utf-32", [0, 1, 2, 3, 4, 5])],
)
def test_character_counts_units_of_the_negotiated_encoding(encoding, expected):
    index = LineIndex("aé中😀b")
    assert [index.offset_to_position(o, encoding).character for o in range(6)] == expected
    assert [index.position_to_offset(0, c, encoding) for c in expected] == list(range(6))


def test_character_inside_a_surrogate_pair_rounds_down_to_the_emoji():
    index = LineIndex("x😀y")
    assert index.position_to_offset(0, 2, "utf-16") == 1


@pytest.mark.parametrize("character", [2, 3, 4])
def test_character_inside_a_utf8_sequence_rounds_down_to_its_start(character):
    index = LineIndex("x😀y")
    assert index.position_to_offset(0, character, "utf-8") == 1


@pytest.mark.parametrize("text", ["ab\ncd", "ab\r\ncd", "ab\rcd"])
def test_character_past_line_end_clamps_before_the_terminator(text):
    index = LineIndex(text)
    for encoding in ENCODINGS:
        assert index.position_to_offset(0, 99, encoding) == 2
        assert index.position_to_offset(1, 99, encoding) == len(text)


def test_line_past_the_end_clamps_to_end_of_document():
    index = LineIndex("é\n😀")
    assert index.position_to_offset(2, 0, "utf-16") == 3
    assert index.position_to_offset(50, 7, "utf-8") == 3


@pytest.mark.parametrize(("line", "character"), [(-1, 0), (0, -1)])
def test_negative_position_raises_position_out_of_range(line, character):
    with pytest.raises(PositionOutOfRange):
        LineIndex("abc").position_to_offset(line, character, "utf-16")


def test_negative_offsets_raise_position_out_of_range():
    index = LineIndex("abc")
    for convert in (index.offset_to_byte, index.byte_to_offset, index.offset_to_point):
        with pytest.raises(PositionOutOfRange):
            convert(-1)


def test_offset_inside_crlf_maps_to_end_of_its_line():
    assert LineIndex("ab\r\ncd").offset_to_position(3, "utf-16") == Position(0, 2)


def test_unknown_encoding_raises_quill_error():
    with pytest.raises(QuillError):
        LineIndex("a").position_to_offset(0, 0, "utf-7")


def test_lsprotocol_encoding_kinds_are_accepted():
    index = LineIndex("😀x")
    assert index.position_to_offset(0, 2, lsp.PositionEncodingKind.Utf16) == 1
    assert index.position_to_offset(0, 4, lsp.PositionEncodingKind.Utf8) == 1


def test_byte_inside_a_character_rounds_down_to_its_start():
    index = LineIndex("\n中x")
    assert [index.byte_to_offset(b) for b in range(6)] == [0, 1, 1, 1, 2, 3]


def test_tree_sitter_rows_count_only_line_feeds():
    index = LineIndex("a\rb\r\nc\u2028é\nd")
    assert index.offset_to_point(2) == (0, 2)
    assert index.offset_to_point(5) == (1, 0)
    assert index.offset_to_point(8) == (1, 6)
    assert index.offset_to_point(9) == (2, 0)


@settings(max_examples=150, deadline=None)
@given(texts)
def test_line_index_matches_a_character_walk(text):
    index = LineIndex(text)
    lines = [(start, start + len(content)) for start, content in ref_lines(text)]
    assert index.line_count == len(lines)
    assert [(index.line_start(i), index.line_end(i)) for i in range(len(lines))] == lines


@settings(max_examples=150, deadline=None)
@given(texts, st.sampled_from(ENCODINGS))
def test_offset_position_round_trip_outside_terminators(text, encoding):
    index = LineIndex(text)
    for line, (start, end) in enumerate([(start, start + len(content)) for start, content in ref_lines(text)]):
        for offset in range(start, end + 1):
            position = index.offset_to_position(offset, encoding)
            assert position == Position(line, units(text[start:offset], encoding))
            assert index.position_to_offset(*position, encoding) == offset


@settings(max_examples=150, deadline=None)
@given(texts)
def test_bytes_and_points_match_the_encoded_prefix(text):
    index = LineIndex(text)
    data = text.encode("utf-8")
    for offset in range(len(text) + 1):
        byte = len(text[:offset].encode("utf-8"))
        assert index.offset_to_byte(offset) == byte
        assert index.byte_to_offset(byte) == offset
        row_start = data.rfind(b"\n", 0, byte) + 1
        assert index.byte_to_point(byte) == (data.count(b"\n", 0, byte), byte - row_start)


@settings(max_examples=200, deadline=None)
@given(texts, st.data())
def test_edited_index_equals_a_fresh_index(text, data):
    index = LineIndex(text)
    for _ in range(data.draw(st.integers(1, 4))):
        start = data.draw(st.integers(0, len(index.text)))
        end = data.draw(st.integers(start, len(index.text)))
        new_text = data.draw(texts)
        expected = index.text[:start] + new_text + index.text[end:]
        index = index.edited(start, end, new_text)
        fresh = LineIndex(expected)
        assert (index.text, index.data) == (fresh.text, fresh.data)
        assert index._starts == fresh._starts
        assert index._byte_starts == fresh._byte_starts
        assert index._rows_are_lines == fresh._rows_are_lines


def test_conversion_on_a_large_document_is_fast():
    text = "".join(f"x_{i} = 'é{i}😀'\n" for i in range(20_000))
    index = LineIndex(text)
    started = time.perf_counter()
    for line in range(0, 20_000, 7):
        offset = index.position_to_offset(line, 9, "utf-16")
        index.offset_to_position(offset, "utf-8")
        index.offset_to_point(offset)
    assert time.perf_counter() - started < 0.5
