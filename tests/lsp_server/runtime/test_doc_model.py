"""The served docstring model (lsp_server/doc_model.py): beam search over the exported tiny Seq2Seq, checked
against PyTorch greedy decoding; the search itself on a hand-made distribution; cancellation and limits."""
import numpy as np
import pytest
import torch
from doc_fixtures import doc_bundle, small_tokenizer, tiny_seq2seq

from lsp_server.errors import ModelUnavailable
from lsp_server.runtime.bundles import load_bundle
from lsp_server.runtime.cancel import Cancelled, CancelToken
from lsp_server.runtime.docstring_model import (
    BeamOptions,
    DocstringModel,
    beam_search,
    repeated_ngram_tokens,
)
from model.tokenizer import load_tokenizer

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CODES = [
    "def add(a, b):\n    return a + b\n",
    "def load(path):\n    with open(path) as fh:\n        return json.load(fh)\n",
    "@property\ndef name(self):\n    return self._name\n",
    "def walk(tree):\n    for node in tree.children:\n        yield node\n        yield from walk(node)\n",
]


@pytest.fixture(scope="module")
def tokenizer_path(stdlib_texts, tmp_path_factory):
    return small_tokenizer(stdlib_texts, tmp_path_factory.mktemp("tok"))


@pytest.fixture(scope="module")
def seq2seq(tokenizer_path):
    return tiny_seq2seq(load_tokenizer(tokenizer_path).get_vocab_size(), seed=3, std=0.5)


@pytest.fixture(scope="module")
def bundle_path(tokenizer_path, seq2seq, tmp_path_factory):
    return doc_bundle(tokenizer_path, seq2seq, tmp_path_factory.mktemp("doc"))


@pytest.fixture(scope="module")
def doc_model(bundle_path):
    return DocstringModel.load(bundle_path, threads=1)


@torch.no_grad()
def torch_greedy(model, src: list[int], bos: int, eos: int, banned: list[int], max_tokens: int,
                 no_repeat: int) -> list[int]:
    """Reference greedy decoding with the KV cache, with the search's rules (banned specials, no <eos> first,
    no repeated n-gram)."""
    cross = model.cross_kv(model.encode(torch.tensor([src])))
    logits, past = model.decode(torch.tensor([[bos]]), cross, past=model.empty_past(1), last_only=True)
    out: list[int] = []
    for _ in range(max_tokens):
        logits = logits[0].clone()
        logits[banned] = -float("inf")
        if not out:
            logits[eos] = -float("inf")
        logits[repeated_ngram_tokens(out, no_repeat)] = -float("inf")
        token = int(logits.argmax())
        if token == eos:
            break
        out.append(token)
        logits, past = model.decode(torch.tensor([[token]]), cross, past=past, last_only=True)
    return out


@pytest.mark.parametrize("no_repeat", [0, 3])
@pytest.mark.parametrize("code", CODES)
def test_beam_width_one_is_pytorch_greedy_decoding(doc_model, seq2seq, code, no_repeat):
    found = doc_model.search(code, BeamOptions(beam=1, max_tokens=20, no_repeat_ngram=no_repeat))
    want = torch_greedy(seq2seq, doc_model.source_ids(code), doc_model.bos_id, doc_model.eos_id,
                        doc_model.banned.tolist(), 20, no_repeat)
    assert found.token_ids == want
    assert len(set(want)) > 2  # a non-degenerate sequence: the cache and the cross K/V really matter
    assert found.text == doc_model.tokenizer.decode(want, skip_special_tokens=True).strip()


def test_beam_search_is_deterministic_and_at_least_as_likely_as_greedy(doc_model):
    for code in CODES:
        first = doc_model.search(code, BeamOptions(beam=4))
        again = doc_model.search(code, BeamOptions(beam=4))
        assert (again.token_ids, again.score, again.text) == (first.token_ids, first.score, first.text)
        greedy = doc_model.search(code, BeamOptions(beam=1))
        if first.stop_reason == greedy.stop_reason == "max_tokens":
            assert first.score >= greedy.score - 1e-5


@pytest.mark.parametrize("beam", [1, 3, 5])
def test_no_output_repeats_a_trigram(doc_model, beam):
    for code in CODES:
        tokens = doc_model.search(code, BeamOptions(beam=beam, max_tokens=40)).token_ids
        trigrams = list(zip(tokens, tokens[1:], tokens[2:]))
        assert len(trigrams) == len(set(trigrams))


@pytest.mark.parametrize("limit", [1, 3, 7])
def test_length_limit_is_respected(doc_model, limit):
    for code in CODES:
        found = doc_model.search(code, BeamOptions(beam=4, max_tokens=limit))
        assert 1 <= len(found.token_ids) <= limit
        assert found.steps <= limit


def test_generate_returns_the_text_without_special_tokens(doc_model):
    text = doc_model.generate(CODES[0], beam=2, max_tokens=12)
    assert text == doc_model.search(CODES[0], BeamOptions(beam=2, max_tokens=12)).text
    assert "<eos>" not in text and "<docstring>" not in text


def test_source_is_truncated_to_max_source_tokens(doc_model):
    long_code = "def f():\n" + "".join(f"    x{i} = {i}\n" for i in range(400))
    ids = doc_model.source_ids(long_code)
    assert len(ids) == doc_model.max_source_tokens == 128  # the tiny model's max_seq_len bounds the 256
    assert doc_model.search(long_code, BeamOptions(beam=2, max_tokens=3)).source_tokens == 128
    assert doc_model.search("", BeamOptions()).stop_reason == "empty_source"


def test_a_cancelled_token_stops_before_the_encoder(doc_model):
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        doc_model.generate(CODES[1], cancel=token)


