"""Which open documents Quill leaves alone: non-Python ones, `inline.exclude` globs and `.quillignore` files.

Both rule sets use gitignore syntax and match the document's path relative to the workspace folder that holds
it (the deepest one, when folders nest); a document outside every workspace folder is matched by its absolute
path without the leading `/`, so only unanchored globs (`*_pb2.py`, `**/generated/**`) reach it, and no
`.quillignore` applies to it. `.quillignore` files are read with the workspace walk's IgnoreRules (one in any
folder, its rules below that folder, as git does); an edited one takes effect at the next request.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pathspec

from .walk import IgnoreRules, root_of

QUILLIGNORE = ".quillignore"
PYTHON = "python"
MAX_GLOBS, MAX_GLOB_CHARS = 1000, 1000  # a settings file is not a place for more

# Why a document is inactive (DocumentStatus.reason).
LANGUAGE, EXCLUDED, NOT_OPEN, DISABLED = "language", "excluded", "not_open", "disabled"


@dataclass(frozen=True)
class DocumentStatus:
    """Whether Quill answers for a document; when not, why (`reason`) and in words (`detail`)."""
    active: bool
    reason: str | None = None
    detail: str = ""

    def to_json(self) -> dict:
        return {"active": self.active, "reason": self.reason, "detail": self.detail}


ACTIVE = DocumentStatus(True)


def glob_problem(patterns: list[str]) -> str | None:
    """What is wrong with a list of exclude globs, or None."""
    if len(patterns) > MAX_GLOBS:
        return f"at most {MAX_GLOBS} globs, got {len(patterns)}"
    for pattern in patterns:
        if len(pattern) > MAX_GLOB_CHARS:
            return f"a glob longer than {MAX_GLOB_CHARS} characters: {pattern[:40]!r}..."
        try:
            pathspec.GitIgnoreSpec.from_lines([pattern])
        except (ValueError, re.error) as exc:
            return f"{pattern!r} is not a gitignore-style glob ({exc})"
    return None


def relative_path(path: Path, roots: list[Path]) -> tuple[Path | None, str]:
    """(the deepest root holding path, path relative to it, "/"-separated); (None, absolute path without its
    leading separator) for a path outside every root."""
    path = Path(os.path.abspath(path))
    holders = [Path(os.path.abspath(r)) for r in roots]
    holders = [r for r in holders if r in path.parents]
    if not holders:
        return None, path.as_posix().lstrip("/")
    root = max(holders, key=lambda r: len(r.parts))
    return root, path.relative_to(root).as_posix()


def _ignored(rules: IgnoreRules, rel: str) -> bool:
    """As git: a file in an ignored folder stays ignored whatever a `!` line says about the file."""
    parts = rel.split("/")
    if any(rules.ignored("/".join(parts[:depth]), is_dir=True) for depth in range(1, len(parts))):
        return True
    return rules.ignored(rel)


def _signature(path: str) -> tuple[int, int, int] | None:
    try:
        info = os.lstat(path)
    except (OSError, ValueError):
        return None
    return info.st_mtime_ns, info.st_size, info.st_ino


class ExclusionRules:
    """The compiled `inline.exclude` globs and each workspace folder's `.quillignore` rules, kept between
    requests and reloaded when a `.quillignore` on the document's path changed (a few lstat calls a request)."""

    def __init__(self) -> None:
        self._globs: tuple[tuple[str, ...], pathspec.GitIgnoreSpec | None] = ((), None)
        self._roots: dict[Path, tuple[IgnoreRules, dict[str, tuple | None]]] = {}

    def _spec(self, patterns: list[str]) -> pathspec.GitIgnoreSpec | None:
        key = tuple(patterns)
        if key != self._globs[0]:
            try:
                spec = pathspec.GitIgnoreSpec.from_lines(key) if key else None
            except (ValueError, re.error):  # config checks every glob (glob_problem); never fail a request
                spec = None
            self._globs = (key, spec)
        return self._globs[1]

    def _rules(self, root: Path, rel: str) -> IgnoreRules:
        """root's .quillignore rules, reloaded when an ignore file in a folder on rel's path changed."""
        parts = rel.split("/")[:-1]
        folders = ["/".join(parts[:depth]) for depth in range(len(parts) + 1)]
        signatures = {f: _signature(os.path.join(root, f, QUILLIGNORE)) for f in folders}
        rules, seen = self._roots.get(root, (None, {}))
        if rules is None or any(f in seen and seen[f] != sig for f, sig in signatures.items()):
            rules, seen = IgnoreRules(root, (QUILLIGNORE,)), {}
        seen.update(signatures)
        self._roots[root] = (rules, seen)
        return rules

    def excluded_by(self, path: Path, roots: list[Path], patterns: list[str]) -> str | None:
        """Why the file at path is excluded (the rule that matched, in words), or None."""
        root, rel = relative_path(path, roots)
        spec = self._spec(patterns)
        if spec is not None:
            match = spec.check_file(rel)
            if match.include:
                return f"{rel} matches inline.exclude glob {spec.patterns[match.index].pattern!r}"
        if root is not None and _ignored(self._rules(root, rel), rel):
            return f"{rel} is ignored by a {QUILLIGNORE} file of {root}"
        return None


def document_status(language_id: str, uri: str, roots: list[Path], patterns: list[str],
                    rules: ExclusionRules) -> DocumentStatus:
    """ACTIVE for a Python document no rule excludes; else the reason (language first)."""
    if language_id != PYTHON:
        return DocumentStatus(False, LANGUAGE, f"Quill completes Python only; this document is {language_id!r}")
    path = root_of(uri)
    if path is None:  # untitled:, or another scheme: no path to match
        return ACTIVE
    why = rules.excluded_by(path, roots, patterns)
    return ACTIVE if why is None else DocumentStatus(False, EXCLUDED, why)
