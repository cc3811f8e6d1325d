"""Alternatives, scoring and name proposals on the shipped bundle (lsp_server.engine, lsp_server.rank).

The bundle is int8 with dynamic quantization: a batch shares activation scales, so batched and unbatched
log-probabilities agree to ~0.03, not exactly; comparisons below allow for that.
"""
import numpy as np
import pytest

from lsp_server.assists.name_ranking import (
    complete_names,
    identifier_mask,
    name_token_ids,
    propose_names,
)
from lsp_server.inline.options import SuggestOptions
from lsp_server.inline.pipeline import suggest_all
from lsp_server.runtime.cancel import CancelToken
from lsp_server.syntax.documents import Document

PROMPT = "class Person:\n    def __init__(self, name):\n        self."


def test_one_alternative_is_greedy_decoding(engine):
    ids = engine.encode(PROMPT)
    assert engine.generate_alternatives(ids, 1, 12)[0].token_ids == engine.generate(ids, 12).token_ids


def test_alternatives_branch_at_the_most_likely_first_tokens_in_order(engine):
    ids = engine.encode(PROMPT)
    gens = engine.generate_alternatives(ids, 4, 8)
    first = [g.token_ids[0] for g in gens]
    logprobs = engine.prefill(ids).logprobs
    assert first == [int(t) for t in np.argsort(-logprobs)[:4]]
    assert gens[0].token_ids == engine.generate(ids, 8).token_ids
    assert all(g.stop_reason == "max_tokens" and len(g.token_ids) == 8 for g in gens)
    assert all(g.prompt_tokens == len(ids) for g in gens)


def test_alternatives_never_contain_special_tokens(engine):
    banned = {i for name, i in engine.special.items() if name != "<eos>"}
    for gen in engine.generate_alternatives(engine.encode("def f(x):\n"), 6, 16):
        assert not banned & set(gen.token_ids)
        assert "<fim_" not in gen.text


def test_each_alternative_has_its_own_stop_rule_result(engine):
    gens = engine.generate_alternatives(engine.encode(PROMPT), 3, 24, stop=lambda t: 3 if len(t) >= 3 else None)
    assert all(g.stop_reason == "stop" and len(g.text) == 3 for g in gens)


def test_cancelled_alternatives_run_nothing(engine):
    token = CancelToken()
    token.cancel()
    gens = engine.generate_alternatives(engine.encode(PROMPT), 3, 8, cancel=token)
    assert [g.stop_reason for g in gens] == ["cancelled"] * 3


def test_score_matches_token_by_token_recomputation(engine):
    ids = engine.encode(PROMPT)
    pre = engine.prefill(ids, reserve=8)
    seqs = [engine.encode("name"), engine.encode("name_of_thing"), [5000]]
    manual = [sum(float(engine.prefill(ids + seq[:j], reserve=2).logprobs[seq[j]]) for j in range(len(seq)))
              for seq in seqs]
    # Dynamic int8 quantizes activations per tensor, so a batch of continuations and one-by-one runs round
    # differently: a few tenths of a nat on an unlikely 13-token name (-22 nats), under 1% of it.
    assert engine.score(pre, seqs) == pytest.approx(manual, abs=0.15, rel=0.02)


def test_score_with_a_mask_adds_the_probability_that_the_name_ends(engine):
    pre = engine.prefill(engine.encode(PROMPT), reserve=8)
    seqs = [engine.encode("name")]
    plain, ended = engine.score(pre, seqs)[0], engine.score(pre, seqs, identifier_mask(engine))[0]
    assert ended < plain  # P(name, then not an identifier character) < P(name)
    with pytest.raises(ValueError):
        engine.score(pre, [[]])


def test_name_tokens_follow_the_prompt_tokenization(engine):
    seqs = name_token_ids(engine, "x =", " ", ["value", "_private"])
    assert seqs[0] == engine.encode(" value")
    assert engine.decode(seqs[1]) == " _private"


def test_proposals_are_identifiers_that_extend_what_was_typed(engine):
    doc = Document("file:///t.py", "import os\nx = os.path.jo")
    pre = engine.prefill(engine.encode("import os\nx = os.path."), reserve=8)
    found = propose_names(engine, pre, "", "jo", 5)
    assert found, "the model proposed nothing after os.path.jo"
    for name, score in found.items():
        assert name.isidentifier() and name.startswith("jo") and len(name) > 2 and score < 0
    assert complete_names(doc, len(doc.text), engine).incomplete is True


def test_model_ranking_puts_a_likely_attribute_first(engine):
    text = ("class Person:\n    def __init__(self, name):\n        self.names_seen_before_yesterday = []\n"
            "        self.name = name\n        print(self.")
    doc = Document("file:///t.py", text)
    result = complete_names(doc, len(text), engine)
    own = [r for r in result.names if r.group == 0 and r.kind == "field"]
    assert [r.text for r in own][:2] == ["name", "names_seen_before_yesterday"]
    assert own[0].score > own[1].score


def test_suggest_all_returns_distinct_alternatives_ranked_by_confidence(engine):
    doc = Document("file:///t.py", PROMPT)
    found = suggest_all(doc, len(PROMPT), engine, SuggestOptions(alternatives=3))
    assert len(found) >= 2
    assert len({s.text for s in found}) == len(found)
    assert [s.mean_logprob for s in found] == sorted((s.mean_logprob for s in found), reverse=True)
    assert all(s.mean_logprob >= SuggestOptions().confidence_threshold for s in found)
