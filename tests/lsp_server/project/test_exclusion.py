"""Exclusion matching: inline.exclude globs against the path relative to its workspace folder, .quillignore files
through the walk's IgnoreRules (re-read when edited), and the language check."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from lsp_server.project.exclusion import (
    ACTIVE,
    EXCLUDED,
    LANGUAGE,
    MAX_GLOBS,
    ExclusionRules,
    document_status,
    glob_problem,
    relative_path,
)


def write(path: Path, text: str = "x = 1\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def status(path: Path, roots: list[Path], globs: list[str] = (), rules: ExclusionRules | None = None,
           language: str = "python"):
    return document_status(language, path.as_uri(), roots, list(globs), rules or ExclusionRules())


def test_a_python_document_no_rule_names_is_active(tmp_path):
    assert status(write(tmp_path / "src" / "app.py"), [tmp_path], ["tests/**"]) == ACTIVE


def test_an_anchored_glob_matches_from_the_workspace_folder_only(tmp_path):
    excluded = status(tmp_path / "tests" / "test_a.py", [tmp_path], ["tests/**"])
    assert not excluded.active and excluded.reason == EXCLUDED
    assert "tests/test_a.py" in excluded.detail and "'tests/**'" in excluded.detail
    assert status(tmp_path / "src" / "tests" / "test_a.py", [tmp_path], ["tests/**"]).active


def test_an_unanchored_glob_matches_at_any_depth_and_a_negation_re_includes(tmp_path):
    globs = ["*_pb2.py", "!keep_pb2.py"]
    assert status(tmp_path / "a" / "b" / "api_pb2.py", [tmp_path], globs).reason == EXCLUDED
    assert status(tmp_path / "a" / "keep_pb2.py", [tmp_path], globs).active


def test_a_folder_glob_excludes_everything_below_it(tmp_path):
    assert status(tmp_path / "pkg" / "generated" / "deep" / "m.py", [tmp_path], ["generated/"]).reason == EXCLUDED


def test_the_deepest_workspace_folder_holding_the_document_is_the_base(tmp_path):
    inner = tmp_path / "services" / "api"
    assert relative_path(inner / "tests" / "t.py", [tmp_path, inner]) == (inner, "tests/t.py")
    assert status(inner / "tests" / "t.py", [tmp_path, inner], ["/tests/"]).reason == EXCLUDED
    assert status(inner / "tests" / "t.py", [tmp_path], ["/tests/"]).active  # services/api/tests from the outer


def test_a_document_outside_every_workspace_folder_meets_only_unanchored_globs(tmp_path):
    lone = tmp_path / "elsewhere" / "tests" / "x_pb2.py"
    assert relative_path(lone, []) == (None, lone.as_posix().lstrip("/"))
    assert status(lone, [], ["tests/"]).reason == EXCLUDED  # a folder name without a leading slash: any depth
    assert status(lone, [], ["*_pb2.py"]).reason == EXCLUDED
    assert status(lone, [], ["/tests/**"]).active


def test_quillignore_excludes_like_gitignore_and_gitignore_alone_does_not(tmp_path):
    write(tmp_path / ".quillignore", "secrets/\n*.generated.py\n")
    write(tmp_path / ".gitignore", "scratch.py\n")
    assert status(tmp_path / "secrets" / "keys.py", [tmp_path]).reason == EXCLUDED
    found = status(tmp_path / "a" / "b.generated.py", [tmp_path])
    assert found.reason == EXCLUDED and ".quillignore" in found.detail
    assert status(tmp_path / "scratch.py", [tmp_path]).active  # .gitignore'd files still get suggestions


def test_a_nested_quillignore_applies_below_its_folder_and_can_re_include(tmp_path):
    write(tmp_path / ".quillignore", "*.py\n")
    write(tmp_path / "lib" / ".quillignore", "!*.py\nold_*.py\n")
    assert status(tmp_path / "top.py", [tmp_path]).reason == EXCLUDED
    assert status(tmp_path / "lib" / "core.py", [tmp_path]).active
    assert status(tmp_path / "lib" / "old_core.py", [tmp_path]).reason == EXCLUDED


def test_a_file_in_an_ignored_folder_stays_ignored_as_in_git(tmp_path):
    write(tmp_path / ".quillignore", "vendor/\n!vendor/mine.py\n")
    assert status(tmp_path / "vendor" / "mine.py", [tmp_path]).reason == EXCLUDED


def test_an_edited_or_deleted_quillignore_counts_from_the_next_check(tmp_path):
    rules, doc = ExclusionRules(), tmp_path / "pkg" / "m.py"
    assert status(doc, [tmp_path], rules=rules).active
    ignore = write(tmp_path / "pkg" / ".quillignore", "m.py\n")
    assert status(doc, [tmp_path], rules=rules).reason == EXCLUDED
    ignore.write_text("other.py\n# a longer file, so that size changes too\n", encoding="utf-8")
    assert status(doc, [tmp_path], rules=rules).active
    ignore.write_text("m.py\n", encoding="utf-8")
    os.utime(ignore, ns=(1, 1))  # even with an old timestamp: a new size or inode is a change
    assert status(doc, [tmp_path], rules=rules).reason == EXCLUDED
    ignore.unlink()
    assert status(doc, [tmp_path], rules=rules).active


def test_a_changed_glob_list_is_recompiled(tmp_path):
    rules, doc = ExclusionRules(), tmp_path / "a.py"
    assert status(doc, [tmp_path], ["a.py"], rules).reason == EXCLUDED
    assert status(doc, [tmp_path], ["b.py"], rules).active
    assert status(doc, [tmp_path], [], rules).active


@pytest.mark.parametrize("language", ["plaintext", "markdown", "cython", "Python", ""])
def test_a_document_in_another_language_is_inactive_whatever_its_name(tmp_path, language):
    found = status(tmp_path / "a.py", [tmp_path], language=language)
    assert not found.active and found.reason == LANGUAGE


def test_a_document_without_a_file_path_is_matched_by_language_only():
    rules = ExclusionRules()
    assert document_status("python", "untitled:Untitled-1", [], ["*"], rules) == ACTIVE
    assert document_status("json", "untitled:Untitled-1", [], [], rules).reason == LANGUAGE


def test_glob_problem_names_the_bad_glob_and_accepts_good_ones():
    assert glob_problem(["tests/**", "*_pb2.py", "!keep.py", "build/"]) is None
    assert "'!'" in glob_problem(["ok.py", "!"])
    assert "at most" in glob_problem(["x"] * (MAX_GLOBS + 1))
    assert "longer" in glob_problem(["a" * 2000])
