"""Conversion between LSP positions, code-point offsets, UTF-8 byte offsets and tree-sitter points.

Every offset called plainly "offset" is a code-point index into a Python ``str``; "byte" means a
UTF-8 byte offset into the document's encoded bytes (what tree-sitter uses).
"""

from __future__ import annotations

import enum
import re
from bisect import bisect_left, bisect_right
from typing import NamedTuple, Protocol

from lsp_server.errors import PositionOutOfRange, QuillError


class PositionEncoding(str, enum.Enum):
    """Units of ``Position.character``, as named by LSP ``PositionEncodingKind``."""

    UTF8 = "utf-8"
    UTF16 = "utf-16"
    UTF32 = "utf-32"


DEFAULT_ENCODING = PositionEncoding.UTF16

# LSP line terminators only; str.splitlines also breaks at \f, \v, \x1c-\x1e, \x85, U+2028, U+2029.
_TERMINATOR = re.compile(r"\r\n|\r|\n")
_TERMINATOR_BYTES = re.compile(rb"\r\n|\r|\n")


class Position(NamedTuple):
    """A zero-based LSP position; ``character`` is in the units of some ``PositionEncoding``."""

    line: int
    character: int


class Range(NamedTuple):
    """A half-open LSP range between two positions."""

    start: Position
    end: Position


class PositionLike(Protocol):
    """Anything with ``line`` and ``character`` (this module's Position, lsprotocol's Position)."""

    line: int
    character: int


def as_encoding(value: PositionEncoding | str) -> PositionEncoding:
    """Return the PositionEncoding named by ``value`` (accepts lsprotocol PositionEncodingKind too)."""
    try:
        return PositionEncoding(value)
    except ValueError:
        raise QuillError(f"unknown position encoding {value!r}") from None


def _line_starts(seq: str | bytes, pattern: re.Pattern) -> list[int]:
    return [0, *(m.end() for m in pattern.finditer(seq))]


def _splice_starts(
    starts: list[int], seq: str | bytes, start: int, old_end: int, new_end: int, pattern: re.Pattern
) -> list[int]:
    """Line starts of ``seq`` after ``[start, old_end)`` of the old sequence became ``[start, new_end)``."""
    # Whether s is a line start depends only on seq[s-1] and seq[s] (a "\r" followed by "\n" is one
    # terminator), so old starts below `start` and above `old_end` survive; only the gap is rescanned.
    head = starts[: bisect_left(starts, max(start, 1))]
    tail_from = bisect_right(starts, old_end)
    delta = new_end - old_end
    scan_from = max(start, 1)
    middle = [
        m.end()
        for m in pattern.finditer(seq, scan_from - 1, new_end + 1)
        if scan_from <= m.end() <= new_end
    ]
    tail = [s + delta for s in starts[tail_from:]] if delta else starts[tail_from:]
    return head + middle + tail


def _utf8_len(s: str) -> int:
    return len(s.encode("utf-8", "surrogatepass"))


def _utf16_len(s: str) -> int:
    return len(s.encode("utf-16-le", "surrogatepass")) // 2


def _units_len(s: str, encoding: PositionEncoding) -> int:
    if encoding is PositionEncoding.UTF32 or s.isascii():
        return len(s)
    if encoding is PositionEncoding.UTF16:
        return _utf16_len(s)
    return _utf8_len(s)


def _index_of_units(line: str, units: int, encoding: PositionEncoding) -> int:
    """Code-point index in ``line`` of the char holding unit ``units``, rounded down, clamped to the end."""
    if encoding is PositionEncoding.UTF32 or line.isascii():
        return min(units, len(line))
    if encoding is PositionEncoding.UTF8:
        return _index_of_byte(line.encode("utf-8", "surrogatepass"), units)
    if _utf16_len(line) == len(line):
        return min(units, len(line))
    count = 0
    for index, ch in enumerate(line):
        count += 2 if ch > "\uffff" else 1
        if count > units:
            return index
    return len(line)


def _index_of_byte(data: bytes, byte: int) -> int:
    """Code-point count of ``data[:byte]``, with ``byte`` moved back to the start of its character."""
    byte = min(byte, len(data))
    while byte < len(data) and data[byte] & 0xC0 == 0x80:
        byte -= 1
    return len(data[:byte].decode("utf-8", "surrogatepass"))


