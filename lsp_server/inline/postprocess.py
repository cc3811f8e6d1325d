"""Stages 4 and 5: post-process generated text (tidy, no repeats of the suffix, syntax-aware cut) and rank.

Each generation becomes a Suggestion only when what it adds keeps the code around the cursor as valid as
it was (syntax_cut); finish_best stops once enough distinct suggestions are found.
"""
from __future__ import annotations

import ast
import functools
import itertools
import keyword
import re
from dataclasses import dataclass

from ..runtime.engine import Generation, StopFn
from ..syntax.documents import Document
from ..syntax.edits import damage
from ..syntax.limits import statement_window
from ..syntax.scope import unbound_receiver
from .confidence import calibrated_confidence
from .cursor import BLOCK, LINE, CursorContext


@dataclass
class Suggestion:
    text: str
    offset: int
    generation: Generation
    mode: str

    @property
    def mean_logprob(self) -> float:
        """The model's confidence: mean log-probability of the generated tokens."""
        return self.generation.mean_logprob

    @property
    def confidence(self) -> float:
        """Calibrated probability that the first line is exactly right (lsp_server.inline.confidence)."""
        return calibrated_confidence(self.generation)


def _bracket_net(text: str) -> int:
    return sum(text.count(c) for c in "([{") - sum(text.count(c) for c in ")]}")


def trim_suffix_overlap(completion: str, line_after: str, line_before: str = "") -> str:
    """Drop the end of a completion that repeats what already follows the cursor on this line.

    The whole rest of the line may be repeated (`foo(x))` before `)`), or a start of it made only of
    closing punctuation (`name)` before `):`). Closing brackets are only dropped when the line would
    otherwise close more than it opens: `foo(x)` in `print(|)` is right as it is.
    """
    rest = line_after.strip()
    for k in range(min(len(completion), len(rest)), 0, -1):
        head = rest[:k]
        if completion.endswith(head) and (k == len(rest) or all(c in ")]}:,;'\" " for c in head)):
            over_closed = _bracket_net(completion) < 0 and _bracket_net(line_before + completion + line_after) < 0
            if any(c in ")]}" for c in head) and not over_closed:
                continue
            return completion[:-k].rstrip()
    return completion


def trim_repeated_suffix(completion: str, suffix: str) -> str:
    """Cut a multi-line completion where it starts repeating the next non-blank line after the cursor."""
    # Only the next non-blank line matters: never split the whole rest of a large file.
    following = next((line.strip() for line in itertools.islice(_lines(suffix), 1, None) if line.strip()), None)
    if following is None:
        return completion
    lines = completion.split("\n")
    for i, line in enumerate(lines):
        if line.strip() == following:
            return "\n".join(lines[:i]).rstrip()
    return completion


def _lines(text: str):
    """The lines of text, lazily."""
    start = 0
    while (end := text.find("\n", start)) >= 0:
        yield text[start:end]
        start = end + 1
    yield text[start:]


def cut_special_text(text: str, special_names) -> str:
    """Cut text where the literal text of a special token (e.g. `<fim_suffix>`) appears."""
    cut = min((i for name in special_names if (i := text.find(name)) >= 0), default=len(text))
    return text[:cut]


