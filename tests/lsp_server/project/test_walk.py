"""The workspace walk: never follows symlinks, prunes excluded and ignored folders, caps files and bytes, and
reads only regular UTF-8 files inside the workspace folder, without blocking."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from lsp_server.project.walk import (
    EXCLUDED_DIRS,
    IgnoreRules,
    WalkLimits,
    WalkResult,
    is_indexable,
    read_source,
    root_of,
    walk_workspace,
)

needs_non_root = pytest.mark.skipif(os.geteuid() == 0, reason="root reads files and folders whatever their mode")


def write(path: Path, text: str = "x = 1\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def rel_files(result: WalkResult, root: Path) -> list[str]:
    return [p.relative_to(root).as_posix() for r, p in result.files if r == root]


def test_walk_lists_python_files_in_path_order_and_the_same_every_time(tmp_path):
    for rel in ("b.py", "a/z.py", "a/b/c.py", "c.py", "notes.txt", "stub.pyi"):
        write(tmp_path / rel)
    result = walk_workspace([tmp_path])
    assert rel_files(result, tmp_path) == ["a/b/c.py", "a/z.py", "b.py", "c.py"]
    assert all(p.is_absolute() for _, p in result.files)
    assert walk_workspace([tmp_path]) == result and result.messages == []


def test_roots_come_in_the_given_order(tmp_path):
    first, second = write(tmp_path / "z" / "m.py").parent, write(tmp_path / "a" / "m.py").parent
    result = walk_workspace([first, second])
    assert [r for r, _ in result.files] == [first, second]


def test_symlinks_to_folders_and_files_outside_are_not_followed(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    write(root / "ok.py")
    secret = write(outside / "secret.py")
    (root / "etc").symlink_to("/etc", target_is_directory=True)
    (root / "out").symlink_to(outside, target_is_directory=True)
    (root / "secret.py").symlink_to(secret)
    (root / "inner.py").symlink_to(root / "ok.py")  # even a link that stays inside: the walk lists no link
    result = walk_workspace([root])
    assert rel_files(result, root) == ["ok.py"]
    assert result.skipped["symlink"] == 4


def test_read_source_refuses_a_path_whose_real_path_leaves_the_root(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    write(root / "ok.py", "ok = 1\n")
    write(outside / "secret.py", "secret = 1\n")
    (root / "secret.py").symlink_to(outside / "secret.py")
    (root / "out").symlink_to(outside, target_is_directory=True)
    assert read_source(root, root / "ok.py", 1000) == "ok = 1\n"
    assert read_source(root, root / "secret.py", 1000) is None
    assert read_source(root, root / "out" / "secret.py", 1000) is None  # through a linked folder
    assert read_source(root, root / ".." / "outside" / "secret.py", 1000) is None
    assert read_source(root, outside / "secret.py", 1000) is None


def test_a_2gb_sparse_file_is_skipped_as_too_large_without_reading_it(tmp_path):
    big = tmp_path / "table.py"
    with open(big, "wb") as f:
        f.truncate(2 * 1024**3)  # sparse: no disk used, and reading it would take seconds and 2 GB of memory
    write(tmp_path / "small.py")
    result = walk_workspace([tmp_path])
    assert rel_files(result, tmp_path) == ["small.py"] and result.skipped["too_large"] == 1
    assert read_source(tmp_path, big, 1_000_000) is None


def test_read_source_takes_files_up_to_max_bytes_only(tmp_path):
    path = write(tmp_path / "m.py", "a" * 100)
    assert read_source(tmp_path, path, 100) == "a" * 100
    assert read_source(tmp_path, path, 99) is None


def test_read_source_refuses_binary_and_undecodable_files_and_strips_a_bom(tmp_path):
    binary, latin, bom = tmp_path / "bin.py", tmp_path / "latin.py", tmp_path / "bom.py"
    binary.write_bytes(b"x = 1\n\x00\x01\x02")
    latin.write_bytes("name = 'café'\n".encode("latin-1"))
    bom.write_bytes("\ufeffx = 'é'\n".encode())
    assert read_source(tmp_path, binary, 1000) is None
    assert read_source(tmp_path, latin, 1000) is None
    assert read_source(tmp_path, bom, 1000) == "x = 'é'\n"


def test_read_source_reads_only_python_files(tmp_path):
    assert read_source(tmp_path, write(tmp_path / "notes.txt"), 1000) is None
    assert read_source(tmp_path, tmp_path / "missing.py", 1000) is None


def test_a_fifo_named_like_a_python_file_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "x.py"
    os.mkfifo(fifo)
    write(tmp_path / "ok.py")
    got: list[str | None] = []
    reader = threading.Thread(target=lambda: got.append(read_source(tmp_path, fifo, 1000)), daemon=True)
    reader.start()
    reader.join(timeout=5)
    if reader.is_alive():
        with open(fifo, "wb"):  # unblock the reader so the test run can end
            pass
        pytest.fail("read_source blocked on a FIFO")
    assert got == [None]
    assert rel_files(walk_workspace([tmp_path]), tmp_path) == ["ok.py"]


@needs_non_root
def test_an_unreadable_file_is_skipped_and_not_read(tmp_path):
    write(tmp_path / "a.py")
    locked = write(tmp_path / "locked.py")
    locked.chmod(0)
    try:
        result = walk_workspace([tmp_path])
        assert rel_files(result, tmp_path) == ["a.py"] and result.skipped["unreadable"] == 1
        assert read_source(tmp_path, locked, 1000) is None
    finally:
        locked.chmod(0o644)


@needs_non_root
def test_an_unreadable_folder_gives_one_message_and_the_walk_goes_on(tmp_path):
    write(tmp_path / "a.py")
    for name in ("locked1", "locked2"):
        write(tmp_path / name / "m.py").parent.chmod(0)
    try:
        result = walk_workspace([tmp_path])
        assert rel_files(result, tmp_path) == ["a.py"] and result.skipped["unreadable"] == 2
        assert len(result.messages) == 1 and str(tmp_path / "locked1") in result.messages[0]
    finally:
        for name in ("locked1", "locked2"):
            (tmp_path / name).chmod(0o755)


def test_gitignore_nested_gitignore_and_quillignore_are_respected(tmp_path):
    write(tmp_path / ".gitignore", "generated/\n*_pb2.py\n/top_only.py\n")
    write(tmp_path / ".quillignore", "tables.py\n")
    write(tmp_path / "pkg" / ".gitignore", "local.py\n!keep_pb2.py\n")
    for rel in ("main.py", "local.py", "tables.py", "top_only.py", "api_pb2.py", "generated/g.py",
                "pkg/local.py", "pkg/keep_pb2.py", "pkg/other_pb2.py", "pkg/top_only.py", "pkg/sub/local.py",
                "lib/local.py"):
        write(tmp_path / rel)
    result = walk_workspace([tmp_path])
    assert rel_files(result, tmp_path) == ["lib/local.py", "local.py", "main.py", "pkg/keep_pb2.py",
                                           "pkg/top_only.py"]
    assert result.skipped["ignored"] == 7  # the generated folder counts once


def test_ignore_rules_match_folders_only_with_a_trailing_slash_pattern(tmp_path):
    write(tmp_path / ".gitignore", "cache/\n")
    rules = IgnoreRules.load(tmp_path)
    assert rules.ignored("cache", is_dir=True) and rules.ignored("a/cache", is_dir=True)
    assert not rules.ignored("cache") and not rules.ignored("main.py")


def test_an_unparsable_ignore_line_drops_only_that_line(tmp_path):
    write(tmp_path / ".gitignore", "[z-a]\n!\nold.py\n")
    assert IgnoreRules.load(tmp_path).ignored("old.py")


def test_excluded_and_virtualenv_folders_are_pruned(tmp_path):
    for folder in (".venv", "node_modules", ".git", "__pycache__", "foo.egg-info", "build", "site-packages"):
        write(tmp_path / folder / "inside.py")
    write(tmp_path / "myenv" / "pyvenv.cfg", "home = /usr/bin\n")
    write(tmp_path / "myenv" / "lib" / "mod.py")
    write(tmp_path / "src" / "app.py")
    write(tmp_path / "builder.py")  # a file named like nothing excluded
    result = walk_workspace([tmp_path])
    assert rel_files(result, tmp_path) == ["builder.py", "src/app.py"]
    assert result.skipped["ignored"] == 8
    assert {".venv", "node_modules", "venv", "site-packages", ".git"} <= EXCLUDED_DIRS


def test_the_file_cap_holds_across_roots_with_one_message(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    for i in range(3):
        write(first / f"m{i}.py")
        write(second / f"m{i}.py")
    result = walk_workspace([first, second], WalkLimits(max_files=4))
    assert len(result.files) == 4 and [r for r, _ in result.files].count(second) == 1
    assert len(result.messages) == 1 and "file cap" in result.messages[0]
    assert result.skipped["capped"] == 2  # only what the walk saw before it stopped


def test_a_tree_over_the_default_cap_stops_at_5000_files(tmp_path):
    for d in range(60):
        folder = tmp_path / f"pkg{d:02d}"
        folder.mkdir()
        for i in range(100):
            (folder / f"m{i:03d}.py").write_bytes(b"x = 1\n")
    result = walk_workspace([tmp_path])
    assert len(result.files) == 5000 and len(result.messages) == 1
    assert result.files[-1][1] == tmp_path / "pkg49" / "m099.py"  # stopped there: pkg50 on were not walked
    assert result.skipped["capped"] == 100  # pkg50, where it stopped; the rest of the tree is not counted


def test_the_total_size_cap_stops_the_walk_with_one_message(tmp_path):
    for i in range(5):
        write(tmp_path / f"m{i}.py", "x" * 100)
    result = walk_workspace([tmp_path], WalkLimits(max_total_bytes=250))
    assert rel_files(result, tmp_path) == ["m0.py", "m1.py"]
    assert len(result.messages) == 1 and "size cap" in result.messages[0]


def test_the_home_directory_as_root_gets_the_small_cap_and_a_message(tmp_path, monkeypatch):
    monkeypatch.setattr(Path, "home", lambda: tmp_path)
    for i in range(20):
        write(tmp_path / f"m{i:02d}.py")
    result = walk_workspace([tmp_path], WalkLimits(broad_root_max_files=5))
    assert len(result.files) == 5
    assert result.messages == [f"workspace folder {tmp_path} is the home directory: indexing at most 5 files of it"]


def test_a_folder_above_the_home_directory_is_broad_but_a_project_in_it_is_not(tmp_path, monkeypatch):
    monkeypatch.setattr(Path, "home", lambda: tmp_path / "u")
    for i in range(10):
        write(tmp_path / "u" / "proj" / f"m{i}.py")
    limits = WalkLimits(broad_root_max_files=3)
    broad = walk_workspace([tmp_path], limits)
    assert len(broad.files) == 3 and "above the home directory" in broad.messages[0]
    assert len(walk_workspace([tmp_path / "u" / "proj"], limits).files) == 10


def test_a_missing_root_or_a_file_as_root_gives_a_message(tmp_path):
    write(tmp_path / "ok" / "m.py")
    result = walk_workspace([tmp_path / "missing", tmp_path / "ok" / "m.py", tmp_path / "ok"])
    assert rel_files(result, tmp_path / "ok") == ["m.py"]
    assert len(result.messages) == 2 and all("not indexed" in m for m in result.messages)


def test_nested_and_repeated_roots_are_walked_once(tmp_path):
    inner = write(tmp_path / "inner" / "i.py").parent
    write(tmp_path / "o.py")
    result = walk_workspace([tmp_path, inner, tmp_path])
    assert result.files == [(tmp_path, tmp_path / "o.py"), (inner, inner / "i.py")]


def test_is_indexable_decides_watcher_paths_like_the_walk(tmp_path):
    write(tmp_path / ".gitignore", "generated/\nscratch_*.py\n")
    write(tmp_path / "env1" / "pyvenv.cfg")
    (tmp_path / "link").symlink_to(tmp_path / "src", target_is_directory=True)
    rules = IgnoreRules.load(tmp_path)
    assert is_indexable(tmp_path, tmp_path / "src" / "app.py", rules)
    assert is_indexable(tmp_path, tmp_path / "deleted.py")  # need not exist
    for path in (tmp_path / "notes.txt", tmp_path / "stub.pyi", tmp_path.parent / "x.py", tmp_path / "generated" / "g.py",
                 tmp_path / "generated" / "deep" / "g.py", tmp_path / "scratch_1.py", tmp_path / ".venv" / "m.py",
                 tmp_path / "foo.egg-info" / "m.py", tmp_path / "env1" / "lib" / "m.py", tmp_path / "link" / "app.py"):
        assert not is_indexable(tmp_path, path, rules), path


def test_root_of_reads_file_uris_only(tmp_path):
    assert root_of("file:///home/me/my%20project") == Path("/home/me/my project")
    assert root_of("file://localhost/srv/caf%C3%A9") == Path("/srv/café")
    assert root_of(tmp_path.as_uri()) == tmp_path
    for uri in ("untitled:Untitled-1", "vscode-remote://ssh/home/me", "file://server/share/x", "file:relative/x",
                "file:///a%00b", "/home/me/project"):
        assert root_of(uri) is None, uri


def test_non_ascii_names_are_walked_ignored_and_read(tmp_path):
    write(tmp_path / ".gitignore", "brouillon_*.py\n")
    path = write(tmp_path / "données" / "café_ü.py", "nom = 'Zoë'\n")
    write(tmp_path / "données" / "brouillon_été.py")
    result = walk_workspace([tmp_path])
    assert result.files == [(tmp_path, path)]
    assert read_source(tmp_path, path, 1000) == "nom = 'Zoë'\n"
    assert is_indexable(tmp_path, path) and not is_indexable(tmp_path, tmp_path / "données" / "brouillon_été.py")
