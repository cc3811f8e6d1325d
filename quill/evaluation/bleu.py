"""Smoothed sentence BLEU-4 as CodeXGLUE's code-to-text evaluator computes it (its evaluator/bleu.py).

That evaluator is the MOSES `bleu.py` (NIST mteval-v11a normalization) driven by `computeMaps` and
`bleuFromMaps`. Per sample, the reference and the hypothesis are each
  1. stripped, lower-cased and split into words and single punctuation characters (`splitPuncts`),
  2. normalized again NIST-style (`normalize`: join lines, unescape XML entities, pad punctuation),
then scored with sentence BLEU-4 whose 2-, 3- and 4-gram precisions get +1 in numerator and denominator
(Lin & Och 2004 "smoothing 2"; unigrams unsmoothed), a brevity penalty exp(min(0, 1 - (r+1)/(c+1))) with
r the shortest reference length (`eff_ref_len = "shortest"`; with one reference, the same as "closest"),
and the corpus score is the mean sentence score x 100.

Quirks kept on purpose, so that numbers compare with published CodeXGLUE results:
  * identical sentences score exactly 100, however short;
  * an empty hypothesis is not 0 but exp(-r), r the reference length (no n-gram of any order is guessed,
    so every precision term is log(1/1) or log(tiny/tiny) = 0, and only the brevity penalty is left).
Pure Python: no torch, no numpy.
"""
from __future__ import annotations

import math
import re
import sys
import xml.sax.saxutils
from collections import Counter

MAX_ORDER = 4
_TINY = sys.float_info.min  # the evaluator adds it inside every log so that log(0) is finite

# NIST mteval-v11a normalization, language-independent part, then the part for Western languages.
_JOIN_LINES = [(re.compile(p), r) for p, r in [("<skipped>", ""), (r"-\n", ""), (r"\n", " ")]]
_TOKENIZE = [(re.compile(p), r) for p, r in [
    (r"([\{-\~\[-\` -\&\(-\+\:-\@\/])", r" \1 "),  # punctuation (the apostrophe is not in the set)
    (r"([^0-9])([\.,])", r"\1 \2 "),  # period and comma unless preceded by a digit
    (r"([\.,])([^0-9])", r" \1 \2"),  # period and comma unless followed by a digit
    (r"([0-9])(-)", r"\1 \2 "),       # dash after a digit
]]
_WORDS_AND_PUNCTUATION = re.compile(r"[\w]+|[^\s\w]")


def split_puncts(line: str) -> str:
    """Words and single non-space punctuation characters, joined by one space (the evaluator's splitPuncts)."""
    return " ".join(_WORDS_AND_PUNCTUATION.findall(line))


def prepare(text: str) -> str:
    """What computeMaps stores for one prediction or gold line: splitPuncts(text.strip().lower())."""
    return split_puncts(text.strip().lower())


def nist_tokens(text: str) -> list[str]:
    """The evaluator's `normalize`: NIST tokenization of an already prepared line."""
    for pattern, replacement in _JOIN_LINES:
        text = pattern.sub(replacement, text)
    text = xml.sax.saxutils.unescape(text, {"&quot;": '"'})
    text = f" {text} ".lower()
    for pattern, replacement in _TOKENIZE:
        text = pattern.sub(replacement, text)
    return text.split()


def ngram_counts(words: list[str], max_order: int = MAX_ORDER) -> Counter:
    """Counts of every n-gram (as a tuple) of order 1..max_order."""
    counts: Counter = Counter()
    for n in range(1, max_order + 1):
        for i in range(len(words) - n + 1):
            counts[tuple(words[i:i + n])] += 1
    return counts


def _log_precision(correct: int, guessed: int, order: int) -> float:
    """log of the (smoothed for order > 1) n-gram precision, as score_cooked computes it."""
    add = 1 if order > 1 else 0
    return math.log(correct + add + _TINY) - math.log(guessed + add + _TINY)


def sentence_bleu(references: list[str], hypothesis: str, max_order: int = MAX_ORDER) -> float:
    """Smoothed BLEU (0..1) of one raw hypothesis against raw references, as bleuFromMaps scores a sample."""
    if not references:
        raise ValueError("sentence_bleu needs at least one reference")
    refs = [nist_tokens(prepare(r)) for r in references]
    test = nist_tokens(prepare(hypothesis))
    max_ref_counts: Counter = Counter()
    for ref in refs:
        max_ref_counts |= ngram_counts(ref, max_order)  # element-wise max (cook_refs)
    correct = [0] * max_order
    for ngram, count in ngram_counts(test, max_order).items():
        correct[len(ngram) - 1] += min(count, max_ref_counts[ngram])  # clipped counts (cook_test)
    log_bleu = sum(_log_precision(correct[n - 1], max(len(test) - n + 1, 0), n)
                   for n in range(1, max_order + 1)) / max_order
    ref_len = min(len(r) for r in refs)  # eff_ref_len = "shortest"
    brevity = min(0.0, 1 - (ref_len + 1) / (len(test) + 1))
    return math.exp(log_bleu + brevity)


def smoothed_bleu4(references: list[str], hypotheses: list[str]) -> float:
    """Mean sentence BLEU-4 x 100 over (reference, hypothesis) pairs: the number CodeXGLUE reports."""
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    if not references:
        raise ValueError("smoothed_bleu4 needs at least one sample")
    return 100.0 * sum(sentence_bleu([r], h) for r, h in zip(references, hypotheses)) / len(references)