def postprocess(text: str, ctx: CursorContext, special_names=()) -> str:
    """Stage 4: no special-token text, tidy whitespace, and never repeat what follows the cursor."""
    lines = [line.rstrip() for line in cut_special_text(text, special_names).split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    text = "\n".join(lines)
    if ctx.mode == LINE:
        text = trim_suffix_overlap(text, ctx.line_after, ctx.line_before)
    else:
        text = trim_repeated_suffix(text, ctx.suffix)
    if ctx.lead and text.startswith("\n"):
        text = "\n" + text.lstrip("\n")  # a model that ignored the lead: no blank first line in the block
    if not ctx.line_before.strip() and ctx.mode == BLOCK:
        # On an indented blank line the model may re-emit the newline; keep the text on this line.
        if text.startswith("\n"):
            text = text.lstrip("\n")
            # Its indentation is then counted from column 0, but the cursor already stands after line_before.
            if text.startswith(ctx.line_before):
                text = text[len(ctx.line_before):]
    return text


def _window(doc: Document, offset: int) -> tuple[int, int]:
    """Code-point range of the statements around offset (the region a completion can break), bounded."""
    return statement_window(doc, offset)


def syntax_cut(doc: Document, offset: int, completion: str) -> str:
    """Longest completion (whole, then cut at line ends) that adds no syntax error, open string or bracket.

    tree-sitter may absorb a new problem into an error the text already had (as in `self.|`), so unclosed
    strings and brackets are counted on their own. '' if no candidate qualifies.
    """
    start, end = _window(doc, offset)
    text = doc.text
    before, after = text[start:offset], text[offset:end]
    baseline = damage(before + after)
    candidates = [completion] + [completion[:i] for i in range(len(completion) - 1, 0, -1) if completion[i] == "\n"]
    for cand in candidates:
        if cand.strip() and all(a <= b for a, b in zip(damage(before + cand + after), baseline)):
            return cand
    return ""


MAX_PARSED_LINE = 2_000  # longer lines are left to the syntax cut (ast recursion on a 20,000-term line)


@functools.lru_cache(maxsize=64)  # each generation of one request asks again for the same line
def _parses_alone(line: str) -> bool:
    src = line.strip()
    if len(src) > MAX_PARSED_LINE:
        return False
    try:
        ast.parse(src + " pass" if src.endswith(":") else src)
        return True
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False


def fits_the_line(ctx: CursorContext, completion: str) -> bool:
    """Whether a suggestion fits where it is inserted: after `obj.` it starts with a name (not a lone `,`),
    after a keyword and a space it does not repeat the keyword,
    and in the middle of a line that Python parses on its own, the line still parses with it (tree-sitter
    accepts `f(self)size = size`, which a mid-line suggestion that ignored the rest of the line makes)."""
    first = completion.split("\n")[0]
    if re.search(r"[A-Za-z_)\]]\.$", ctx.line_before) and not re.match(r"[A-Za-z_]", first):
        return False  # an attribute dot (not `0.`, not `...`) is followed by a name
    typed = re.search(r"(\w+)\s+$", ctx.line_before)  # `for arg in ` must not become `for arg in in ...`
    if typed and keyword.iskeyword(typed.group(1)) and re.match(rf"\s*{typed.group(1)}\b", first):
        return False
    if ctx.mode != LINE or not ctx.line_after.strip() or "\n" in completion:
        return True
    return not _parses_alone(ctx.line_before + ctx.line_after) or _parses_alone(ctx.line_before + first + ctx.line_after)


def finish(doc: Document, ctx: CursorContext, gen: Generation, stop: StopFn, special_names=()) -> str:
    """Stage 4 for one generation: stop rule on its last line, post-processing, no `self`/`cls` where no
    enclosing function has one, syntax cut."""
    text = ctx.lead + gen.text
    # Generation may end (eos, max_tokens, deadline) inside a last line the stop rule could not judge yet.
    cut = stop(text + "\n")
    text = postprocess(text if cut is None else text[:cut], ctx, special_names)
    if unbound_receiver(ctx.prefix, text) or not fits_the_line(ctx, text):
        return ""
    return syntax_cut(doc, ctx.offset, text) if text.strip() else ""


def rank(suggestions: list[Suggestion], n: int, threshold: float) -> list[Suggestion]:
    """Stage 5: drop low-confidence and duplicate suggestions; best mean log-probability first; at most n."""
    best: dict[str, Suggestion] = {}
    for sug in suggestions:
        if not sug.text.strip() or sug.mean_logprob < threshold:
            continue
        if sug.text not in best or sug.mean_logprob > best[sug.text].mean_logprob:
            best[sug.text] = sug
    return sorted(best.values(), key=lambda s: s.mean_logprob, reverse=True)[:max(n, 1)]


def finish_best(doc: Document, ctx: CursorContext, gens: list[Generation], stop: StopFn, n: int,
                threshold: float, special_names=()) -> list[Suggestion]:
    """Stages 4 and 5 together: finish generations best first until n distinct suggestions are found.

    The ranking key (mean log-probability) is known before post-processing, so the syntax cut, the
    costly part, runs only for generations that can still make the list: rank() of all, for less.
    """
    ordered = sorted((g for g in gens if g.mean_logprob >= threshold), key=lambda g: g.mean_logprob, reverse=True)
    found: list[Suggestion] = []
    for gen in ordered:
        text = finish(doc, ctx, gen, stop, special_names)
        if text.strip() and all(text != f.text for f in found):
            found.append(Suggestion(text, ctx.offset, gen, ctx.mode))
            if len(found) >= max(n, 1):
                break
    return found
