"""Prompt building: a fill-in-the-middle prompt from the text around the cursor, inside a token budget."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

Encode = Callable[[str], list[int]]
# Enough characters for the token budget without tokenizing a whole 10,000-line file (~3.4 chars/token).
CHARS_PER_TOKEN_BOUND = 8


@dataclass(frozen=True)
class PromptBudget:
    """Token budget of a FIM prompt; the prompt costs ~10 ms per 256 tokens on two cores."""
    prefix_tokens: int = 256
    suffix_tokens: int = 64


@dataclass(frozen=True)
class Prompt:
    ids: list[int]
    prefix_tokens: int
    suffix_tokens: int
    prefix_text: str  # the part of the prefix that made it into the prompt


def _fit_prefix(prefix: str, encode: Encode, budget: int) -> tuple[list[int], str]:
    """Encode the end of prefix in <= budget tokens, starting at a line boundary where possible."""
    if budget <= 0:
        return [], ""
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


def build_fim_prompt(prefix: str, suffix: str, encode: Encode, special: dict[str, int],
                     budget: PromptBudget = PromptBudget()) -> Prompt:
    """PSM prompt: <fim_prefix> prefix <fim_suffix> suffix <fim_middle>; the model writes the middle."""
    suffix_ids = _fit_suffix(suffix, encode, budget.suffix_tokens)
    # Unused suffix budget goes to the prefix, which matters more for left-to-right code.
    prefix_ids, prefix_text = _fit_prefix(prefix, encode, budget.prefix_tokens + budget.suffix_tokens - len(suffix_ids))
    ids = [special["<fim_prefix>"], *prefix_ids, special["<fim_suffix>"], *suffix_ids, special["<fim_middle>"]]
    return Prompt(ids, len(prefix_ids), len(suffix_ids), prefix_text)


def build_prompt(prefix: str, suffix: str, encode: Encode, special: dict[str, int],
                 budget: PromptBudget = PromptBudget()) -> Prompt:
    """FIM when there is code after the cursor; plain left-to-right text when there is none.

    Half of training is plain text, and a FIM sample with an empty suffix is rare in training, so at
    the end of a file the left-to-right prompt is the one the model knows best.
    """
    if suffix.strip():
        return build_fim_prompt(prefix, suffix, encode, special, budget)
    ids, text = _fit_prefix(prefix, encode, budget.prefix_tokens + budget.suffix_tokens)
    if not ids:
        ids = [special["<eos>"]]  # an empty document: start as after a file boundary
    return Prompt(ids, len(ids), 0, text)
