"""Edit fuzzing through the real server's protocol and didChange handler (in-process, no subprocess).

Each hypothesis sequence opens a document on a QuillServer that negotiated utf-8, utf-16 or utf-32, then
sends random batches of incremental (and, rarely, full-text) changes as JSON messages, exactly as the
stdio reader would hand them over. After every step the server's text and version equal a reference
model's, and its incremental tree-sitter tree equals a fresh parse. 200 sequences by default, 5,000 with
QUILL_LONG=1; tests/e2e/test_reliability_wire.py runs fewer sequences over stdio.
"""
from __future__ import annotations

import itertools

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from reliability_support import (
    ENCODINGS,
    FRAGMENTS,
    InProcessClient,
    draw_changes,
    draw_position,
    draw_text,
    fresh_digest,
    ref_offset,
    scaled,
)

from lsp_server.features.debug import tree_digest

_clients: dict[str, InProcessClient] = {}
_uris = itertools.count()


def client_for(encoding: str) -> InProcessClient:
    """One initialized in-process server per position encoding, shared by every sequence."""
    if encoding not in _clients:
        client = InProcessClient()
        reply = client.initialize(encoding)
        assert reply["result"]["capabilities"]["positionEncoding"] == encoding
        _clients[encoding] = client
    return _clients[encoding]


class EditSequence(RuleBasedStateMachine):
    """A document under random edits; the reference is plain string slicing over hand-split LSP lines."""

    @initialize(encoding=st.sampled_from(ENCODINGS), pieces=st.lists(st.sampled_from(FRAGMENTS), max_size=16))
    def open_document(self, encoding, pieces):
        self.encoding, self.text, self.version = encoding, "".join(pieces), 1
        self.client = client_for(encoding)
        self.uri = f"file:///fuzz/{next(_uris)}.py"
        self.client.did_open(self.uri, self.text, self.version)

    @rule(data=st.data())
    def edit(self, data):
        draw = lambda lo, hi: data.draw(st.integers(lo, hi))  # noqa: E731
        changes, text = draw_changes(draw, self.text, self.encoding)
        self.version += 1
        self.client.did_change(self.uri, self.version, changes)
        self.text = text

    @precondition(lambda self: len(self.text) > 1)
    @rule(data=st.data())
    def reversed_range_is_ignored(self, data):
        """A change whose end is before its start is a client bug: the whole didChange is dropped."""
        draw = lambda lo, hi: data.draw(st.integers(lo, hi))  # noqa: E731
        a, b = draw_position(draw, self.text, self.encoding), draw_position(draw, self.text, self.encoding)
        if ref_offset(self.text, *a, self.encoding) < ref_offset(self.text, *b, self.encoding):
            a, b = b, a
        if ref_offset(self.text, *a, self.encoding) == ref_offset(self.text, *b, self.encoding):
            return
        change = {"range": {"start": {"line": a[0], "character": a[1]}, "end": {"line": b[0], "character": b[1]}},
                  "text": draw_text(draw)}
        self.client.did_change(self.uri, self.version + 1, [change])

    @invariant()
    def server_matches_reference(self):
        doc = self.client.server.store.get(self.uri)
        assert doc is not None
        assert doc.text == self.text
        assert doc.source_bytes == self.text.encode("utf-8", "surrogatepass")
        assert doc.version == self.version
        assert tree_digest(doc.tree) == fresh_digest(self.text)

    def teardown(self):
        self.client.did_close(self.uri)
        assert self.client.server.store.get(self.uri) is None


EditSequence.TestCase.settings = settings(
    max_examples=scaled(200, 5000), stateful_step_count=scaled(12, 25), deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
TestEditSequences = EditSequence.TestCase


def test_closing_every_fuzzed_document_leaves_no_state():
    for client in _clients.values():
        assert client.server.per_document_state() == {
            "documents": 0, "inflight": 0, "latest": 0, "edited": 0, "outlines": 0, "reuse": 0,
            "suggestion_ids": 0}
        assert not client.server.protocol._request_futures
        errors = [m for m in client.writer.messages if m.get("method") == "window/showMessage"]
        assert not errors, errors[:3]
