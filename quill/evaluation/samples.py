"""What `quill eval` measures on: the folder's files, the eval-overlap guard, and seeded samples.

Every random choice comes from random.Random(f"{seed}:{stage}"), one stream per stage, so that changing
one stage's cap leaves the other stages' samples as they were.
"""
from __future__ import annotations

import random
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from lsp_server.assists.stubs import is_stub
from lsp_server.bundle_format import CORPUS_HASHES, content_hash, read_corpus_hashes
from lsp_server.errors import QuillError
from lsp_server.runtime.bundles import Bundle
from lsp_server.syntax.definitions import DefinitionInfo, definition_info
from lsp_server.syntax.documents import Document, parse
from lsp_server.syntax.limits import error_count
from lsp_server.syntax.queries import captures
from quill.evaluation.metrics import docstring_value, first_sentence

MAX_FILE_BYTES = 300_000   # larger files are generated tables more often than code anyone types
MAX_LINE_CHARS = 400       # line cuts stay off minified or data lines


class EvalError(QuillError):
    """`quill eval` cannot run as asked (no such folder, no usable files, no docstring model...)."""


class EvalOverlap(EvalError):
    """The folder holds files the bundle was trained on: its numbers would measure memorization."""


@dataclass(frozen=True)
class SourceFile:
    """One usable file of the folder: its path relative to the folder and its text."""
    rel: str
    text: str

    @property
    def uri(self) -> str:
        return f"file:///eval/{self.rel}"


@dataclass
class FileSelection:
    """The files chosen for evaluation and why the others that were looked at were left out."""
    files: list[SourceFile]
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def n_skipped(self) -> int:
        return sum(self.skipped.values())


def python_files(root: Path) -> list[Path]:
    """Every regular .py file under root, sorted (links are not followed)."""
    if not root.is_dir():
        raise EvalError(f"{root} is not a folder; give --corpus a folder of Python files")
    paths = sorted(p for p in root.rglob("*.py") if p.is_file() and not p.is_symlink())
    if not paths:
        raise EvalError(f"{root} holds no .py files")
    return paths


def read_source(path: Path) -> tuple[str | None, str]:
    """(text, '') of a usable file, or (None, why it is skipped): huge, not_utf8, empty, unparsable."""
    try:
        data = path.read_bytes()
    except OSError:
        return None, "unreadable"
    if len(data) > MAX_FILE_BYTES:
        return None, "huge"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None, "not_utf8"
    if not text.strip():
        return None, "empty"
    tree = parse(data)
    if tree is None or error_count(tree.root_node):
        return None, "unparsable"
    return text, ""


def select_files(root: Path, paths: list[Path], max_files: int, seed: int) -> FileSelection:
    """Up to max_files usable files in seeded random order; counts the skipped ones by reason."""
    order = list(paths)
    random.Random(f"{seed}:files").shuffle(order)
    selection = FileSelection([])
    for path in order:
        if len(selection.files) >= max_files:
            break
        text, reason = read_source(path)
        if text is None:
            selection.skipped[reason] = selection.skipped.get(reason, 0) + 1
        else:
            selection.files.append(SourceFile(path.relative_to(root).as_posix(), text))
    if not selection.files:
        raise EvalError(f"none of the {len(paths)} .py files under {root} is usable ({selection.skipped})")
    return selection


# --- the eval-overlap guard ------------------------------------------------------------------------------

def training_hashes(bundle: Bundle) -> set[str] | None:
    """The content hashes of the bundle's training files (sha256-verified), or None if it carries none."""
    return read_corpus_hashes(bundle.path, bundle.manifest)


def overlapping_files(root: Path, paths: list[Path], hashes: set[str]) -> list[str]:
    """Paths (relative to root) of the files whose content hash is among the training hashes."""
    found = []
    for path in paths:
        try:
            text = path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # the corpus drops undecodable files too: they cannot be in it
        if content_hash(text) in hashes:
            found.append(path.relative_to(root).as_posix())
    return found


