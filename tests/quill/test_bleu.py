"""model.bleu against scores worked out by hand with CodeXGLUE's code-to-text evaluator's rules.

Rules used below (model/bleu.py has the details): both sides are lower-cased and split into words and
single punctuation characters; p1 = clipped unigram matches / hypothesis unigrams; for n = 2..4,
pn = (matches + 1) / (guessed n-grams + 1); BLEU = (p1 p2 p3 p4)^(1/4) * exp(min(0, 1 - (r + 1) / (c + 1)))
with r the reference length and c the hypothesis length, in tokens; the reported score is x 100.
"""
from __future__ import annotations

import math

import pytest

from quill.evaluation.bleu import (
    ngram_counts,
    nist_tokens,
    prepare,
    sentence_bleu,
    smoothed_bleu4,
    split_puncts,
)


def test_tokenization_splits_words_and_each_punctuation_character_after_lower_casing():
    assert prepare("  Return the `Path`, or None.\n") == "return the ` path ` , or none ."
    assert split_puncts("a.b_c(d)") == "a . b_c ( d )"
    assert nist_tokens(prepare("Returns x-1.")) == ["returns", "x", "-", "1", "."]


def test_identical_sentences_score_100_even_when_shorter_than_four_tokens():
    # "Return the sum." -> [return, the, sum, .]: c = r = 4.
    # p1 = 4/4; p2 = (3+1)/(3+1); p3 = (2+1)/(2+1); p4 = (1+1)/(1+1): all 1, brevity exp(0) -> 100.
    assert sentence_bleu(["Return the sum."], "Return the sum.") * 100 == pytest.approx(100.0)
    # Two tokens: p1 = 2/2, p2 = (1+1)/(1+1), p3 and p4 guess nothing: (0+1)/(0+1). Still 100.
    assert sentence_bleu(["Close it"], "close  IT") * 100 == pytest.approx(100.0)


def test_partial_overlap_by_hand():
    # ref  [returns, the, sum, of, two, numbers]  r = 6
    # hyp  [returns, the, sum, of, values]        c = 5
    # unigrams: returns the sum of match, values does not       p1 = 4/5
    # bigrams:  returns-the, the-sum, sum-of match of 4          p2 = (3+1)/(4+1) = 4/5
    # trigrams: returns-the-sum, the-sum-of match of 3           p3 = (2+1)/(3+1) = 3/4
    # 4-grams:  returns-the-sum-of matches of 2                  p4 = (1+1)/(2+1) = 2/3
    # product = 0.8 * 0.8 * 0.75 * 2/3 = 0.32; brevity = exp(1 - 7/6) = exp(-1/6)
    # BLEU = 0.32^(1/4) * exp(-1/6) = 0.75212 * 0.84648 = 0.63666 -> 63.67
    expected = 0.32 ** 0.25 * math.exp(-1 / 6)
    assert sentence_bleu(["Returns the sum of two numbers"], "returns the sum of values") == pytest.approx(expected)
    assert 100 * expected == pytest.approx(63.6656, abs=1e-4)


def test_short_hypothesis_is_cut_by_the_brevity_penalty_only():
    # ref [return, the, sum, .] r = 4; hyp [return] c = 1.
    # p1 = 1/1; p2, p3, p4 guess no n-gram: (0+1)/(0+1) = 1. Every precision is 1.
    # brevity = exp(1 - (4+1)/(1+1)) = exp(-1.5) = 0.22313 -> 22.31
    assert sentence_bleu(["Return the sum."], "Return") == pytest.approx(math.exp(-1.5))


def test_empty_hypothesis_is_exp_minus_reference_length_not_zero():
    # c = 0: p1 = log(0 + tiny) - log(0 + tiny) = 0, p2..p4 = log(1/1) = 0;
    # brevity = exp(1 - (4+1)/(0+1)) = exp(-4) = 0.018316 -> 1.83 (the evaluator's quirk, kept).
    assert sentence_bleu(["Return the sum."], "") == pytest.approx(math.exp(-4))
    assert sentence_bleu(["Return the sum."], "   \n") == pytest.approx(math.exp(-4))


def test_no_overlap_at_all_is_nearly_zero():
    # p1 = 0/2 -> log(tiny / 2), about -709: the score underflows to ~0.
    assert sentence_bleu(["Return the sum."], "foo bar") < 1e-70


def test_clipping_counts_a_repeated_word_at_most_as_often_as_the_reference_has_it():
    # ref [the, cat] r = 2; hyp [the, the, the] c = 3.
    # p1 = min(3, 1)/3 = 1/3; bigrams the-the x2 match none: p2 = (0+1)/(2+1) = 1/3;
    # p3 = (0+1)/(1+1) = 1/2; p4 guesses none: (0+1)/(0+1) = 1; brevity: 1 - 3/4 > 0 -> exp(0).
    expected = (1 / 3 * 1 / 3 * 1 / 2 * 1) ** 0.25
    assert sentence_bleu(["the cat"], "the the the") == pytest.approx(expected)


def test_corpus_score_is_the_mean_of_sentence_scores_times_100():
    refs, hyps = ["Return the sum.", "Return the sum."], ["Return the sum.", ""]
    assert smoothed_bleu4(refs, hyps) == pytest.approx(100 * (1 + math.exp(-4)) / 2)
    with pytest.raises(ValueError):
        smoothed_bleu4(["a"], [])
    with pytest.raises(ValueError):
        smoothed_bleu4([], [])


def test_ngram_counts_cover_orders_one_to_four():
    counts = ngram_counts(["a", "b", "a", "b"])
    assert counts[("a", "b")] == 2 and counts[("a", "b", "a", "b")] == 1 and len(counts) == 2 + 2 + 2 + 1
