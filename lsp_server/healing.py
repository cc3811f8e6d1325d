"""Token healing: the typed end of a line leaves the prompt, and the model must write it again.

The tokenizer attaches a space to the word after it (`Ġargs`) and never splits `import` as `impo` + `rt`,
so a prompt ending in a lone space or in half a word is one the model never saw in training. suggest.py
leaves that tail out of the prompt (heal_text); the engine constrains the first generated tokens to
reproduce it (HealIndex.constrain), and unheal() takes it off the answer again.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .cursor import CursorContext
    from .engine import Generation, StopFn

HEALED_TAIL = re.compile(r"[ \t]*([A-Za-z0-9_]{0,40})$")  # ASCII: the token texts of a word are then exact
MASK_CACHE = 64


class HealIndex:
    """The token texts sorted, so that the tokens consistent with a healed text are found by bisection."""

    def __init__(self, token_texts: list[str]):
        self.vocab = len(token_texts)
        pairs = sorted((t, i) for i, t in enumerate(token_texts) if t)
        self.texts = [t for t, _ in pairs]
        self.ids = np.array([i for _, i in pairs], dtype=np.int64)
        self.by_text: dict[str, list[int]] = {}
        for t, i in pairs:
            self.by_text.setdefault(t, []).append(i)
        self._masks: dict[str, np.ndarray] = {}

    def mask(self, remaining: str) -> np.ndarray:
        """(V,) bool: tokens whose text starts with `remaining` or is a non-empty start of it."""
        cached = self._masks.get(remaining)
        if cached is None:
            cached = np.zeros(self.vocab, dtype=bool)
            lo = bisect.bisect_left(self.texts, remaining)
            hi = bisect.bisect_left(self.texts, remaining + "\U0010ffff", lo)
            cached[self.ids[lo:hi]] = True  # texts starting with remaining: one run of the sorted texts
            for k in range(1, len(remaining)):
                cached[self.by_text.get(remaining[:k], [])] = True  # texts that are a start of remaining
            if len(self._masks) > MASK_CACHE:
                self._masks.clear()
            self._masks[remaining] = cached
        return cached

    def constrain(self, logprobs: np.ndarray, text: str, heal: str) -> np.ndarray:
        """(V,) log-probabilities renormalized over the tokens that keep `text` consistent with `heal`."""
        if len(text) >= len(heal):
            return logprobs
        mask = self.mask(heal[len(text):])
        out = np.full_like(logprobs, -np.inf)
        if mask.any() and np.isfinite(logprobs[mask]).any():
            kept = logprobs[mask]
            out[mask] = kept - (kept.max() + np.log(np.exp(kept - kept.max()).sum()))
        return out


def heal_text(ctx: CursorContext) -> str:
    """What the user typed at the end of the line that the prompt leaves out and the model must write
    again (token healing): trailing spaces, and a partly typed word with the spaces before it.

    The tokenizer attaches a space to the word after it (`Ġargs`) and never splits `import` as
    `impo` + `rt`, so a prompt ending in a lone space or in half a word is one the model never saw in
    training; it then writes nonsense (`for a in ` -> `sel`). The engine constrains the first tokens to
    reproduce the healed text (HealIndex), so `x = impo` gets ` import` back whole.
    """
    if ctx.lead or not ctx.line_before.strip():
        return ""
    m = HEALED_TAIL.search(ctx.line_before)
    if ctx.line_before[m.start(1) - 1:m.start(1)].isalnum():  # the end of a non-ASCII word: heal nothing
        return ""
    heal = m.group()
    if heal.strip() == ctx.line_before.strip():  # the word is all the line has: the indentation stays
        heal = heal.lstrip(" \t")
    return heal


def healed_stop(heal: str, stop: StopFn) -> StopFn:
    """The stop rule on generated text that must begin with `heal`; a branch that does not is cut to ''."""
    if not heal:
        return stop

    def healed(text: str) -> int | None:
        if not (text.startswith(heal) or heal.startswith(text)):
            return 0
        if len(text) <= len(heal):
            return None
        cut = stop(text[len(heal):])
        return None if cut is None else cut + len(heal)
    return healed


def unheal(heal: str, gen: Generation) -> Generation:
    """The generation without the healed spaces (empty when it did not reproduce them)."""
    if not heal:
        return gen
    text = gen.text[len(heal):] if gen.text.startswith(heal) else ""
    return replace(gen, text=text)
