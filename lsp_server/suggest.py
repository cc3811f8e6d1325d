"""The completion pipeline: should we complete here -> prompt -> generate -> post-process -> rank.

Each stage is a function with its own tests; `suggest_all` chains them for the LSP features.
"""
from __future__ import annotations

import functools
import itertools
import re
import time
from dataclasses import dataclass
from functools import partial

from .bounds import error_count, statement_window
from .cursor import BLOCK, LINE, CursorContext, cursor_context, indent_width, scan_brackets, unclosed_strings
from .documents import Document, parse
from .engine import CancelToken, Engine, Generation, PromptCache, StopFn
from .healing import heal_text, healed_stop, unheal
from .prompt import SPM, PromptBudget, build_prompt
from .reuse import DocumentReuse

__all__ = ["BLOCK", "LINE", "CursorContext", "SuggestOptions", "Suggestion", "cursor_context", "make_stop",
           "postprocess", "suggest", "suggest_all", "syntax_cut", "trim_repeated_suffix", "trim_suffix_overlap"]

# Mean token log-probability under which a suggestion is not shown (configurable: inline.confidence_threshold).
DEFAULT_CONFIDENCE_THRESHOLD = -3.0
SPARE_BRANCHES = 2
_CONTINUES_STATEMENT = re.compile(r"(else|elif|except|finally)\b|[)\]}]")
_DEFINITION = re.compile(r"(async\s+def|def|class)\b|@")


@dataclass(frozen=True)
class SuggestOptions:
    max_new_tokens: int = 24
    max_lines: int = 6
    budget: PromptBudget = PromptBudget()
    timeout_ms: int = 400
    multiline: bool = True
    alternatives: int = 1
    confidence_threshold: float = DEFAULT_CONFIDENCE_THRESHOLD
    # SPM keeps the suffix first, so the prompts of consecutive keystrokes share all but their last tokens
    # (benchmarks/fim_order.py measures that it costs no quality).
    fim_order: str = SPM


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


def _cut_before_line(lines: list[str], i: int) -> int:
    """Index in "\n".join(lines) where line i starts, minus its newline."""
    return sum(len(x) + 1 for x in lines[:i]) - 1


def _closes_enclosing(ctx: CursorContext, text: str, stack: list[str], start: int) -> int | None:
    """Cut index when text[start:] closes a bracket open at the cursor; None if it does not.

    The cut drops the bracket when the code after the cursor already closes it, else keeps its line.
    """
    if ctx.in_docstring or not ctx.open_brackets:
        return None
    line_end = text.find("\n", start)
    line = text[start:] if line_end < 0 else text[start:line_end]
    _, closed = scan_brackets(line, stack, len(ctx.open_brackets))
    if closed is None:
        return None
    if ctx.suffix.lstrip().startswith(line[closed]):
        return start + closed
    return None if line_end < 0 else line_end


