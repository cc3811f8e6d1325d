"""Suggested docstrings: a summary line from a model plus sections read from the tree-sitter signature.

Pipeline: find_definition (definitions.py) -> summarize (the bundle's docstring model for functions when it
has one, else the code LM; when the model gives nothing usable or only restates the name, the person's own
summary when regenerating, else the `_summary_` placeholder) -> describe (parameters, returns: descriptions.py)
-> render_docstring (google | numpy | sphinx, docstring_render.py) -> docstring_edit (insert or replace,
checked to parse). A docstring model trained with project context (manifest source_format "context-v1") reads
doc_format.doc_source: the class name and the summaries of up to 3 similar documented functions of the same
document and the workspace (doc_context), then the code.
"""
from __future__ import annotations

import math
import re
import textwrap
import time
from dataclasses import dataclass
from typing import NamedTuple

from ..doc_format import (
    SAME_CLASS,
    SAME_FILE,
    doc_source,
    identifier_words,
    rank_neighbours,
)
from ..inline.prompt import CHARS_PER_TOKEN_BOUND
from ..project.doc_summaries import ProjectSummaries, file_summaries
from ..runtime.cancel import Cancelled, CancelToken
from ..runtime.docstring_model import BeamOptions, DocstringModel
from ..runtime.engine import Engine
from ..syntax.definitions import CLASS, DefinitionInfo, enclosing_class, find_definition
from ..syntax.docstring_fields import (
    PARAMS,
    RAISES,
    RETURNS,
    YIELDS,
    literal_lines,
    parse_fields,
)
from ..syntax.documents import Document
from ..syntax.edits import Edit, edit_parses
from .descriptions import (
    PLACEHOLDER,
    PROJECT,
    ProjectDocs,
    describe,
    own_fields,
    project_summary,
)
from .docstring_render import (
    QUOTES,
    STYLES,
    SUMMARY,
    Descriptions,
    facts,
    render_docstring,
)
from .filler import is_filler
from .name_phrases import summary_from_name

__all__ = ["STYLES", "render_docstring", "suggest_docstring", "summarize", "docstring_edit", "clean_summary"]
PROMPT_TOKENS = 384      # the definition's source in the prompt; the summary needs its start most
SUMMARY_TIMEOUT_S = 3.0  # one summary line is ~20 tokens (~30 ms); this only bounds a stalled machine
MAX_SUMMARY_CHARS = 120
# Lower case only: "Return the total." is prose, "return total" is code.
KEYWORDS = frozenset("def class return import from if elif else for while with try except raise yield "
                     "assert pass lambda async await self".split())
DANGLING = frozenset({"a", "an", "the", "of", "to", "and", "or", "in", "for", "with", "is"})  # unfinished sentence


@dataclass(frozen=True)
class Summary:
    """The docstring's first line and where it came from: "project" (a definition of the same name in the
    workspace), "docstring-model", "model" (the code LM), "own" (the docstring being replaced), "name" (a
    dunder's conventional sentence) or "placeholder"."""
    text: str
    source: str


@dataclass(frozen=True)
class DocstringSuggestion:
    """A rendered docstring for one definition and the edit that puts it in place."""
    info: DefinitionInfo
    summary: Summary
    text: str   # the literal as written in the file, quotes included, without indentation
    edit: Edit
    style: str
    described: Descriptions = Descriptions()

    @property
    def has_content(self) -> bool:
        """True when some line says something real (not every line is a placeholder)."""
        found = facts(self.info, self.described)
        described = [d for _, d in found[PARAMS] + found[RAISES]]
        described += [value[1] for value in (found[RETURNS], found[YIELDS]) if value]
        return self.summary.source != PLACEHOLDER or any(d.source != PLACEHOLDER for d in described)


def _dedent(text: str, indent: str) -> str:
    return "\n".join(line[len(indent):] if line.startswith(indent) else line.lstrip(" \t")
                     for line in text.split("\n"))


