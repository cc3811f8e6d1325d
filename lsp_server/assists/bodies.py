"""Code generation: the body of an empty function, or the code a `# comment` line describes.

Pipeline: find_body_target (where, and the prompt: context + signature + docstring or comment) ->
generate_body (the code LM, stopped at a dedent or the line limit) -> parseable_prefix (tree-sitter:
the longest prefix of whole statements whose edit parses, or '' to withhold) -> body_edit.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass

from ..inline.prompt import CHARS_PER_TOKEN_BOUND
from ..inline.stops import loop_start
from ..runtime.cancel import CancelToken
from ..runtime.engine import LanguageModel
from ..syntax.definitions import DefinitionInfo, find_function
from ..syntax.documents import Document
from ..syntax.edits import Edit, edit_parses, python_parses
from ..syntax.limits import check_position
from .options import BodyOptions

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
    """An enclosing function whose body is empty: only `pass`, `...` and/or a docstring."""
    info = find_function(doc, offset)
    if info is None or not info.empty_body:
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
    special = engine.special
    suffix_ids = engine.encode(suffix[:budget * CHARS_PER_TOKEN_BOUND])[:budget]
    return [special["<fim_suffix>"], *suffix_ids, special["<fim_prefix>"], *prefix_ids, special["<fim_middle>"]]


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
    body = "\n".join("    " + (line[len(indent):] if line.startswith(indent) else line.lstrip(" \t"))
                     for line in code.split("\n"))
    return python_parses("def _generated():\n" + body + "\n")


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


RETRY_BRANCHES = 8  # when greedy decoding gives nothing that parses, the next most likely first tokens


def generate_body(engine: LanguageModel, doc: Document, target: BodyTarget, options: BodyOptions = BodyOptions(),
                  cancel: CancelToken | None = None) -> str:
    """Code for the target that parses in place (whole lines, indented), or '' to withhold it.

    Greedy decoding first; when nothing of it parses (a small model's loops, a statement cut at the token
    limit), up to RETRY_BRANCHES continuations of the next most likely first tokens, best first.
    """
    ids = _prompt_ids(target.prompt, engine.encode, options.prompt_tokens)
    suffix = doc.text[target.end:] if options.suffix_tokens > 0 else ""
    if ids and suffix.strip():
        ids = fim_body_prompt(ids, target.trail + suffix, engine, options.suffix_tokens)
    if not ids:
        return ""
    stop = make_body_stop(target.indent, options.max_lines, target.stop_at_blank)
    deadline = time.monotonic() + options.timeout_s
    gen = engine.generate(ids, options.max_new_tokens, stop, deadline, cancel)
    if gen.stop_reason == "cancelled":
        return ""
    code = _parseable_body(doc, target, gen.text, stop)
    if code:
        return code
    branches = engine.generate_alternatives(ids, RETRY_BRANCHES, options.max_new_tokens, stop, deadline, cancel,
                                            skip=1)
    for branch in sorted(branches, key=lambda g: g.mean_logprob, reverse=True):
        if branch.stop_reason == "cancelled":
            return ""
        if code := _parseable_body(doc, target, branch.text, stop):
            return code
    return ""


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


def suggest_body(doc: Document, offset: int, engine: LanguageModel, options: BodyOptions = BodyOptions(),
                 cancel: CancelToken | None = None) -> BodySuggestion | None:
    """Generated code for the comment line or empty function at offset; None when there is none."""
    target = find_body_target(doc, offset)
    if target is None:
        return None
    code = generate_body(engine, doc, target, options, cancel)
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

