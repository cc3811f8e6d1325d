"""Show less, right: the doubt cut, the calibrated confidence and the gate that trims or withholds."""
from __future__ import annotations

from lsp_server.inline.confidence import (
    CACHE_AGREES,
    FIRST_LINE_TOKENS,
    calibrated_confidence,
    confident_tokens,
    first_line_tokens,
    prefix_features,
)
from lsp_server.inline.healing import cut_at_doubt, healed_tokens, keep_tokens
from lsp_server.runtime.engine import Generation

PIECES = ["self", ".", "items", "[", "name", "]", "\n", "return"]


def decode(ids):
    return "".join(PIECES[i] for i in ids)


def gen(logprobs, ids=None, agrees=None):
    ids = list(range(len(logprobs))) if ids is None else ids
    g = Generation(decode(ids), ids, list(logprobs), "max_tokens", 10)
    g.timings[FIRST_LINE_TOKENS] = first_line_tokens(g, decode)
    g.timings[CACHE_AGREES] = agrees if agrees is not None else [False] * len(ids)
    return g


def test_the_doubt_cut_stops_before_the_first_unlikely_token_but_never_at_the_first():
    g = gen([-0.1, -0.2, -0.3, -3.0, -0.1, -0.1])
    cut = cut_at_doubt(g, -1.5, "", decode)
    assert cut.text == "self.items" and cut.token_ids == [0, 1, 2] and cut.stop_reason == "doubt"
    first_unsure = gen([-4.0, -0.1])
    assert cut_at_doubt(first_unsure, -1.5, "", decode).token_ids == [0, 1]  # a branch's own first token


def test_the_doubt_cut_never_cuts_inside_the_healed_text():
    g = gen([-0.1, -3.0, -3.0, -0.1])  # "self." healed: its tokens are forced, whatever their probability
    assert healed_tokens(g, "self.", decode) == 2
    assert cut_at_doubt(g, -1.5, "self.", decode).token_ids == [0, 1]


def test_keep_tokens_never_lengthens_the_text_the_stop_rule_left():
    g = gen([-0.1] * 6)
    g.text = "self.it"  # a stop rule cut the text inside a token
    assert keep_tokens(g, 3, decode, "unsure").text == "self.it"
    assert keep_tokens(g, 2, decode, "unsure").text == "self."


def test_the_first_line_ends_at_the_first_newline_after_text():
    assert first_line_tokens(gen([-0.1] * 8), decode) == 7  # "self.items[name]\n"


def test_confidence_grows_with_the_models_certainty_and_the_projects_backing():
    sure, unsure = gen([-0.05] * 6), gen([-1.2] * 6)
    assert calibrated_confidence(sure) > calibrated_confidence(unsure)
    backed = gen([-1.2] * 6, agrees=[True] * 6)
    assert calibrated_confidence(backed) > calibrated_confidence(unsure)
    assert 0.0 <= calibrated_confidence(gen([])) <= 1.0


def test_length_counts_only_where_the_project_does_not_back_the_tokens():
    assert prefix_features([-0.5] * 6, [True] * 6, 6)[3] == 0.0
    assert prefix_features([-0.5] * 6, [False] * 6, 6)[3] > prefix_features([-0.5] * 3, [False] * 3, 3)[3]


def test_the_gate_keeps_a_sure_suggestion_whole_trims_a_doubtful_end_and_withholds_a_doubtful_start():
    backed = [True] * 6
    assert confident_tokens(gen([-0.01] * 6, agrees=backed), 0.4, decode) == 6
    tail_doubt = gen([-0.01, -0.01, -0.01, -3.5, -3.5, -3.5], agrees=[True, True, True, False, False, False])
    kept = confident_tokens(tail_doubt, 0.4, decode)
    assert 0 < kept < 6 and decode(tail_doubt.token_ids[:kept]) in ("self", "self.", "self.items")
    assert confident_tokens(gen([-6.0] * 6), 0.4, decode) == 0


def test_the_gate_does_not_cut_inside_a_word():
    pieces = ["quant", "ize", "_", "flux", "(", ")"]
    word_decode = lambda ids: "".join(pieces[i] for i in ids)  # noqa: E731
    g = Generation("quantize_flux()", list(range(6)), [-0.01, -0.01, -4.0, -4.0, -4.0, -4.0], "max_tokens", 3)
    g.timings[FIRST_LINE_TOKENS] = 6
    kept = confident_tokens(g, 0.25, word_decode)
    assert kept in (0, 2, 4, 5, 6) and word_decode(g.token_ids[:kept]) != "quant"