def docstring_prompt(doc: Document, info: DefinitionInfo, encode, budget: int = PROMPT_TOKENS) -> list[int]:
    """Token ids of: the definition's source (old docstring removed), then its header again and `\"\"\"`.

    Seeing the code first and then the same header opening a docstring, the model writes the summary line.
    """
    start, end = info.start, info.end
    header = _dedent(doc.text[start:info.header_end], info.header_indent)
    relative = info.indent[len(info.header_indent):] if info.indent.startswith(info.header_indent) else "    "
    tail = encode("\n\n" + header + "\n" + relative + QUOTES)
    room = max(budget - len(tail), 0)
    keep = room * CHARS_PER_TOKEN_BOUND
    # Twice what can matter (dedenting shortens lines), never a whole huge definition.
    raw = 2 * keep + (info.docstring[1] - info.docstring[0] if info.docstring is not None else 0)
    source = doc.text[start:min(end, start + raw)]
    if info.docstring is not None:
        ds, de = info.docstring
        source = source[:ds - start] + source[de - start:]
    head = encode(_dedent(source[:2 * keep], info.header_indent)[:keep].rstrip() + "\n")[:room]
    return head + tail


def _summary_stop(text: str) -> int | None:
    """Stop at the end of the first line of prose (leading blank lines and indentation skipped)."""
    begin = len(text) - len(text.lstrip())
    ends = [i for i in (text.find(QUOTES, begin), text.find("\n", begin)) if i >= 0]
    return min(ends) if ends else None


def clean_summary(raw: str) -> str | None:
    """The model's text as one plain sentence, or None when it is code, repetitive or unfinished."""
    text = raw.strip().split("\n")[0].split(QUOTES)[0].strip().rstrip("\\").strip()
    if (m := re.search(r"[.!?](\s|$)", text)) is not None:
        text = text[:m.start() + 1]
    tokens = re.findall(r"[A-Za-z']+", text.lower())
    if len(tokens) < 2 or len(text) > MAX_SUMMARY_CHARS or not text[:1].isalpha():
        return None
    if text.split()[0] in KEYWORDS or re.search(r"[(){}\[\]=<>;`\\]|\.\w", text):
        return None  # code, not prose
    bigrams = list(zip(tokens, tokens[1:]))
    if len(set(bigrams)) < len(bigrams) or max(tokens.count(t) for t in tokens) > 3:
        return None  # the repetition loop of an undertrained model
    if tokens[-1] == "following" or (text[-1] not in ".!?" and tokens[-1] in DANGLING):
        return None  # cut off mid-sentence, or pointing at a list that is not there
    text = text.rstrip(",;: ")
    return text[0].upper() + text[1:] + ("" if text[-1] in ".!?" else ".")


def _definition_node(doc: Document, info: DefinitionInfo):
    """The function_definition or class_definition node of info (None if the tree has none there)."""
    node = doc.node_at_offset(info.start)
    while node is not None and node.type not in ("function_definition", "class_definition"):
        node = node.parent
    return node


def _decorated_start(doc: Document, info: DefinitionInfo) -> int:
    """Offset of the definition's first decorator (info.start leaves decorators out)."""
    node = _definition_node(doc, info)
    if node is not None and node.parent is not None and node.parent.type == "decorated_definition":
        return doc.offset_of_byte(node.parent.start_byte)
    return info.start


def definition_source(doc: Document, info: DefinitionInfo, max_chars: int) -> str:
    """The definition as the docstring model saw functions in training (model/docpairs.py): from its first
    decorator's line, without its docstring and the blank lines after it, dedented; at most ~max_chars."""
    text, (ds, de) = doc.text, info.docstring or (0, 0)
    start = text.rfind("\n", 0, _decorated_start(doc, info)) + 1
    end = min(info.end, start + 2 * max_chars + de - ds)  # twice: dedenting shortens lines
    if info.docstring is None:
        code = text[start:end]
    elif info.body_inline:
        code = text[start:ds] + text[de:end]
    else:
        line = text.rfind("\n", 0, ds) + 1
        rest = text[de:end].split("\n")[1:]
        while rest and not rest[0].strip():
            rest.pop(0)
        code = text[start:line] + "\n".join(rest)
    return textwrap.dedent(code)[:max_chars].rstrip() + "\n"


