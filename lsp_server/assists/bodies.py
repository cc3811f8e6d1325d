"""Code generation: the body of an empty function, or the code a `# comment` line describes.

Pipeline: find_body_target (where, and the prompt: context + signature + docstring or comment; never a
stub, lsp_server.assists.stubs) -> generate_body (the code LM, the project's n-grams mixed in, stopped at a
dedent or the line limit; greedy, then alternatives when greedy is not kept) -> parseable_prefix
(tree-sitter: the longest prefix of whole statements whose edit parses) -> body_checks.review (a loop cut
back, a docstring-only body or an undefined name rejected) -> the best kept candidate by model score, or
'' to withhold -> body_edit.
"""
from __future__ import annotations

import bisect
import re
import time
from dataclasses import dataclass

import numpy as np

from ..inline.prompt import CHARS_PER_TOKEN_BOUND
from ..inline.stops import loop_start
from ..project.mixing import Mixer, ProjectContext
from ..prompt_format import FIM_PREFIX, SPM, fim_layout
from ..runtime.cancel import CancelToken
from ..runtime.engine import Generation, LanguageModel
from ..syntax.definitions import DefinitionInfo, find_function
from ..syntax.documents import Document
from ..syntax.edits import Edit, edit_parses, python_parses
from ..syntax.limits import check_position
from .body_checks import as_function, review
from .body_scope import ModuleScope
from .options import BodyOptions
from .scoped_mix import NAME, ScopedMix
from .stubs import is_stub

FUNCTION_BODY, COMMENT = "function", "comment"
ENCODING_DECLARATION = re.compile(r"#.*?coding[:=]")  # PEP 263, on line 1 or 2


@dataclass(frozen=True)
class BodyTarget:
    """Where generated code goes and what the model sees before it."""
    kind: str          # FUNCTION_BODY or COMMENT
    start: int         # the replaced range (code points)
    end: int
    indent: str        # every generated line starts with this
    lead: str          # text before the first generated line's indentation in the edit
    trail: str         # text after the generated code in the edit
    prompt: str        # context + signature + docstring (or the comment) + newline + indent
    stop_at_blank: bool
    info: DefinitionInfo | None = None


@dataclass(frozen=True)
class BodySuggestion:
    """Generated code that parses in place, and its edit."""
    target: BodyTarget
    code: str
    edit: Edit


def _line_bounds(text: str, offset: int) -> tuple[int, int]:
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    return start, len(text) if end < 0 else end


def _comment_target(doc: Document, offset: int) -> BodyTarget | None:
    """A line holding only a comment, followed by a blank line (or the end of the file)."""
    text = doc.text
    start, end = _line_bounds(text, offset)
    line = text[start:end].rstrip("\r")
    stripped = line.lstrip(" \t")
    if not stripped.startswith("#") or stripped.startswith("#!"):
        return None
    if text.count("\n", 0, start) < 2 and ENCODING_DECLARATION.match(stripped):
        return None
    node = doc.node_at_offset(start + len(line) - len(stripped))
    if node is None or node.type != "comment":
        return None  # a `#` inside a multi-line string
    indent = line[:len(line) - len(stripped)]
    prompt = text[:end] + "\n" + indent
    if end == len(text):
        return BodyTarget(COMMENT, end, end, indent, "\n", "", prompt, True)
    next_start, next_end = _line_bounds(text, end + 1)
    if text[next_start:next_end].strip():
        return None
    return BodyTarget(COMMENT, next_start, next_start, indent, "", "\n", prompt, True)


def _function_target(doc: Document, offset: int) -> BodyTarget | None:
    """An enclosing function whose body is empty (only `pass`, `...` and/or a docstring), not a stub."""
    info = find_function(doc, offset)
    if info is None or not info.empty_body or is_stub(doc, info):
        return None
    text, indent = doc.text, info.indent
    seen_end = info.docstring[1] if info.docstring is not None else info.header_end
    prompt = text[:seen_end] + "\n" + indent
    if info.body_inline:  # `def f(): ...` becomes a block; an inline docstring moves down with it
        end = info.placeholders[1] if info.placeholders else seen_end
        kept = text[info.docstring[0]:info.docstring[1]] + "\n" if info.docstring else ""
        lead = "\n" + (indent + kept if kept else "")
        return BodyTarget(FUNCTION_BODY, info.header_end, end, indent, lead, "",
                          text[:info.header_end] + lead + indent, False, info)
    if info.placeholders is not None:
        start, end = info.placeholders
        line_start = text.rfind("\n", 0, start) + 1
        if text[line_start:start].strip():  # `"""Doc."""; pass`: the code starts on a new line
            return BodyTarget(FUNCTION_BODY, start, end, indent, "\n", "", prompt, False, info)
        return BodyTarget(FUNCTION_BODY, line_start, end, indent, "", "", prompt, False, info)
    return BodyTarget(FUNCTION_BODY, seen_end, seen_end, indent, "\n", "", prompt, False, info)


