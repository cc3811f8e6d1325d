"""The workspace index: built off the event loop from disk, open documents win, saves and deletes apply."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from lsp_server.project import workspace as ws
from lsp_server.project.index import IndexLimits
from lsp_server.project.walk import WalkLimits
from lsp_server.project.workspace import WorkspaceIndex


def encode_words(texts):
    """A stand-in tokenizer: one id per whitespace-separated word (stable hash), recorded per thread."""
    encode_words.threads.add(threading.current_thread().name)
    return [[hash(w) % 100_000 for w in t.split()] for t in texts]


encode_words.threads = set()


def counts_after(index, *words):
    match = index.lookup([hash(w) % 100_000 for w in words])
    return {} if match is None else {int(i): float(c) for i, c in zip(match.ids, match.counts)}


@pytest.fixture(autouse=True)
def no_document_delay(monkeypatch):
    monkeypatch.setattr(ws, "DOCUMENT_DELAY_S", 0.0)


def build(root: Path, **walk) -> WorkspaceIndex:
    index = WorkspaceIndex(WalkLimits(**walk), IndexLimits(max_order=2))
    index.start([root], encode_words).result(timeout=30)
    return index


def drain(index: WorkspaceIndex) -> None:
    index.executor.submit(lambda: None).result(timeout=30)


def test_the_walk_indexes_python_files_in_the_index_thread(tmp_path):
    (tmp_path / "a.py").write_text("alpha beta gamma\n")
    (tmp_path / "notes.txt").write_text("alpha beta delta\n")
    index = build(tmp_path)
    assert index.state == "ready" and index.stats()["files"] == 1
    assert counts_after(index.index, "alpha", "beta") == {hash("gamma") % 100_000: 1.0}
    assert encode_words.threads and all(name.startswith("quill-index") for name in encode_words.threads)


def test_an_open_document_wins_over_the_disk_and_closing_restores_the_disk(tmp_path):
    path = tmp_path / "a.py"
    path.write_text("alpha beta gamma\n")
    index = build(tmp_path)
    index.document_changed(path.as_uri(), "alpha beta omega")
    drain(index)
    assert counts_after(index.index, "alpha", "beta") == {hash("omega") % 100_000: 1.0}
    index.files_changed([path.as_uri()])  # a save while open: the open text stays
    drain(index)
    assert counts_after(index.index, "alpha", "beta") == {hash("omega") % 100_000: 1.0}
    index.document_closed(path.as_uri())
    drain(index)
    assert counts_after(index.index, "alpha", "beta") == {hash("gamma") % 100_000: 1.0}


def test_changed_and_deleted_files_follow_the_disk(tmp_path):
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("one two three\n")
    b.write_text("one two four\n")
    index = build(tmp_path)
    a.write_text("one two five\n")
    index.files_changed([a.as_uri()])
    b.unlink()
    index.files_deleted([b.as_uri()])
    drain(index)
    assert counts_after(index.index, "one", "two") == {hash("five") % 100_000: 1.0}
    assert index.stats()["files"] == 1


def test_files_outside_the_folders_or_ignored_are_never_read(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "secret.py").write_text("secret words here\n")
    (root / "link.py").symlink_to(outside / "secret.py")
    (root / "linkdir").symlink_to(outside, target_is_directory=True)
    (root / ".gitignore").write_text("generated/\n")
    (root / "generated").mkdir()
    (root / "generated" / "g.py").write_text("secret words there\n")
    (root / "ok.py").write_text("plain words\n")
    index = build(root)
    assert index.stats()["files"] == 1
    index.files_changed([(outside / "secret.py").as_uri(), (root / "link.py").as_uri(),
                         (root / "generated" / "g.py").as_uri()])
    index.document_changed((outside / "secret.py").as_uri(), "secret words again")
    drain(index)
    assert index.stats()["files"] == 1 and counts_after(index.index, "secret", "words") == {}


def test_a_huge_tree_is_capped_with_a_message(tmp_path):
    for i in range(60):
        (tmp_path / f"m{i:03d}.py").write_text(f"x = {i}\n")
    index = build(tmp_path, max_files=25)
    assert index.stats()["files"] == 25
    assert any("cap" in m for m in index.stats()["messages"])


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_file_is_skipped(tmp_path):
    (tmp_path / "a.py").write_text("alpha beta\n")
    locked = tmp_path / "locked.py"
    locked.write_text("alpha gamma\n")
    locked.chmod(0)
    assert build(tmp_path).stats()["files"] == 1


def test_a_newer_start_replaces_an_older_walk(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    (first / "a.py").write_text("from first\n")
    (second / "b.py").write_text("from second\n")
    index = WorkspaceIndex(WalkLimits(), IndexLimits(max_order=2))
    index.start([first], encode_words)
    index.start([second], encode_words).result(timeout=30)
    assert index.roots == [second] and index.index.keys() == {str(second / "b.py")}


def test_a_document_opened_before_the_walk_is_indexed_with_its_editor_text(tmp_path):
    path = tmp_path / "a.py"
    path.write_text("alpha beta gamma\n")
    index = WorkspaceIndex(WalkLimits(), IndexLimits(max_order=2))
    index.document_changed(path.as_uri(), "alpha beta unsaved")  # before any folder is known
    index.start([tmp_path], encode_words).result(timeout=30)
    drain(index)
    assert counts_after(index.index, "alpha", "beta") == {hash("unsaved") % 100_000: 1.0}
    index.start([tmp_path], encode_words).result(timeout=30)  # a rebuild (folders changed) keeps it
    assert counts_after(index.index, "alpha", "beta") == {hash("unsaved") % 100_000: 1.0}


def test_a_thousand_watcher_events_leave_the_index_equal_to_one_built_from_the_disk(tmp_path):
    import random
    rng = random.Random(0)
    paths = [tmp_path / f"f{i}.py" for i in range(20)]
    for path in paths:
        path.write_text("alpha beta\n")
    index = build(tmp_path)
    for _ in range(1000):
        path = rng.choice(paths)
        if rng.random() < 0.2 and path.exists():
            path.unlink()
            index.files_deleted([path.as_uri()])
        else:
            path.write_text(" ".join(rng.choice(["alpha", "beta", "gamma", "delta"]) for _ in range(6)) + "\n")
            index.files_changed([path.as_uri()])
    drain(index)
    fresh = build(tmp_path)
    assert index.index.keys() == fresh.index.keys()
    for context in (("alpha",), ("beta", "gamma"), ("delta", "alpha"), ("gamma", "gamma")):
        assert counts_after(index.index, *context) == counts_after(fresh.index, *context)