def doc_context(doc: Document, info: DefinitionInfo, code: str,
                project: ProjectSummaries | None = None) -> tuple[str | None, list[str]]:
    """(class name, neighbour summaries) of a function, as model/docpairs.py gives its training pairs: the
    class whose body holds it, and doc_format.rank_neighbours over the document's other documented functions
    (its own docstring never) and the workspace's (`project`, which leaves this document out)."""
    node = _definition_node(doc, info)
    cls = enclosing_class(node) if node is not None else None
    name = cls.child_by_field_name("name") if cls is not None else None
    class_name = name.text.decode("utf-8", "replace") if name is not None else None
    own = node.start_byte if node is not None else -1
    candidates = [(e.summary, e.words, SAME_CLASS if class_name and e.class_name == class_name else SAME_FILE)
                  for e in file_summaries(doc.text, doc.tree) if e.start_byte != own]
    if project is not None:
        candidates += project.candidates()
    return class_name, rank_neighbours(identifier_words(code), candidates)


class ModelText(NamedTuple):
    """What the summarizing model wrote: raw text, source, whether it clears the gate, and the docstring
    model's length-normalized beam log-probability (the gate's measure; nan for the code LM or none)."""
    text: str
    source: str
    confident: bool
    score: float = math.nan


NO_TEXT = ModelText("", "none", False)


def clears_gate(score: float, min_score: float | None) -> bool:
    """The docstring.min_score gate: no gate, no score (the code LM's text) or a beam score that reaches it."""
    return min_score is None or math.isnan(score) or score >= min_score


def model_summary(engine: Engine | None, doc: Document, info: DefinitionInfo, max_new_tokens: int = 48,
                  cancel: CancelToken | None = None, doc_model: DocstringModel | None = None,
                  beam: int = 4, min_score: float | None = None,
                  summaries: ProjectSummaries | None = None) -> ModelText:
    """The text of the model that summarizes this definition: the docstring model for functions and
    methods when the bundle has one (it was trained on functions only), else the code LM; NO_TEXT without
    a model or when cancelled. With `min_score`, the docstring model is confident only when its
    length-normalized beam log-probability reaches it. A docstring model trained with context reads
    doc_context's header before the code (`summaries`: the workspace's)."""
    if doc_model is not None and info.kind != CLASS:
        code = definition_source(doc, info, doc_model.max_source_tokens * CHARS_PER_TOKEN_BOUND)
        if doc_model.uses_context:
            code = doc_source(code, *doc_context(doc, info, code, summaries))
        deadline = time.monotonic() + SUMMARY_TIMEOUT_S
        try:
            found = doc_model.search(code, BeamOptions(beam, max_new_tokens), cancel, deadline)
            return ModelText(found.text, "docstring-model", clears_gate(found.score, min_score), found.score)
        except Cancelled:
            return NO_TEXT
    if engine is not None:
        ids = docstring_prompt(doc, info, engine.encode)
        gen = engine.generate(ids, max_new_tokens, _summary_stop, time.monotonic() + SUMMARY_TIMEOUT_S, cancel)
        return NO_TEXT if gen.stop_reason == "cancelled" else ModelText(gen.text, "model", True)
    return NO_TEXT


def summary_names(info: DefinitionInfo) -> list[str]:
    """The names a summary must say more than: the definition's and its parameters'."""
    return [info.name] + [p.name for p in info.params]


