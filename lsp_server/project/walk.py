"""Which files of the workspace folders the project index may read, and reading them safely.

An editor can open any folder as a workspace folder: `/`, the home directory, a checkout with a virtualenv,
node_modules and symlinks into the rest of the disk. The index must stay small, finish fast and never read
what the user did not mean to share, so the walk never follows a symlink, prunes excluded folders (version
control, caches, virtualenvs by name or by `pyvenv.cfg`, build output) and `.gitignore`/`.quillignore`d ones
before entering them, and stops at caps on files and bytes (a small one for `/` or home), with one message
per cap. read_source refuses real paths outside the folder, anything but a regular file (a FIFO would block
the index thread), files over the size cap (checked on the open descriptor), binary and non-UTF-8 text.
"""
from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator
from urllib.parse import unquote, urlparse

import pathspec

EXCLUDED_DIRS: frozenset[str] = frozenset({
    ".git", ".hg", ".svn", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox", ".nox",
    ".venv", "venv", "env", ".env", "site-packages", "dist-packages", "node_modules", "build", "dist", ".eggs",
    ".idea", ".vscode",
})
EGG_INFO_SUFFIX = ".egg-info"  # foo.egg-info: a name check, the set cannot hold a pattern
VENV_MARKER = "pyvenv.cfg"  # a virtualenv by any name
IGNORE_FILES = (".gitignore", ".quillignore")  # read in this order: .quillignore can re-include with `!`
MAX_IGNORE_FILE_BYTES = 1_000_000


@dataclass(frozen=True)
class WalkLimits:
    max_file_bytes: int = 1_000_000  # larger files are generated tables or minified code more often than code
    max_files: int = 5_000  # per walk, all roots together
    max_total_bytes: int = 50_000_000
    broad_root_max_files: int = 500  # a folder that is /, the home directory or above it


@dataclass
class WalkResult:
    files: list[tuple[Path, Path]] = field(default_factory=list)  # (root, file): path order per root
    # reason -> entries: ignored (an ignore rule or an excluded folder, counted once), symlink, too_large,
    # unreadable (files and folders), capped (the .py files seen but not taken after a cap was hit)
    skipped: dict[str, int] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)

    def skip(self, reason: str, n: int = 1) -> None:
        if n:
            self.skipped[reason] = self.skipped.get(reason, 0) + n


def root_of(uri: str) -> Path | None:
    """The absolute path of a file:// URI (percent-decoded); None for other schemes, hosts or relative paths."""
    parsed = urlparse(uri)
    if parsed.scheme != "file" or parsed.netloc not in ("", "localhost"):
        return None
    path = unquote(parsed.path)
    if os.name == "nt" and re.match(r"/[A-Za-z]:", path):
        path = path[1:]  # file:///C:/src -> C:/src
    if "\0" in path or not os.path.isabs(path):
        return None  # a NUL would make every os call on it raise
    return Path(path)


def _read_regular(path: str, max_bytes: int) -> bytes | None:
    """The bytes of a regular file that is not a symlink, or None: never blocks on a FIFO or a device, never
    reads more than max_bytes + 1 bytes, and never reads a file swapped in after the check."""
    try:
        before = os.lstat(path)
        if not stat.S_ISREG(before.st_mode) or before.st_size > max_bytes:
            return None
        flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(path, flags)
    except (OSError, ValueError):
        return None
    try:
        opened = os.fstat(fd)
        if (not stat.S_ISREG(opened.st_mode) or (opened.st_dev, opened.st_ino) != (before.st_dev, before.st_ino)
                or opened.st_size > max_bytes):
            return None
        chunks, left = [], max_bytes + 1
        while left > 0 and (chunk := os.read(fd, min(left, 1 << 20))):
            chunks.append(chunk)
            left -= len(chunk)
    except OSError:
        return None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    return data if len(data) <= max_bytes else None  # it grew after the fstat


def read_source(root: Path, path: Path, max_bytes: int) -> str | None:
    """The text of a regular .py file whose real path is inside root's, or None (outside, not a regular file,
    larger than max_bytes, binary, not UTF-8, unreadable)."""
    if not str(path).endswith(".py"):
        return None
    try:
        real_root, real = os.path.realpath(root), os.path.realpath(path)
        if real == real_root or os.path.commonpath([real, real_root]) != real_root:
            return None  # a symlink (of the file or a folder above it) leads out of the workspace folder
    except (OSError, ValueError):
        return None
    data = _read_regular(real, max_bytes)
    if data is None or b"\0" in data:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def _parse_ignore(lines: list[str]) -> pathspec.GitIgnoreSpec | None:
    """The rules of ignore-file lines; a line pathspec cannot compile is dropped, not the whole file."""
    try:
        spec = pathspec.GitIgnoreSpec.from_lines(lines)
    except (ValueError, re.error):
        good = []
        for line in lines:
            try:
                pathspec.GitIgnoreSpec.from_lines([line])
            except (ValueError, re.error):
                continue
            good.append(line)
        spec = pathspec.GitIgnoreSpec.from_lines(good)
    return spec if len(spec) else None


