"""Show less, right: a calibrated estimate that a suggestion's first line is exactly what the user types next.

A logistic model over the decoder's own numbers (the mixed model + project log-probabilities of the tokens
kept): mean, minimum, and length. Its coefficients were fitted on held-out projects that are not the ones we
report on (benchmarks/show_less.py; the reliability diagram and the trade-off curve are in BENCHMARKS.md), so
`inline.min_confidence` reads as "show a suggestion when at least this share of such suggestions is right".
"""
from __future__ import annotations

import math

from ..runtime.engine import Generation
from .healing import healed_tokens

# (bias, mean log p, min log p, log(1 + unvouched tokens)): benchmarks/show_less.py (BENCHMARKS.md)
CALIBRATION = (0.6569, 0.2853, 0.0443, -1.207)


FIRST_LINE_TOKENS = "first_line_tokens"  # Generation.timings key: tokens up to the end of the first line
CACHE_AGREES = "cache_agrees"  # Generation.timings key: per first-line token, did the project's caches pick it
HEALED_TOKENS = "healed_tokens"  # Generation.timings key: leading tokens that only rewrite what the user typed


def first_line_tokens(gen: Generation, decode) -> int:
    """How many of the generation's tokens write its first non-blank line (all of them if it has one line)."""
    text_seen = ""
    for k in range(1, len(gen.token_ids) + 1):
        text_seen = decode(gen.token_ids[:k])
        if "\n" in text_seen.lstrip("\n") and text_seen.strip():
            return k
    return len(gen.token_ids)


def mark_first_line(gen: Generation, heal: str, mixer, decode) -> None:
    """Mark in gen.timings what the calibration reads: the first line's tokens, which of them the project's
    caches would have chosen (mixer: lsp_server.project.mixing.Mixer, or None), the healed ones."""
    n = gen.timings[FIRST_LINE_TOKENS] = first_line_tokens(gen, decode) if gen.token_ids else len(gen.logprobs)
    gen.timings[CACHE_AGREES] = mixer.agrees(gen.token_ids[:n]) if mixer is not None else []
    gen.timings[HEALED_TOKENS] = healed_tokens(gen, heal, decode, inside=True)


def prefix_features(logprobs: list[float], agrees: list[bool], k: int, skip: int = 0) -> tuple[float, ...]:
    """(1, mean log p, min log p, log(1 + tokens the project does not vouch for)) of tokens skip..k (skip:
    the healed ones, which only rewrite what the user typed); floors for none. Length only counts against a
    suggestion where the project does not back it: a long name copied from another module is as safe as a
    short one. (A fifth feature, the share the project vouches for, was tried: collinear with the fourth,
    it took a negative weight and withheld exactly the copied names the index is for.)"""
    head = logprobs[skip:k]
    if not head:
        return (1.0, -20.0, -20.0, 0.0)
    agreeing = sum(agrees[skip:skip + len(head)]) if agrees else 0
    return (1.0, max(sum(head) / len(head), -20.0), max(min(head), -20.0), math.log1p(len(head) - agreeing))


def confidence_features(gen: Generation) -> tuple[float, ...]:
    """prefix_features of the first line's tokens (what the calibration predicts the rightness of; the
    pipeline marks them in gen.timings)."""
    k = gen.timings.get(FIRST_LINE_TOKENS, len(gen.logprobs))
    return prefix_features(gen.logprobs, gen.timings.get(CACHE_AGREES, []), k, gen.timings.get(HEALED_TOKENS, 0))


def probability(features: tuple[float, ...], coefficients: tuple[float, ...] = CALIBRATION) -> float:
    z = sum(c * x for c, x in zip(coefficients, features))
    return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))


def calibrated_confidence(gen: Generation, coefficients: tuple[float, ...] = CALIBRATION) -> float:
    """Estimated probability (0..1) that the suggestion's first line is exactly right."""
    return probability(confidence_features(gen), coefficients)


def _word_char(c: str) -> bool:
    return c.isalnum() or c == "_"


def confident_tokens(gen: Generation, threshold: float, decode, calibrated=probability) -> int:
    """How many tokens to show: all when the first line reaches `threshold`, else the longest start of the
    first line (beyond the healed tokens) that does and does not end inside a word, else 0.
    `calibrated` maps features to a probability (benchmarks/show_less.py passes candidate coefficients)."""
    first = gen.timings.get(FIRST_LINE_TOKENS, len(gen.logprobs))
    agrees = gen.timings.get(CACHE_AGREES, [])
    healed = gen.timings.get(HEALED_TOKENS, 0)
    if calibrated(prefix_features(gen.logprobs, agrees, first, healed)) >= threshold:
        return len(gen.token_ids)
    longer = decode(gen.token_ids[:first])
    for k in range(first - 1, healed, -1):
        text = decode(gen.token_ids[:k])
        inside_word = text[-1:] and _word_char(text[-1]) and _word_char(longer[len(text):len(text) + 1] or " ")
        if not inside_word and calibrated(prefix_features(gen.logprobs, agrees, k, healed)) >= threshold:
            return k
        longer = text
    return 0
