"""Cache-augmented decoding: the model's next-token distribution mixed with the project's n-gram counts.

p(t) = (1 - λ) p_model(t) + λ q(t), q = the counts after the longest context seen (the current file's own
text first, weighted up, pooled with the project index at that order). λ comes from a rule; the rules
tried and their measured effect are in BENCHMARKS.md ("Project context").
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .index import ProjectIndex, merge_matches
from .ngrams import Match, NgramTable
from .snippets import SnippetIndex

FIXED, CONTEXT, SPECIFIC, GATE = "fixed", "context", "specific", "gate"
# Prompt-lookup drafts (Mixer.draft): follow the caches while their longest matched context is at least this
# long and its most frequent next token has at least this share (tuned with benchmarks/speculation.py).
DRAFT_MIN_ORDER, DRAFT_MIN_SHARE = 3, 0.5


@dataclass(frozen=True)
class MixRule:
    """How much of the cache to mix in. `gate` coefficients: bias, order, log(1+count), q max, model log p of
    the cache's favourite, in that order (see gate_features)."""
    kind: str = CONTEXT
    weight: float = 0.5          # fixed: λ; context: λ at the longest order with many counts
    count_k: float = 0.5         # context: λ grows as total / (total + count_k)
    gate: tuple[float, ...] = (-2.2, 0.45, 0.25, 1.6, 0.35)
    max_order: int = 6
    local_weight: float = 4.0    # a count from the current file is worth this many from other files
    min_order: int = 1

    def weight_for(self, match: Match, model_logprobs: np.ndarray) -> float:
        if self.kind == FIXED:
            return self.weight
        total = match.total
        if self.kind == CONTEXT:
            return self.weight * match.order / self.max_order * total / (total + self.count_k)
        if self.kind == SPECIFIC:  # a short context that was always followed by the same token counts as long
            trust = max(match.order / self.max_order, float(match.counts.max()) / total)
            return self.weight * trust * total / (total + self.count_k)
        z = float(np.dot(self.gate, gate_features(match, model_logprobs)))
        return 1.0 / (1.0 + math.exp(-z))


def gate_features(match: Match, model_logprobs: np.ndarray) -> np.ndarray:
    """(bias, order, log(1 + count), the cache's top probability, model log p of the cache's top token)."""
    top = int(match.counts.argmax())
    q_max = float(match.counts[top] / match.total)
    return np.array([1.0, match.order, math.log1p(match.total), q_max,
                     max(float(model_logprobs[match.ids[top]]), -20.0)])


def mix(model_logprobs: np.ndarray, match: Match | None, rule: MixRule) -> np.ndarray:
    """(V,) log-probabilities of the mixture; the model's own when nothing matched."""
    if match is None or not len(match.ids):
        return model_logprobs
    lam = rule.weight_for(match, model_logprobs)
    if lam <= 0.0:
        return model_logprobs
    probs = np.exp(model_logprobs) * (1.0 - lam)
    probs[match.ids] += lam * match.counts / match.total
    with np.errstate(divide="ignore"):
        return np.log(probs)


@dataclass
class LocalText:
    """The current file's own tokens as a cache: a table and the position its known text ends at."""
    table: NgramTable
    before: int | None = None  # concatenated position: only occurrences whose next token is < it

    @classmethod
    def of(cls, ids: Sequence[int], max_order: int) -> "LocalText":
        """A cache of ids (set `before` to read only a prefix of them: eval scores a file on its prefix)."""
        return cls(NgramTable([ids], max_order))


def nested_match(context: Sequence[int], rule: MixRule, local: LocalText | None = None,
                 project: ProjectIndex | None = None, exclude: str | None = None) -> Match | None:
    """Counts after the longest context seen in the file's own text or the project, pooled at that order."""
    snap = project.snapshot if project is not None else None
    for order in range(min(rule.max_order, len(context)), rule.min_order - 1, -1):
        parts: list[tuple[Match, float]] = []
        if local is not None:
            positions = local.table.positions(context, order, local.before)
            if len(positions):
                parts.append((local.table.counts_at(positions, order), rule.local_weight))
        if project is not None:
            parts += [(m, 1.0) for m in project.matches(context, order, snap, exclude)]
        if parts:
            return merge_matches(parts)
    return None


class Mixer:
    """The decoding bias of one request: engine rows call it with their generated tokens and logprobs."""

    def __init__(self, prefix_ids: Sequence[int], rule: MixRule, local: LocalText | None = None,
                 project: ProjectIndex | None = None, exclude: str | None = None):
        self.prefix = list(prefix_ids[-rule.max_order:])
        self.rule, self.local, self.project, self.exclude = rule, local, project, exclude
        self.lookups = 0
        self.matched = 0
        # Branches share contexts, and the confidence gate asks again for the ones decoding asked for.
        self._seen: dict[tuple[int, ...], Match | None] = {}

    def _lookup(self, context: tuple[int, ...]) -> Match | None:
        if context not in self._seen:
            self._seen[context] = nested_match(context, self.rule, self.local, self.project, self.exclude)
        return self._seen[context]

    def _after(self, generated: Sequence[int]) -> Match | None:
        """The caches' counts after the prompt's end followed by `generated` (memoized)."""
        return self._lookup(tuple((self.prefix + list(generated))[-self.rule.max_order:]))

    def match(self, generated: Sequence[int]) -> Match | None:
        found = self._after(generated)
        self.lookups += 1
        self.matched += found is not None
        return found

    def __call__(self, generated: Sequence[int], logprobs: np.ndarray) -> np.ndarray:
        return mix(logprobs, self.match(generated), self.rule)

    def draft(self, generated: Sequence[int], limit: int) -> list[int]:
        """Prompt lookup: up to `limit` tokens the caches expect after the generated ones, each the most
        frequent continuation of a long, consistent context (lsp_server.runtime.engine checks them in one
        pass and keeps what greedy decoding would have chosen). Lookups are shared with the bias."""
        out: list[int] = []
        while len(out) < limit:
            found = self._after([*generated, *out])
            if found is None or found.order < DRAFT_MIN_ORDER:
                break
            top = int(found.counts.argmax())
            if float(found.counts[top]) < DRAFT_MIN_SHARE * found.total:
                break
            out.append(int(found.ids[top]))
        return out

    def agrees(self, generated: Sequence[int]) -> list[bool]:
        """Per generated token: would the caches alone have chosen it (their most frequent next token after
        the longest context seen)? How much of a suggestion the project vouches for."""
        flags = []
        for i, token in enumerate(generated):
            found = self._after(generated[:i])
            flags.append(found is not None and int(found.ids[int(found.counts.argmax())]) == int(token))
        return flags


@dataclass(frozen=True)
class ProjectContext:
    """What steers one request's decoding besides the model: the project index and the file's own text."""
    index: ProjectIndex | None = None
    rule: MixRule = MixRule()
    # The file's known tokens (quill eval: the text before the cut); None: the prompt's prefix and suffix.
    local_ids: Sequence[int] | None = None
    exclude: str | None = None  # an index key to leave out (quill eval: the scored file itself)
    snippets: SnippetIndex | None = None  # windows of other files for the prompt (inline.snippets)

    def mixer(self, prefix_ids: Sequence[int], suffix_ids: Sequence[int] = ()) -> Mixer:
        sequences = [self.local_ids] if self.local_ids is not None else [prefix_ids, suffix_ids]
        local = LocalText(NgramTable(sequences, self.rule.max_order))
        return Mixer(prefix_ids, self.rule, local, self.index, self.exclude)
