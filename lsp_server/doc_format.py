"""The docstring model's input format: the summary a docstring gives, and the function's code with its project
context (class name, summaries of similar documented functions). Written once here and read by both sides:
training pairs (model.docpairs, model.train_doc) and serving (lsp_server.assists.docstrings, the workspace's
lsp_server.project.doc_summaries). A leaf: it imports nothing from lsp_server.

Layout of a "context-v1" source (no header lines without a class or a neighbour, so it equals plain code):

    # class Graph
    # see: Return the number of nodes in the graph.
    def number_of_edges(self, u=None, v=None):
        ...
"""
from __future__ import annotations

import inspect
import keyword
import re
from typing import Collection, Iterable

SOURCE_FORMAT = "context-v1"   # manifest["docstring"]["source_format"] of a model trained on doc_source
MAX_NEIGHBOURS = 3
MAX_NEIGHBOUR_CHARS = 150      # one neighbour summary in the header, cut at a word boundary
CLASS_HEADER, SEE_HEADER = "# class ", "# see: "
SAME_CLASS, SAME_FILE, SAME_FOLDER, ELSEWHERE = 0, 1, 2, 3  # nearness of a neighbour to the target
NEARNESS_BONUS = 0.05          # added to the Jaccard score per step nearer than ELSEWHERE

# ---- The summary: what training targets, eval references and neighbours all are -------------------------

MIN_WORDS, MAX_WORDS = 3, 40
MIN_ASCII_LETTERS, MIN_WORDLIKE = 0.6, 0.5
# Sentence end as in the `quill eval` metric: . ! or ? then white space or the end, not after these.
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "vs.", "cf.", "approx.", "resp.", "no.")
_SIGNATURE = re.compile(r"[\w.]+\(.*\)\s*(->\s*\S.*)?")         # `S.find(sub[, start]) -> int`
_FIELD = re.compile(r"(:\w|@\w|>>>|\.\. )")                     # reST/epydoc field, doctest, directive
_SECTION = re.compile(r"(args|arguments|parameters|params|keyword args|other parameters|returns?|yields?|"
                      r"raises|examples?|notes?|attributes|see also|references|warnings?|todo)\s*:?", re.I)
_UNDERLINE = re.compile(r"(-{3,}|={3,}|~{3,})")
_BOILERPLATE = re.compile(
    r"(todo|fixme|xxx|tbd)\b|.*\bdocstring for\b|(insert|add|write|enter) (a |the )?(docstring|description|"
    r"summary)|(\w+ )?(auto-?generated|generated (by|with))\b|(summary|description|short description|"
    r"undocumented|not documented|no docstring|missing docstring|placeholder|docstring)\W*$", re.I)
_REFERENCE = re.compile(r"(see\b(?! (if|whether))|alias (for|of)\b|same as\b|deprecated\b|refer to\b|"
                        r"copied from\b|inherited from\b)", re.I)
_WORDLIKE = re.compile(r"[(\"'`]*[A-Za-z][a-z]*(['-][a-z]+)*[.,;:!?)\"'`]*")


def _summary_lines(lines: list[str]) -> list[str]:
    """The first paragraph's lines: up to a blank line, a field list, a section header or a doctest."""
    para: list[str] = []
    for i, line in enumerate(lines):
        text = line.strip()
        if not text:
            if para:
                break
            continue
        following = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if _FIELD.match(text) or _SECTION.fullmatch(text) or _UNDERLINE.fullmatch(following):
            break
        para.append(text)
    return para


def _drop_signature(lines: list[str]) -> list[str]:
    """Lines without a leading copied signature (`f(x) -> y`) and the `--` / blank lines after it."""
    if not lines or not _SIGNATURE.fullmatch(lines[0].strip()):
        return lines
    rest = lines[1:]
    while rest and rest[0].strip() in ("", "--"):
        rest = rest[1:]
    return rest


def first_sentence(docstring: str) -> str:
    """A docstring's summary: its first paragraph up to the first sentence end, on one line.

    The paragraph ends at a blank line, a field list (`:param`), a section header (`Args:`, numpy's
    underlined `Parameters`) or a doctest; a leading copied signature line (`f(x) -> y`) is skipped.
    """
    lines = _drop_signature(inspect.cleandoc(docstring.expandtabs(8)).splitlines())
    line = " ".join(" ".join(_summary_lines(lines)).split())
    for match in _SENTENCE_END.finditer(line):
        end = match.end()
        if not line[:end].lower().endswith(_ABBREVIATIONS):
            return line[:end]
    return line