def loop_start(text: str, max_unit: int = 24) -> int | None:
    """Where text ends in a degenerate loop (a unit repeated 4 times, or 3 for units over 4 chars)."""
    for k in range(1, min(max_unit, len(text) // 3) + 1):
        times = 4 if k <= 4 else 3
        if len(text) < k * times:
            continue
        unit = text[-k:]
        if unit.strip() and "\n" not in unit and text.endswith(unit * times):  # repeated lines: _ends_block
            start = len(text) - k * times
            while start >= k and text[start - k:start] == unit:
                start -= k
            return start
    return None


def _line_stop(ctx: CursorContext, text: str) -> int | None:
    first_content = len(text) - len(text.lstrip("\n")) if not ctx.line_before.strip() else 0
    closed = _closes_enclosing(ctx, text, list(ctx.open_brackets), first_content)
    if closed is not None:
        return closed
    nl = text.find("\n", first_content)
    return None if nl < 0 else nl


def _ends_block(ctx: CursorContext, line: str, previous: str | None, content: int, levels: list[int],
                max_lines: int) -> bool:
    """True when this complete line must not be part of the completion; keeps `levels` (indent stack)."""
    width = indent_width(line)
    if line.strip() == previous or width < ctx.block_floor or content >= max_lines:
        return True  # the model loops, the line leaves the block, or the block is long enough
    if width == 0 and content and (ctx.block_floor == 0 or _DEFINITION.match(line)) \
            and not _CONTINUES_STATEMENT.match(line):
        return True  # a new top-level statement or definition
    if content == 0 and ctx.body_indent is not None and width != ctx.body_indent:
        return True  # the block's existing lines follow: the first new line must sit at their depth
    if width > levels[-1]:
        if content and not (previous or "").endswith(":"):
            return True  # only a block opener may be followed by a deeper line: "unexpected indent"
        levels.append(width)
    while len(levels) > 1 and width < levels[-1]:
        levels.pop()
    return width != levels[-1]  # a dedent to a level that no enclosing line has: IndentationError


def _block_stop(ctx: CursorContext, text: str, max_lines: int) -> int | None:
    lines = text.split("\n")
    stack, levels = list(ctx.open_brackets), [ctx.block_floor if not ctx.line_before.strip() else ctx.indent]
    content, start, previous = 0, 0, None
    for i, line in enumerate(lines):
        # Only complete lines can be judged; lines inside brackets the completion opened are continuations.
        judged = 0 < i < len(lines) - 1 and line.strip() and len(stack) <= len(ctx.open_brackets)
        if judged and _ends_block(ctx, line, previous, content, levels, max_lines):
            return _cut_before_line(lines, i)
        closed = _closes_enclosing(ctx, text, stack, start)
        if closed is not None:
            return closed
        stack, _ = scan_brackets(line, stack)
        content += bool(line.strip())
        previous = line.strip() or previous
        start += len(line) + 1
    return None


def make_stop(ctx: CursorContext, max_lines: int) -> StopFn:
    """Stage 3 helper: where generation stops for this context (cut index into the generated text).

    LINE stops at the end of the line; BLOCK when a line dedents out of the block, a new top-level
    definition starts, max_lines lines are written, or a bracket open at the cursor is closed. Both stop
    where the text starts looping (a line or a short unit repeated).
    """
    def stop(text: str) -> int | None:
        loop = loop_start(text)
        text = text if loop is None else text[:loop]
        cut = _line_stop(ctx, text) if ctx.mode == LINE else _block_stop(ctx, text, max_lines)
        return loop if cut is None else cut
    return stop


def engine_stop(ctx: CursorContext, stop: StopFn) -> StopFn:
    """The stop rule on the model's own text, which follows ctx.lead in the completion."""
    if not ctx.lead:
        return stop

    def shifted(text: str) -> int | None:
        cut = stop(ctx.lead + text)
        return None if cut is None else max(cut - len(ctx.lead), 0)
    return shifted


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


@functools.lru_cache(maxsize=16)  # every alternative of one request compares against the same baseline
def _damage(code: str) -> tuple[int, int, int]:
    """(tree-sitter errors, unclosed strings, unclosed brackets) of a piece of code."""
    return _count(code), unclosed_strings(code), len(scan_brackets(code)[0])


def syntax_cut(doc: Document, offset: int, completion: str) -> str:
    """Longest completion (whole, then cut at line ends) that adds no syntax error, open string or bracket.

    tree-sitter may absorb a new problem into an error the text already had (as in `self.|`), so unclosed
    strings and brackets are counted on their own. '' if no candidate qualifies.
    """
    start, end = _window(doc, offset)
    text = doc.text
    before, after = text[start:offset], text[offset:end]
    baseline = _damage(before + after)
    candidates = [completion] + [completion[:i] for i in range(len(completion) - 1, 0, -1) if completion[i] == "\n"]
    for cand in candidates:
        if cand.strip() and all(a <= b for a, b in zip(_damage(before + cand + after), baseline)):
            return cand
    return ""


def _count(text: str) -> int:
    tree = parse(text.encode("utf-8", "surrogatepass"), None, 0.2)
    return 10**6 if tree is None else error_count(tree.root_node)


def _generate(engine: Engine, ids: list[int], options: SuggestOptions, stop: StopFn, cancel: CancelToken | None,
              cache: PromptCache, deadline: float, branches: int, skip: int = 0, heal: str = "") -> list[Generation]:
    """Stage 3: greedy continuations of the most likely first tokens, decoded together as one batch.

    Spare branches beyond the n wanted stand in for branches that post-processing empties or that
    duplicate another. A batch row costs about as much as a whole decode (each step copies every row's
    KV cache), so with one suggestion wanted the spares run only when the greedy one shows nothing.
    """
    return engine.generate_alternatives(ids, branches, options.max_new_tokens, stop, deadline, cancel,
                                        cache=cache, skip=skip, heal=heal)


def finish(doc: Document, ctx: CursorContext, gen: Generation, stop: StopFn, special_names=()) -> str:
    """Stage 4 for one generation: stop rule on its last line, post-processing, syntax cut."""
    text = ctx.lead + gen.text
    # Generation may end (eos, max_tokens, deadline) inside a last line the stop rule could not judge yet.
    cut = stop(text + "\n")
    text = postprocess(text if cut is None else text[:cut], ctx, special_names)
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


def suggest_all(doc: Document, offset: int, engine: Engine, options: SuggestOptions = SuggestOptions(),
                cancel: CancelToken | None = None, context: str = "",
                reuse: DocumentReuse | None = None) -> list[Suggestion]:
    """Run the whole pipeline for one cursor position of a document snapshot: up to n ranked suggestions.

    With `reuse` (the document's state from its previous request), the prompt keeps the previous
    prefix window while it fits and the prompt pass runs only the tokens that changed.
    """
    ctx = cursor_context(doc, offset)
    if ctx is None:
        return []
    heal = heal_text(ctx)
    head = ctx.prefix + ctx.lead
    prompt = build_prompt(head[:len(head) - len(heal)], ctx.suffix, engine.encode, engine.special, options.budget, context,
                          order=options.fim_order, prefix_start=reuse.prefix_start if reuse is not None else None)
    if reuse is not None:
        reuse.prefix_start = prompt.prefix_start
    stop = make_stop(ctx, options.max_lines if options.multiline else 1)
    n, special = max(options.alternatives, 1), tuple(engine.special)
    # The spares' call finds the prompt pass in the cache: it runs no prompt tokens again.
    run = partial(_generate, engine, prompt.ids, options, healed_stop(heal, engine_stop(ctx, stop)), cancel,
                  reuse.prompt if reuse is not None else PromptCache(), time.monotonic() + options.timeout_ms / 1000,
                  heal=heal)
    lazy = n == 1
    gens = [unheal(heal, g) for g in run(n if lazy else n + SPARE_BRANCHES)]
    if any(gen.stop_reason == "cancelled" for gen in gens):
        return []
    found = finish_best(doc, ctx, gens, stop, n, options.confidence_threshold, special)
    if lazy and not found:
        gens = [unheal(heal, g) for g in run(SPARE_BRANCHES, skip=n)]
        if any(gen.stop_reason == "cancelled" for gen in gens):
            return []
        found = finish_best(doc, ctx, gens, stop, n, options.confidence_threshold, special)
    return found


def suggest(doc: Document, offset: int, engine: Engine, options: SuggestOptions = SuggestOptions(),
            cancel: CancelToken | None = None, context: str = "", reuse: DocumentReuse | None = None) -> Suggestion | None:
    """The best suggestion at one cursor position, or None."""
    found = suggest_all(doc, offset, engine, options, cancel, context, reuse)
    return found[0] if found else None
