"""Work reused across keystrokes: shared-prefix KV reuse (engine), typing through a suggestion (reuse),
the sticky prefix window and SPM layout (prompt). The engine tests use a tiny fp32 bundle, where a
reused pass must equal a fresh one to float rounding."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lsp_server.inline.prompt import SPM, PromptBudget, build_prompt
from lsp_server.inline.typing_state import ReuseStore, Shown, typed_through
from lsp_server.runtime.cancel import CancelToken
from lsp_server.runtime.engine import Engine, PromptCache, shared_prefix

SPECIAL = {"<fim_prefix>": 0, "<fim_suffix>": 1, "<fim_middle>": 2, "<eos>": 3}


def char_encode(text):
    return [ord(c) + 10 for c in text]


# --- shared prefix ------------------------------------------------------------------------------------

@given(st.lists(st.integers(0, 3), max_size=40), st.lists(st.integers(0, 3), max_size=40))
def test_shared_prefix_is_the_longest_common_prefix(a, b):
    naive = 0
    while naive < min(len(a), len(b)) and a[naive] == b[naive]:
        naive += 1
    assert shared_prefix(a, b) == shared_prefix(tuple(a), b) == naive


# --- typing through a suggestion ---------------------------------------------------------------------

TEXT = "def f(x):\n    return \n\nprint(f(2))\n"
CURSOR = TEXT.index("return ") + len("return ")
SHOWN = Shown(TEXT, CURSOR, ("x + 1", "x * 2", "None"))


def typed(chars, text=TEXT, at=CURSOR):
    return text[:at] + chars + text[at:], at + len(chars)


def test_typing_the_start_of_a_suggestion_answers_its_rest():
    assert typed_through(SHOWN, *typed("x")) == (" + 1", " * 2")
    assert typed_through(SHOWN, *typed("x +")) == (" 1",)


def test_the_same_text_and_cursor_answers_the_shown_suggestions():
    assert typed_through(SHOWN, TEXT, CURSOR) == SHOWN.items


@pytest.mark.parametrize("text, offset", [
    typed("y"),                                   # typed something no suggestion starts with
    typed("x + 1"),                               # typed a whole suggestion: nothing is left of it
    typed("x", at=CURSOR - 1),                    # typed elsewhere
    (TEXT.replace("print", "prunt"), CURSOR),     # an edit after the cursor, same length
    ("# c\n" + TEXT, CURSOR + 4),                 # an edit before the cursor
    (typed("x")[0], CURSOR),                      # the cursor did not follow the typing
])
def test_any_other_edit_means_the_model_must_run(text, offset):
    assert typed_through(SHOWN, text, offset) is None


def test_store_advances_through_consecutive_keystrokes_and_forgets_on_close():
    store = ReuseStore()
    store.show("u", TEXT, CURSOR, ["x + 1"])
    text, offset = TEXT, CURSOR
    for expected in (" + 1", "+ 1", " 1"):
        text, offset = typed(("x + 1")[len("x + 1") - len(expected) - 1], text, offset)
        assert store.advance("u", text, offset) == (expected,)
    store.forget("u")
    assert store.advance("u", text, offset) is None


def test_store_keeps_only_the_most_recent_documents():
    store = ReuseStore(max_documents=2)
    first = store.get("a")
    store.get("b"), store.get("a"), store.get("c")
    assert store.get("a") is first  # used recently: kept; "b" was dropped
    assert store.get("b") is not None and len(store._docs) == 2


# --- prompts that share a prefix while typing ---------------------------------------------------------

def test_spm_puts_the_suffix_first():
    prompt = build_prompt("x = ", "\nprint(x)\n", char_encode, SPECIAL, order=SPM)
    ids = prompt.ids
    assert ids[0] == SPECIAL["<fim_suffix>"] and ids[-1] == SPECIAL["<fim_middle>"]
    assert ids[ids.index(SPECIAL["<fim_prefix>"]) + 1:-1] == char_encode("x = ")


def test_typing_keeps_the_prefix_window_so_prompts_share_all_but_their_end():
    lines = "".join(f"value_{i} = {i}\n" for i in range(60))
    budget = PromptBudget(120, 16)
    first = build_prompt(lines, "\nprint(1)\n", char_encode, SPECIAL, budget, order=SPM)
    start, previous = first.prefix_start, first.ids
    for typed_text in ("r", "re", "res", "resu", "result = 1\n", "result = 1\nz"):
        prompt = build_prompt(lines + typed_text, "\nprint(1)\n", char_encode, SPECIAL, budget, order=SPM,
                              prefix_start=start)
        assert len(prompt.ids) - 3 - prompt.suffix_tokens <= budget.prefix_tokens + budget.suffix_tokens
        if prompt.prefix_start == start:  # the window kept its first line: only the end changed
            assert shared_prefix(previous, prompt.ids) >= len(previous) - 2
        start, previous = prompt.prefix_start, prompt.ids
    assert start > first.prefix_start  # the window moved on once typing outgrew it


def test_a_refitted_window_leaves_room_for_typing():
    lines = "".join(f"value_{i} = {i}\n" for i in range(60))
    budget = PromptBudget(120, 0)
    fresh = build_prompt(lines, "", char_encode, SPECIAL, budget)
    refit = build_prompt(lines, "", char_encode, SPECIAL, budget, prefix_start=0)  # line 0 no longer fits
    assert fresh.prefix_tokens > refit.prefix_tokens >= budget.prefix_tokens * 3 // 4 - 16
    assert refit.prefix_start > fresh.prefix_start


# --- KV cache reuse in the engine equals a fresh computation ------------------------------------------

@pytest.fixture(scope="module")
def tiny_engine(stdlib_texts, tmp_path_factory):
    """An engine on a tiny fp32 bundle (random weights, large enough that every step differs), not the shared
    `engine` fixture's shipped int8 one: here a reused pass must equal a fresh one to float rounding."""
    torch = pytest.importorskip("torch")
    from export.bundle import build_bundle
    from model.tokenizer import train_tokenizer
    from model.transformer import DecoderLM, ModelConfig, save_model
    folder = tmp_path_factory.mktemp("reuse")
    tok = train_tokenizer(stdlib_texts[:20], vocab_size=400)
    tok.save(str(folder / "tokenizer.json"))
    torch.manual_seed(0)
    model = DecoderLM(ModelConfig(vocab_size=tok.get_vocab_size(), d_model=32, n_layers=2, n_heads=2, d_ff=64,
                                  max_seq_len=256))
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() >= 2:
                p.normal_(0.0, 0.3)
    save_model(model, model.cfg, folder / "ckpt")
    build_bundle(folder / "ckpt", folder / "tokenizer.json", folder / "bundle", int8=False, log=lambda *_: None)
    return Engine.load(folder / "bundle", threads=1)