def find_body_target(doc: Document, offset: int) -> BodyTarget | None:
    """A comment line to implement, else an empty function around the offset; None otherwise.

    Raises InputTooComplex where the position is beyond lsp_server.syntax.limits' limits.
    """
    if doc.tree is None:
        return None
    check_position(doc, offset)
    return _comment_target(doc, offset) or _function_target(doc, offset)


def make_body_stop(indent: str, max_lines: int, stop_at_blank: bool):
    """Stop rule: end at a line leaving the indentation, after max_lines, or (stop_at_blank) at a blank line."""
    def stop(text: str) -> int | None:
        loop = loop_start(text)  # a degenerate loop ends the body where it starts (statements get cut back)
        if loop is not None:
            return loop
        lines = text.split("\n")
        for i, line in enumerate(lines[:-1]):  # only complete lines can be judged
            if i == 0:
                continue  # the first line starts after the indentation the prompt ended with
            cut = sum(len(x) + 1 for x in lines[:i]) - 1
            if not line.strip():
                if stop_at_blank and any(x.strip() for x in lines[:i]):
                    return cut
                continue
            if not line.startswith(indent) or i >= max_lines:
                return cut
            if i >= 2 and line == lines[i - 1] == lines[i - 2]:  # a repetition loop: keep one copy
                return sum(len(x) + 1 for x in lines[:i - 1]) - 1
        return None
    return stop


def _prompt_ids(prompt: str, encode, budget: int) -> list[int]:
    """The end of the prompt in at most budget tokens, starting at a line boundary when cut."""
    window = prompt[-budget * CHARS_PER_TOKEN_BOUND:]
    if len(window) < len(prompt) and "\n" in window:
        window = window[window.index("\n") + 1:]
    return encode(window)[-budget:]


def fim_body_prompt(prefix_ids: list[int], suffix: str, engine: LanguageModel, budget: int) -> list[int]:
    """<fim_suffix> suffix <fim_prefix> prefix <fim_middle>: training put function bodies in the middle."""
    suffix_ids = engine.encode(suffix[:budget * CHARS_PER_TOKEN_BOUND])[:budget]
    return fim_layout(prefix_ids, suffix_ids, engine.special, order=SPM)


def _statement_starts(lines: list[str], indent: str) -> list[int]:
    """Indices of lines that begin a statement at the body's own indentation."""
    width = len(indent)
    return [i for i, line in enumerate(lines)
            if i == 0 or (line.startswith(indent) and line[width:width + 1] not in ("", " ", "\t", ")", "]", "}"))]


def _is_empty_code(code: str) -> bool:
    return all(not (s := line.strip()) or s in ("pass", "...") or s.startswith("#") for line in code.split("\n"))


def body_edit(target: BodyTarget, code: str) -> Edit:
    """The edit that puts code (whole lines, indentation included) at the target."""
    return Edit(target.start, target.end, target.lead + code + target.trail)


def standalone_parses(code: str, indent: str) -> bool:
    """The code alone, as a function body, is valid Python: the statement window of edit_parses cannot
    see a string the code opens and the rest of the file would close (unbalanced triple quotes)."""
    return python_parses(as_function(code, indent))


def parseable_prefix(doc: Document, target: BodyTarget, code: str) -> str:
    """The longest prefix of whole statements of code whose edit parses; '' when none does (withheld)."""
    lines = code.split("\n")
    cuts = [len(lines)] + [i for i in reversed(_statement_starts(lines, target.indent)) if i > 0]
    for cut in cuts:
        candidate = "\n".join(lines[:cut]).rstrip()
        if (candidate.strip() and not _is_empty_code(candidate) and standalone_parses(candidate, target.indent)
                and edit_parses(doc, body_edit(target, candidate))):
            return candidate
    return ""


