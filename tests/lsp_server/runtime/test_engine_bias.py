"""A decoding bias (the project cache's hook) steers every step of the real engine, branches included."""
from __future__ import annotations

import numpy as np

from lsp_server.project.index import ProjectIndex
from lsp_server.project.mixing import FIXED, Mixer, MixRule

PROMPT = "def summarize(rows):\n    return"  # no trailing space: the tokenizer attaches it to the next word
NAME = "zorblax_quuxify(rows)"


def test_a_bias_sees_each_rows_own_tokens_and_replaces_its_distribution(engine):
    seen = []
    forced = engine.encode(NAME)

    def bias(generated, logprobs):
        seen.append(list(generated))
        out = np.full_like(logprobs, -np.inf)
        out[forced[len(generated)] if len(generated) < len(forced) else engine.eos_id] = 0.0
        return out

    gens = engine.generate_alternatives(engine.encode(PROMPT), 1, 16, bias=bias)
    assert gens[0].text == NAME and gens[0].stop_reason == "eos"
    assert seen[:3] == [[], forced[:1], forced[:2]]


def test_the_project_cache_makes_an_unguessable_name_the_greedy_continuation(engine):
    prompt = engine.encode(PROMPT)
    alone = engine.generate(prompt, 8)
    assert not alone.text.startswith(" zorblax")
    index = ProjectIndex(engine.encode_batch)
    index.update([("other.py", f"def f(rows):\n    return {NAME}\n\n\ndef g(rows):\n    return {NAME}\n")])
    mixer = Mixer(prompt, MixRule(kind=FIXED, weight=0.9), project=index)
    steered = engine.generate_alternatives(prompt, 1, 8, bias=mixer)[0]
    assert steered.text.startswith(" zorblax_quux"), steered.text
    assert mixer.matched >= 4
