"""Prompt building: a fill-in-the-middle prompt from the text around the cursor, inside a token budget."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..prompt_format import CONTEXT_HEADER, EOS, PSM, SPM, fim_layout, plain_layout

Encode = Callable[[str], list[int]]
# Enough characters for the token budget without tokenizing a whole 10,000-line file (~3.4 chars/token).
CHARS_PER_TOKEN_BOUND = 8
# Cross-file context may use at most this share of the prefix budget: the code right before the cursor
# matters more than any other file.
CONTEXT_SHARE = 4
# While the user types, the prefix window keeps its first line (so the prompt keeps a shared token
# prefix with the previous one) until it outgrows the budget; it is then refitted to this share less,
# leaving room for the next few lines of typing.
STICKY_SLACK = 8


@dataclass(frozen=True)
class PromptBudget:
    """Token budget of a FIM prompt; the prompt costs ~10 ms per 256 tokens on two cores."""
    prefix_tokens: int = 256
    suffix_tokens: int = 64
    context_share: int = CONTEXT_SHARE  # cross-file context gets at most 1/context_share of the budget


def context_budget(budget: PromptBudget, suffix_tokens: int = 0) -> int:
    """Tokens cross-file context may take in a prompt whose suffix took suffix_tokens: a share of the whole
    budget, unused suffix budget included (training sizes its cross-file context with this too)."""
    return (budget.prefix_tokens + budget.suffix_tokens - suffix_tokens) // budget.context_share


@dataclass(frozen=True)
class Prompt:
    ids: list[int]
    prefix_tokens: int
    suffix_tokens: int
    prefix_text: str  # the part of the prefix that made it into the prompt
    context_tokens: int = 0  # tokens of cross-file context placed before the prefix
    prefix_start: int = 0  # offset in the prefix where prefix_text starts (pass back as prefix_start)
    prefix_ids: tuple[int, ...] = ()  # the prefix's tokens (the text the middle continues)
    suffix_ids: tuple[int, ...] = ()


def _sticky_prefix(prefix: str, encode: Encode, budget: int, start: int | None) -> tuple[list[int], str] | None:
    """prefix[start:] encoded when start begins a line and it still fits in budget; else None."""
    if start is None or not 0 <= start <= len(prefix) or (start and prefix[start - 1] != "\n"):
        return None
    window = prefix[start:]
    if len(window) > budget * CHARS_PER_TOKEN_BOUND:
        return None
    ids = encode(window)
    return (ids, window) if len(ids) <= budget else None


def _fit_prefix(prefix: str, encode: Encode, budget: int, start: int | None = None) -> tuple[list[int], str]:
    """Encode the end of prefix in <= budget tokens, starting at a line boundary where possible.

    With `start` (where the previous request's window began), that window is kept while it fits; once
    it does not, the new window leaves 1/STICKY_SLACK of the budget free for the typing that follows.
    """
    if budget <= 0:
        return [], ""
    if start is not None:
        sticky = _sticky_prefix(prefix, encode, budget, start)
        if sticky is not None:
            return sticky
        budget -= budget // STICKY_SLACK
    window = prefix[-budget * CHARS_PER_TOKEN_BOUND:]
    if len(window) < len(prefix) and "\n" in window:
        window = window[window.index("\n") + 1:]
    ids = encode(window)
    for _ in range(4):  # drop whole leading lines until it fits, never the cursor's own line
        if len(ids) <= budget:
            break
        keep = len(window) * budget // len(ids)  # characters that fit if tokens are spread evenly
        start = window.find("\n", len(window) - keep - 1) + 1
        if start == 0:
            break
        window = window[start:]
        ids = encode(window)
    if len(ids) > budget:
        ids = ids[-budget:]
    return ids, window


def _fit_suffix(suffix: str, encode: Encode, budget: int) -> list[int]:
    """Encode the start of suffix in <= budget tokens, ending at a line boundary where possible."""
    if budget <= 0 or not suffix:
        return []
    window = suffix[:budget * CHARS_PER_TOKEN_BOUND]
    if len(window) < len(suffix) and "\n" in window:
        window = window[:window.rindex("\n") + 1]
    ids = encode(window)
    for _ in range(4):  # drop whole trailing lines until it fits, never the cursor's own line
        if len(ids) <= budget:
            break
        end = window.rfind("\n", 0, len(window) * budget // len(ids)) + 1
        if end == 0:
            break
        window = window[:end]
        ids = encode(window)
    return ids[:budget]


def fit_context(context: str, encode: Encode, budget: int) -> list[int]:
    """Encode the whole lines at the start of context (nearest files first) in <= budget tokens."""
    if budget <= 0 or not context.strip():
        return []
    window = context[:budget * CHARS_PER_TOKEN_BOUND]
    lines = window.split("\n")
    if len(window) < len(context):
        lines = lines[:-1]  # the window cut this line
    kept: list[list[int]] = []
    used = 0
    for line in filter(None, lines):  # "\n" is its own pre-token, so lines encode independently
        line_ids = encode(line + "\n")
        if used + len(line_ids) > budget:
            break
        kept.append(line_ids)
        used += len(line_ids)
        header_only = line.startswith(CONTEXT_HEADER)
    if kept and header_only:
        kept.pop()  # a file's path line without any of its lines says nothing
    return [i for line_ids in kept for i in line_ids]


def build_fim_prompt(prefix: str, suffix: str, encode: Encode, special: dict[str, int],
                     budget: PromptBudget = PromptBudget(), context: str = "", *, order: str = PSM,
                     prefix_start: int | None = None) -> Prompt:
    """FIM prompt; the model writes the middle after <fim_middle>.

    PSM: <fim_prefix> context prefix <fim_suffix> suffix <fim_middle>. SPM: <fim_suffix> suffix
    <fim_prefix> context prefix <fim_middle>, where typing at the cursor only changes the end.
    """
    suffix_ids = _fit_suffix(suffix, encode, budget.suffix_tokens)
    # Unused suffix budget goes to the prefix, which matters more for left-to-right code.
    total = budget.prefix_tokens + budget.suffix_tokens - len(suffix_ids)
    context_ids = fit_context(context, encode, context_budget(budget, len(suffix_ids)))
    prefix_ids, prefix_text = _fit_prefix(prefix, encode, total - len(context_ids), prefix_start)
    ids = fim_layout(prefix_ids, suffix_ids, special, SPM if order == SPM else PSM, context_ids)
    return Prompt(ids, len(prefix_ids), len(suffix_ids), prefix_text, len(context_ids),
                  len(prefix) - len(prefix_text), tuple(prefix_ids), tuple(suffix_ids))


def build_prompt(prefix: str, suffix: str, encode: Encode, special: dict[str, int],
                 budget: PromptBudget = PromptBudget(), context: str = "", *, order: str = PSM,
                 prefix_start: int | None = None) -> Prompt:
    """FIM (in `order`) when there is code after the cursor; plain left-to-right text when there is none.

    Half of training is plain text, and a FIM sample with an empty suffix is rare in training, so at
    the end of a file the left-to-right prompt is the one the model knows best. Cross-file `context`
    (see lsp_server.inline.context) goes before the prefix, within 1/budget.context_share of the budget.
    `prefix_start` (the previous prompt's Prompt.prefix_start) keeps the prefix window's first line
    while it fits, so that consecutive prompts share a token prefix (see engine.PromptCache).
    """
    if suffix.strip():
        return build_fim_prompt(prefix, suffix, encode, special, budget, context, order=order,
                                prefix_start=prefix_start)
    total = budget.prefix_tokens + budget.suffix_tokens
    context_ids = fit_context(context, encode, context_budget(budget))
    prefix_ids, text = _fit_prefix(prefix, encode, total - len(context_ids), prefix_start)
    ids = plain_layout(prefix_ids, context_ids)
    if not ids:
        ids = [special[EOS]]  # an empty document: start as after a file boundary
    return Prompt(ids, len(ids) - len(context_ids), 0, text, len(context_ids), len(prefix) - len(text),
                  tuple(prefix_ids))