class IgnoreRules:
    """The .gitignore and .quillignore rules (or only `files`) of one workspace folder, as git applies them: each
    file's rules apply below its own folder, and a deeper file's rules (a `!` re-include too) win over its parents'.

    A folder's files are read the first time a path below it is asked about (the walk asks about every entry,
    so this reads exactly the ignore files of the folders it enters) and kept; load a new IgnoreRules to see
    edited ignore files."""

    def __init__(self, root: Path, files: tuple[str, ...] = IGNORE_FILES) -> None:
        self.root = root
        self.files = files  # the ignore files read in each folder, in this order
        self._specs: dict[str, pathspec.GitIgnoreSpec | None] = {}  # folder relative to root ("": root)

    @classmethod
    def load(cls, root: Path, files: tuple[str, ...] = IGNORE_FILES) -> "IgnoreRules":
        rules = cls(root, files)
        rules._spec("")
        return rules

    def _spec(self, folder: str) -> pathspec.GitIgnoreSpec | None:
        if folder not in self._specs:
            lines: list[str] = []
            for name in self.files:
                data = _read_regular(os.path.join(self.root, folder, name), MAX_IGNORE_FILE_BYTES)
                if data is not None:
                    lines += data.decode("utf-8-sig", errors="replace").splitlines()
            self._specs[folder] = _parse_ignore(lines) if lines else None
        return self._specs[folder]

    def ignored(self, rel_path: str, is_dir: bool = False) -> bool:
        """Whether the rules ignore this root-relative path ("/"-separated). Folders above it are not checked:
        the walk never enters an ignored folder, and is_indexable checks them."""
        parts = [p for p in rel_path.split("/") if p]
        for depth in range(len(parts) - 1, -1, -1):  # the deepest folder's rules first
            spec = self._spec("/".join(parts[:depth]))
            if spec is not None:
                include = spec.check_file("/".join(parts[depth:]) + ("/" if is_dir else "")).include
                if include is not None:
                    return include
        return False


def _excluded_name(name: str) -> bool:
    return name in EXCLUDED_DIRS or name.endswith(EGG_INFO_SUFFIX)


def _broad_reason(real_root: str) -> str | None:
    """Why a folder is too broad to index whole (/, the home directory or above it), or None."""
    if os.path.dirname(real_root) == real_root:
        return "the file system root"
    try:
        home = os.path.realpath(Path.home())
    except (RuntimeError, KeyError):  # no HOME and no passwd entry
        return None
    if real_root == home:
        return "the home directory"
    return "above the home directory" if home.startswith(real_root.rstrip(os.sep) + os.sep) else None