def own_summary(doc: Document, info: DefinitionInfo) -> str | None:
    """The first paragraph of the definition's current docstring (before any section), as one line."""
    parsed = literal_lines(doc.text[info.docstring[0]:info.docstring[1]]) if info.docstring is not None else None
    if parsed is None:
        return None
    lines = parsed[1]
    sections = parse_fields(lines).sections
    stop = min((s.header if s.header >= 0 else s.entries[0].start if s.entries else s.end for s in sections),
               default=len(lines))
    paragraph: list[str] = []
    for line in lines[:stop]:
        if not line.strip() and paragraph:
            break
        paragraph += line.split()
    text = " ".join(paragraph)
    return text if any(c.isalnum() for c in text) else None


def choose_summary(info: DefinitionInfo, raw: str, source: str, confident: bool, own: str | None = None) -> Summary:
    """The model's cleaned sentence when it is confident and says more than the names; else the person's own
    summary (when regenerating), a dunder's conventional sentence, or the `_summary_` placeholder."""
    text = clean_summary(raw) if raw and confident else None
    names = summary_names(info)
    if text is not None and not is_filler(text, names):
        return Summary(text, source)
    if own:
        return Summary(own, "own")
    # A sentence made from the name says nothing the name does not ("Return the groupby."): only a dunder's
    # conventional one that says more (__len__: "Return the number of items.") is kept.
    named = summary_from_name(info)
    return Summary(named, "name") if not is_filler(named, names) else Summary(SUMMARY, PLACEHOLDER)


def summarize(engine: Engine | None, doc: Document, info: DefinitionInfo, max_new_tokens: int = 48,
              cancel: CancelToken | None = None, doc_model: DocstringModel | None = None, beam: int = 4,
              min_score: float | None = None, summaries: ProjectSummaries | None = None,
              project: ProjectDocs | None = None) -> Summary:
    """The project's summary of a definition of the same name (descriptions.project_summary: no model runs),
    else the summary line a model writes (model_summary, cleaned), else choose_summary's fallback."""
    found = project_summary(doc, info, project)
    if found is not None:
        return Summary(found, PROJECT)
    raw, source, confident, _ = model_summary(engine, doc, info, max_new_tokens, cancel, doc_model, beam, min_score,
                                              summaries)
    return choose_summary(info, raw, source, confident, own_summary(doc, info))


def docstring_edit(doc: Document, info: DefinitionInfo, text: str) -> Edit:
    """The edit that puts the docstring literal first in the body, replacing an existing one."""
    indent = info.indent
    literal = "\n".join(line if i == 0 or not line else indent + line for i, line in enumerate(text.split("\n")))
    if info.body_inline:  # `def f(): return 1` becomes a block so the docstring gets its own line
        end = info.docstring[1] if info.docstring is not None else info.body_start
        tail = "" if info.docstring is not None else "\n" + indent
        return Edit(info.header_end, end, "\n" + indent + literal + tail)
    if info.docstring is not None:
        return Edit(info.docstring[0], info.docstring[1], literal)
    line_start = doc.text.rfind("\n", 0, info.body_start) + 1
    return Edit(line_start, line_start, indent + literal + "\n")


def suggest_docstring(doc: Document, offset: int, engine: Engine | None, style: str = "google",
                      max_new_tokens: int = 48, cancel: CancelToken | None = None,
                      doc_model: DocstringModel | None = None, beam: int = 4,
                      min_score: float | None = None, project: ProjectDocs | None = None,
                      summaries: ProjectSummaries | None = None) -> DocstringSuggestion | None:
    """The docstring for the definition whose name is at offset; None off a name or if the edit breaks.

    `project`: the workspace's documented names (descriptions.py: parameters, and the summary of a definition
    of the same name); a docstring being replaced keeps the descriptions it already had. `summaries`: the workspace's documented functions (the neighbours of
    a docstring model trained with context)."""
    info = find_definition(doc, offset)
    if info is None:
        return None
    summary = summarize(engine, doc, info, max_new_tokens, cancel, doc_model, beam, min_score, summaries, project)
    described = describe(info, own_fields(doc, info), project)
    text = render_docstring(info, summary.text, style, described)
    edit = docstring_edit(doc, info, text)
    if not edit_parses(doc, edit):
        return None
    return DocstringSuggestion(info, summary, text, edit, style, described)
