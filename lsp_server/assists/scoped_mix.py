"""The project's n-grams in body decoding, without their votes for names this scope lacks.

The caches (lsp_server.project.mixing) learn from other functions and files, and in a generated body they
propose those places' names: locals of another function, helpers the module never imports. Those are
undefined here, and body_checks would cut the body there. So the caches' vote for a token that starts or
continues a name that nothing in scope begins with is dropped; the model's own distribution is left as it
is (a new local can still be written), and attributes, strings and comments are not names.
"""
from __future__ import annotations

import bisect
import keyword
import re
from typing import Iterable, Sequence

import numpy as np

from ..project.mixing import Mixer, mix
from ..runtime.engine import LanguageModel
from .body_scope import BUILTINS, MODULE_ATTRIBUTES

KEYWORDS = frozenset(keyword.kwlist + keyword.softkwlist)
NAME_TAIL = re.compile(r"[A-Za-z0-9_]*$")
NAME_HEAD = re.compile(r"[A-Za-z0-9_]*")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
TAIL_CHARS = 200  # of the prompt: enough to see the current line


def _in_string_or_comment(line: str) -> bool:
    """A rough read of the current line: an odd number of quotes of one kind, or a `#` outside quotes."""
    quote = None
    for i, ch in enumerate(line):
        if quote is None and ch == "#":
            return True
        if ch in "'\"" and (i == 0 or line[i - 1] != "\\"):
            quote = None if quote == ch else (ch if quote is None else quote)
    return quote is not None


class ScopedMix:
    """A decoding bias: Mixer's, less the caches' votes for names that are not in scope."""

    def __init__(self, mixer: Mixer, engine: LanguageModel, known: Iterable[str], prompt_tail: str = ""):
        self.mixer, self.decode = mixer, engine.decode
        self.known = sorted(set(known) | KEYWORDS | BUILTINS | MODULE_ATTRIBUTES)
        self.tail = prompt_tail[-TAIL_CHARS:]
        self._pieces: dict[int, str] = {}
        self.dropped = 0  # votes dropped, for tests and benchmarks

    def _piece(self, token: int) -> str:
        if token not in self._pieces:
            self._pieces[token] = self.decode([token])
        return self._pieces[token]

    def _begins_known(self, name: str, generated: list[str]) -> bool:
        i = bisect.bisect_left(self.known, name)
        return (i < len(self.known) and self.known[i].startswith(name)) or any(g.startswith(name) for g in generated)

    def allowed(self, text: str, piece: str, generated: list[str]) -> bool:
        """False when piece, after text, starts or continues a name that no name in scope begins with."""
        tail = NAME_TAIL.search(text).group() if piece[:1].isalnum() or piece[:1] == "_" else ""
        head = NAME_HEAD.match(piece.lstrip(" \t") if not tail else piece).group()
        name = tail + head
        if not name or name[0].isdigit():
            return True
        before = text[:len(text) - len(tail)] + (piece[:len(piece) - len(piece.lstrip(" \t"))] if not tail else "")
        if before.endswith(".") or _in_string_or_comment(before[before.rfind("\n") + 1:]):
            return True
        return self._begins_known(name, generated)

    def __call__(self, generated: Sequence[int], logprobs: np.ndarray) -> np.ndarray:
        match = self.mixer.match(generated)
        if match is None or not len(match.ids):
            return logprobs
        text = self.tail + (self.decode(list(generated)) if len(generated) else "")
        names = NAME.findall(text[len(self.tail):])
        keep = np.array([self.allowed(text, self._piece(int(t)), names) for t in match.ids])
        if keep.all():
            return mix(logprobs, match, self.mixer.rule)
        self.dropped += int((~keep).sum())
        lam = self.mixer.rule.weight_for(match, logprobs)  # the caches' confidence, as if nothing were dropped
        if lam <= 0.0:
            return logprobs
        probs = np.exp(logprobs) * (1.0 - lam)
        probs[match.ids[keep]] += lam * match.counts[keep] / match.total
        with np.errstate(divide="ignore"):
            return np.log(probs)