class _Walk:
    """One walk_workspace call: the result, the budget left for all roots together, the unreadable folders."""

    def __init__(self, limits: WalkLimits) -> None:
        self.limits = limits
        self.result = WalkResult()
        self.files_left, self.bytes_left = limits.max_files, limits.max_total_bytes
        self.unreadable: list[str] = []

    def entries(self, folder: str) -> list[os.DirEntry]:
        try:
            with os.scandir(folder) as it:
                return sorted(it, key=lambda e: e.name)  # the same tree gives the same files, in path order
        except OSError:
            self.result.skip("unreadable")
            self.unreadable.append(folder)
            return []

    def classify(self, entry: os.DirEntry, rel: str, rules: IgnoreRules) -> tuple[str, int]:
        """("dir", 0), ("file", size), (a skip reason, 0), or ("", 0) for entries that are none of ours."""
        try:
            if entry.is_symlink():
                return ("symlink", 0) if entry.name.endswith(".py") or entry.is_dir() else ("", 0)
            if entry.is_dir(follow_symlinks=False):
                if (_excluded_name(entry.name) or os.path.isfile(os.path.join(entry.path, VENV_MARKER))
                        or rules.ignored(rel, is_dir=True)):
                    return "ignored", 0
                return "dir", 0
            if not entry.name.endswith(".py"):
                return "", 0
            info = entry.stat(follow_symlinks=False)
        except OSError:
            return "unreadable", 0
        if not stat.S_ISREG(info.st_mode):
            return "", 0  # a FIFO or a device named *.py
        if rules.ignored(rel):
            return "ignored", 0
        if info.st_size > self.limits.max_file_bytes:
            return "too_large", 0
        if not os.access(entry.path, os.R_OK):
            return "unreadable", 0
        return "file", info.st_size

    def root(self, root: Path, max_files: int, nested: set[str]) -> str | None:
        """Add root's files depth first in name order; nested: relative folders that are roots of their own.
        Returns the cap that stopped it ("files", "bytes") or None."""
        rules, taken = IgnoreRules.load(root), 0
        stack: list[tuple[str, Iterator[os.DirEntry]]] = [("", iter(self.entries(str(root))))]
        while stack:
            folder, entries = stack[-1]
            entry = next(entries, None)
            if entry is None:
                stack.pop()
                continue
            rel = f"{folder}/{entry.name}" if folder else entry.name
            kind, size = self.classify(entry, rel, rules)
            if kind == "dir":
                if rel not in nested:
                    stack.append((rel, iter(self.entries(entry.path))))
            elif kind == "file":
                cap = "files" if taken >= max_files else "bytes" if size > self.bytes_left else None
                if cap is not None:
                    # the .py files of this folder not taken; the unseen rest of the tree is not walked to count it
                    rest = sum(e.name.endswith(".py") and not e.is_symlink() for e in entries)
                    self.result.skip("capped", 1 + rest)
                    return cap
                taken, self.files_left, self.bytes_left = taken + 1, self.files_left - 1, self.bytes_left - size
                self.result.files.append((root, Path(entry.path)))
            elif kind:
                self.result.skip(kind)
        return None


def _distinct_roots(roots: list[Path], result: WalkResult) -> list[tuple[Path, str]]:
    """(absolute root, real path) of each existing folder, the first of any that resolve to the same one."""
    found: list[tuple[Path, str]] = []
    for root in roots:
        if not os.path.isdir(root):
            result.messages.append(f"workspace folder {root} does not exist or is not a folder: not indexed")
            continue
        real = os.path.realpath(root)
        if all(real != other for _, other in found):
            found.append((Path(os.path.abspath(root)), real))
    return found


def walk_workspace(roots: list[Path], limits: WalkLimits = WalkLimits()) -> WalkResult:
    """The indexable .py files of the workspace folders, roots in the given order, within the caps.

    A folder inside another workspace folder is walked once, as its own root (with its own ignore files)."""
    walk = _Walk(limits)
    result, distinct = walk.result, _distinct_roots(roots, walk.result)
    for root, real in distinct:
        nested = {os.path.relpath(other, real).replace(os.sep, "/") for _, other in distinct
                  if other.startswith(real.rstrip(os.sep) + os.sep)}
        max_files, reason = walk.files_left, _broad_reason(real)
        if reason is not None:
            max_files = min(max_files, limits.broad_root_max_files)
            result.messages.append(f"workspace folder {root} is {reason}: indexing at most "
                                   f"{limits.broad_root_max_files} files of it")
        cap = walk.root(root, max_files, nested)
        if cap == "files" and walk.files_left <= 0:
            result.messages.append(f"file cap reached: indexing the first {limits.max_files} Python files of the "
                                   f"workspace, the rest are left out")
            break
        if cap == "bytes":
            result.messages.append(f"size cap reached: indexing the first {limits.max_total_bytes / 1e6:g} MB "
                                   f"of Python files of the workspace, the rest are left out")
            break
    if walk.unreadable:
        result.messages.append(f"{len(walk.unreadable)} folders could not be read, e.g. {walk.unreadable[0]}")
    return result


def is_indexable(root: Path, path: Path, ignore: IgnoreRules | None = None) -> bool:
    """For file-watcher events, without a walk: path is a .py file below root, not a symlink, in no excluded,
    virtualenv or ignored folder, and not ignored itself. The file need not exist (a deletion)."""
    root, path = Path(os.path.abspath(root)), Path(os.path.abspath(path))
    if path.suffix != ".py" or root not in path.parents or os.path.islink(path):
        return False
    parts = path.relative_to(root).parts
    for depth in range(1, len(parts)):
        folder = root.joinpath(*parts[:depth])
        if _excluded_name(parts[depth - 1]) or os.path.islink(folder) or (folder / VENV_MARKER).is_file():
            return False
    rules = ignore if ignore is not None else IgnoreRules.load(root)
    if any(rules.ignored("/".join(parts[:depth]), is_dir=True) for depth in range(1, len(parts))):
        return False  # as in git, nothing below an ignored folder can be re-included
    return not rules.ignored("/".join(parts))