# When greedy decoding is not kept as generated: the next most likely first tokens, a round of 4 at a time
# while nothing is kept (a batch row costs about a whole decode; on the fit projects 4 branches scored as
# well as 8 at half the time).
RETRY_BRANCHES, RETRY_ROUNDS = 4, 3


@dataclass(frozen=True)
class Candidate:
    """One generation after the checks: the code kept ('' for none) and the model's score of that code."""
    code: str
    score: float  # mean log-probability of the tokens that make up the kept code
    problem: str | None = None  # what body_checks.review cut or rejected


def _prompt(engine: LanguageModel, doc: Document, target: BodyTarget,
            options: BodyOptions) -> tuple[list[int], list[int], list[int]]:
    """(prompt ids, prefix ids, suffix ids): plain left context, or FIM with the code after the target."""
    prefix_ids = _prompt_ids(target.prompt, engine.encode, options.prompt_tokens)
    suffix = doc.text[target.end:] if options.suffix_tokens > 0 else ""
    if prefix_ids and suffix.strip():
        ids = fim_body_prompt(prefix_ids, target.trail + suffix, engine, options.suffix_tokens)
        return ids, prefix_ids, ids[1:ids.index(engine.special[FIM_PREFIX])]
    return prefix_ids, prefix_ids, []


def generate_body(engine: LanguageModel, doc: Document, target: BodyTarget, options: BodyOptions = BodyOptions(),
                  cancel: CancelToken | None = None, project: ProjectContext | None = None) -> str:
    """Code for the target that parses in place and passes body_checks.review (whole lines, indented), or ''
    to withhold it.

    Greedy decoding first; when its code is not kept as generated (nothing parses, a loop or an undefined
    name was cut, a check rejects it), RETRY_BRANCHES continuations of the next most likely first tokens
    (RETRY_ROUNDS rounds at most, while nothing is kept), and the best candidate by model score wins. With
    `project`, every step mixes in the project's n-gram counts (scoped_mix).
    """
    ids, prefix_ids, suffix_ids = _prompt(engine, doc, target, options)
    if not ids:
        return ""
    stop = make_body_stop(target.indent, options.max_lines, target.stop_at_blank)
    deadline = time.monotonic() + options.timeout_s
    scope = ModuleScope.of(doc)
    bias = body_bias(engine, doc, target, project, prefix_ids, suffix_ids, scope)

    def run(n: int, skip: int) -> list[Generation] | None:
        gens = engine.generate_alternatives(ids, n, options.max_new_tokens, stop, deadline, cancel, skip=skip,
                                            bias=bias)
        return None if any(g.stop_reason == "cancelled" for g in gens) else gens

    if (greedy := run(1, 0)) is None:
        return ""
    found = [_candidate(engine, doc, target, gen, stop, scope) for gen in greedy]
    if found and found[0].code and found[0].problem is None:
        return found[0].code
    for round_ in range(RETRY_ROUNDS):  # a further round only when nothing was kept yet
        if (branches := run(RETRY_BRANCHES, 1 + round_ * RETRY_BRANCHES)) is None:
            return ""
        found += [_candidate(engine, doc, target, gen, stop, scope) for gen in branches]
        if kept := [c for c in found if c.code]:
            return max(kept, key=lambda c: c.score).code
    return ""


def body_bias(engine: LanguageModel, doc: Document, target: BodyTarget, project: ProjectContext | None,
              prefix_ids: list[int], suffix_ids: list[int], scope: ModuleScope) -> Mixer | ScopedMix | None:
    """The project's n-gram mix for one body, its votes for names out of scope dropped (scoped_mix)."""
    if project is None:
        return None
    mixer = project.mixer(prefix_ids, suffix_ids)
    if scope.star_import:  # any name may be defined: nothing to drop
        return mixer
    info = target.info or find_function(doc, target.start)
    own = doc.text[info.start:target.start] if info is not None else ""  # signature, docstring, code before
    return ScopedMix(mixer, engine, scope.names | set(NAME.findall(own)) | {"self", "cls"}, target.prompt)


