"""The table of documented parameters (lsp_server/project/param_docs.py) and how the workspace index keeps it.

tests/data/param_project: `seq` is documented in seqtools/sorting.py ("The items to work on, in any order."
and, in head(), the filler "The seq."), used undocumented in seqtools/search.py, and documented with other
words in another folder (legacy/merging.py, Sphinx and NumPy styles).
"""
from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from lsp_server.project import workspace as ws
from lsp_server.project.index import IndexLimits
from lsp_server.project.param_docs import ParamDocs, distance, file_docs
from lsp_server.project.workspace import WorkspaceIndex

PROJECT = Path(__file__).parents[2] / "data" / "param_project"
SORTING, SEARCH, MERGING = "seqtools/sorting.py", "seqtools/search.py", "legacy/merging.py"


def table(root: Path = PROJECT) -> ParamDocs:
    docs = ParamDocs()
    for path in sorted(root.rglob("*.py")):
        docs.update(path.relative_to(root).as_posix(), path.read_text())
    return docs


def test_file_docs_reads_google_numpy_and_sphinx_parameters_and_returns():
    assert file_docs((PROJECT / SORTING).read_text()) == {
        "param:seq": Counter({"The items to work on, in any order.": 1, "The seq.": 1}),
        "param:key": Counter({"A function of one item that gives its sort key.": 1}),
        "param:n": Counter({"How many items to take.": 1}),
        "returns:sort_items": Counter({"A new sorted list.": 1}),
        "summary:sort_items": Counter({"Sort the items by key.": 1}), "summary:head": Counter({"The first items.": 1})}
    legacy = file_docs((PROJECT / MERGING).read_text())
    assert legacy["param:seq"] == Counter({"A list of lists.": 2})  # merge (Sphinx) and count (NumPy)
    assert legacy["returns:merge"] == Counter({"the merged list": 1})
    assert legacy["summary:merge"] == Counter({"Merge two sequences.": 1})


def test_a_summary_is_kept_under_the_training_pairs_rules_only():
    def summaries(doc: str) -> dict:
        docs = file_docs(f'def load(path):\n    {doc}\n    return open(path)\n')
        return {k: v for k, v in docs.items() if k.startswith("summary:")}

    assert summaries('"""Open the file at path for reading.\n\n    More words.\n    """') == {
        "summary:load": Counter({"Open the file at path for reading.": 1})}
    assert summaries("'Open the file at path for reading.'") == {}  # no triple quote nor section: not parsed
    for dropped in ('"""Load."""', '"""See :func:`open`."""', '"""TODO: write a docstring."""', '""">>> load(p)"""'):
        assert summaries(dropped) == {}, dropped


def test_a_file_without_any_section_marker_is_not_parsed():
    assert file_docs('def f(seq):\n    """Only prose."""\n') == {}


def test_the_nearest_module_comes_first_then_the_most_frequent_wording():
    docs = table()
    # search.py's folder (seqtools) before legacy/, although legacy/ says "A list of lists." twice.
    assert docs.candidates("param:seq", SEARCH) == ["The seq.", "The items to work on, in any order.",
                                                    "A list of lists."]
    assert docs.candidates("param:seq", "elsewhere/x.py") == ["A list of lists.", "The seq.",
                                                              "The items to work on, in any order."]
    assert distance(SORTING, SORTING) == 0 < distance(SORTING, SEARCH) < distance(SORTING, MERGING)


def test_the_requesting_file_is_replaced_by_its_text_as_the_request_sees_it():
    docs = table()
    assert "The seq." in docs.candidates("param:seq", SORTING)
    fresh = file_docs('def f(seq):\n    """F.\n\n    Args:\n        seq: Fresh words.\n    """\n')
    assert docs.candidates("param:seq", SORTING, fresh)[0] == "Fresh words."
    assert "The seq." not in docs.candidates("param:seq", SORTING, {})


def test_remove_and_clear_forget_files():
    docs = table()
    docs.remove(MERGING)
    assert "A list of lists." not in docs.candidates("param:seq", SEARCH)
    docs.clear(keep={SORTING})
    assert len(docs) == 1 and docs.candidates("param:key", None) == ["A function of one item that gives its sort key."]


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    monkeypatch.setattr(ws, "DOCUMENT_DELAY_S", 0.0)
    shutil.copytree(PROJECT, tmp_path / "p")
    return tmp_path / "p"


def drain(index: WorkspaceIndex) -> None:
    index.executor.submit(lambda: None).result(timeout=30)


def test_the_workspace_index_keeps_the_table_beside_its_files(project, tmp_path):
    index = WorkspaceIndex(index_limits=IndexLimits(max_order=2))
    index.start([project], lambda texts: [[1] * len(t.split()) for t in texts]).result(timeout=30)
    search = str(project / SEARCH)
    assert "The items to work on, in any order." in index.param_docs.candidates("param:seq", search)
    sorting = project / SORTING
    index.document_changed(sorting.as_uri(), "def f(seq):\n    pass\n")  # an open document wins over the disk
    drain(index)
    assert index.param_docs.candidates("param:seq", search) == ["A list of lists."]
    index.document_closed(sorting.as_uri())  # the disk again
    drain(index)
    assert "The seq." in index.param_docs.candidates("param:seq", search)
    outside = tmp_path / "scratch.py"  # an open document outside the folders counts while it is open
    text = 'def g(zz):\n    """G.\n\n    Args:\n        zz: Outside words.\n    """\n'
    index.document_changed(outside.as_uri(), text)
    drain(index)
    assert index.param_docs.candidates("param:zz", search) == ["Outside words."]
    index.document_closed(outside.as_uri())
    drain(index)
    assert index.param_docs.candidates("param:zz", search) == []
    index.files_deleted([(project / MERGING).as_uri()])
    drain(index)
    assert "A list of lists." not in index.param_docs.candidates("param:seq", search)
    index.shutdown()
