"""Which files of the workspace folders the project index may read, and reading them safely.

Confinement: a walk never follows a symlink (file or folder), and read_source refuses any path whose real
path leaves its workspace folder, anything but a regular file (a FIFO would block), files over the size cap
(checked on the open descriptor), binary and undecodable files. Exclusions: version-control and cache
folders, virtualenvs (by name or by their pyvenv.cfg), site-packages, node_modules, build output, and the
folder's .gitignore/.quillignore rules (pathspec.GitIgnoreSpec, nested files applying below their folder).
Caps: files, total bytes, and a small cap for a folder that is `/` or the home directory.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

import pathspec

EXCLUDED_DIRS = frozenset({
    ".git", ".hg", ".svn", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox", ".nox",
    ".venv", "venv", "env", ".env", "site-packages", "dist-packages", "node_modules", "build", "dist", ".eggs",
    ".idea", ".vscode", ".cache",
})
IGNORE_FILES = (".gitignore", ".quillignore")


@dataclass(frozen=True)
class WalkLimits:
    max_file_bytes: int = 1_000_000      # larger files are generated tables or minified more often than code
    max_files: int = 5_000
    max_total_bytes: int = 50_000_000
    broad_root_max_files: int = 500      # a folder that is / or the home directory (or above it)


@dataclass
class WalkResult:
    files: list[tuple[Path, Path]] = field(default_factory=list)  # (root, file), sorted within each root
    skipped: dict[str, int] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)

    def skip(self, reason: str, n: int = 1) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + n


def root_of(uri: str) -> Path | None:
    """The absolute path of a file:// URI (percent-decoded); None for other schemes or relative paths."""
    parsed = urlparse(uri)
    if parsed.scheme != "file" or parsed.netloc not in ("", "localhost"):
        return None
    path = Path(unquote(parsed.path))
    return path if path.is_absolute() else None


class IgnoreRules:
    """The .gitignore and .quillignore rules of one workspace folder, each file applying below its folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.specs: dict[str, pathspec.GitIgnoreSpec] = {}  # folder relative to root ("" for root) -> rules

    @classmethod
    def load(cls, root: Path) -> "IgnoreRules":
        rules = cls(root)
        rules.add_folder(root)
        return rules

    def add_folder(self, folder: Path) -> None:
        """Read the ignore files of one folder (the walk calls this as it enters each folder)."""
        lines: list[str] = []
        for name in IGNORE_FILES:
            path = folder / name
            try:
                if path.is_file() and not path.is_symlink() and path.stat().st_size < 1_000_000:
                    lines += path.read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                continue
        if lines:
            rel = folder.relative_to(self.root).as_posix()
            self.specs["" if rel == "." else rel] = pathspec.GitIgnoreSpec.from_lines(lines)

    def ignored(self, rel_path: str, is_dir: bool = False) -> bool:
        """Whether a root-relative path is ignored by the rules of any folder above it."""
        for folder, spec in self.specs.items():
            if folder and not rel_path.startswith(folder + "/"):
                continue
            sub = rel_path[len(folder) + 1:] if folder else rel_path
            if spec.match_file(sub + "/" if is_dir else sub):
                return True
        return False


def _excluded_dir(entry: os.DirEntry) -> bool:
    name = entry.name
    if name in EXCLUDED_DIRS or name.endswith(".egg-info"):
        return True
    return os.path.exists(os.path.join(entry.path, "pyvenv.cfg"))  # a virtualenv by any name


def _is_broad(root: Path) -> bool:
    real, home = Path(os.path.realpath(root)), Path(os.path.realpath(Path.home()))
    return real == Path("/") or real == home or real in home.parents


def _walk_root(root: Path, limits: WalkLimits, result: WalkResult, budget: list[int]) -> None:
    """Add the .py files of one folder to result; budget = [files left, bytes left] (shared by all roots)."""
    rules = IgnoreRules(root)
    stack = [root]
    unreadable: list[str] = []
    while stack:
        folder = stack.pop()
        rules.add_folder(folder)
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            unreadable.append(str(folder))
            result.skip("unreadable")
            continue
        subdirs = []
        for entry in entries:
            rel = Path(entry.path).relative_to(root).as_posix()
            if entry.is_symlink():
                result.skip("symlink")
            elif entry.is_dir(follow_symlinks=False):
                if _excluded_dir(entry) or rules.ignored(rel, is_dir=True):
                    result.skip("ignored")
                else:
                    subdirs.append(Path(entry.path))
            elif entry.name.endswith(".py") and entry.is_file(follow_symlinks=False):
                if rules.ignored(rel):
                    result.skip("ignored")
                    continue
                size = entry.stat(follow_symlinks=False).st_size
                if size > limits.max_file_bytes:
                    result.skip("too_large")
                    continue
                if budget[0] <= 0 or budget[1] < size:
                    result.skip("capped")
                    which = "files" if budget[0] <= 0 else "bytes"
                    result.messages.append(f"the workspace has more Python files than the index reads ({which} cap "
                                           f"reached in {root}); the rest are left out")
                    return
                budget[0] -= 1
                budget[1] -= size
                result.files.append((root, Path(entry.path)))
        stack.extend(reversed(subdirs))  # depth first, in name order
    if unreadable:
        result.messages.append(f"{len(unreadable)} folders could not be read, e.g. {unreadable[0]}")


def walk_workspace(roots: list[Path], limits: WalkLimits = WalkLimits()) -> WalkResult:
    """The indexable .py files of the workspace folders, in a deterministic order, within the caps."""
    result = WalkResult()
    budget = [limits.max_files, limits.max_total_bytes]
    for root in roots:
        if not root.is_dir():
            result.messages.append(f"workspace folder {root} is not a folder; not indexed")
            continue
        saved = None
        if _is_broad(root):
            saved = budget[0]
            budget[0] = min(budget[0], limits.broad_root_max_files)
            result.messages.append(f"workspace folder {root} is / or the home directory: indexing at most "
                                   f"{budget[0]} of its files")
        before = len(result.files)
        _walk_root(root, limits, result, budget)
        if saved is not None:
            budget[0] = saved - (len(result.files) - before)
    return result


def is_indexable(root: Path, path: Path, rules: IgnoreRules | None = None) -> bool:
    """For watcher events: a .py file below root, in no excluded or ignored folder."""
    if path.suffix != ".py" or root not in path.parents:
        return False
    parts = path.relative_to(root).parts
    if any(p in EXCLUDED_DIRS or p.endswith(".egg-info") for p in parts[:-1]):
        return False
    rules = rules or IgnoreRules.load(root)
    rel = "/".join(parts)
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts))]
    return not any(rules.ignored(p, is_dir=True) for p in prefixes) and not rules.ignored(rel)


def read_source(root: Path, path: Path, max_bytes: int) -> str | None:
    """The text of a regular file confined to root, or None (outside, not regular, too large, binary,
    undecodable, unreadable). Never blocks on a FIFO, never reads more than max_bytes + 1 bytes."""
    try:
        real, real_root = os.path.realpath(path), os.path.realpath(root)
        if os.path.commonpath([real, real_root]) != real_root:
            return None
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except (OSError, ValueError):
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes:
            return None
        with os.fdopen(fd, "rb", closefd=True) as f:
            fd = -1
            data = f.read(max_bytes + 1)
    except OSError:
        return None
    finally:
        if fd >= 0:
            os.close(fd)
    if len(data) > max_bytes or b"\0" in data:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