def _candidate(engine: LanguageModel, doc: Document, target: BodyTarget, gen: Generation, stop,
               scope: ModuleScope) -> Candidate:
    code = _parseable_body(doc, target, gen.text, stop)
    checked = review(doc, lambda c: body_edit(target, c), code, target.indent, scope) if code else None
    if checked is None or not checked.code:
        return Candidate("", float("-inf"), checked.problem if checked else None)
    return Candidate(checked.code, kept_score(engine, gen, checked.code), checked.problem)


def _parseable_body(doc: Document, target: BodyTarget, generated: str, stop) -> str:
    """The generated text as whole indented lines, cut back to statements that parse; '' when none do."""
    # Generation may end (eos, max_tokens, deadline) inside a last line the stop rule could not judge yet.
    cut = stop(generated + "\n")
    text = generated if cut is None else generated[:cut]
    head = text.lstrip(" \t")
    # After a leading newline the model writes whole lines, indentation included.
    body = head.lstrip("\n") if head.startswith("\n") else target.indent + head
    lines = [line.rstrip() for line in body.split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    return parseable_prefix(doc, target, "\n".join(lines))


def _kept_chars(generated: str, code: str) -> int:
    """How much of the generated text the code's lines come from (_parseable_body's layout read back)."""
    start = len(generated) - len(generated.lstrip(" \t"))
    if generated[start:start + 1] == "\n":
        start = len(generated) - len(generated[start:].lstrip("\n"))
    end = start
    for _ in range(code.count("\n") + 1):
        newline = generated.find("\n", end)
        end = len(generated) if newline < 0 else newline + 1
    return min(end, len(generated))


def kept_score(engine: LanguageModel, gen: Generation, code: str) -> float:
    """Mean log-probability of the generated tokens that make up code (all of them when unknown): a
    candidate cut back is judged on what is offered, not on the loop or broken tail that was dropped."""
    if not gen.token_ids or len(gen.token_ids) != len(gen.logprobs):
        return gen.mean_logprob
    chars = _kept_chars(gen.text, code)
    lengths = [len(engine.decode(gen.token_ids[:k])) for k in range(1, len(gen.token_ids) + 1)]
    count = min(bisect.bisect_left(lengths, chars) + 1, len(gen.token_ids))
    return float(np.mean(gen.logprobs[:count]))


def suggest_body(doc: Document, offset: int, engine: LanguageModel, options: BodyOptions = BodyOptions(),
                 cancel: CancelToken | None = None, project: ProjectContext | None = None) -> BodySuggestion | None:
    """Generated code for the comment line or empty function at offset; None when there is none."""
    target = find_body_target(doc, offset)
    if target is None:
        return None
    code = generate_body(engine, doc, target, options, cancel, project)
    if not code:
        return None
    return BodySuggestion(target, code, body_edit(target, code))


def describe_and_locate(signature: str, description: str, context: str = "") -> tuple[str, int]:
    """A document of context + the described code, and the offset that asks for its body.

    description is a docstring's text (the signature then gets it as its docstring) or a `# comment`
    line (generated code follows the comment, after the signature when one is given).
    """
    head = context.rstrip("\n") + "\n\n" if context.strip() else ""
    desc = description.strip()
    if not signature.strip():
        if not desc.startswith("#"):
            raise ValueError("without a signature the description must be a `# comment` line")
        return head + desc + "\n", len(head)
    sig = signature.rstrip().rstrip(":") + ":"
    indent = sig[:len(sig) - len(sig.lstrip())] + "    "
    if desc.startswith("#"):
        text = f"{head}{sig}\n{indent}{desc}\n"
        return text, len(text) - 2
    quoted = '"""' + desc.replace('"""', '\\"\\"\\"') + '"""'
    text = f"{head}{sig}\n{indent}{quoted}\n{indent}...\n"
    return text, len(head) + len(sig) - 1


def generate_code(engine: LanguageModel, signature: str, description: str, context: str = "",
                  options: BodyOptions = BodyOptions(), cancel: CancelToken | None = None) -> str:
    """The code a signature + docstring (or a `# comment`) describes, as whole lines that parse in place;
    '' when the model wrote nothing that parses. `context` is the code before it (imports, other defs)."""
    text, offset = describe_and_locate(signature, description, context)
    suggestion = suggest_body(Document("untitled:generate.py", text), offset, engine, options, cancel)
    return "" if suggestion is None else suggestion.code