def check_overlap(root: Path, paths: list[Path], bundle: Bundle) -> str | None:
    """Raise EvalOverlap when any file under root was in the training corpus; a warning when unknowable."""
    hashes = training_hashes(bundle)
    if hashes is None:
        sources = [Path(s) for s in bundle.manifest.get("corpus", {}).get("sources", [])]
        near = [s for s in sources if _related(root, s)]
        where = f"; the folder and the training source {near[0]} contain one another" if near else ""
        return (f"bundle {bundle.name} carries no {CORPUS_HASHES}: overlap with its training corpus cannot be "
                f"checked{where}")
    found = overlapping_files(root, paths, hashes)
    if found:
        shown = ", ".join(found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")
        raise EvalOverlap(f"{len(found)} of the {len(paths)} .py files under {root} are in the training corpus of "
                          f"bundle {bundle.name} (same content hash): {shown}. Numbers on them would measure "
                          "memorization; evaluate another folder, or train without it (quill corpus --holdout DIR)")
    return None


def _related(a: Path, b: Path) -> bool:
    a, b = a.resolve(), b.resolve()
    return a == b or a in b.parents or b in a.parents


# --- line cuts ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LineCut:
    """A cursor inside a non-blank line: the model completes the rest of the line (target)."""
    offset: int    # the cursor, in code points
    line_end: int  # where the line's text ends (its newline, or the end of the file)
    target: str


def line_cuts(text: str, rng: random.Random, per_file: int) -> list[LineCut]:
    """Up to per_file cuts at random columns of random non-blank lines, after the indentation."""
    candidates, start = [], 0
    for line in text.split("\n"):
        if line.strip() and len(line) <= MAX_LINE_CHARS:
            candidates.append((start, line))
        start += len(line) + 1
    cuts = []
    for start, line in rng.sample(candidates, min(per_file, len(candidates))):
        indent = len(line) - len(line.lstrip())
        end = len(line.rstrip())
        column = rng.randrange(indent, end)
        cuts.append(LineCut(start + column, start + len(line), line[column:end]))
    return sorted(cuts, key=lambda c: c.offset)


def cut_document(source: SourceFile, cut: LineCut) -> Document:
    """The file with the rest of the cut line removed (the right context is the following lines)."""
    return Document(source.uri, source.text[:cut.offset] + source.text[cut.line_end:])


# --- documented functions ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FunctionSample:
    """A function with a docstring in one file (offsets into the file's text)."""
    source: SourceFile
    info: DefinitionInfo
    summary: str  # the first sentence of its docstring: the docstring reference
    stub: bool = False  # @overload, @abstractmethod, a Protocol member: the server generates no body there


def _own_lines(text: str, start: int, end: int) -> tuple[int, int] | None:
    """(line start, line end) when text[start:end] shares its lines with nothing else; else None."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    if text[line_start:start].strip() or text[end:line_end].strip():
        return None
    return line_start, line_end


def documented_functions(source: SourceFile) -> list[FunctionSample]:
    """Functions and methods whose docstring stands on its own lines and has a non-empty summary."""
    doc = Document(source.uri, source.text)
    if doc.tree is None:
        return []
    root = doc.tree.root_node
    found = []
    for node in captures("definitions", root, (0, root.end_byte)).get("definition.function", []):
        info = definition_info(doc, node)
        if info is None or info.docstring is None or info.body_inline \
                or _own_lines(source.text, *info.docstring) is None:
            continue
        value = docstring_value(source.text[info.docstring[0]:info.docstring[1]])
        summary = first_sentence(value) if value else ""
        if any(c.isalnum() for c in summary):
            found.append(FunctionSample(source, info, summary, is_stub(doc, info)))
    return sorted(found, key=lambda s: s.info.start)


def without_docstring(sample: FunctionSample) -> str | None:
    """The file with the function's docstring removed (`pass` if nothing else is left); None if that breaks it."""
    text, info = sample.source.text, sample.info
    line_start, line_end = _own_lines(text, *info.docstring)
    only_docstring = info.empty_body and info.placeholders is None
    replacement = info.indent + "pass" if only_docstring else ""
    end = line_end if only_docstring else min(line_end + 1, len(text))
    new = text[:line_start] + replacement + text[end:]
    tree = parse(new.encode("utf-8", "surrogatepass"))
    return new if tree is not None and not error_count(tree.root_node) else None


@dataclass(frozen=True)
class BodyCase:
    """A function whose body (after the docstring) was removed, and that body as the reference."""
    text: str       # the file without the body
    reference: str  # the removed body, dedented


def without_body(sample: FunctionSample, max_lines: int) -> BodyCase | None:
    """The file with the function's code after its docstring removed; None if there is none, it is long or
    the function is a stub (an abstract method's `raise NotImplementedError` is not a body to generate)."""
    text, info = sample.source.text, sample.info
    if info.empty_body or sample.stub:
        return None
    end_of_docstring = info.docstring[1]
    body = text[end_of_docstring:info.end]
    lines = body.strip("\n").split("\n")
    if len(lines) > max_lines:
        return None
    return BodyCase(text[:end_of_docstring] + text[info.end:], textwrap.dedent(body.strip("\n")).rstrip())


def sample_functions(found: list[list[FunctionSample]], rng: random.Random, per_file: int, limit: int,
                     keep=lambda sample: True) -> list[FunctionSample]:
    """Up to per_file random kept functions of each file (found: per file), at most limit, in random order."""
    chosen = []
    for samples in found:
        kept = [s for s in samples if keep(s)]
        chosen += rng.sample(kept, min(per_file, len(kept)))
    rng.shuffle(chosen)
    return chosen[:limit]


def sample_line_cuts(files: list[SourceFile], seed: int, per_file: int, limit: int) -> list[tuple[SourceFile, LineCut]]:
    """Up to per_file cuts of each file, at most limit overall, in a seeded random order."""
    rng = random.Random(f"{seed}:lines")
    cuts = [(source, cut) for source in files for cut in line_cuts(source.text, rng, per_file)]
    rng.shuffle(cuts)
    return cuts[:limit]
