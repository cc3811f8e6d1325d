"""Prompt-lookup decoding on the shipped bundle: drafted tokens checked several per pass give greedy's tokens.

The graph's num_logits input returns logits for the last n positions, so one pass over [last token, *draft]
says which drafted tokens greedy decoding would have chosen. int8's activation scales are per tensor, so a
several-token pass can differ from single steps in the last bits and flip a near tie (two tokens within
~0.03 nats); the comparisons below decode with the project cache mixed in (as the server does), which
leaves no near ties on these continuations.
"""
from __future__ import annotations

import numpy as np
import pytest

from lsp_server.project.index import ProjectIndex
from lsp_server.project.mixing import FIXED, Mixer, MixRule
from lsp_server.runtime.engine import Engine
from tests.bundle_fixtures import copy_bundle, last_position_layout

PROMPT = "def load(path):\n    return"
BODY = " zorblax_quuxify(open(path).read(), strict=True)\n"


@pytest.fixture(scope="module")
def mixer_for(engine):
    index = ProjectIndex(engine.encode_batch)
    index.update([("other.py", f"def f(path):\n    return{BODY}\n\ndef g(path):\n    return{BODY}")])
    return lambda: Mixer(engine.encode(PROMPT), MixRule(kind=FIXED, weight=0.9), project=index)


def decode(engine, mixer, n_tokens=16, **kwargs):
    return engine.generate_alternatives(engine.encode(PROMPT), 1, n_tokens, bias=mixer, **kwargs)[0]


def test_the_shipped_graph_verifies_drafts(engine):
    assert engine.verifies


def test_the_caches_drafts_give_the_same_tokens_in_fewer_passes(engine, mixer_for):
    want = decode(engine, mixer_for())
    assert want.text.startswith(BODY[:20]) and want.timings["drafted"] == 0
    mixer, limits = mixer_for(), []

    def draft(generated, limit):
        limits.append((len(generated), limit))
        return mixer.draft(generated, limit)

    got = decode(engine, mixer, draft=draft)
    assert got.token_ids == want.token_ids and got.text == want.text
    assert got.timings["draft_accepted"] >= len(want.token_ids) // 2
    assert got.timings["model_calls"] <= want.timings["model_calls"] / 2
    np.testing.assert_allclose(got.logprobs, want.logprobs, atol=0.05)
    assert all(limit <= 8 and done + 1 + limit <= 16 for done, limit in limits)  # never past the budget


def test_a_wrong_draft_changes_nothing_and_a_partly_right_one_keeps_its_agreeing_start(engine, mixer_for):
    want = decode(engine, mixer_for())
    rare = engine.encode(" qwertyuiop")[0]
    wrong = decode(engine, mixer_for(), draft=lambda g, k: [rare] * k)
    assert wrong.token_ids == want.token_ids and wrong.timings["draft_accepted"] == 0

    def partly(generated, limit):
        right = want.token_ids[len(generated):len(generated) + limit]
        return right[:2] + [rare] + right[3:]

    got = decode(engine, mixer_for(), draft=partly)
    assert got.token_ids == want.token_ids  # the keys/values of each rejected tail were dropped
    assert 0 < got.timings["draft_accepted"] < got.timings["drafted"]


def test_several_rows_decode_one_token_per_pass(engine, mixer_for):
    mixer = mixer_for()
    got = engine.generate_alternatives(engine.encode(PROMPT), 3, 8, bias=mixer, draft=mixer.draft)
    assert sum(g.timings["drafted"] for g in got) == 0 or min(len(g.token_ids) for g in got) < 8


def test_halt_ends_a_row_before_the_token_it_names(engine, mixer_for):
    want = decode(engine, mixer_for())
    mixer = mixer_for()

    def halt(gen, token, logprob):
        return "enough" if len(gen.token_ids) == 3 else None

    got = decode(engine, mixer, halt=halt, draft=mixer.draft)  # halted inside a verified draft, too
    assert got.token_ids == want.token_ids[:3] and got.stop_reason == "enough"


def test_a_bundle_of_the_older_layout_still_decodes_and_ignores_drafts(engine, mixer_for, tmp_path):
    old = Engine.load(last_position_layout(copy_bundle(tmp_path / "old")), threads=1)
    assert not old.verifies
    mixer = mixer_for()
    got = decode(old, mixer, draft=mixer.draft)
    assert got.token_ids == decode(engine, mixer_for()).token_ids and got.timings["drafted"] == 0
    with pytest.raises(ValueError, match="last position only"):
        old.step(np.array([[1, 2]]), old.empty_past(), positions=2)