def summary_reason(docstring: str, summary: str) -> str | None:
    """Which docstring rule drops this (docstring, summary), or None when the pair is kept."""
    lines = [line.strip() for line in inspect.cleandoc(docstring).splitlines() if line.strip()]
    if lines and lines[0].startswith(">>>"):
        return "doctest_only"
    if not lines:
        return "empty"
    if not summary:
        return "signature_only" if _SIGNATURE.fullmatch(lines[0]) else "fields_only"
    if _BOILERPLATE.match(summary):
        return "boilerplate"
    if _REFERENCE.match(summary):
        return "reference_only"
    words = summary.split()
    if len(words) < MIN_WORDS:
        return "too_short"
    if len(words) > MAX_WORDS:
        return "too_long"
    nonspace = [c for c in summary if not c.isspace()]
    letters = sum(c.isascii() and c.isalpha() for c in nonspace)
    wordlike = sum(bool(_WORDLIKE.fullmatch(w)) for w in words)
    if letters < MIN_ASCII_LETTERS * len(nonspace) or wordlike < MIN_WORDLIKE * len(words):
        return "noise"
    return None


# ---- Neighbours: similar documented functions, by the words of their identifiers ------------------------

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SUB_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")  # HTTPServer -> HTTP, Server; addEdge -> add, Edge
# `self` and `cls` are in every method: they say nothing about what it does.
STOP_WORDS = frozenset(w.lower() for w in (*keyword.kwlist, *keyword.softkwlist, "self", "cls"))


def identifier_words(text: str) -> frozenset[str]:
    """Lower-cased sub-words (split on `_` and camelCase, 2+ characters) of the identifiers in text,
    without Python keywords."""
    found = set()
    for ident in set(_IDENTIFIER.findall(text)):
        for part in _SUB_WORD.findall(ident):
            word = part.lower()
            if len(word) >= 2 and word not in STOP_WORDS:
                found.add(word)
    return frozenset(found)


def _clip(summary: str) -> str:
    """The summary on one line, at most MAX_NEIGHBOUR_CHARS (cut at a word boundary)."""
    text = " ".join(summary.split())
    if len(text) <= MAX_NEIGHBOUR_CHARS:
        return text
    cut = text.rfind(" ", 0, MAX_NEIGHBOUR_CHARS)
    return text[:cut if cut > 0 else MAX_NEIGHBOUR_CHARS]


def rank_neighbours(target_words: Collection[str], candidates: Iterable[tuple[str, Collection[str], int]],
                    k: int = MAX_NEIGHBOURS) -> list[str]:
    """The summaries of the k candidates most like the target, best first.

    A candidate is (summary, its words: a set or a tuple of distinct words, nearness: SAME_CLASS..ELSEWHERE).
    Score: Jaccard of the word sets plus NEARNESS_BONUS per step nearer than ELSEWHERE; a candidate sharing
    no word is left out; ties go to the nearer, then to the summary's text; a summary already taken (after
    clipping) is skipped.
    """
    target = target_words if isinstance(target_words, (set, frozenset)) else set(target_words)
    scored = []
    for summary, words, nearness in candidates:
        shared = len(target.intersection(words))
        if shared:
            jaccard = shared / (len(target) + len(words) - shared)
            scored.append((-(jaccard + NEARNESS_BONUS * (ELSEWHERE - min(nearness, ELSEWHERE))), nearness, summary))
    chosen: list[str] = []
    for _, _, summary in sorted(scored):
        text = _clip(summary)
        if text and text not in chosen:
            chosen.append(text)
            if len(chosen) == k:
                break
    return chosen


def doc_source(code: str, class_name: str | None, neighbours: list[str]) -> str:
    """The encoder's input text: `# class NAME` and `# see: SUMMARY` lines (at most MAX_NEIGHBOURS), then code."""
    header = [CLASS_HEADER + class_name] if class_name else []
    header += [SEE_HEADER + _clip(n) for n in neighbours[:MAX_NEIGHBOURS]]
    return "".join(line + "\n" for line in header) + code
