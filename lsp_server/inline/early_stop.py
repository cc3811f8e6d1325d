"""Stop decoding where the show-less stages would cut anyway: fewer model passes, the same suggestions.

The pipeline cuts each generation before its first doubtful token (healing.cut_at_doubt) and, when the first
line's calibrated confidence misses the gate, keeps at most a start of that first line
(confidence.confident_tokens). Tokens past either point are decoded for nothing, and on a new line they are
most of a multi-line suggestion's cost. `EarlyStop` is the engine's `halt` hook: it ends a row before the
doubtful token, and before the first token after a first line the gate would not show whole. What the
pipeline then shows is what it showed after decoding to the end (tests/lsp_server/inline/test_early_stop.py
compares the two).
"""
from __future__ import annotations

from ..project.mixing import Mixer
from ..runtime.engine import Generation
from .confidence import calibrated_confidence, mark_first_line
from .options import SuggestOptions

DOUBT, UNSURE = "doubt", "unsure"


def first_line_done(text: str) -> bool:
    """Whether text holds a whole non-blank first line (confidence.first_line_tokens' end)."""
    return "\n" in text.lstrip("\n") and bool(text.strip())


class EarlyStop:
    """A request's halt hook (one per generate call: it remembers which rows' first lines it judged)."""

    def __init__(self, options: SuggestOptions, heal: str, mixer: Mixer | None, decode):
        self.cut, self.min_confidence = options.cut_logprob, options.min_confidence
        self.heal, self.mixer, self.decode = heal, mixer, decode
        self._judged: set[int] = set()  # id() of rows whose first line passed the gate

    def __call__(self, gen: Generation, token: int, logprob: float) -> str | None:
        if not gen.token_ids:
            return None  # a branch's first token is its own choice: never cut (cut_at_doubt too)
        if logprob < self.cut and len(gen.text) >= len(self.heal):
            return DOUBT
        if self.min_confidence <= 0 or id(gen) in self._judged or not first_line_done(gen.text):
            return None
        mark_first_line(gen, self.heal, self.mixer, self.decode)
        if calibrated_confidence(gen) < self.min_confidence:
            return UNSURE
        self._judged.add(id(gen))
        return None
