"""Suggested docstrings: a summary line from a model plus sections read from the tree-sitter signature.

Pipeline: find_definition (definitions.py) -> summarize (the bundle's docstring model for functions when it
has one, else the code LM; the name when the model gives nothing usable) -> render_docstring (google | numpy |
sphinx) -> docstring_edit (insert or replace, checked to parse).
"""
from __future__ import annotations

import re
import textwrap
import time
from dataclasses import dataclass

from ..inline.prompt import CHARS_PER_TOKEN_BOUND
from ..runtime.cancel import Cancelled, CancelToken
from ..runtime.docstring_model import BeamOptions, DocstringModel
from ..runtime.engine import Engine
from ..syntax.definitions import CLASS, DefinitionInfo, find_definition
from ..syntax.documents import Document
from ..syntax.edits import Edit, edit_parses
from .name_phrases import (
    param_description,
    return_description,
    return_type_guess,
    summary_from_name,
)

STYLES = ("google", "numpy", "sphinx")
PROMPT_TOKENS = 384      # the definition's source in the prompt; the summary needs its start most
SUMMARY_TIMEOUT_S = 3.0  # one summary line is ~20 tokens (~30 ms); this only bounds a stalled machine
MAX_SUMMARY_CHARS = 120
# Lower case only: "Return the total." is prose, "return total" is code.
KEYWORDS = frozenset("def class return import from if elif else for while with try except raise yield "
                     "assert pass lambda async await self".split())
QUOTES = '"""'
DANGLING = frozenset({"a", "an", "the", "of", "to", "and", "or", "in", "for", "with", "is"})  # unfinished sentence


@dataclass(frozen=True)
class Summary:
    """The docstring's first line and where it came from: "docstring-model", "model" (the code LM) or "name"."""
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


def _decorated_start(doc: Document, info: DefinitionInfo) -> int:
    """Offset of the definition's first decorator (info.start leaves decorators out)."""
    node = doc.node_at_offset(info.start)
    while node is not None and node.type not in ("function_definition", "class_definition"):
        node = node.parent
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


def model_summary(engine: Engine | None, doc: Document, info: DefinitionInfo, max_new_tokens: int = 48,
                  cancel: CancelToken | None = None, doc_model: DocstringModel | None = None,
                  beam: int = 4, min_score: float | None = None) -> tuple[str, str, bool]:
    """(raw text, source, confident) of the model that summarizes this definition: the docstring model
    for functions and methods when the bundle has one (it was trained on functions only), else the code
    LM; ("", "none", False) without a model or when cancelled. With `min_score`, the docstring model is
    confident only when its length-normalized beam log-probability reaches it."""
    if doc_model is not None and info.kind != CLASS:
        code = definition_source(doc, info, doc_model.max_source_tokens * CHARS_PER_TOKEN_BOUND)
        deadline = time.monotonic() + SUMMARY_TIMEOUT_S
        try:
            found = doc_model.search(code, BeamOptions(beam, max_new_tokens), cancel, deadline)
            return found.text, "docstring-model", min_score is None or found.score >= min_score
        except Cancelled:
            return "", "none", False
    if engine is not None:
        ids = docstring_prompt(doc, info, engine.encode)
        gen = engine.generate(ids, max_new_tokens, _summary_stop, time.monotonic() + SUMMARY_TIMEOUT_S, cancel)
        return ("", "none", False) if gen.stop_reason == "cancelled" else (gen.text, "model", True)
    return "", "none", False


def summarize(engine: Engine | None, doc: Document, info: DefinitionInfo, max_new_tokens: int = 48,
              cancel: CancelToken | None = None, doc_model: DocstringModel | None = None, beam: int = 4,
              min_score: float | None = None) -> Summary:
    """The summary line a model writes for the definition (model_summary, cleaned), or one read from its name."""
    raw, source, confident = model_summary(engine, doc, info, max_new_tokens, cancel, doc_model, beam, min_score)
    text = clean_summary(raw) if raw and confident else None
    if text is not None:
        return Summary(text, source)
    # Fallback: an unsure or undertrained model loops, writes code after `"""` or a generic sentence
    # (BENCHMARKS.md "Suggestion quality"); a sentence from the name is better than that.
    return Summary(summary_from_name(info), "name")


def _yield_type(returns: str | None) -> str | None:
    m = re.fullmatch(r"(?:[\w.]+\.)?(?:Async)?(?:Iterator|Iterable|Generator)\[(.*)\]", (returns or "").strip())
    if m is None:
        return None
    depth, inner = 0, m.group(1)
    for i, ch in enumerate(inner):  # Generator[int, None, None]: the first top-level argument
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        elif ch == "," and depth == 0:
            return inner[:i].strip()
    return inner.strip()