PROMPTS = ["def load(path):\n    with open(path) as fh:\n        return",
           "def load(path):\n    with open(path) as fh:\n        return js",
           "def load(path):\n    with open(path) as fh:\n        return json.load(fh)\n",
           "def load(path):\n    with open(path) as fh:\n",
           "def save(path):\n"]


def test_a_reused_prompt_pass_equals_a_fresh_one(tiny_engine):
    previous = None
    for text in PROMPTS:
        ids = tiny_engine.encode(text)
        fresh = tiny_engine.prefill(ids)
        reused = tiny_engine.prefill(ids, reuse=previous)
        if previous is not None:
            assert reused.reused == min(shared_prefix(previous.ids, ids), len(ids) - 1)
        np.testing.assert_allclose(reused.logprobs, fresh.logprobs, atol=1e-4)
        for a, b in zip(reused.past, fresh.past):
            np.testing.assert_allclose(a, b, atol=1e-4)
        previous = reused
    assert previous.reused < len(previous.ids) // 2  # the last prompt diverges early: mostly recomputed


def test_the_same_prompt_runs_no_model_step(tiny_engine, monkeypatch):
    ids = tiny_engine.encode(PROMPTS[0])
    first = tiny_engine.prefill(ids)
    monkeypatch.setattr(tiny_engine, "step", lambda *a, **k: pytest.fail("the model ran"))
    assert tiny_engine.prefill(ids, reuse=first) is first


def test_a_cache_from_another_engine_is_not_used(tiny_engine):
    ids = tiny_engine.encode(PROMPTS[0])
    foreign = tiny_engine.prefill(ids)
    foreign.owner = object()
    assert tiny_engine.prefill(ids, reuse=foreign).reused == 0


def test_generation_with_the_cache_gives_the_same_tokens_while_typing(tiny_engine):
    cache = PromptCache()
    for text in PROMPTS:
        ids = tiny_engine.encode(text)
        cached = tiny_engine.generate_alternatives(ids, 3, 12, cache=cache)
        fresh = tiny_engine.generate_alternatives(ids, 3, 12)
        assert [g.token_ids for g in cached] == [g.token_ids for g in fresh]
        np.testing.assert_allclose([g.mean_logprob for g in cached], [g.mean_logprob for g in fresh], atol=1e-4)
        assert cache.last.ids == tuple(ids)


def test_a_cancelled_pass_leaves_the_cache_as_it_was(tiny_engine):
    cache = PromptCache()
    tiny_engine.generate_alternatives(tiny_engine.encode(PROMPTS[0]), 1, 4, cache=cache)
    before = cache.last
    token = CancelToken()
    token.cancel()
    gens = tiny_engine.generate_alternatives(tiny_engine.encode(PROMPTS[1]), 1, 4, cancel=token, cache=cache)
    assert gens[0].stop_reason == "cancelled" and cache.last is before


# --- spare branches run only when the greedy suggestion shows nothing ---------------------------------

class BranchEngine:
    """Fake engine: branch i (in order of first-token likelihood) writes texts[i]; records each call."""

    special = SPECIAL

    def __init__(self, texts):
        self.texts, self.calls = texts, []

    def encode(self, text):
        return char_encode(text)

    def generate_alternatives(self, ids, n, max_new_tokens=24, stop=None, deadline=None, cancel=None, cache=None,
                              skip=0, heal="", bias=None, draft=None, halt=None):
        from lsp_server.runtime.engine import Generation
        self.calls.append((n, skip))
        return [Generation(t, [], [-0.5] * max(len(t), 1), "eos", len(ids)) for t in self.texts[skip:skip + n]]


def test_one_suggestion_wanted_decodes_the_greedy_branch_alone():
    from lsp_server.inline.pipeline import suggest_all
    from lsp_server.syntax.documents import Document
    engine = BranchEngine([" compute(1)", " 42", " x"])  # the model writes the space the prompt left out
    found = suggest_all(Document("file:///a.py", "value = \n"), len("value = "), engine)
    assert [s.text for s in found] == ["compute(1)"] and engine.calls == [(1, 0)]


def test_the_spares_stand_in_when_the_greedy_branch_shows_nothing():
    from lsp_server.inline.pipeline import SPARE_BRANCHES, suggest_all
    from lsp_server.syntax.documents import Document
    engine = BranchEngine([" (((", " 42", " x"])  # unclosed brackets: the syntax cut empties the greedy branch
    found = suggest_all(Document("file:///a.py", "value = \n"), len("value = "), engine)
    assert [s.text for s in found] == ["42"] and engine.calls == [(1, 0), (SPARE_BRANCHES, 1)]
