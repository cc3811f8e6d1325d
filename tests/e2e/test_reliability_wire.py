"""Edit fuzzing over stdio: random incremental edits through pytest-lsp, checked with a test hook.

The server runs with `--test-hooks`, whose `quill.debug.documentText` command returns its text, version and
a digest of its tree-sitter tree; after every didChange they must equal the reference model's text and a
fresh parse. Fewer sequences than the in-process fuzzer (tests/lsp_server/server/test_reliability_edits.py), in
each of the three position encodings; QUILL_LONG=1 runs more.
"""
from __future__ import annotations

import random

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient
from reliability_support import ENCODINGS, draw_changes, draw_text, fresh_digest, scaled

from .reliability_client import (
    HOOKED,
    change_document,
    document_text,
    open_document,
    start,
    state,
)

pytestmark = pytest.mark.e2e
SEQUENCES, STEPS = scaled(4, 60), scaled(10, 25)


@pytest_lsp.fixture(config=HOOKED)
async def client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


@pytest.mark.parametrize("encoding", ENCODINGS)
async def test_random_edits_over_stdio_match_the_reference_and_a_fresh_parse(client: LanguageClient, encoding):
    await start(client, encoding)
    rng = random.Random(f"wire-{encoding}")
    draw = rng.randint
    for sequence in range(SEQUENCES):
        uri, text = f"file:///wire/{encoding}/{sequence}.py", draw_text(draw, 16)
        open_document(client, uri, text)
        for version in range(2, STEPS + 2):
            changes, text = draw_changes(draw, text, encoding)
            change_document(client, uri, version, changes)
            served = await document_text(client, uri)
            assert served["text"] == text, (changes, served["text"], text)
            assert served["version"] == version
            assert served["tree"] == fresh_digest(text), text
        client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri)))
        assert await document_text(client, uri) is None
    after = await state(client)
    assert (after["documents"], after["edited"], after["outlines"], after["request_futures"]) == (0, 0, 0, 0)