def _sections(info: DefinitionInfo) -> dict:
    """The facts every style renders: params, returns (type, text), yields (type, text), raises."""
    returns = None
    if info.kind != CLASS and not info.yields and info.name != "__init__" \
            and (info.returns_value or (info.returns is not None and info.returns not in ("None", "NoReturn"))):
        returns = (info.returns or return_type_guess(info), return_description(info))
    yields = (_yield_type(info.returns), "The next value.") if info.yields else None
    raises = [(r.exception, f"If {r.condition}." if r.condition else "") for r in info.raises]
    return {"params": info.params, "returns": returns, "yields": yields, "raises": raises}


def _google(facts: dict) -> list[list[str]]:
    blocks = []
    if facts["params"]:
        lines = ["Args:"]
        for p in facts["params"]:
            typed = f" ({p.annotation})" if p.annotation else ""
            default = f" Defaults to {p.default}." if p.default is not None else ""
            lines.append(f"    {p.name}{typed}: {param_description(p)}{default}")
        blocks.append(lines)
    for title, key in (("Returns:", "returns"), ("Yields:", "yields")):
        if facts[key]:
            kind, text = facts[key]
            blocks.append([title, f"    {kind}: {text}" if kind else f"    {text}"])
    if facts["raises"]:
        blocks.append(["Raises:"] + [f"    {name}: {text}".rstrip(": ") for name, text in facts["raises"]])
    return blocks


def _numpy(facts: dict) -> list[list[str]]:
    def section(title: str) -> list[str]:
        return [title, "-" * len(title)]
    blocks = []
    if facts["params"]:
        lines = section("Parameters")
        for p in facts["params"]:
            kind = ", ".join(filter(None, [p.annotation, f"default {p.default}" if p.default is not None else None]))
            lines += [f"{p.name} : {kind}" if kind else p.name, f"    {param_description(p)}"]
        blocks.append(lines)
    for title, key in (("Returns", "returns"), ("Yields", "yields")):
        if facts[key]:
            kind, text = facts[key]
            blocks.append(section(title) + [kind or "object", f"    {text}"])
    if facts["raises"]:
        lines = section("Raises")
        for name, text in facts["raises"]:
            lines += [name] + ([f"    {text}"] if text else [])
        blocks.append(lines)
    return blocks


def _sphinx(facts: dict) -> list[list[str]]:
    lines = []
    for p in facts["params"]:
        name = p.name.lstrip("*")  # `:param *args:` would start reST emphasis
        default = f" Defaults to {p.default}." if p.default is not None else ""
        lines.append(f":param {name}: {param_description(p)}{default}")
        if p.annotation:
            lines.append(f":type {name}: {p.annotation}")
    for field, type_field, key in ((":returns:", ":rtype:", "returns"), (":yields:", ":ytype:", "yields")):
        if facts[key]:
            kind, text = facts[key]
            lines.append(f"{field} {text}")
            if kind:
                lines.append(f"{type_field} {kind}")
    lines += [f":raises {name}: {text}".rstrip() for name, text in facts["raises"]]
    return [lines] if lines else []


RENDERERS = {"google": _google, "numpy": _numpy, "sphinx": _sphinx}


def render_docstring(info: DefinitionInfo, summary: str, style: str = "google") -> str:
    """The docstring literal (quotes included, no indentation) for the definition in the given style."""
    if style not in RENDERERS:
        raise ValueError(f"unknown docstring style {style!r}; expected one of {', '.join(STYLES)}")
    blocks = RENDERERS[style](_sections(info))
    body = "\n\n".join([summary] + ["\n".join(block) for block in blocks])
    body = body.replace(QUOTES, "'''")  # a default value such as '\"\"\"' must not end the literal
    prefix = "r" if "\\" in body else ""  # defaults like '\\d' stay exactly as written
    if not blocks:
        return f"{prefix}{QUOTES}{body}{QUOTES}"
    return f"{prefix}{QUOTES}{body}\n{QUOTES}"


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
                      min_score: float | None = None) -> DocstringSuggestion | None:
    """The docstring for the definition whose name is at offset; None off a name or if the edit breaks."""
    info = find_definition(doc, offset)
    if info is None:
        return None
    summary = summarize(engine, doc, info, max_new_tokens, cancel, doc_model, beam, min_score)
    text = render_docstring(info, summary.text, style)
    edit = docstring_edit(doc, info, text)
    if not edit_parses(doc, edit):
        return None
    return DocstringSuggestion(info, summary, text, edit, style)
