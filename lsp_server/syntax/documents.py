"""Open documents: text, UTF-8 bytes, line index and tree-sitter tree, kept in sync under LSP edits."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

import tree_sitter
import tree_sitter_python

from lsp_server.errors import DocumentNotOpen, PositionOutOfRange

from .positions import (
    DEFAULT_ENCODING,
    LineIndex,
    Position,
    PositionEncoding,
    PositionLike,
    as_encoding,
)

PYTHON_LANGUAGE_ID = "python"
PARSE_BUDGET_S = 1.0
PARSE_SAMPLE_BYTES = 128 * 1024  # ~15 ms of parsing at tree-sitter's ~9 MB/s on real code
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")

_language: tree_sitter.Language | None = None
_language_lock = threading.Lock()
_thread_parsers = threading.local()


class RangeLike(Protocol):
    """Anything with ``start`` and ``end`` positions (positions.Range, lsprotocol's Range)."""

    start: PositionLike
    end: PositionLike


def python_language() -> tree_sitter.Language:
    """The tree-sitter Python language, created on first use and shared."""
    global _language
    if _language is None:
        with _language_lock:
            if _language is None:
                _language = tree_sitter.Language(tree_sitter_python.language())
    return _language


def get_parser() -> tree_sitter.Parser:
    """A Python parser owned by the calling thread (a Parser must not be shared between threads)."""
    parser = getattr(_thread_parsers, "parser", None)
    if parser is None:
        parser = tree_sitter.Parser(python_language())
        _thread_parsers.parser = parser
    return parser


def parse(
    data: bytes, old_tree: tree_sitter.Tree | None = None, budget_s: float | None = PARSE_BUDGET_S
) -> tree_sitter.Tree | None:
    """Parse ``data`` (reusing an edited ``old_tree``); None when a fresh parse would take longer than ``budget_s``.

    Always from bytes: tree-sitter 0.26 never frees the chunks that a read callable returns (+83 MB for 50
    parses of 1 MB), and a progress callback, the only way to stop a parse midway, needs one. So the budget
    is kept before parsing instead: a fresh parse of a large document first times samples of it
    (predicted_parse_s) and is refused when they predict more than ``budget_s``. An incremental reparse costs
    about the size of the edit and is not predicted.
    """
    parser = get_parser()
    if old_tree is not None:
        return parser.parse(data, old_tree)
    if budget_s is not None and predicted_parse_s(parser, data) > budget_s:
        return None
    return parser.parse(data)


def predicted_parse_s(parser: tree_sitter.Parser, data: bytes) -> float:
    """Seconds a fresh parse of data should take: its size at the slowest rate of three timed samples
    (start, middle, end); 0 for data small enough that the samples would be most of it."""
    if len(data) <= 3 * PARSE_SAMPLE_BYTES:
        return 0.0
    worst = 0.0
    for start in (0, (len(data) - PARSE_SAMPLE_BYTES) // 2, len(data) - PARSE_SAMPLE_BYTES):
        sample = data[start:start + PARSE_SAMPLE_BYTES]
        started = time.perf_counter()
        parser.parse(sample)
        worst = max(worst, (time.perf_counter() - started) / len(sample))
    return worst * len(data)


class _State:
    """One version of a document: its text and line index, and its syntax tree, parsed on first use.

    Parsing is deferred so that didChange stays O(edit) (a burst of keystrokes is parsed once, by the
    first feature that reads the tree); the tree it yields still equals a fresh parse (see ``tree``).
    """

    __slots__ = ("version", "index", "_base", "_tree", "_parsed", "_lock", "_python", "_budget_s")

    def __init__(
        self, version: int, index: LineIndex, base: tree_sitter.Tree | None, python: bool, budget_s: float | None
    ) -> None:
        self.version, self.index = version, index
        # The previous version's tree with this version's edits applied (Tree.edit), for an incremental
        # reparse; None: parse from scratch. Dropped once parsed, in the parsing thread: after a fresh
        # reparse nothing shares it, and freeing a large tree takes milliseconds (not didChange's).
        self._base = base
        self._tree: tree_sitter.Tree | None = None
        self._parsed = not python
        self._lock = threading.Lock()
        self._python, self._budget_s = python, budget_s

    @property
    def tree(self) -> tree_sitter.Tree | None:
        """The syntax tree (None: not Python, or over the parse budget), parsed once, in the reading thread."""
        if not self._parsed:
            with self._lock:
                if not self._parsed:
                    self._tree = _parse_certified(self.index.data, self._base, self._budget_s)
                    self._parsed = True  # after _tree, before _base: the order edit_base relies on
                    self._base = None
        return self._tree

    @property
    def parsed(self) -> bool:
        """True once the tree was computed (or there is none to compute)."""
        return self._parsed

    def edit_base(self) -> tree_sitter.Tree | None:
        """A private copy of the tree that the next version's edits are applied to (None: parse fresh)."""
        base = self._base  # read first: while _parsed is False, a concurrent parse has not dropped it yet
        if self._parsed:
            return self._tree.copy() if self._tree is not None else None
        return base.copy() if base is not None else None


def _parse_certified(
    data: bytes, old_tree: tree_sitter.Tree | None, budget_s: float | None
) -> tree_sitter.Tree | None:
    """Incremental reparse of ``old_tree`` (already edited) that always equals a fresh parse of ``data``."""
    started = time.monotonic()
    tree = parse(data, old_tree, budget_s)
    if tree is None or old_tree is None or not tree.root_node.has_error:
        return tree
    # After error recovery tree-sitter may reuse stale nodes (an unclosed string that a later edit
    # closes), so an incremental tree with errors can differ from a fresh parse; redo it.
    return parse(data, None, None if budget_s is None else budget_s - (time.monotonic() - started))


def scrub(text: str) -> str:
    """text with each lone surrogate (JSON can carry "\\ud800"; UTF-8 and the tokenizer cannot) as U+FFFD.

    Both are one code point and one UTF-16 unit, so every position in the text stays where it was.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _LONE_SURROGATE.sub("\ufffd", text)
    return text


def _change_parts(change: Any) -> tuple[RangeLike | None, str]:
    """(range or None, text) of a change given as a pair or as an LSP content-change object."""
    if isinstance(change, tuple):
        return change[0], scrub(change[1])
    return getattr(change, "range", None), scrub(change.text)


class Document:
    """One open text document; each edit swaps in a new immutable state, so snapshots stay valid."""

    def __init__(
        self,
        uri: str,
        text: str,
        version: int = 0,
        language_id: str = PYTHON_LANGUAGE_ID,
        parse_budget_s: float | None = PARSE_BUDGET_S,
    ) -> None:
        """Open ``text`` at ``version`` and parse it when ``language_id`` is Python."""
        self.uri = uri
        self.language_id = language_id
        self.parse_budget_s = parse_budget_s
        self._state = self._new_state(version, LineIndex(scrub(text)), None)

    @property
    def version(self) -> int:
        """The LSP version of the current text."""
        return self._state.version

    @property
    def text(self) -> str:
        """The current text."""
        return self._state.index.text

    @property
    def source_bytes(self) -> bytes:
        """The current text encoded as UTF-8 (what tree-sitter byte offsets index)."""
        return self._state.index.data

    @property
    def tree(self) -> tree_sitter.Tree | None:
        """The syntax tree, or None (not Python, or parsing ran over its time budget); parsed on first read."""
        return self._state.tree

    @property
    def parsed(self) -> bool:
        """True once this version's tree was computed (reading ``tree`` parses it; this never does)."""
        return self._state.parsed

    @property
    def line_index(self) -> LineIndex:
        """The line index of the current text, for conversions beyond the helpers here."""
        return self._state.index

    def snapshot(self) -> Document:
        """A read-only view of the current state that later edits do not change."""
        view = Document.__new__(Document)
        view.uri, view.language_id, view.parse_budget_s = self.uri, self.language_id, self.parse_budget_s
        view._state = self._state
        return view

    def apply_change(
        self,
        range_: RangeLike | None,
        new_text: str,
        encoding: PositionEncoding | str = DEFAULT_ENCODING,
        version: int | None = None,
    ) -> None:
        """Replace ``range_`` (the whole text when None) with ``new_text`` and reparse."""
        self.apply_changes([(range_, new_text)], encoding, version)

    def apply_changes(
        self,
        changes: Iterable[Any],
        encoding: PositionEncoding | str = DEFAULT_ENCODING,
        version: int | None = None,
    ) -> None:
        """Apply LSP content changes in order ((range, text) pairs or objects with .range/.text)."""
        encoding = as_encoding(encoding)
        state = self._state
        index = state.index
        # Edit a copy: a snapshot held by another thread may still be reading (or parsing) the old tree.
        tree = state.edit_base()
        for change in changes:
            range_, new_text = _change_parts(change)
            if range_ is None:
                index, tree = LineIndex(new_text), None
                continue
            index = self._splice(index, tree, range_, new_text, encoding)
        self._state = self._new_state(state.version if version is None else version, index, tree)

    def _splice(
        self,
        index: LineIndex,
        tree: tree_sitter.Tree | None,
        range_: RangeLike,
        new_text: str,
        encoding: PositionEncoding,
    ) -> LineIndex:
        """Index after one ranged change; ``tree`` (if any) gets the matching ``Tree.edit``."""
        start = index.position_to_offset(range_.start.line, range_.start.character, encoding)
        end = index.position_to_offset(range_.end.line, range_.end.character, encoding)
        if end < start:
            raise PositionOutOfRange(f"range end {range_.end} is before its start {range_.start}")
        new_data = new_text.encode("utf-8", "surrogatepass")
        new_index = index.edited(start, end, new_text, new_data)
        if tree is not None:
            start_byte, old_end_byte = index.offset_to_byte(start), index.offset_to_byte(end)
            new_end_byte = start_byte + len(new_data)
            tree.edit(
                start_byte=start_byte,
                old_end_byte=old_end_byte,
                new_end_byte=new_end_byte,
                start_point=index.byte_to_point(start_byte),
                old_end_point=index.byte_to_point(old_end_byte),
                new_end_point=new_index.byte_to_point(new_end_byte),
            )
        return new_index

    def _new_state(self, version: int, index: LineIndex, base: tree_sitter.Tree | None) -> _State:
        return _State(version, index, base, self.language_id == PYTHON_LANGUAGE_ID, self.parse_budget_s)

    def offset_at(self, position: PositionLike, encoding: PositionEncoding | str = DEFAULT_ENCODING) -> int:
        """Code-point offset of an LSP position, clamped as LSP says."""
        return self._state.index.position_to_offset(position.line, position.character, encoding)

    def position_at(self, offset: int, encoding: PositionEncoding | str = DEFAULT_ENCODING) -> Position:
        """LSP position of a code-point offset."""
        return self._state.index.offset_to_position(offset, encoding)

    def byte_at(self, offset: int) -> int:
        """UTF-8 byte offset of a code-point offset."""
        return self._state.index.offset_to_byte(offset)

    def offset_of_byte(self, byte: int) -> int:
        """Code-point offset of a UTF-8 byte offset (rounded down to its character)."""
        return self._state.index.byte_to_offset(byte)

    def point_at(self, offset: int) -> tuple[int, int]:
        """Tree-sitter point (row, UTF-8 byte column) of a code-point offset."""
        return self._state.index.offset_to_point(offset)

    def node_at_offset(self, offset: int) -> tree_sitter.Node | None:
        """Smallest named node containing the character at ``offset``; None without a tree."""
        state = self._state
        if state.tree is None:
            return None
        byte = state.index.offset_to_byte(offset)
        return state.tree.root_node.named_descendant_for_byte_range(byte, byte)

    def line_at(self, offset: int) -> str:
        """Full text of the line holding ``offset``, without its terminator."""
        index = self._state.index
        return index.line_text(index.line_of(offset))


class DocumentStore:
    """The documents the client has opened, by URI; unknown URIs are never read from disk."""

    def __init__(self, parse_budget_s: float | None = PARSE_BUDGET_S) -> None:
        """Create an empty store whose documents parse within ``parse_budget_s`` seconds."""
        self.parse_budget_s = parse_budget_s
        self._docs: dict[str, Document] = {}

    def open(self, uri: str, text: str, version: int = 0, language_id: str = PYTHON_LANGUAGE_ID) -> Document:
        """Open (or reopen, replacing) ``uri`` with ``text``."""
        doc = Document(uri, text, version, language_id, self.parse_budget_s)
        self._docs[uri] = doc
        return doc

    def close(self, uri: str) -> None:
        """Forget ``uri``; closing an unknown URI does nothing."""
        self._docs.pop(uri, None)

    def get(self, uri: str) -> Document | None:
        """The open document at ``uri``, or None."""
        return self._docs.get(uri)

    def get_or_raise(self, uri: str) -> Document:
        """The open document at ``uri``; raises DocumentNotOpen otherwise."""
        doc = self._docs.get(uri)
        if doc is None:
            raise DocumentNotOpen(f"document not open: {uri}")
        return doc

    def apply_changes(
        self,
        uri: str,
        changes: Iterable[Any],
        version: int | None = None,
        encoding: PositionEncoding | str = DEFAULT_ENCODING,
    ) -> Document:
        """Apply a didChange's content changes to ``uri``; raises DocumentNotOpen if not open."""
        doc = self.get_or_raise(uri)
        doc.apply_changes(changes, encoding, version)
        return doc

    def __contains__(self, uri: object) -> bool:
        return uri in self._docs

    def __len__(self) -> int:
        return len(self._docs)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._docs))