class CancelAfter:
    """The decoder session, cancelling the request after `n` steps (as $/cancelRequest would)."""

    def __init__(self, session, token: CancelToken, n: int):
        self.session, self.token, self.n, self.runs = session, token, n, 0

    def run(self, *args):
        self.runs += 1
        out = self.session.run(*args)
        if self.runs == self.n:
            self.token.cancel()
        return out


def test_cancellation_stops_the_search_between_steps(bundle_path):
    model = DocstringModel.load(bundle_path, threads=1)
    token = CancelToken()
    model.decoder = CancelAfter(model.decoder, token, 3)
    with pytest.raises(Cancelled):
        model.generate(CODES[1], beam=4, max_tokens=30, cancel=token)
    assert model.decoder.runs == 3


def test_deadline_returns_the_best_hypothesis_so_far(doc_model):
    found = doc_model.search(CODES[1], BeamOptions(beam=2, max_tokens=30), deadline=0.0)
    assert found.stop_reason == "deadline" and found.token_ids == []


def test_load_from_a_bundle_object_and_refusal_without_a_docstring_model(bundle_path, tmp_path):
    assert DocstringModel.load(load_bundle(bundle_path)).eos_id == 3
    lm_only = load_bundle(bundle_path)
    lm_only = type(lm_only)(lm_only.path, lm_only.manifest, lm_only.onnx_bytes, lm_only.tokenizer_json)
    with pytest.raises(ModelUnavailable, match="quill export-doc"):
        DocstringModel(lm_only)


# The search alone, on a fixed distribution: tokens 0 <eos>, 1 <bos>, 2 A, 3 B, 4 C.
EOS, BOS, A, B, C = range(5)
NEXT = {BOS: {A: 0.6, B: 0.4}, A: {EOS: 0.3, B: 0.35, C: 0.35}, B: {EOS: 0.9, C: 0.1}, C: {EOS: 1.0}}


def table_step(tokens: np.ndarray, parents: np.ndarray) -> np.ndarray:
    out = np.full((len(tokens), 5), -np.inf, dtype=np.float32)
    for row, token in enumerate(tokens):
        for nxt, p in NEXT[int(token)].items():
            out[row, nxt] = np.log(p)
    return out


def test_beam_search_finds_the_likelier_sequence_that_greedy_misses():
    greedy = beam_search(table_step, BOS, EOS, BeamOptions(beam=1, max_tokens=5, no_repeat_ngram=0))
    beam = beam_search(table_step, BOS, EOS, BeamOptions(beam=2, max_tokens=5, no_repeat_ngram=0))
    assert greedy[0] == [A, B] and greedy[2] == "eos"  # A (0.6), then B (0.35), then <eos> (0.9)
    assert beam[0] == [B] and beam[2] == "eos"         # B <eos>: 0.4 * 0.9 = 0.36 per 2 tokens
    assert beam[1] == pytest.approx(np.log(0.36) / 2, abs=1e-6)


def loop_step(successors: tuple[int, ...]):
    """Every token but <eos> is followed by each of successors with equal probability."""
    def step(tokens, parents):
        out = np.full((len(tokens), 5), -np.inf, dtype=np.float32)
        out[:, list(successors)] = -np.log(len(successors))
        return out
    return step


def test_beam_search_without_eos_stops_at_the_limit():
    tokens, score, reason, steps = beam_search(loop_step((A, B, C)), BOS, EOS,
                                               BeamOptions(beam=3, max_tokens=6, no_repeat_ngram=2))
    assert reason == "max_tokens" and steps == 6 and len(tokens) == 6
    assert len(set(zip(tokens, tokens[1:]))) == 5  # no bigram twice
    assert score == pytest.approx(np.log(1 / 3), abs=1e-6)


def test_beam_search_ends_where_the_no_repeat_rule_bans_every_token():
    # With A and B only, no bigram twice allows at most 5 tokens (AA, AB, BB, BA); then nothing is left.
    tokens, _, reason, steps = beam_search(loop_step((A, B)), BOS, EOS,
                                           BeamOptions(beam=2, max_tokens=10, no_repeat_ngram=2))
    assert reason == "dead_end" and len(tokens) == 5 and steps == 6
    assert len(set(zip(tokens, tokens[1:]))) == 4


@pytest.mark.parametrize("tokens, n, banned", [
    ([5, 6, 7, 5, 6], 3, [7]), ([5, 6, 5, 6], 3, [5]), ([1, 2], 3, []), ([4, 4], 1, [4, 4]), ([1, 2, 3], 0, []),
    ([9, 1, 9], 2, [1]),
])
def test_repeated_ngram_tokens(tokens, n, banned):
    assert repeated_ngram_tokens(tokens, n) == banned


def test_only_a_context_v1_bundle_asks_for_the_context_header(bundle_path, seq2seq, doc_model, tmp_path):
    """export-doc copies the training summary's source_format into the manifest; the shipped bundle and a
    model trained without it are given plain code."""
    import json
    import shutil

    from export.doc_bundle import add_docstring_model
    from lsp_server.doc_format import SOURCE_FORMAT
    from model.transformer import save_model

    assert not doc_model.uses_context
    assert "source_format" not in load_bundle().manifest["docstring"]
    save_model(seq2seq, seq2seq.cfg, tmp_path / "ckpt")
    (tmp_path / "ckpt" / "train_summary.json").write_text(json.dumps({"source_format": SOURCE_FORMAT}))
    bundle = shutil.copytree(bundle_path, tmp_path / "bundle")
    manifest = add_docstring_model(tmp_path / "ckpt", bundle, int8=False, log=lambda *_: None)
    assert manifest["docstring"]["source_format"] == SOURCE_FORMAT
    assert DocstringModel.load(bundle, threads=1).uses_context
