"""The workspace's snippet windows (inline.snippets on) follow the disk and the open documents like the index."""
from __future__ import annotations

from pathlib import Path

import pytest

from lsp_server.project import workspace as ws
from lsp_server.project.index import IndexLimits
from lsp_server.project.walk import WalkLimits
from lsp_server.project.workspace import WorkspaceIndex
from tests.lsp_server.project.test_workspace import drain, encode_words

QUERY = "conn = open_frobnicated_pool(settings)\nconn.drain_frobnicated_queue()\n"


@pytest.fixture(autouse=True)
def no_document_delay(monkeypatch):
    monkeypatch.setattr(ws, "DOCUMENT_DELAY_S", 0.0)


def keys_found(index: WorkspaceIndex) -> list[str]:
    return [Path(s.key).name for s in index.snippets.retrieve(QUERY, exclude=None, k=4)]


def test_snippet_windows_are_built_only_when_asked_and_follow_edits_saves_and_deletes(tmp_path):
    a, b = tmp_path / "pool.py", tmp_path / "other.py"
    a.write_text("def setup(settings):\n    conn = open_frobnicated_pool(settings)\n    return conn\n")
    b.write_text("x = 1\n")
    plain = WorkspaceIndex(WalkLimits(), IndexLimits(max_order=2))
    plain.start([tmp_path], encode_words).result(timeout=30)
    assert plain.snippets is None and plain.stats()["snippet_windows"] == 0
    index = WorkspaceIndex(WalkLimits(), IndexLimits(max_order=2))
    index.with_snippets = True
    index.start([tmp_path], encode_words).result(timeout=30)
    assert keys_found(index) == ["pool.py"] and index.stats()["snippet_windows"] > 0
    index.document_changed(b.as_uri(), "def flush(conn):\n    conn.drain_frobnicated_queue()\n")
    drain(index)
    assert sorted(keys_found(index)) == ["other.py", "pool.py"]
    a.unlink()
    index.files_deleted([a.as_uri()])
    drain(index)
    assert keys_found(index) == ["other.py"]
