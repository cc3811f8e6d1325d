"""Token healing's index: which tokens can write a healed text again (used by the engine while decoding).

The inline pipeline decides what to heal (lsp_server.inline.healing); the engine constrains its first
tokens with this index so that they reproduce it.
"""
from __future__ import annotations

import bisect

import numpy as np

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