class LineIndex:
    """Line starts of one text, in code points and in UTF-8 bytes, for O(log n) conversions."""

    # _data is encoded on first use when an edit keeps the text ASCII: didChange then copies the text once.
    __slots__ = ("_text", "_data", "_ascii", "_newlines", "_starts", "_byte_starts", "_rows_are_lines")

    def __init__(self, text: str, data: bytes | None = None) -> None:
        """Index ``text``; ``data`` must be its UTF-8 encoding when given (saves encoding twice)."""
        self._text = text
        self._data: bytes | None = text.encode("utf-8", "surrogatepass") if data is None else data
        self._ascii = len(self._data) == len(text)
        self._starts = _line_starts(text, _TERMINATOR)
        self._byte_starts = self._starts if self._ascii else _line_starts(self._data, _TERMINATOR_BYTES)
        self._newlines = text.count("\n")
        self._rows_are_lines = len(self._starts) - 1 == self._newlines

    @property
    def text(self) -> str:
        """The indexed text."""
        return self._text

    @property
    def data(self) -> bytes:
        """The UTF-8 encoding of the indexed text."""
        if self._data is None:
            self._data = self._text.encode("utf-8", "surrogatepass")  # a benign race: same bytes
        return self._data

    @property
    def is_ascii(self) -> bool:
        """True when every code point is one byte, so offsets and bytes coincide."""
        return self._ascii

    @property
    def line_count(self) -> int:
        """Number of lines; a text ending in a terminator has an empty last line."""
        return len(self._starts)

    def line_start(self, line: int) -> int:
        """Offset of the first character of ``line``, which must exist."""
        return self._starts[line]

    def line_end(self, line: int) -> int:
        """Offset just past the last character of ``line``, before its terminator."""
        if line + 1 >= len(self._starts):
            return len(self._text)
        nxt = self._starts[line + 1]
        return nxt - 2 if nxt >= 2 and self._text.startswith("\r\n", nxt - 2) else nxt - 1

    def line_of(self, offset: int) -> int:
        """Line holding ``offset`` (an offset in a terminator belongs to the line it ends)."""
        return bisect_right(self._starts, self._check_offset(offset)) - 1

    def line_text(self, line: int) -> str:
        """Text of ``line`` without its terminator."""
        return self._text[self._starts[line] : self.line_end(line)]

    def position_to_offset(self, line: int, character: int, encoding: PositionEncoding | str) -> int:
        """Offset of an LSP position, clamped as LSP says (past the end of a line or of the text)."""
        if line < 0 or character < 0:
            raise PositionOutOfRange(f"negative position ({line}, {character})")
        if line >= len(self._starts):
            return len(self._text)
        start, end = self._starts[line], self.line_end(line)
        return start + _index_of_units(self._text[start:end], character, as_encoding(encoding))

    def offset_to_position(self, offset: int, encoding: PositionEncoding | str) -> Position:
        """LSP position of ``offset``; an offset inside a terminator maps to the end of its line."""
        line = self.line_of(offset)
        start = self._starts[line]
        offset = min(offset, self.line_end(line))
        return Position(line, _units_len(self._text[start:offset], as_encoding(encoding)))

    def offset_to_byte(self, offset: int) -> int:
        """UTF-8 byte offset of code-point ``offset`` (clamped to the end of the text)."""
        offset = min(self._check_offset(offset), len(self._text))
        if self.is_ascii:
            return offset
        line = bisect_right(self._starts, offset) - 1
        return self._byte_starts[line] + _utf8_len(self._text[self._starts[line] : offset])

    def byte_to_offset(self, byte: int) -> int:
        """Code-point offset of UTF-8 ``byte``, rounded down to the start of its character."""
        byte = min(self._check_byte(byte), self._byte_len())
        if self.is_ascii:
            return byte
        line = bisect_right(self._byte_starts, byte) - 1
        line_bytes = self.data[self._byte_starts[line] : byte + 4]
        return self._starts[line] + _index_of_byte(line_bytes, byte - self._byte_starts[line])

    def byte_to_point(self, byte: int) -> tuple[int, int]:
        """Tree-sitter point (row, UTF-8 byte column) of ``byte``; rows count ``\\n`` only."""
        byte = min(self._check_byte(byte), self._byte_len())
        if self._rows_are_lines:
            row = bisect_right(self._byte_starts, byte) - 1
            return row, byte - self._byte_starts[row]
        # Lone "\r" ends an LSP line but not a tree-sitter row; such files are rare, so scan.
        data = self.data
        return data.count(b"\n", 0, byte), byte - (data.rfind(b"\n", 0, byte) + 1)

    def offset_to_point(self, offset: int) -> tuple[int, int]:
        """Tree-sitter point of code-point ``offset``."""
        return self.byte_to_point(self.offset_to_byte(offset))

    def edited(self, start: int, old_end: int, new_text: str, new_data: bytes | None = None) -> LineIndex:
        """Index of the text where ``[start, old_end)`` is replaced by ``new_text``, reusing this index."""
        start, old_end = self._check_offset(start), self._check_offset(old_end)
        if not start <= old_end <= len(self._text):
            raise PositionOutOfRange(f"bad edit range [{start}, {old_end}) of {len(self._text)}")
        if new_data is None:
            new_data = new_text.encode("utf-8", "surrogatepass")
        start_byte, old_end_byte = self.offset_to_byte(start), self.offset_to_byte(old_end)
        index = LineIndex.__new__(LineIndex)
        index._text = self._text[:start] + new_text + self._text[old_end:]
        new_end = start + len(new_text)
        index._starts = _splice_starts(self._starts, index._text, start, old_end, new_end, _TERMINATOR)
        index._newlines = self._newlines - self._text.count("\n", start, old_end) + new_text.count("\n")
        if self._ascii and len(new_data) == len(new_text):
            index._data, index._ascii, index._byte_starts = None, True, index._starts
        else:
            data = self.data
            index._data = data[:start_byte] + new_data + data[old_end_byte:]
            index._ascii = len(index._data) == len(index._text)
            new_end_byte = start_byte + len(new_data)
            index._byte_starts = index._starts if index._ascii else _splice_starts(
                self._byte_starts, index._data, start_byte, old_end_byte, new_end_byte, _TERMINATOR_BYTES
            )
        index._rows_are_lines = len(index._starts) - 1 == index._newlines
        return index

    def _byte_len(self) -> int:
        return len(self._text) if self._ascii else len(self.data)

    def _check_offset(self, offset: int) -> int:
        if offset < 0:
            raise PositionOutOfRange(f"negative offset {offset}")
        return offset

    def _check_byte(self, byte: int) -> int:
        if byte < 0:
            raise PositionOutOfRange(f"negative byte offset {byte}")
        return byte
