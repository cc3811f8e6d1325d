"""Project context for `quill eval`: each top-level folder of the corpus is one project.

When a file is scored, the project index holds the project's files as read from disk and the scored file is
excluded from it (ProjectIndex lookups with `exclude`), so only its own text before the cut can help (the
dynamic cache, mixing.LocalText). Files at the corpus's top level form one project, ".".
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

from lsp_server.project.index import IndexLimits, ProjectIndex
from lsp_server.project.mixing import MixRule, ProjectContext
from lsp_server.project.snippets import SnippetIndex
from lsp_server.runtime.engine import Engine
from quill.evaluation.samples import MAX_FILE_BYTES, SourceFile, python_files

TOP_LEVEL = "."
# The eval indexes whole projects (sqlalchemy is ~2.5M tokens): well above the server's default cap.
EVAL_MAX_TOKENS = 8_000_000


def project_of(rel: str) -> str:
    """The project a corpus-relative path belongs to: its first folder, or "." for a top-level file."""
    head, sep, _ = rel.partition("/")
    return head if sep else TOP_LEVEL


def _read(path: Path) -> str | None:
    try:
        data = path.read_bytes()
        return data.decode("utf-8") if len(data) <= MAX_FILE_BYTES and b"\0" not in data else None
    except (OSError, UnicodeDecodeError):
        return None


def project_texts(root: Path) -> dict[str, list[tuple[str, str]]]:
    """Every readable file of each project, (SourceFile.uri, text), keyed by project name."""
    texts: dict[str, list[tuple[str, str]]] = {}
    for path in python_files(root):
        text = _read(path)
        if text is not None:
            rel = path.relative_to(root).as_posix()
            texts.setdefault(project_of(rel), []).append((SourceFile(rel, "").uri, text))
    return texts


def project_indexes(root: Path, engine: Engine, max_order: int = 4,
                    texts: dict[str, list[tuple[str, str]]] | None = None) -> dict[str, ProjectIndex]:
    """One ProjectIndex per project of the corpus, keyed by project name; each holds all its readable files
    under the same keys as SourceFile.uri, so that a scored file can be excluded by its uri."""
    started = time.monotonic()
    texts = project_texts(root) if texts is None else texts
    indexes = {}
    for name, items in texts.items():
        index = ProjectIndex(engine.encode_batch, IndexLimits(max_order=max_order, max_tokens=EVAL_MAX_TOKENS))
        index.update(items)
        indexes[name] = index
    tokens = sum(i.stats.tokens for i in indexes.values())
    print(f"quill eval: project context: {len(indexes)} projects, {tokens} tokens indexed in "
          f"{time.monotonic() - started:.1f}s", file=sys.stderr, flush=True)
    return indexes


@dataclass(frozen=True)
class ProjectSetup:
    """The corpus's project indexes and the mixing rule the server would use."""
    indexes: dict[str, ProjectIndex]
    rule: MixRule = MixRule()
    snippets: dict[str, SnippetIndex] | None = None  # built when the settings put snippets in the prompt

    @classmethod
    def build(cls, root: Path, engine: Engine, rule: MixRule = MixRule(), snippets: bool = False) -> "ProjectSetup":
        texts = project_texts(root)
        windows = None
        if snippets:
            windows = {name: SnippetIndex() for name in texts}
            for name, items in texts.items():
                windows[name].update(items)
        return cls(project_indexes(root, engine, rule.max_order, texts), rule, windows)

    def index_for(self, source: SourceFile) -> ProjectIndex | None:
        return self.indexes.get(project_of(source.rel))

    def context_for(self, source: SourceFile, known_text: str, encode) -> ProjectContext:
        """The project context of a request in `source` whose file text before the cursor is known_text."""
        snippets = self.snippets.get(project_of(source.rel)) if self.snippets is not None else None
        return ProjectContext(self.index_for(source), self.rule, encode(known_text), source.uri, snippets)
