"""The workspace's docstring summaries are read only for a docstring model that reads them (context-v1)."""
from __future__ import annotations

import pytest

from lsp_server.project import workspace as ws
from lsp_server.project.index import IndexLimits
from lsp_server.project.walk import WalkLimits
from lsp_server.project.workspace import WorkspaceIndex
from tests.lsp_server.project.test_workspace import drain, encode_words

SOURCE = 'def count_edges(graph):\n    """Return the number of edges in the graph."""\n    return len(graph.edges)\n'


@pytest.fixture(autouse=True)
def no_document_delay(monkeypatch):
    monkeypatch.setattr(ws, "DOCUMENT_DELAY_S", 0.0)


def summaries(index: WorkspaceIndex) -> list[str]:
    return [summary for summary, _, _ in index.doc_summaries.candidates(None)]


def test_summaries_are_kept_only_when_the_model_reads_them_and_follow_open_documents(tmp_path):
    (tmp_path / "graphs.py").write_text(SOURCE)
    other = tmp_path / "other.py"
    other.write_text("x = 1\n")
    plain = WorkspaceIndex(WalkLimits(), IndexLimits(max_order=2))
    plain.start([tmp_path], encode_words).result(timeout=30)
    plain.document_changed(other.as_uri(), SOURCE.replace("count_edges", "count_more"))
    drain(plain)
    assert len(plain.doc_summaries) == 0
    index = WorkspaceIndex(WalkLimits(), IndexLimits(max_order=2))
    index.with_doc_summaries = True
    index.start([tmp_path], encode_words).result(timeout=30)
    assert summaries(index) == ["Return the number of edges in the graph."]
    index.document_changed(other.as_uri(), SOURCE.replace("edges", "nodes"))
    drain(index)
    assert sorted(summaries(index)) == ["Return the number of edges in the graph.",
                                        "Return the number of nodes in the graph."]
    index.with_doc_summaries = False  # a bundle whose docstring model reads plain code: the next build drops them
    index.start([tmp_path], encode_words).result(timeout=30)
    assert len(index.doc_summaries) == 0
